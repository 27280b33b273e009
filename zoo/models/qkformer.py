"""QKFormer (Zhou et al. 2024a; zhouchenlin2096/QKFormer, imagenet/qkformer.py): hierarchical spiking transformer
with Q-K token attention, its "-> M" version and DSTSP.

Three stages on a pyramid (ImageNet 224 px: 56^2, 28^2, 14^2 tokens at ``D/4, D/2, D`` channels): a stem and two
patch embeddings (:class:`QKDownsample`), stage 1 (1 block) and 2 (2 blocks) with Q-K token attention, stage 3
(``depth - 3`` blocks) with spiking self-attention. Every branch ends in a neuron, so the residual stream is a sum
of spikes; there is no LayerNorm and no position embedding. Neuron: SpikingJelly's LIF(tau 2) (:data:`SJ_LIF`).

"-> M" replaces the stage-3 self-attention by a Spiking-token Mixer (``mixer_heads`` = 16 heads on 196 tokens,
then the block's neuron); the Q-K token attention stays (it masks tokens and mixes none). Each stage is a pruned
encoder; ``pruned_stages`` (default stage 3, where the mixers are) get the model's pruner, the earlier ones with
pass-through (their patch embedding needs the full grid).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from torch import Tensor, nn

from ..convert import AttentionSpec, register_attention
from ..encoder import PruningOptions, PruningSpec, build_encoder
from ..layers import ConvBN, LinearBN, NeuronCfg, build_neuron, neuron_cfg
from ..mixer import AttentionProduct, SpikingTokenMixer
from ..registry import PretrainedCfg, register_model
from ._families import (SJ_LIF, check_neuron, downsampled, to_map,
                        to_tokens)
from .classifier import SpikingImageClassifier

__all__ = ["QKDownsample", "QKTokenAttention", "QKSelfAttention", "QKMLP", "QKBlock", "QKFormer"]


def _attention_neuron(neuron: NeuronCfg) -> Dict[str, Any]:
    """QKFormer's attention neurons fire at half the threshold (SpikingJelly 0.5 vs 1); I-LIF has none to lower."""
    cfg = neuron_cfg(neuron)
    return dict(cfg, v_threshold=cfg.get("v_threshold", 1.0) / 2) if cfg["type"] == "LIF" else cfg


def _pool(x: Tensor, pool: nn.Module) -> Tensor:
    return pool(x.flatten(0, 1)).unflatten(0, x.shape[:2])


class QKDownsample(nn.Module):
    """Patch embedding: ``SN(pool(Conv3x3-BN(x)))`` -> ``SN(Conv3x3-BN)``, plus the shortcut ``SN(Conv1x1-BN)`` at the
    pool's stride. ``[T, B, C, H, W]`` (spikes or spike counts) -> spike counts ``[T, B, C', H/s, W/s]`` (0..2)."""

    def __init__(self, in_channels: int, out_channels: int, neuron: NeuronCfg, stride: int = 2) -> None:
        super().__init__()
        self.conv1 = ConvBN(in_channels, out_channels, 3)
        self.pool = nn.MaxPool2d(3, stride, 1)
        self.conv2 = ConvBN(out_channels, out_channels, 3)
        self.shortcut = ConvBN(in_channels, out_channels, 1, stride, padding=0)
        self.sn1, self.sn2, self.sn_short = (build_neuron(neuron) for _ in range(3))

    def forward(self, x: Tensor) -> Tensor:
        y = self.sn2(self.conv2(self.sn1(_pool(self.conv1(x), self.pool))))
        return y + self.sn_short(self.shortcut(x))


class QKStem(nn.Module):
    """``SN(pool(Conv3x3-BN(image)))`` at ``D/8``, then a :class:`QKDownsample` to ``D/4`` (patch_embed1).

    Input: static ``[B, C, H, W]`` (the first convolution computed once, then repeated ``time_steps`` times) or
    frames ``[T, B, C, H, W]``. Output: spike counts ``[T, B, D/4, H/4, W/4]``.
    """

    def __init__(self, in_chans: int, dim: int, neuron: NeuronCfg, strides: Sequence[int] = (2, 2)) -> None:
        super().__init__()
        self.conv = ConvBN(in_chans, dim // 2, 3)
        self.pool = nn.MaxPool2d(3, strides[0], 1)
        self.sn = build_neuron(neuron)
        self.down = QKDownsample(dim // 2, dim, neuron, strides[1])

    def forward(self, x: Tensor, time_steps: int) -> Tensor:
        y = self.conv(x)
        y = self.pool(y) if y.dim() == 4 else _pool(y, self.pool)
        if y.dim() == 4:
            y = y.unsqueeze(0).expand(time_steps, *y.shape)
        return self.down(self.sn(y))


class QKTokenAttention(nn.Module):
    """Q-K token attention: q, k = SN(Linear-BN(x)); per head the channel sum of q fires a token mask (half
    threshold) that gates k; then Linear-BN. ``[T, B, N, C]`` -> ``[T, B, N, C]`` (the block adds the neuron)."""

    def __init__(self, dim: int, num_heads: int, neuron: NeuronCfg) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.q, self.k = LinearBN(dim, dim, bias=False), LinearBN(dim, dim, bias=False)
        self.sn_q, self.sn_k = build_neuron(neuron), build_neuron(neuron)
        self.sn_mask = build_neuron(_attention_neuron(neuron))
        self.proj = LinearBN(dim, dim)

    def forward(self, x: Tensor, token_index: Optional[Tensor] = None) -> Tensor:
        heads = (*x.shape[:-1], self.num_heads, x.shape[-1] // self.num_heads)
        q = self.sn_q(self.q(x)).view(heads)
        k = self.sn_k(self.k(x)).view(heads)
        mask = self.sn_mask(q.sum(-1, keepdim=True))  # [T, B, N, h, 1]
        return self.proj((mask * k).flatten(-2))


class QKSelfAttention(nn.Module):
    """Spiking self-attention of stage 3: q, k, v = SN(Linear-BN(x)) (no bias), ``SN(Q (K^T V) * 0.125)`` (half
    threshold), Linear-BN. ``[T, B, N, C]`` -> ``[T, B, N, C]`` (the block adds the neuron)."""

    def __init__(self, dim: int, num_heads: int, neuron: NeuronCfg, scale: float = 0.125) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads, self.neuron = num_heads, neuron_cfg(neuron)
        self.q, self.k, self.v = (LinearBN(dim, dim, bias=False) for _ in range(3))
        self.sn_q, self.sn_k, self.sn_v = (build_neuron(neuron) for _ in range(3))
        self.product = AttentionProduct(scale)
        self.sn_attn = build_neuron(_attention_neuron(neuron))
        self.proj = LinearBN(dim, dim)

    def forward(self, x: Tensor, token_index: Optional[Tensor] = None) -> Tensor:
        t, b, n, c = x.shape
        heads = lambda y: y.view(t, b, n, self.num_heads, c // self.num_heads).transpose(2, 3)  # [T, B, h, N, d]
        q, k, v = heads(self.sn_q(self.q(x))), heads(self.sn_k(self.k(x))), heads(self.sn_v(self.v(x)))
        return self.proj(self.sn_attn(self.product(q, k, v).transpose(2, 3).reshape(t, b, n, c)))


register_attention(QKSelfAttention, lambda m: AttentionSpec(m.q.linear.in_features, m.num_heads, m.neuron))


class QKMLP(nn.Module):
    """SN(Linear-BN(x)) -> SN(Linear-BN): ``[T, B, N, C]`` -> spikes ``[T, B, N, C]`` (1x1 convs with bias)."""

    def __init__(self, dim: int, hidden: int, neuron: NeuronCfg) -> None:
        super().__init__()
        self.fc1, self.fc2 = LinearBN(dim, hidden), LinearBN(hidden, dim)
        self.sn1, self.sn2 = build_neuron(neuron), build_neuron(neuron)

    def forward(self, x: Tensor) -> Tensor:
        return self.sn2(self.fc2(self.sn1(self.fc1(x))))


class QKBlock(nn.Module):
    """``x = x + SN(attn(x)); x = x + MLP(x)`` on the spike-count stream ``[T, B, N, C]``.

    ``lif_over_batch=True`` reproduces QKFormer issue 14 (the released stage-3 weights depend on it): the attention's
    output neuron runs over ``T*B`` as if it were time, samples of a batch leaking into each other.
    """

    def __init__(self, attn: nn.Module, dim: int, mlp_ratio: float, neuron: NeuronCfg,
                 lif_over_batch: bool = False) -> None:
        super().__init__()
        self.attn = attn
        self.sn_attn = build_neuron(neuron)
        self.mlp = QKMLP(dim, int(dim * mlp_ratio), neuron)
        self.lif_over_batch = lif_over_batch

    def forward(self, x: Tensor, token_index: Optional[Tensor] = None) -> Tensor:
        y = self.attn(x, token_index)
        y = self.sn_attn(y.flatten(0, 1)).view_as(y) if self.lif_over_batch else self.sn_attn(y)
        x = x + y
        return x + self.mlp(x)


class QKFormer(SpikingImageClassifier):
    """QKFormer ``HST-depth-D``: stem -> stage 1 -> patch embedding -> stage 2 -> patch embedding -> stage 3 -> mean
    over tokens -> Linear -> mean over time (module docstring).

    ``mixer='ssa'`` is QKFormer, ``mixer='stm'`` its "-> M" version. Pruning (``pruning``,
    :class:`zoo.encoder.PruningOptions`; no in-stem point) applies to the ``pruned_stages`` (1..3). ``strides``: the four 2x downsamplings (stem pool,
    stem embedding, embeddings 2 and 3; ImageNet all 2).
    """

    def __init__(self, img_size: int = 224, in_chans: int = 3, num_classes: int = 1000, embed_dim: int = 512,
                 depth: int = 10, num_heads: int = 8, mlp_ratio: float = 4.0, time_steps: int = 1,
                 mixer: str = "ssa", mixer_heads: int = 16, neuron: NeuronCfg = SJ_LIF,
                 strides: Sequence[int] = (2, 2, 2, 2), pruned_stages: Sequence[int] = (3,),
                 lif_over_batch: bool = False, pruning: PruningSpec = None, time_first: bool = False) -> None:
        super().__init__(img_size, in_chans, num_classes, embed_dim, time_steps, time_first)
        self.reset_classifier(num_classes)
        if mixer not in ("ssa", "stm"):
            raise ValueError(f"mixer must be 'ssa' (QKFormer) or 'stm' (-> M), got {mixer!r}")
        if depth < 4 or embed_dim % 8:
            raise ValueError(f"QKFormer needs depth >= 4 (1 + 2 + stage 3) and embed_dim % 8 == 0, got {depth}, "
                             f"{embed_dim}")
        if not set(pruned_stages) <= {1, 2, 3}:
            raise ValueError(f"pruned_stages must be stages 1..3, got {pruned_stages}")
        check_neuron(neuron)
        options = PruningOptions.build(pruning)
        self.mixer_heads = mixer_heads
        dims = (embed_dim // 4, embed_dim // 2, embed_dim)
        side = downsampled(downsampled(img_size, strides[0]), strides[1])
        grids = []
        for stage, (dim, blocks) in enumerate(zip(dims, (1, 2, depth - 3)), start=1):
            if stage == 1:
                self.patch_embed1 = QKStem(in_chans, dim, neuron, strides[:2])
            else:
                side = downsampled(side, strides[stage])
                setattr(self, f"patch_embed{stage}", QKDownsample(dims[stage - 2], dim, neuron, strides[stage]))
            grids.append((side, side))

            def make_block(kept: Optional[int], stage: int = stage, dim: int = dim, n: int = side * side) -> QKBlock:
                if stage < 3:
                    attn: nn.Module = QKTokenAttention(dim, num_heads, neuron)
                elif mixer == "ssa":
                    attn = QKSelfAttention(dim, num_heads, neuron)
                else:
                    attn = SpikingTokenMixer(dim, n, mixer_heads, neuron, options.mixer_weight, kept)
                return QKBlock(attn, dim, mlp_ratio, neuron, lif_over_batch and stage == 3)

            pruned = stage in pruned_stages
            setattr(self, f"stage{stage}", build_encoder(
                make_block, blocks, side * side, dim, options if pruned else PruningOptions(), neuron, time_steps,
                pass_through=stage < 3, static_mixer=mixer == "stm" and stage == 3, owner=type(self).__name__))
        self.grids = tuple(grids)  # (H, W) of stages 1, 2 (and 3)

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.patch_embed1(self.check_input(x), self.time_steps)
        stream = self.stage1(to_tokens(x)).stream
        x = self.patch_embed2(to_map(stream, self.grids[0]))
        stream = self.stage2(to_tokens(x)).stream
        x = self.patch_embed3(to_map(stream, self.grids[1]))
        return self.stage3(to_tokens(x)).stream


# Variants (Table 2, T = 1). "-m": the 7 stage-3 SSA -> 16-head Spiking-token Mixers on 196 tokens (meets 29.70 M at
# 512; 18.70 vs 18.31 M at 384); "-m-dstsp": P_s 0.3 before stage 3, static 137 x 137 W_M' (docs/families.md).
_IMAGENET = dict(dataset="imagenet-1k", num_classes=1000, input_size=(3, 224, 224), time_steps=1)
_QK_384 = dict(embed_dim=384, depth=10, num_heads=6)
_QK_512 = dict(embed_dim=512, depth=10, num_heads=8)
_DSTSP = dict(type="DSTSP", spatial_ratio=0.3)
register_model("qkformer-10-384", PretrainedCfg(**_IMAGENET, paper_params_m=16.47, paper_top1=75.52),
               **_QK_384)(QKFormer)
register_model("qkformer-10-384-m", PretrainedCfg(**_IMAGENET, paper_params_m=18.31, paper_top1=76.03),
               **_QK_384, mixer="stm")(QKFormer)
register_model("qkformer-10-384-m-dstsp", PretrainedCfg(**_IMAGENET, paper_params_m=14.92, paper_top1=75.13),
               **_QK_384, mixer="stm", pruning=_DSTSP)(QKFormer)
register_model("qkformer-10-512", PretrainedCfg(**_IMAGENET, paper_params_m=29.08, paper_top1=78.71),
               **_QK_512)(QKFormer)
register_model("qkformer-10-512-m", PretrainedCfg(**_IMAGENET, paper_params_m=29.70, paper_top1=78.69),
               **_QK_512, mixer="stm")(QKFormer)
register_model("qkformer-10-512-m-dstsp", PretrainedCfg(**_IMAGENET, paper_params_m=25.92, paper_top1=77.39),
               **_QK_512, mixer="stm", pruning=_DSTSP)(QKFormer)

# Fashion-MNIST size: 28 x 28 x 1, strides (1, 1, 2, 2) -> stages at 28^2, 14^2, 7^2 = 49 tokens, D = 64, 4 blocks
# (1 + 2 + 1), T = 1.
_FMNIST = dict(dataset="fashion-mnist", num_classes=10, input_size=(1, 28, 28), mean=(0.2860,), std=(0.3530,),
               time_steps=1)
_QK_FMNIST = dict(img_size=28, in_chans=1, embed_dim=64, depth=4, num_heads=4, mixer_heads=8, strides=(1, 1, 2, 2))
register_model("qkformer-fmnist", PretrainedCfg(**_FMNIST), **_QK_FMNIST)(QKFormer)
register_model("qkformer-fmnist-m", PretrainedCfg(**_FMNIST), **_QK_FMNIST, mixer="stm")(QKFormer)
register_model("qkformer-fmnist-m-dstsp", PretrainedCfg(**_FMNIST), **_QK_FMNIST, mixer="stm",
               pruning=_DSTSP)(QKFormer)
