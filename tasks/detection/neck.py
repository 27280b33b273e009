"""SpikeYOLO's spiking PAN neck (YOLOv8 top-down + bottom-up path over P3/P4/P5) on ``[T, B, C, H, W]``."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.layers import NeuronCfg, per_step

from .layers import AllConvBlock, ConvBlock, SpikeConv

__all__ = ["SpikingPAN"]


def _upsample(x: Tensor) -> Tensor:
    """Nearest 2x up-sampling of every step: ``[T, B, C, H, W]`` -> ``[T, B, C, 2H, 2W]``."""
    return per_step(lambda y: F.interpolate(y, scale_factor=2.0, mode="nearest"), x)


class SpikingPAN(nn.Module):
    """SpikeYOLO's neck (layers 10-25 of its ``snn_yolov8.yaml``), with ``c3, c4 = channels``:

    top-down:  ``a = SpikeConv1x1(P5 -> c4)``; ``u = ConvBlock(up(a))``; ``b = SpikeConv1x1([u, P4] -> c3)``;
    ``v = AllConvBlock(up(b))``; ``out3 = AllConvBlock(SpikeConv1x1([v, P3] -> c3))``;
    bottom-up: ``out4 = ConvBlock([SpikeConv3x3s2(out3 -> c3), b])``;
    ``out5 = ConvBlock([SpikeConv3x3s2(out4 -> c4), a])``.

    Input ``(P3, P4, P5)`` ``[T, B, C_i, H_i, W_i]`` at strides 8/16/32; output ``(out3, out4, out5)`` with
    channels :attr:`out_channels` = ``(c3, 2 c3, 2 c4)``. ``mlp_ratios`` = (all-conv blocks, P4 conv blocks,
    P5 conv block), ``(4, 3, 2)`` in SpikeYOLO.
    """

    def __init__(self, in_channels: Sequence[int] = (160, 320, 640), channels: Sequence[int] = (160, 320),
                 mlp_ratios: Sequence[float] = (4.0, 3.0, 2.0), kernel_size: int = 7,
                 neuron: Optional[NeuronCfg] = None) -> None:
        super().__init__()
        if len(in_channels) != 3 or len(channels) != 2 or len(mlp_ratios) != 3:
            raise ValueError(f"SpikingPAN needs 3 in_channels, 2 channels and 3 mlp_ratios, got {list(in_channels)}, "
                             f"{list(channels)}, {list(mlp_ratios)}")
        p3, p4, p5 = in_channels
        c3, c4 = channels
        r_all, r4, r5 = mlp_ratios
        self.reduce5 = SpikeConv(p5, c4, 1, neuron=neuron)
        self.td_block4 = ConvBlock(c4, r4, kernel_size, neuron)
        self.reduce4 = SpikeConv(c4 + p4, c3, 1, neuron=neuron)
        self.td_block3 = AllConvBlock(c3, r_all, kernel_size, neuron)
        self.reduce3 = SpikeConv(c3 + p3, c3, 1, neuron=neuron)
        self.out_block3 = AllConvBlock(c3, r_all, kernel_size, neuron)
        self.down3 = SpikeConv(c3, c3, 3, 2, neuron=neuron)
        self.out_block4 = ConvBlock(2 * c3, r4, kernel_size, neuron)
        self.down4 = SpikeConv(2 * c3, c4, 3, 2, neuron=neuron)
        self.out_block5 = ConvBlock(2 * c4, r5, kernel_size, neuron)
        self.out_channels = (c3, 2 * c3, 2 * c4)

    def forward(self, feats: Tuple[Tensor, Tensor, Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
        p3, p4, p5 = feats
        a = self.reduce5(p5)
        b = self.reduce4(torch.cat([self.td_block4(_upsample(a)), p4], dim=2))
        out3 = self.out_block3(self.reduce3(torch.cat([self.td_block3(_upsample(b)), p3], dim=2)))
        out4 = self.out_block4(torch.cat([self.down3(out3), b], dim=2))
        out5 = self.out_block5(torch.cat([self.down4(out4), a], dim=2))
        return out3, out4, out5
