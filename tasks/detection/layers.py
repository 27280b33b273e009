"""SpikeYOLO's spiking convolution blocks on time-first feature maps ``[T, B, C, H, W]``.

Every block starts its branches with a spiking neuron (I-LIF, D = 4, from :mod:`zoo.neurons`), so every
convolution except the first one of the stem sees (integer) spikes; the residual stream between blocks is
real-valued. The structure follows SpikeYOLO's ``MS_*`` modules (see docs/detection.md):

- :class:`SpikeConv`: SN -> Conv -> BN (``MS_StandardConv``, ``SpikeConv``, ``MS_DownSampling``; with
  ``norm=False`` the head's last ``SpikeConvWithoutBN``);
- :class:`SepConv`: inverted separable convolution SN-PW-BN-SN-DW-BN-SN-SepRepConv-BN;
- :class:`ConvBlock` (``MS_ConvBlock``) and :class:`AllConvBlock` (``MS_AllConvBlock``);
- :class:`SpikeSPPF`: spatial pyramid pooling (three 5x5 max-pools) between two SpikeConvs.

:class:`RepConv` and :class:`SepRepConv` are re-parameterisable chains (1x1 / depth-wise / BN with border padding
by the BN's zero response); :func:`fuse_reparam` turns each of them into the single ``k x k`` convolution it equals
at inference, which is the spike-driven form whose operations :func:`zoo.ops.op_report` counts.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.layers import NeuronCfg, build_neuron, neuron_cfg, per_step

__all__ = ["DEFAULT_NEURON", "detector_neuron", "build_det_neuron", "SpikeConv", "BNAndPad", "RepConv", "SepRepConv",
           "SepConv", "ConvBlock", "AllConvBlock", "SpikeSPPF", "fuse_reparam"]

DEFAULT_NEURON: Dict[str, Any] = dict(type="ILIF", max_value=4, decay=0.25)


def detector_neuron(neuron: Optional[NeuronCfg] = None) -> Dict[str, Any]:
    """The detector's neuron config, checked (:func:`zoo.layers.neuron_cfg`; ``None``: I-LIF, D = 4, decay 0.25).

    The detector's layers take I-LIF's integer form only, so a spike-driven I-LIF is refused.
    """
    cfg = neuron_cfg(DEFAULT_NEURON if neuron is None else neuron)
    if cfg.get("spike_driven"):
        raise ValueError("the detector's layers take I-LIF's integer form only: drop spike_driven=True (the "
                         "spike-driven form gives the same outputs, docs/neurons.md)")
    return cfg


def build_det_neuron(neuron: Optional[NeuronCfg] = None) -> nn.Module:
    """The multi-step neuron of :func:`detector_neuron` 's config."""
    return build_neuron(detector_neuron(neuron))


class SpikeConv(nn.Module):
    """SN -> Conv2d -> BN on ``[T, B, C_in, H, W]`` -> ``[T, B, C_out, H/s, W/s]``.

    ``spiking=False`` drops the neuron (the stem's first convolution on the real-valued image); ``norm=False``
    drops the BN (the head's output convolutions, which then carry a bias).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1,
                 padding: Optional[int] = None, groups: int = 1, bias: bool = False, norm: bool = True,
                 spiking: bool = True, neuron: Optional[NeuronCfg] = None) -> None:
        super().__init__()
        padding = kernel_size // 2 if padding is None else padding
        self.sn = build_det_neuron(neuron) if spiking else None
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=bias)
        self.bn = nn.BatchNorm2d(out_channels) if norm else None

    def forward(self, x: Tensor) -> Tensor:
        if self.sn is not None:
            x = self.sn(x)
        return per_step(self.conv if self.bn is None else lambda z: self.bn(self.conv(z)), x)


class BNAndPad(nn.BatchNorm2d):
    """BatchNorm2d, then a border of ``pad`` pixels filled with the BN's response to a zero input.

    With that border a chain ``conv1x1 -> BNAndPad -> conv kxk (no padding)`` equals one zero-padded ``k x k``
    convolution (running statistics are used for the border, as in SpikeYOLO / RepVGG).
    """

    def __init__(self, num_features: int, pad: int) -> None:
        super().__init__(num_features)
        self.pad = pad

    def zero_response(self) -> Tensor:
        """``BN(0)`` per channel with the running statistics, ``[C]``."""
        return self.bias - self.running_mean * self.weight / torch.sqrt(self.running_var + self.eps)

    def forward(self, x: Tensor) -> Tensor:
        y = super().forward(x)
        if self.pad == 0:
            return y
        p = self.pad
        y = F.pad(y, [p, p, p, p])
        border = torch.ones(y.shape[-2:], dtype=torch.bool, device=y.device)
        border[p:-p, p:-p] = False
        return torch.where(border, self.zero_response().detach().view(1, -1, 1, 1).to(y.dtype), y)


def _bn_affine(bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


class RepConv(nn.Module):
    """SpikeYOLO's re-parameterisable ``k x k`` convolution: conv1x1(C_in) -> BNAndPad -> depth-wise kxk ->
    conv1x1(C_in -> C_out) -> BN. 4-D ``[N, C_in, H, W]`` -> ``[N, C_out, H, W]``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.pw_in = nn.Conv2d(in_channels, in_channels, 1, bias=False)
        self.bn_pad = BNAndPad(in_channels, kernel_size // 2)
        self.dw = nn.Conv2d(in_channels, in_channels, kernel_size, groups=in_channels, bias=False)
        self.pw_out = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.pw_out(self.dw(self.bn_pad(self.pw_in(x)))))

    @torch.no_grad()
    def fused(self) -> nn.Sequential:
        """The equal ``Conv2d(k x k, bias) -> BN`` (valid in eval mode: BN running statistics)."""
        a = self.pw_in.weight[:, :, 0, 0]  # [C, C_in]
        scale, shift = _bn_affine(self.bn_pad)
        d = self.dw.weight[:, 0]  # [C, k, k]
        p = self.pw_out.weight[:, :, 0, 0]  # [C_out, C]
        weight = torch.einsum("oc,ckl,c,ci->oikl", p, d, scale, a)
        bias = p @ (shift * d.sum((1, 2)))
        return _conv_with(weight, bias, self.bn)


class SepRepConv(nn.Module):
    """SpikeYOLO's re-parameterisable separable convolution: BNAndPad -> conv1x1(C_in -> C_out) -> depth-wise kxk.
    4-D ``[N, C_in, H, W]`` -> ``[N, C_out, H, W]``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.bn_pad = BNAndPad(in_channels, kernel_size // 2)
        self.pw = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.dw = nn.Conv2d(out_channels, out_channels, kernel_size, groups=out_channels, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.dw(self.pw(self.bn_pad(x)))

    @torch.no_grad()
    def fused(self) -> nn.Sequential:
        """The equal ``Conv2d(k x k, bias)`` (valid in eval mode)."""
        scale, shift = _bn_affine(self.bn_pad)
        p = self.pw.weight[:, :, 0, 0]  # [C_out, C_in]
        d = self.dw.weight[:, 0]  # [C_out, k, k]
        weight = torch.einsum("okl,oi,i->oikl", d, p, scale)
        bias = d.sum((1, 2)) * (p @ shift)
        return _conv_with(weight, bias, None)


def _conv_with(weight: Tensor, bias: Tensor, bn: Optional[nn.BatchNorm2d]) -> nn.Sequential:
    out_channels, in_channels, k, _ = weight.shape
    conv = nn.Conv2d(in_channels, out_channels, k, padding=k // 2, bias=True).to(weight.device)
    conv.weight.copy_(weight)
    conv.bias.copy_(bias)
    return nn.Sequential(conv) if bn is None else nn.Sequential(conv, bn)


def fuse_reparam(model: nn.Module) -> nn.Module:
    """Replace every :class:`RepConv` / :class:`SepRepConv` in ``model`` by its fused convolution (in place).

    The model must be in eval mode (the fusion uses BN running statistics). Returns ``model``.
    """
    if model.training:
        raise RuntimeError("fuse_reparam needs the model in eval mode (BN running statistics); call .eval() first")
    for name, child in list(model.named_children()):
        if isinstance(child, (RepConv, SepRepConv)):
            setattr(model, name, child.fused())
        else:
            fuse_reparam(child)
    return model


class SepConv(nn.Module):
    """Inverted separable convolution (MobileNetV2 style, SpikeYOLO ``SepConv``), expansion 2.

    SN -> PW(C -> 2C) -> BN -> SN -> DW k x k -> BN -> SN -> SepRepConv(2C -> C, 3x3) -> BN.
    ``[T, B, C, H, W]`` -> ``[T, B, C, H, W]``.
    """

    def __init__(self, dim: int, kernel_size: int = 7, expansion: int = 2,
                 neuron: Optional[NeuronCfg] = None) -> None:
        super().__init__()
        hidden = dim * expansion
        self.pw = SpikeConv(dim, hidden, 1, neuron=neuron)
        self.dw = SpikeConv(hidden, hidden, kernel_size, groups=hidden, neuron=neuron)
        self.sn = build_det_neuron(neuron)
        self.proj = nn.Sequential(SepRepConv(hidden, dim), nn.BatchNorm2d(dim))

    def forward(self, x: Tensor) -> Tensor:
        return per_step(self.proj, self.sn(self.dw(self.pw(x))))


class ConvBlock(nn.Module):
    """SpikeYOLO ``MS_ConvBlock``: ``x = x + SepConv(x)``; ``x = x + BN(Rep(SN(BN(Rep(SN(x))))))`` with the
    channel mixer ``C -> rC -> C`` made of :class:`RepConv` s. ``[T, B, C, H, W]`` -> same shape."""

    def __init__(self, dim: int, mlp_ratio: float = 4.0, kernel_size: int = 7,
                 neuron: Optional[NeuronCfg] = None) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.sep = SepConv(dim, kernel_size, neuron=neuron)
        self.sn1, self.sn2 = build_det_neuron(neuron), build_det_neuron(neuron)
        self.conv1 = nn.Sequential(RepConv(dim, hidden), nn.BatchNorm2d(hidden))
        self.conv2 = nn.Sequential(RepConv(hidden, dim), nn.BatchNorm2d(dim))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.sep(x)
        return x + per_step(self.conv2, self.sn2(per_step(self.conv1, self.sn1(x))))


class AllConvBlock(nn.Module):
    """SpikeYOLO ``MS_AllConvBlock``: ``x = x + SepConv(x)``; ``x = x + SpikeConv3x3(SpikeConv3x3(x))``
    (``C -> rC -> C``). ``[T, B, C, H, W]`` -> same shape."""

    def __init__(self, dim: int, mlp_ratio: float = 4.0, kernel_size: int = 7,
                 neuron: Optional[NeuronCfg] = None) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.sep = SepConv(dim, kernel_size, neuron=neuron)
        self.conv1 = SpikeConv(dim, hidden, 3, neuron=neuron)
        self.conv2 = SpikeConv(hidden, dim, 3, neuron=neuron)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.sep(x)
        return x + self.conv2(self.conv1(x))


class SpikeSPPF(nn.Module):
    """Spiking SPPF: SpikeConv1x1(C_in -> C_in/2) -> three chained k x k max-pools -> concat (4 x C_in/2) ->
    SpikeConv1x1(-> C_out). ``[T, B, C_in, H, W]`` -> ``[T, B, C_out, H, W]``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5,
                 neuron: Optional[NeuronCfg] = None) -> None:
        super().__init__()
        hidden = in_channels // 2
        self.cv1 = SpikeConv(in_channels, hidden, 1, neuron=neuron)
        self.pool = nn.MaxPool2d(kernel_size, stride=1, padding=kernel_size // 2)
        self.cv2 = SpikeConv(hidden * 4, out_channels, 1, neuron=neuron)

    def forward(self, x: Tensor) -> Tensor:
        y0 = self.cv1(x)
        y1 = per_step(self.pool, y0)
        y2 = per_step(self.pool, y1)
        y3 = per_step(self.pool, y2)
        return self.cv2(torch.cat([y0, y1, y2, y3], dim=2))
