"""Building blocks shared by every model: neuron factory, Linear+BN, Conv+BN, spiking patch splitting.

Layout conventions (used everywhere in the zoo):
- images and event frames: ``[T, B, C, H, W]`` (time first), static images ``[B, C, H, W]``;
- tokens: ``[T, B, N, C]`` (time first, channels last, so every Linear is one GEMM over ``T*B*N`` rows).
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from .neurons import ILIF, LIF, collapse_spike_slots, spike_slots

__all__ = ["NeuronCfg", "neuron_cfg", "build_neuron", "NEURONS", "spiking_neuron_types", "take_steps", "take_tokens",
           "per_step", "SlotLinear", "SlotConv2d", "LinearBN", "ConvBN", "SpikingPatchSplitting", "StepPruner"]

NEURONS: Dict[str, Callable[..., nn.Module]] = {"LIF": LIF, "ILIF": ILIF}
NeuronCfg = Union[str, Mapping[str, Any]]  # dict(type='LIF' | 'ILIF', **options), or the bare type name
StepPruner = Callable[[Tensor], Tuple[Tensor, Optional[Tensor]]]  # [T, B, *] -> kept [T', B, *], index [T', B]


def spiking_neuron_types() -> Tuple[type, ...]:
    """The classes of the registered neurons (:data:`NEURONS`, what ``neuron=dict(type=...)`` builds): the modules
    that count as a model's spiking neurons (op counts, analyses), whichever neurons the registry holds."""
    return tuple(dict.fromkeys(kind for kind in NEURONS.values() if isinstance(kind, type)))


def neuron_cfg(neuron: NeuronCfg) -> Dict[str, Any]:
    """The neuron config as a new dict ``dict(type=<LIF | ILIF>, **options)``, checked.

    The one neuron convention of the zoo and the tasks: ``dict(type='LIF', decay=0.5)``, ``dict(type='ILIF',
    max_value=4, spike_driven=True)``; a bare name (``'LIF'``, ``'ilif'``) means that neuron with its defaults.
    Type names are case-insensitive.
    """
    if isinstance(neuron, str):
        cfg: Dict[str, Any] = dict(type=neuron)
    elif isinstance(neuron, Mapping):
        cfg = dict(neuron)
    else:
        raise TypeError(f"neuron must be dict(type='LIF' | 'ILIF', ...) or a neuron name, got {type(neuron).__name__}")
    kind = cfg.get("type")
    if kind is None:
        raise ValueError(f"neuron config {cfg} has no type: use dict(type='LIF' | 'ILIF', ...)")
    if not isinstance(kind, str) or kind.upper() not in NEURONS:
        raise ValueError(f"unknown neuron type {kind!r}; choose one of {sorted(NEURONS)}")
    cfg["type"] = kind.upper()
    known = list(inspect.signature(NEURONS[cfg["type"]]).parameters)
    unknown = sorted(set(cfg) - set(known) - {"type"})
    if unknown:
        raise ValueError(f"neuron {cfg['type']!r} does not take {unknown}; its options are {known}")
    return cfg


def build_neuron(neuron: NeuronCfg = "LIF") -> nn.Module:
    """A multi-step neuron from its config (:func:`neuron_cfg`): ``dict(type='ILIF', max_value=4)`` -> ``ILIF``."""
    cfg = neuron_cfg(neuron)
    return NEURONS[cfg.pop("type")](**cfg)


def _check_slots(slots: int) -> int:
    if int(slots) < 1:
        raise ValueError(f"slots must be >= 1, got {slots}")
    return int(slots)


def per_step(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """Apply a per-image ``fn`` to every time step at once: ``[T, B, ...]`` -> ``[T, B, ...']`` (SpikingJelly's
    ``SeqToANNContainer``: time and batch folded into one batch dimension, then unfolded)."""
    return fn(x.flatten(0, 1)).unflatten(0, x.shape[:2])


class SlotLinear(nn.Linear):
    """``nn.Linear`` that also consumes the spike-driven I-LIF form (same parameters and state dict).

    ``slots = 1``: plain ``nn.Linear``, ``[*, C_in]`` -> ``[*, C_out]``. ``slots = D``: the input is ``[T*D, *, C_in]``
    binary slots; the weight is applied slot by slot, the D slots of each step are summed and the bias is added
    once: ``[T*D, *, C_in]`` -> ``[T, *, C_out]``, which equals the layer applied to the integer spikes.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, slots: int = 1) -> None:
        super().__init__(in_features, out_features, bias=bias)
        self.slots = _check_slots(slots)

    def forward(self, x: Tensor) -> Tensor:
        if self.slots == 1:
            return super().forward(x)
        y = collapse_spike_slots(nn.functional.linear(x, self.weight), self.slots)
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", slots={self.slots}" if self.slots > 1 else "")


class SlotConv2d(nn.Conv2d):
    """``nn.Conv2d`` over every time step that also consumes the spike-driven I-LIF form (same state dict).

    ``[B, C, H, W]`` -> ``[B, C', H', W']`` (one image per sample); ``[S, B, C, H, W]`` ->
    ``[S / slots, B, C', H', W']``: with ``slots = D`` the S = T*D binary slots are convolved one by one (weight
    only), the D slots of each step summed, then the bias added once.
    """

    def __init__(self, *args: Any, slots: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots = _check_slots(slots)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 4:
            return super().forward(x)
        if self.slots == 1:
            return per_step(super().forward, x)
        y = per_step(lambda z: self._conv_forward(z, self.weight, None), x)
        y = collapse_spike_slots(y, self.slots)
        return y if self.bias is None else y + self.bias.view(-1, 1, 1)

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", slots={self.slots}" if self.slots > 1 else "")


class LinearBN(nn.Module):
    """Linear over channels followed by BatchNorm over channels. ``[*, C_in]`` -> ``[*, C_out]``.

    Equivalent to the reference code's ``Conv1d(k=1) + BatchNorm1d`` on ``[T*B, C, N]``, in channel-last layout.
    With ``slots = D`` (input from a spike-driven I-LIF) the input is ``[T*D, *, C_in]`` and the output
    ``[T, *, C_out]``: the slots are summed after the weight product, before the bias and BN (:class:`SlotLinear`).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, slots: int = 1) -> None:
        super().__init__()
        self.linear = SlotLinear(in_features, out_features, bias=bias, slots=slots)
        self.bn = nn.BatchNorm1d(out_features)

    def forward(self, x: Tensor) -> Tensor:
        y = self.linear(x)
        return self.bn(y.reshape(-1, y.shape[-1])).view(y.shape)


class ConvBN(nn.Module):
    """Conv2d + BatchNorm2d applied to every time step. ``[T, B, C, H, W]`` -> ``[T, B, C', H', W']``.

    A 4-D input ``[B, C, H, W]`` is computed once (used for static images: identical at every step). With
    ``slots = D`` (input from a spike-driven I-LIF) the input is ``[T*D, B, C, H, W]`` and the slots are summed
    after the convolution, before the bias and BN (:class:`SlotConv2d`).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: Optional[int] = None, bias: bool = False, slots: int = 1) -> None:
        super().__init__()
        padding = kernel_size // 2 if padding is None else padding
        self.conv = SlotConv2d(in_channels, out_channels, kernel_size, stride, padding, bias=bias, slots=slots)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        y = self.conv(x)
        return self.bn(y) if y.dim() == 4 else per_step(self.bn, y)


def _stem_strides(downsample: int) -> Tuple[int, ...]:
    if downsample == 16:
        return (1, 2, 2, 2, 2)
    if downsample == 4:
        return (1, 1, 1, 2, 2)
    raise ValueError(f"patch splitting supports 4x or 16x downsampling, got {downsample}")


STEM_LAYERS = 4  # the spiking conv layers of SpikingPatchSplitting's main path that in-stem pruning can follow


class SpikingPatchSplitting(nn.Module):
    """STMixer's spiking patch splitting ("SPS v2").

    Main path: 3x3 Conv-BN-neuron with widths C/8, C/4, C/2, C, then Conv-BN to 7C/8 (no neuron); strides
    (1,2,2,2,2) for 16x or (1,1,1,2,2) for 4x downsampling. Shortcut: Conv(k = s = downsampling)-BN from the input
    to C/8 channels. Both are concatenated to C channels and flattened to tokens.

    Input: static ``[B, C_in, H, W]`` (repeated over ``time_steps``, first conv and shortcut computed once) or
    event frames ``[T, B, C_in, H, W]``. Output: ``[T, B, N, C]`` real-valued tokens, N = (H/s) * (W/s).

    In-stem time-step pruning: ``forward``'s ``stem_pruner`` (the pruned encoder's ``stem_pruner``, ``None`` for
    none) is called after main-path conv-BN layer ``prune_layer`` (0..3: before the neuron of that layer) with the
    pre-activation ``[T, B, C, H, W]``; it returns the kept steps and their index ``[T', B]`` (``None`` when nothing
    was pruned); the rest of the main path runs on the kept steps and the shortcut keeps the same steps.
    """

    def __init__(self, in_channels: int, embed_dim: int, downsample: int = 16, neuron: NeuronCfg = "LIF",
                 prune_layer: int = 0) -> None:
        super().__init__()
        if embed_dim % 8:
            raise ValueError(f"embed_dim must be a multiple of 8 for patch splitting, got {embed_dim}")
        if isinstance(prune_layer, bool) or prune_layer not in range(STEM_LAYERS):
            raise ValueError(f"prune_layer (a model's stem_layer) must be in 0..{STEM_LAYERS - 1}, got {prune_layer!r}")
        self.downsample, self.prune_layer = downsample, prune_layer
        widths = [embed_dim // 8, embed_dim // 4, embed_dim // 2, embed_dim, embed_dim * 7 // 8]
        strides = _stem_strides(downsample)
        chans = [in_channels] + widths
        self.neurons = nn.ModuleList(build_neuron(neuron) for _ in range(4))
        slots = [1] + [spike_slots(n) for n in self.neurons]  # conv i > 0 consumes neuron i - 1's spikes
        self.convs = nn.ModuleList(ConvBN(chans[i], chans[i + 1], 3, strides[i], slots=slots[i]) for i in range(5))
        self.shortcut = ConvBN(in_channels, embed_dim // 8, downsample, downsample, padding=0)

    def forward(self, x: Tensor, time_steps: int, stem_pruner: Optional[StepPruner] = None
                ) -> Tuple[Tensor, Optional[Tensor]]:
        """Returns tokens ``[T', B, N, C]`` and the kept-step index ``[T', B]`` if steps were pruned here."""
        static = x.dim() == 4
        step_index: Optional[Tensor] = None
        y = self.convs[0](x)
        short = self.shortcut(x)
        if static:
            y = y.unsqueeze(0).expand(time_steps, *y.shape)
            short = short.unsqueeze(0).expand(time_steps, *short.shape)
        for i in range(1, 5):
            if stem_pruner is not None and i - 1 == self.prune_layer:
                y, step_index = stem_pruner(y)
                if step_index is not None:
                    short = take_steps(short, step_index)
            y = self.convs[i](self.neurons[i - 1](y))
        y = torch.cat([y, short], dim=2)  # [T, B, C, H', W']
        return y.flatten(3).transpose(2, 3).contiguous(), step_index


def take_steps(x: Tensor, step_index: Tensor) -> Tensor:
    """Select per-sample time steps: ``x`` ``[T, B, *]``, ``step_index`` ``[T', B]`` -> ``[T', B, *]``.

    A static input repeated over time (``expand``: stride 0 along T) holds the same values at every step, so any
    selection is its first T' steps: returned as a view, without copying."""
    if x.stride(0) == 0:
        return x[:step_index.shape[0]]
    batch = torch.arange(x.shape[1], device=x.device)
    return x[step_index, batch]


def take_tokens(x: Tensor, index: Tensor) -> Tensor:
    """Select per-(step, sample) tokens: ``x`` ``[T, B, N, C]``, ``index`` ``[T, B, K]`` -> ``[T, B, K, C]``.

    Whole rows of C channels are copied: ``index_select`` on the flattened rows of a contiguous stream (several
    times faster on CPU than ``gather`` with an index expanded over the channels), advanced indexing otherwise."""
    steps, batch, tokens, channels = x.shape
    if not x.is_contiguous():
        return x[torch.arange(steps, device=x.device).view(-1, 1, 1), torch.arange(batch, device=x.device)
                 .view(1, -1, 1), index]
    offsets = torch.arange(steps * batch, device=x.device).view(steps, batch, 1) * tokens
    rows = x.reshape(-1, channels).index_select(0, (index + offsets).flatten())
    return rows.view(steps, batch, index.shape[-1], channels)
