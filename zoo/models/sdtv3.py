"""Spike-driven Transformer V3 / E-SpikeFormer (Yao et al. 2025; BICLab/Spike-Driven-Transformer-V3,
SDT_V3/Classification/Model_Base/models.py, ``Efficient_Spiking_Transformer_{s,m,l}``), its "-> M" version and
DSTSP.

Four stages ``[C0, C1, C2, C3]``: a 7x7 stride-2 encoding to ``C0/2`` and a :class:`ConvBlock`, a downsampling to
``C0`` and a ConvBlock, a downsampling to ``C1`` and two ConvBlocks, a downsampling to ``C2`` (ImageNet: 14 x 14 =
196 tokens) and 6 transformer blocks, a stride-1 3x3 convolution to ``C3`` and 2 transformer blocks; head: token
mean -> MultiSpike -> Linear. The residual stream is real-valued; every branch starts with a MultiSpike.

MultiSpike (:data:`MULTISPIKE`) is the zoo's I-LIF with decay 0, i.e. no membrane carried between steps:
``round(clamp(x, 0, 4))``, integer spikes, straight-through gradient inside [0, 4], exactly the code's ``Quant``.
The code divides every spike by 4 before the next layer; here the spikes stay integers (spike-driven, counted as
4 binary spikes by :mod:`zoo.ops`) and the factor is folded into the weights: trained from scratch, a layer followed
by BatchNorm absorbs it in training (batch statistics), and the attention product (bilinear in q and k, times v)
divides by ``4^3``. A
released checkpoint's stored BatchNorm statistics do see it, so the converter (:mod:`zoo.official`) scales the
weights of every layer that consumes spikes by 1/4.

"-> M" replaces the linear attention of all 8 transformer blocks by a Spiking-token Mixer with ``mixer_heads`` = 8
heads (the family's own count) on 196 tokens. Each transformer stage is a pruned encoder; stage 3 passes pruned
tokens through (the stage-4 convolution needs the grid), stage 4 prunes again. The SepConv's depthwise convolution
sees pruned tokens as zeros (no spikes) on the full grid.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence, Tuple

from torch import Tensor, nn

from ..convert import AttentionSpec, register_attention
from ..encoder import PruningOptions, PruningSpec, build_encoder
from ..layers import ConvBN, LinearBN, NeuronCfg, build_neuron, neuron_cfg
from ..mixer import AttentionProduct, SpikingMLP, SpikingTokenMixer
from ..registry import PretrainedCfg, register_model
from ._families import (check_neuron, downsampled, gather_tokens, scatter_tokens,
                        to_map, to_tokens)
from .classifier import SpikingImageClassifier

__all__ = ["MULTISPIKE", "SDTDownsample", "SepConv", "ConvBlock", "LinearAttention", "SDTBlock", "SDTV3"]

MULTISPIKE = dict(type="ILIF", max_value=4, decay=0.0)


class SDTDownsample(nn.Module):
    """``[MultiSpike] -> Conv(k, stride)-BN`` (with bias). ``[T, B, C, H, W]`` -> ``[T, B, C', H/s, W/s]``; the first
    (encoding) layer has no spike and also takes a static image ``[B, C, H, W]``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, neuron: NeuronCfg,
                 first: bool = False) -> None:
        super().__init__()
        self.sn = nn.Identity() if first else build_neuron(neuron)
        self.conv = ConvBN(in_channels, out_channels, kernel_size, stride, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(self.sn(x))


class SepConv(nn.Module):
    """Inverted separable convolution: SN -> 1x1 (C -> 2C) + BN -> SN -> depthwise k x k + BN -> SN -> 1x1 + BN.

    On tokens ``[T, B, N', C]`` of a ``grid`` (H, W): the 1x1 layers act per token, the depthwise convolution on the
    grid with pruned tokens (``token_index`` ``[T, B, N']``, or ``None`` for all) as zeros. -> ``[T, B, N', C]``.
    """

    def __init__(self, dim: int, kernel_size: int, neuron: NeuronCfg, expansion: int = 2) -> None:
        super().__init__()
        med = dim * expansion
        self.sn1, self.sn2, self.sn3 = (build_neuron(neuron) for _ in range(3))
        self.pw1 = LinearBN(dim, med, bias=False)
        self.dw = nn.Conv2d(med, med, kernel_size, padding=kernel_size // 2, groups=med, bias=False)
        self.dw_bn = nn.BatchNorm1d(med)
        self.pw2 = LinearBN(med, dim, bias=False)

    def forward(self, x: Tensor, grid: Tuple[int, int], token_index: Optional[Tensor] = None) -> Tensor:
        y = self.sn2(self.pw1(self.sn1(x)))
        full = to_map(scatter_tokens(y, token_index, grid[0] * grid[1]), grid)
        y = gather_tokens(to_tokens(self.dw(full.flatten(0, 1)).unflatten(0, full.shape[:2])), token_index)
        y = self.dw_bn(y.reshape(-1, y.shape[-1])).view(y.shape)
        return self.pw2(self.sn3(y))


class ConvBlock(nn.Module):
    """``x + SepConv_7x7(x)``, then ``x + [SN -> Conv3x3 (C -> rC) + BN -> SN -> Conv3x3 (rC -> C) + BN]``.
    ``[T, B, C, H, W]`` -> ``[T, B, C, H, W]``."""

    def __init__(self, dim: int, neuron: NeuronCfg, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.sepconv = SepConv(dim, 7, neuron)
        self.sn1, self.sn2 = build_neuron(neuron), build_neuron(neuron)
        self.conv1 = ConvBN(dim, dim * mlp_ratio, 3)
        self.conv2 = ConvBN(dim * mlp_ratio, dim, 3)

    def forward(self, x: Tensor) -> Tensor:
        grid = x.shape[-2:]
        x = x + to_map(self.sepconv(to_tokens(x), grid), grid)
        return x + self.conv2(self.sn2(self.conv1(self.sn1(x))))


def _spike_norm(neuron: NeuronCfg) -> float:
    """What the code divides MultiSpike's integers by (its ``Norm`` = D); 1 for binary spikes."""
    cfg = neuron_cfg(neuron)
    return float(cfg.get("max_value", 4)) if cfg["type"] == "ILIF" else 1.0


class LinearAttention(nn.Module):
    """SDT-V3 attention: SN; q, k = SN(Linear-BN C -> C), v = SN(Linear-BN C -> rC); per head ``(Q K^T) V * 2 /
    sqrt(C / h)`` (no softmax; computed as ``Q (K^T V)``, the same numbers); SN; Linear-BN rC -> C.
    ``[T, B, N, C]`` -> ``[T, B, N, C]``. With integer MultiSpikes the scale also divides by ``D^3`` (module doc)."""

    def __init__(self, dim: int, num_heads: int, neuron: NeuronCfg, v_ratio: int = 4) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads, self.neuron = num_heads, neuron_cfg(neuron)
        self.sn_in, self.sn_q, self.sn_k, self.sn_v, self.sn_attn = (build_neuron(neuron) for _ in range(5))
        self.q, self.k = LinearBN(dim, dim, bias=False), LinearBN(dim, dim, bias=False)
        self.v = LinearBN(dim, dim * v_ratio, bias=False)
        self.product = AttentionProduct(2.0 * (dim // num_heads) ** -0.5 / _spike_norm(neuron) ** 3)
        self.proj = LinearBN(dim * v_ratio, dim, bias=False)

    def forward(self, x: Tensor, token_index: Optional[Tensor] = None) -> Tensor:
        t, b, n, _ = x.shape
        heads = lambda y: y.view(t, b, n, self.num_heads, -1).transpose(2, 3)  # [T, B, h, N, d]
        s = self.sn_in(x)
        q, k, v = heads(self.sn_q(self.q(s))), heads(self.sn_k(self.k(s))), heads(self.sn_v(self.v(s)))
        return self.proj(self.sn_attn(self.product(q, k, v).transpose(2, 3).reshape(t, b, n, -1)))


register_attention(LinearAttention, lambda m: AttentionSpec(m.q.linear.in_features, m.num_heads, m.neuron))


class SDTBlock(nn.Module):
    """``x + SepConv_3x3(x)``, ``x + attn(x)``, ``x + MLP(x)`` on tokens ``[T, B, N', C]`` of a ``grid``."""

    def __init__(self, attn: nn.Module, dim: int, grid: Tuple[int, int], mlp_ratio: int, neuron: NeuronCfg) -> None:
        super().__init__()
        self.grid = grid
        self.sepconv = SepConv(dim, 3, neuron)
        self.attn = attn
        self.mlp = SpikingMLP(dim, dim * mlp_ratio, neuron)

    def forward(self, x: Tensor, token_index: Optional[Tensor] = None) -> Tensor:
        x = x + self.sepconv(x, self.grid, token_index)
        x = x + self.attn(x, token_index)
        return x + self.mlp(x)


class SDTV3(SpikingImageClassifier):
    """SDT-V3 ``Efficient_Spiking_Transformer`` (module docstring); ``mixer='stm'`` is its "-> M" version.

    ``embed_dims``: ``(C0, C1, C2, C3)``; ``depths``: transformer blocks of stages 3 and 4; ``strides``: the four 2x
    downsamplings (ImageNet all 2). Pruning (``pruning``, :class:`zoo.encoder.PruningOptions`; no in-stem point) applies
    to the ``pruned_stages`` (3, 4).
    """

    def __init__(self, img_size: int = 224, in_chans: int = 3, num_classes: int = 1000,
                 embed_dims: Sequence[int] = (32, 64, 128, 192), depths: Sequence[int] = (6, 2), num_heads: int = 8,
                 mlp_ratio: int = 4, time_steps: int = 1, mixer: str = "ssa", mixer_heads: int = 8,
                 neuron: NeuronCfg = MULTISPIKE, strides: Sequence[int] = (2, 2, 2, 2),
                 pruned_stages: Sequence[int] = (3, 4), pruning: PruningSpec = None,
                 time_first: bool = False) -> None:
        c0, c1, c2, c3 = embed_dims
        super().__init__(img_size, in_chans, num_classes, c3, time_steps, time_first, build_neuron(neuron))
        self.reset_classifier(num_classes)
        if mixer not in ("ssa", "stm"):
            raise ValueError(f"mixer must be 'ssa' (SDT-V3 attention) or 'stm' (-> M), got {mixer!r}")
        if not set(pruned_stages) <= {3, 4}:
            raise ValueError(f"pruned_stages must be transformer stages 3 and/or 4, got {pruned_stages}")
        check_neuron(neuron)
        options = PruningOptions.build(pruning)
        self.mixer_heads = mixer_heads
        self.downsample1_1 = SDTDownsample(in_chans, c0 // 2, 7, strides[0], neuron, first=True)
        self.conv_block1_1 = ConvBlock(c0 // 2, neuron, mlp_ratio)
        self.downsample1_2 = SDTDownsample(c0 // 2, c0, 3, strides[1], neuron)
        self.conv_block1_2 = ConvBlock(c0, neuron, mlp_ratio)
        self.downsample2 = SDTDownsample(c0, c1, 3, strides[2], neuron)
        self.conv_block2 = nn.Sequential(ConvBlock(c1, neuron, mlp_ratio), ConvBlock(c1, neuron, mlp_ratio))
        self.downsample3 = SDTDownsample(c1, c2, 3, strides[3], neuron)
        self.downsample4 = SDTDownsample(c2, c3, 3, 1, neuron)
        side = img_size
        for s in strides:
            side = downsampled(side, s)
        self.grid, n = (side, side), side * side

        def make_block(dim: int) -> Callable[[Optional[int]], SDTBlock]:
            def make(kept: Optional[int]) -> SDTBlock:
                attn = (LinearAttention(dim, num_heads, neuron) if mixer == "ssa" else
                        SpikingTokenMixer(dim, n, mixer_heads, neuron, options.mixer_weight, kept))
                return SDTBlock(attn, dim, self.grid, mlp_ratio, neuron)
            return make

        for stage, dim, depth in ((3, c2, depths[0]), (4, c3, depths[1])):
            setattr(self, f"stage{stage}", build_encoder(
                make_block(dim), depth, n, dim, options if stage in pruned_stages else PruningOptions(), neuron,
                time_steps, pass_through=stage == 3, static_mixer=mixer == "stm", owner=type(self).__name__))

    def forward_features(self, x: Tensor) -> Tensor:
        x = self.repeat_steps(self.downsample1_1(self.check_input(x)))
        x = self.downsample1_2(self.conv_block1_1(x))
        x = self.downsample2(self.conv_block1_2(x))
        x = self.downsample3(self.conv_block2(x))
        stream = self.stage3(to_tokens(x)).stream
        x = self.downsample4(to_map(stream, self.grid))
        return self.stage4(to_tokens(x)).stream


# Variants (Table 2: "time step 4" = T 1 x D 4 MultiSpike). "-m": all 8 linear attentions -> 8-head Spiking-token
# Mixers on 196 tokens; "-m-dstsp": P_s 0.3 before stages 3 and 4, static 137 x 137 W_M' (docs/families.md).
_IMAGENET = dict(dataset="imagenet-1k", num_classes=1000, input_size=(3, 224, 224), time_steps=1)
_DSTSP = dict(type="DSTSP", spatial_ratio=0.3)
_S = dict(embed_dims=(32, 64, 128, 192))
_M = dict(embed_dims=(48, 96, 192, 240))
_L = dict(embed_dims=(64, 128, 256, 360))
register_model("sdtv3-s", PretrainedCfg(**_IMAGENET, paper_params_m=5.10, paper_top1=75.30), **_S)(SDTV3)
register_model("sdtv3-s-m", PretrainedCfg(**_IMAGENET, paper_params_m=6.37, paper_top1=75.25),
               **_S, mixer="stm")(SDTV3)
register_model("sdtv3-s-m-dstsp", PretrainedCfg(**_IMAGENET, paper_params_m=5.05, paper_top1=74.15),
               **_S, mixer="stm", pruning=_DSTSP)(SDTV3)
register_model("sdtv3-m", PretrainedCfg(**_IMAGENET, paper_params_m=10.00, paper_top1=78.50), **_M)(SDTV3)
register_model("sdtv3-m-m", PretrainedCfg(**_IMAGENET, paper_params_m=10.15, paper_top1=78.65),
               **_M, mixer="stm")(SDTV3)
register_model("sdtv3-m-m-dstsp", PretrainedCfg(**_IMAGENET, paper_params_m=9.42, paper_top1=76.63),
               **_M, mixer="stm", pruning=_DSTSP)(SDTV3)
register_model("sdtv3-l", PretrainedCfg(**_IMAGENET, paper_params_m=19.00, paper_top1=79.80), **_L)(SDTV3)
register_model("sdtv3-l-m", PretrainedCfg(**_IMAGENET, paper_params_m=19.36, paper_top1=79.25),
               **_L, mixer="stm")(SDTV3)
register_model("sdtv3-l-m-dstsp", PretrainedCfg(**_IMAGENET, paper_params_m=18.66, paper_top1=77.75),
               **_L, mixer="stm", pruning=_DSTSP)(SDTV3)

# Fashion-MNIST size: 28 x 28 x 1, strides (1, 1, 2, 2) -> 7 x 7 = 49 tokens, widths (8, 16, 32, 64), 1 + 1
# transformer blocks, T = 1.
_FMNIST = dict(dataset="fashion-mnist", num_classes=10, input_size=(1, 28, 28), mean=(0.2860,), std=(0.3530,),
               time_steps=1)
_SDT_FMNIST = dict(img_size=28, in_chans=1, embed_dims=(8, 16, 32, 64), depths=(1, 1), strides=(1, 1, 2, 2))
register_model("sdtv3-fmnist", PretrainedCfg(**_FMNIST), **_SDT_FMNIST)(SDTV3)
register_model("sdtv3-fmnist-m", PretrainedCfg(**_FMNIST), **_SDT_FMNIST, mixer="stm")(SDTV3)
register_model("sdtv3-fmnist-m-dstsp", PretrainedCfg(**_FMNIST), **_SDT_FMNIST, mixer="stm", pruning=_DSTSP)(SDTV3)
