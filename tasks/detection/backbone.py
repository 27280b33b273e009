"""SpikeYOLO backbone whose deep stages are Spiking-token Mixer stages (paper §4.3 and appendix E.3).

Stem (7x7 conv, stride 4) -> stage 1 (stride 4) -> stage 2 (stride 8) -> stage 3 (stride 16) -> stage 4
(stride 32) -> spiking SPPF. Each stage but the first starts with a spiking 3x3 stride-2 down-sampling conv.
A stage is made of SpikeYOLO conv blocks (``'allconv'`` = ``MS_AllConvBlock``, ``'conv'`` = ``MS_ConvBlock``) or
of SMixer encoder blocks (``'smixer'``, :class:`SMixerStage`). The paper's hybrid is
``('allconv', 'allconv', 'smixer', 'smixer')`` with 4 and 2 SMixer blocks; SpikeYOLO itself is
``('allconv', 'allconv', 'conv', 'conv')``.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import torch.nn.functional as F
from torch import Tensor, nn

from zoo.encoder import PruningSpec, smixer_encoder
from zoo.layers import NeuronCfg

from .layers import AllConvBlock, ConvBlock, SpikeConv, SpikeSPPF, detector_neuron

__all__ = ["SMixerStage", "SpikeYOLOBackbone", "STAGE_TYPES"]

STAGE_TYPES = ("allconv", "conv", "smixer")


class SMixerStage(nn.Module):
    """SMixer encoder blocks on a fixed token grid inside a convolutional network.

    ``[T, B, C, H, W]`` -> ``[T, B, C, H, W]``. The feature map is adaptively average-pooled to ``grid`` (the grid of
    the training resolution, e.g. 40x40 at stride 16 for 640 px) when its size differs, turned into tokens
    ``[T, B, N, C]``, run through a pruned encoder of ``depth`` :class:`zoo.mixer.EncoderBlock` s and bilinearly
    interpolated back to ``H x W`` (appendix E.3).

    Pruning as in :class:`zoo.models.SMixer` (``pruning``: :class:`zoo.encoder.PruningOptions` or its flat dict
    ``dict(type=<pruner>, ..., placement=..., mixer_weight=...)``), always with pass-through: pruned tokens and steps
    skip the blocks and their residual stream passes through unchanged, so the neck still receives a full feature
    map. The stage has no stem, so in-stem placement (DSTSP ``temporal_placement="IS"``) is refused. A pruner's
    auxiliary loss reaches the training loss through :class:`tasks.detection.SpikingDetector`.
    """

    def __init__(self, dim: int, grid: Tuple[int, int], depth: int, num_heads: int = 1, mlp_ratio: float = 4.0,
                 neuron: Optional[NeuronCfg] = None, pruning: PruningSpec = None, time_steps: int = 1) -> None:
        super().__init__()
        if len(grid) != 2 or min(grid) < 1:
            raise ValueError(f"token grid must be (height, width) >= 1, got {grid}")
        self.grid = (int(grid[0]), int(grid[1]))
        num_tokens = self.grid[0] * self.grid[1]
        self.blocks = smixer_encoder(dim, num_tokens, depth, num_heads, mlp_ratio, "stm", detector_neuron(neuron),
                                     pruning, time_steps, pass_through=True, owner="SMixerStage")

    def forward(self, x: Tensor) -> Tensor:
        t, b, c, h, w = x.shape
        resample = (h, w) != self.grid
        y = F.adaptive_avg_pool2d(x.flatten(0, 1), self.grid) if resample else x.flatten(0, 1)
        tokens = y.flatten(2).transpose(1, 2).unflatten(0, (t, b))  # [T, B, N, C]
        out = self.blocks(tokens).stream  # [T, B, N, C]: pruned tokens and steps passed through
        y = out.transpose(2, 3).reshape(t * b, c, *self.grid)
        if resample:
            y = F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False)
        return y.unflatten(0, (t, b))


class SpikeYOLOBackbone(nn.Module):
    """Spiking YOLO backbone (SpikeYOLO) with optional SMixer stages.

    Input: images ``[B, C_in, H, W]`` (direct encoding: the stem conv is computed once and repeated over
    ``time_steps``). Output: ``(P3, P4, P5)`` = stage-2 ``[T, B, w2, H/8, W/8]``, stage-3 ``[T, B, w3, H/16, W/16]``
    and SPPF ``[T, B, sppf, H/32, W/32]`` (real-valued; H and W are multiples of 32 for exact strides).

    Args:
        widths: channels of stages 1-4 (the stem outputs ``widths[0]``).
        depths: blocks per stage.
        stage_types: ``'allconv'``, ``'conv'`` or ``'smixer'`` per stage.
        mlp_ratios: channel expansion of each stage's blocks.
        kernel_size: depth-wise kernel of the SepConv in the conv blocks (7 in SpikeYOLO).
        sppf_channels: output channels of the SPPF (default ``widths[3]``).
        time_steps: T (1 on COCO, as in SpikeYOLO).
        train_size: ``(height, width)`` (or one int) of the training images; fixes each SMixer stage's token grid
            (``train_size / stride``) and thereby the size of its N x N mixing matrices.
        num_heads: heads of the token mixer per stage (only SMixer stages use it).
        neuron: ``dict(type='ILIF', max_value=4, decay=0.25)`` (default) or another zoo neuron config.
        pruning: the SMixer stages' pruning (:class:`SMixerStage`), e.g. ``dict(type='DSTSP', spatial_ratio=0.2)``,
            or ``None``.
    """

    def __init__(self, widths: Sequence[int] = (80, 160, 320, 640), depths: Sequence[int] = (2, 3, 4, 2),
                 stage_types: Sequence[str] = ("allconv", "allconv", "smixer", "smixer"),
                 mlp_ratios: Sequence[float] = (4.0, 4.0, 4.0, 4.0), kernel_size: int = 7,
                 sppf_channels: Optional[int] = None, in_channels: int = 3, time_steps: int = 1,
                 train_size: Union[int, Sequence[int]] = 640, num_heads: Sequence[int] = (1, 1, 1, 1),
                 neuron: Optional[NeuronCfg] = None, pruning: PruningSpec = None) -> None:
        super().__init__()
        for name, value in (("widths", widths), ("depths", depths), ("stage_types", stage_types),
                            ("mlp_ratios", mlp_ratios), ("num_heads", num_heads)):
            if len(value) != 4:
                raise ValueError(f"{name} needs one entry per stage (4), got {list(value)}")
        bad = [t for t in stage_types if t not in STAGE_TYPES]
        if bad:
            raise ValueError(f"unknown stage types {bad}; choose from {STAGE_TYPES}")
        if time_steps < 1:
            raise ValueError(f"time_steps must be >= 1, got {time_steps}")
        size = (train_size, train_size) if isinstance(train_size, int) else tuple(train_size)
        if len(size) != 2 or size[0] % 32 or size[1] % 32:
            raise ValueError(f"train_size must be (height, width) multiples of 32, got {train_size}")
        self.time_steps, self.in_channels = time_steps, in_channels
        self.stem = SpikeConv(in_channels, widths[0], 7, 4, padding=2, bias=True, spiking=False)
        stages = []
        for i, (width, depth, kind, ratio, heads) in enumerate(zip(widths, depths, stage_types, mlp_ratios,
                                                                   num_heads)):
            layers = [] if i == 0 else [SpikeConv(widths[i - 1], width, 3, 2, bias=True, neuron=neuron)]
            stride = 4 * 2 ** i
            if kind == "smixer":
                layers.append(SMixerStage(width, (size[0] // stride, size[1] // stride), depth, heads, ratio,
                                          neuron, pruning, time_steps))
            else:
                block = ConvBlock if kind == "conv" else AllConvBlock
                layers.extend(block(width, ratio, kernel_size, neuron) for _ in range(depth))
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.sppf = SpikeSPPF(widths[3], sppf_channels or widths[3], 5, neuron)
        self.out_channels = (widths[1], widths[2], sppf_channels or widths[3])

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"SpikeYOLOBackbone expects images [B, {self.in_channels}, H, W], got {tuple(x.shape)}")
        if x.shape[-2] % 32 or x.shape[-1] % 32:
            raise ValueError(f"image height and width must be multiples of 32 (pad them), got {tuple(x.shape[-2:])}")
        y = self.stem(x.unsqueeze(0))
        y = y.expand(self.time_steps, *y.shape[1:])  # [T, B, C, H/4, W/4]
        feats = []
        for stage in self.stages:
            y = stage(y)
            feats.append(y)
        return feats[1], feats[2], self.sppf(feats[3])
