"""Operation counts and theoretical energy (paper appendices A and B).

Two kinds of numbers:

- :func:`appendix_a` is the paper's analytical count for an L-layer Spiking-token Mixer (Eq. 8-9 and
  ``OP_DSTSP``), which reproduces Table 1.
- :func:`op_report` measures a real model on a real batch with forward hooks: per layer the MACs that were
  executed, the firing rate of the layer's input, the synaptic operations ``SOPs = MACs x rate`` (the MACs are
  summed over all executed time steps, so this is Eq. 11's ``MACs x f x T``) and the energy of Eq. 12:
  4.6 pJ per MAC for the first (encoding) layer whatever its input (Eq. 12's ``MACs^1``; with event-frame input
  too, unless ``first_layer="by_input"``) and for any other layer whose input is real-valued (the head's linear
  layer on the pooled real-valued stream), 0.9 pJ per AC for a layer fed by spikes. Integer spikes of I-LIF
  (values 0..D) count as that many binary spikes, so the rate is the mean input value; the spike-driven form's
  D binary slots give D times the MACs at 1/D of the rate, hence the same SOPs and energy.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

from .mixer import AttentionProduct, TokenMixing
from .layers import spiking_neuron_types

__all__ = ["appendix_a", "LayerOps", "OpReport", "op_report", "saved_tensor_bytes", "E_MAC_PJ", "E_AC_PJ",
           "FIRST_LAYER_RULES"]

E_MAC_PJ = 4.6
E_AC_PJ = 0.9
FIRST_LAYER_RULES = ("mac", "by_input")


def appendix_a(layers: int, tokens: int, channels: int, time_steps: int, spatial_ratio: float,
               temporal_ratio: float) -> Dict[str, float]:
    """Appendix A: ``OP_origin`` (Eq. 9), ``OP_reduce`` (Eq. 8), ``OP_DSTSP`` and the reduction rate.

    Also what is left after pruning, ``remaining = L (1 - P_t) T (10 N (1 - P_s) C^2 + (N (1 - P_s))^2 C)`` (Eq. 9
    at T' and N'), and its share ``remaining_rate``. Eq. 8's ``reduce`` is not ``origin - remaining``: it counts
    only the ops of pruned tokens at pruned steps (``P_t x P_s``), see docs/ops.md.
    """
    L, N, C, T, Ps, Pt = layers, tokens, channels, time_steps, spatial_ratio, temporal_ratio
    origin = L * T * (10 * N * C ** 2 + N ** 2 * C)
    reduce = L * Pt * T * (Ps * 10 * N * C ** 2 + Ps ** 2 * N ** 2 * C)
    remaining = L * (1 - Pt) * T * (10 * (1 - Ps) * N * C ** 2 + (1 - Ps) ** 2 * N ** 2 * C)
    increase = (2 - Pt) * T * N * C + ((1 - Pt) * T + 1) * N ** 2 + T ** 2
    return {"origin": origin, "reduce": reduce, "increase": increase, "rate": reduce / origin,
            "remaining": remaining, "remaining_rate": remaining / origin}


@dataclass
class LayerOps:
    """One executed layer call. ``macs`` are summed over the batch and all executed time steps.

    ``encoding``: the call is part of the first (encoding) layer, charged as MAC whatever its input (Eq. 12).
    """

    name: str
    kind: str
    macs: float
    input_sum: float
    input_numel: int
    spiking: bool
    encoding: bool = False

    @property
    def rate(self) -> float:
        """Mean input value: the firing rate for binary spikes, mean integer for I-LIF."""
        return self.input_sum / max(self.input_numel, 1)

    @property
    def sops(self) -> float:
        return self.macs * self.rate if self.spiking else 0.0

    @property
    def charged_as_mac(self) -> bool:
        return self.encoding or not self.spiking

    @property
    def energy_pj(self) -> float:
        return E_MAC_PJ * self.macs if self.charged_as_mac else E_AC_PJ * self.sops


@dataclass
class OpReport:
    """Per-layer ops of one forward pass; totals are per sample (divided by the batch size)."""

    batch_size: int
    layers: List[LayerOps] = field(default_factory=list)

    @property
    def macs(self) -> float:
        """Dense multiply-accumulates per sample: what a GPU executes, whatever the spikes."""
        return sum(layer.macs for layer in self.layers) / self.batch_size

    @property
    def sops(self) -> float:
        return sum(layer.sops for layer in self.layers) / self.batch_size

    @property
    def energy_mj(self) -> float:
        return sum(layer.energy_pj for layer in self.layers) / self.batch_size * 1e-9

    def to_dict(self) -> Dict[str, object]:
        rows = [dict(asdict(layer), rate=layer.rate, sops=layer.sops, charged_as_mac=layer.charged_as_mac,
                     energy_pj=layer.energy_pj) for layer in self.layers]
        return {"batch_size": self.batch_size, "macs_per_sample": self.macs, "sops_per_sample": self.sops,
                "energy_mj_per_sample": self.energy_mj, "layers": rows}

    def to_markdown(self) -> str:
        b = self.batch_size
        lines = ["| layer | kind | MMACs | input rate | MSOPs | energy (uJ) |", "|---|---|---:|---:|---:|---:|"]
        for layer in self.layers:
            note = " (real)" if not layer.spiking else " (first layer: MAC)" if layer.encoding else ""
            lines.append(f"| {layer.name} | {layer.kind} | {layer.macs / b / 1e6:.2f} | "
                         f"{layer.rate:.4f}{note} | {layer.sops / b / 1e6:.2f} | {layer.energy_pj / b * 1e-6:.2f} |")
        lines.append(f"| **total** | | {self.macs / 1e6:.2f} | | {self.sops / 1e6:.2f} | "
                     f"{self.energy_mj * 1e3:.2f} |")
        return "\n".join(lines)


def _is_spikes(x: Tensor) -> bool:
    return bool(x.numel()) and bool((x >= 0).all()) and bool(torch.equal(x, torch.round(x)))


def _linear_macs(m: nn.Linear, inputs: Tuple[Tensor, ...], out: Tensor) -> Tuple[float, Tensor]:
    x = inputs[0]
    return x.numel() / m.in_features * m.in_features * m.out_features, x


def _conv_macs(m: nn.Conv2d, inputs: Tuple[Tensor, ...], out: Tensor) -> Tuple[float, Tensor]:
    """Per input image (``[*, C, H, W]``; spike-driven slots are images too): output size x kernel fan-in."""
    x = inputs[0]
    k = m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups
    images = x.numel() // x.shape[-3:].numel()
    return images * out.shape[-3:].numel() * k, x


def _mixing_macs(m: TokenMixing, inputs: Tuple[Tensor, ...], out: Tensor) -> Tuple[float, Tensor]:
    x = inputs[0]  # [T, B, N, C]: each output token sums N inputs per channel (N' x N' when cropped)
    return x.numel() * x.shape[2], x


def _attention_macs(m: AttentionProduct, inputs: Tuple[Tensor, ...], out: Tensor) -> Tuple[float, Tensor]:
    q, k, v = inputs  # [T, B, h, N, d_k], values [T, B, h, N, d_v]: K^T V is N*d_k*d_v per head, Q (K^T V) as many
    return 2.0 * q.numel() * v.shape[-1], k


_COUNTERS: Dict[type, Callable[..., Tuple[float, Tensor]]] = {
    nn.Linear: _linear_macs, nn.Conv2d: _conv_macs, TokenMixing: _mixing_macs, AttentionProduct: _attention_macs}


def _counter(module: nn.Module) -> Optional[Callable[..., Tuple[float, Tensor]]]:
    """The op counter of ``module``'s class or of its nearest counted base class (``SlotLinear`` -> ``Linear``)."""
    return next((_COUNTERS[cls] for cls in type(module).__mro__ if cls in _COUNTERS), None)


@torch.no_grad()
def op_report(model: nn.Module, inputs: Tensor, forward: Optional[Callable[[Tensor], object]] = None,
              first_layer: str = "mac") -> OpReport:
    """Run one forward pass of ``model`` on ``inputs`` (first dim = batch) and count every layer's ops.

    ``first_layer``: ``mac`` (Eq. 12) charges the first (encoding) layer as MAC whatever its input: every layer call
    before the model's first spiking neuron (a neuron of the registry, ``zoo.layers.spiking_neuron_types()``) fires,
    or only the first call in a model without one; ``by_input`` charges it like any other layer (AC when its input is
    spikes or integer event counts).
    """
    if first_layer not in FIRST_LAYER_RULES:
        raise ValueError(f"first_layer must be one of {FIRST_LAYER_RULES}, got {first_layer!r}")
    report = OpReport(batch_size=int(inputs.shape[0]))
    neurons = [m for m in model.modules() if isinstance(m, spiking_neuron_types())]
    state = {"neuron_fired": False}

    def neuron_hook(*_: object) -> None:
        state["neuron_fired"] = True

    handles = [n.register_forward_pre_hook(neuron_hook) for n in neurons]
    for name, module in model.named_modules():
        counter = _counter(module)
        if counter is None:
            continue

        def hook(m, args, out, name=name, counter=counter):
            macs, x = counter(m, args, out)
            encoding = first_layer == "mac" and not state["neuron_fired"] and (bool(neurons) or not report.layers)
            report.layers.append(LayerOps(name, type(m).__name__, float(macs), float(x.double().sum()),
                                          x.numel(), _is_spikes(x), encoding))

        handles.append(module.register_forward_hook(hook))
    try:
        (forward or model)(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return report


def saved_tensor_bytes(step: Callable[[], Any]) -> int:
    """Bytes of distinct storages autograd saves for backward during ``step()`` (the forward pass)."""
    seen: Dict[Tuple[int, torch.device], int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        seen[(storage.data_ptr(), t.device)] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        step()
    return sum(seen.values())
