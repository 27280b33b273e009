"""Spikformer V2 (Zhou et al. 2024b): a spiking convolutional stem (SCS) and Spikformer blocks; "-> M" and DSTSP.

Spikformer V2 has no public code or weights. Its blocks are the zoo's Spikformer blocks
(:class:`zoo.mixer.EncoderBlock` with ``mixer='ssa'``: spiking self-attention + spiking MLP, the project's
``spikformer-*`` models); its stem, SCS, is Spikformer V1's spiking patch splitting with extra convolutions, laid
out here so that the parameter counts meet Table 2 (docs/families.md, "Spikformer V2"):

- four stages, widths ``D/8, D/4, D/2, D``: two 3x3 Conv-BN-neuron layers each (V1: one), then a 3x3 max-pool;
- a relative-position stack of ``rpe_depth`` (9; V1: 1) 3x3 Conv-BN-neuron layers at ``D`` with a residual.
"""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from ..encoder import PruningSpec, smixer_encoder
from ..layers import ConvBN, NeuronCfg, build_neuron
from ..registry import PretrainedCfg, register_model
from ._families import check_neuron, downsampled, to_tokens
from .classifier import SpikingImageClassifier

__all__ = ["SpikingConvStem", "SpikformerV2"]


class ConvSN(nn.Module):
    """3x3 Conv-BN then a spiking neuron: ``[T, B, C, H, W]`` -> spikes ``[T, B, C', H, W]``."""

    def __init__(self, in_channels: int, out_channels: int, neuron: NeuronCfg) -> None:
        super().__init__()
        self.conv = ConvBN(in_channels, out_channels, 3)
        self.sn = build_neuron(neuron)

    def forward(self, x: Tensor) -> Tensor:
        return self.sn(self.conv(x))


class SpikingConvStem(nn.Module):
    """SCS: four stages of two :class:`ConvSN` + 3x3 max-pool (``strides``: the pools' strides, 2 = halve), then
    ``rpe_depth`` :class:`ConvSN` at ``embed_dim`` added to their input (spike counts 0..2).

    Input: static images ``[B, C, H, W]`` (the first convolution computed once, then repeated ``time_steps`` times)
    or frames ``[T, B, C, H, W]``. Output: tokens ``[T, B, N, embed_dim]``.
    """

    def __init__(self, in_chans: int, embed_dim: int, neuron: NeuronCfg, strides: Sequence[int] = (2, 2, 2, 2),
                 rpe_depth: int = 9) -> None:
        super().__init__()
        if embed_dim % 8:
            raise ValueError(f"embed_dim must be a multiple of 8, got {embed_dim}")
        widths = [embed_dim // 8, embed_dim // 4, embed_dim // 2, embed_dim]
        chans = [in_chans] + widths
        self.first = ConvBN(in_chans, widths[0], 3)
        self.first_sn = build_neuron(neuron)
        self.layers = nn.ModuleList([ConvSN(widths[0], widths[0], neuron)] + [
            nn.Sequential(ConvSN(chans[i], chans[i + 1], neuron), ConvSN(chans[i + 1], chans[i + 1], neuron))
            for i in range(1, 4)])
        self.pools = nn.ModuleList(nn.MaxPool2d(3, s, 1) for s in strides)
        self.rpe = nn.Sequential(*(ConvSN(embed_dim, embed_dim, neuron) for _ in range(rpe_depth)))

    def forward(self, x: Tensor, time_steps: int) -> Tensor:
        y = self.first(x)
        if y.dim() == 4:
            y = y.unsqueeze(0).expand(time_steps, *y.shape)
        y = self.first_sn(y)
        for layer, pool in zip(self.layers, self.pools):
            y = layer(y)
            y = pool(y.flatten(0, 1)).unflatten(0, y.shape[:2])
        return to_tokens(y + self.rpe(y))


class SpikformerV2(SpikingImageClassifier):
    """SCS stem -> pruned encoder of ``depth`` Spikformer blocks (``mixer='ssa'``) or Spiking-token Mixer blocks
    (``mixer='stm'``, ``mixer_heads`` heads: the "-> M" model) -> mean over tokens -> Linear -> mean over time.

    Pruning as in :class:`zoo.models.SMixer` (``pruning``, :class:`zoo.encoder.PruningOptions`; no
    in-stem point). ``strides``: the stem's four pool strides (ImageNet: 16x); ``rpe_depth``: the stem's last stack.
    """

    def __init__(self, img_size: int = 224, in_chans: int = 3, num_classes: int = 1000, embed_dim: int = 384,
                 depth: int = 8, num_heads: int = 8, mlp_ratio: float = 4.0, time_steps: int = 1,
                 mixer: str = "ssa", mixer_heads: int = 4, neuron: NeuronCfg = "LIF",
                 strides: Sequence[int] = (2, 2, 2, 2), rpe_depth: int = 9,
                 pruning: PruningSpec = None, time_first: bool = False) -> None:
        super().__init__(img_size, in_chans, num_classes, embed_dim, time_steps, time_first)
        self.reset_classifier(num_classes)
        side = img_size
        for s in strides:
            side = downsampled(side, s)
        self.num_tokens, self.mixer_heads = side * side, mixer_heads
        self.patch_embed = SpikingConvStem(in_chans, embed_dim, check_neuron(neuron), strides, rpe_depth)
        self.blocks = smixer_encoder(embed_dim, self.num_tokens, depth, mixer_heads if mixer == "stm" else num_heads,
                                     mlp_ratio, mixer, neuron, pruning, time_steps,
                                     owner=type(self).__name__)

    def forward_features(self, x: Tensor) -> Tensor:
        tokens = self.patch_embed(self.check_input(x), self.time_steps)
        return self.blocks(tokens).stream


# Variants (Table 2; T = 1 rows, configs set T = 4). "-m": SSA -> Spiking-token Mixer with 4 heads (the rule that
# meets the paper's 27.97 / 48.56 M); "-m-dstsp": P_s 0.3, static 137 x 137 W_M'.
_IMAGENET = dict(dataset="imagenet-1k", num_classes=1000, input_size=(3, 224, 224), time_steps=1)
_V2_384 = dict(embed_dim=384, depth=8, num_heads=8)
_V2_512 = dict(embed_dim=512, depth=8, num_heads=8)
_DSTSP = dict(type="DSTSP", spatial_ratio=0.3)
register_model("spikformerv2-8-384", PretrainedCfg(**_IMAGENET, paper_params_m=29.11, paper_top1=75.42),
               **_V2_384)(SpikformerV2)
register_model("spikformerv2-8-384-m", PretrainedCfg(**_IMAGENET, paper_params_m=27.97, paper_top1=76.39),
               **_V2_384, mixer="stm")(SpikformerV2)
register_model("spikformerv2-8-384-m-dstsp", PretrainedCfg(**_IMAGENET, paper_params_m=27.34, paper_top1=76.22),
               **_V2_384, mixer="stm", pruning=_DSTSP)(SpikformerV2)
register_model("spikformerv2-8-512", PretrainedCfg(**_IMAGENET, paper_params_m=51.55, paper_top1=79.05),
               **_V2_512)(SpikformerV2)
register_model("spikformerv2-8-512-m", PretrainedCfg(**_IMAGENET, paper_params_m=48.56, paper_top1=79.16),
               **_V2_512, mixer="stm")(SpikformerV2)
register_model("spikformerv2-8-512-m-dstsp", PretrainedCfg(**_IMAGENET, paper_params_m=47.93, paper_top1=78.99),
               **_V2_512, mixer="stm", pruning=_DSTSP)(SpikformerV2)

# Fashion-MNIST size (CPU comparison with smixer-fmnist): 28 x 28 x 1, pools (1, 1, 2, 2) -> 7 x 7 = 49 tokens,
# 2 blocks x 64 channels, T = 1.
_FMNIST = dict(dataset="fashion-mnist", num_classes=10, input_size=(1, 28, 28), mean=(0.2860,), std=(0.3530,),
               time_steps=1)
_V2_FMNIST = dict(img_size=28, in_chans=1, embed_dim=64, depth=2, num_heads=8, strides=(1, 1, 2, 2), rpe_depth=2)
register_model("spikformerv2-fmnist", PretrainedCfg(**_FMNIST), **_V2_FMNIST)(SpikformerV2)
register_model("spikformerv2-fmnist-m", PretrainedCfg(**_FMNIST), **_V2_FMNIST, mixer="stm")(SpikformerV2)
register_model("spikformerv2-fmnist-m-dstsp", PretrainedCfg(**_FMNIST), **_V2_FMNIST, mixer="stm",
               pruning=_DSTSP)(SpikformerV2)
