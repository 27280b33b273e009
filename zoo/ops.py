"""Operation counts and theoretical energy (paper appendices A and B).

Two kinds of numbers:

- :func:`appendix_a` is the paper's analytical count for an L-layer Spiking-token Mixer (Eq. 8-9 and
  ``OP_DSTSP``), which reproduces Table 1.
- :func:`op_report` measures a real model on a real batch with forward hooks: per layer the MACs that were
  executed, the firing rate of the layer's input, the synaptic operations ``SOPs = MACs x rate`` (the MACs are
  summed over all executed time steps, so this is Eq. 11's ``MACs x f x T``) and the energy of Eq. 12:
  4.6 pJ per MAC for a layer whose input is real-valued (the first layer of the stem, and the head's linear
  layer on the pooled real-valued stream) and 0.9 pJ per AC for a layer fed by spikes. Integer spikes of I-LIF
  (values 0..D) count as that many binary spikes, so the rate is the mean input value.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

from .mixer import AttentionProduct, TokenMixing

__all__ = ["appendix_a", "LayerOps", "OpReport", "op_report", "E_MAC_PJ", "E_AC_PJ"]

E_MAC_PJ = 4.6
E_AC_PJ = 0.9


def appendix_a(layers: int, tokens: int, channels: int, time_steps: int, spatial_ratio: float,
               temporal_ratio: float) -> Dict[str, float]:
    """Appendix A: ``OP_origin`` (Eq. 9), ``OP_reduce`` (Eq. 8), ``OP_DSTSP`` and the reduction rate."""
    L, N, C, T, Ps, Pt = layers, tokens, channels, time_steps, spatial_ratio, temporal_ratio
    origin = L * T * (10 * N * C ** 2 + N ** 2 * C)
    reduce = L * Pt * T * (Ps * 10 * N * C ** 2 + Ps ** 2 * N ** 2 * C)
    increase = (2 - Pt) * T * N * C + ((1 - Pt) * T + 1) * N ** 2 + T ** 2
    return {"origin": origin, "reduce": reduce, "increase": increase, "rate": reduce / origin}


@dataclass
class LayerOps:
    """One executed layer call. ``macs`` are summed over the batch and all executed time steps."""

    name: str
    kind: str
    macs: float
    input_sum: float
    input_numel: int
    spiking: bool

    @property
    def rate(self) -> float:
        """Mean input value: the firing rate for binary spikes, mean integer for I-LIF."""
        return self.input_sum / max(self.input_numel, 1)

    @property
    def sops(self) -> float:
        return self.macs * self.rate if self.spiking else 0.0

    @property
    def energy_pj(self) -> float:
        return E_AC_PJ * self.sops if self.spiking else E_MAC_PJ * self.macs


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
        rows = [dict(asdict(layer), rate=layer.rate, sops=layer.sops, energy_pj=layer.energy_pj)
                for layer in self.layers]
        return {"batch_size": self.batch_size, "macs_per_sample": self.macs, "sops_per_sample": self.sops,
                "energy_mj_per_sample": self.energy_mj, "layers": rows}

    def to_markdown(self) -> str:
        b = self.batch_size
        lines = ["| layer | kind | MMACs | input rate | MSOPs | energy (uJ) |", "|---|---|---:|---:|---:|---:|"]
        for layer in self.layers:
            lines.append(f"| {layer.name} | {layer.kind} | {layer.macs / b / 1e6:.2f} | "
                         f"{layer.rate:.4f}{'' if layer.spiking else ' (real)'} | {layer.sops / b / 1e6:.2f} | "
                         f"{layer.energy_pj / b * 1e-6:.2f} |")
        lines.append(f"| **total** | | {self.macs / 1e6:.2f} | | {self.sops / 1e6:.2f} | "
                     f"{self.energy_mj * 1e3:.2f} |")
        return "\n".join(lines)


def _is_spikes(x: Tensor) -> bool:
    return bool(x.numel()) and bool((x >= 0).all()) and bool(torch.equal(x, torch.round(x)))


def _linear_macs(m: nn.Linear, inputs: Tuple[Tensor, ...], out: Tensor) -> Tuple[float, Tensor]:
    x = inputs[0]
    return x.numel() / m.in_features * m.in_features * m.out_features, x


def _conv_macs(m: nn.Conv2d, inputs: Tuple[Tensor, ...], out: Tensor) -> Tuple[float, Tensor]:
    k = m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups
    return out.numel() * k, inputs[0]


def _mixing_macs(m: TokenMixing, inputs: Tuple[Tensor, ...], out: Tensor) -> Tuple[float, Tensor]:
    x = inputs[0]  # [T, B, N, C]: each output token sums N inputs per channel (N' x N' when cropped)
    return x.numel() * x.shape[2], x


def _attention_macs(m: AttentionProduct, inputs: Tuple[Tensor, ...], out: Tensor) -> Tuple[float, Tensor]:
    q, k, v = inputs  # [T, B, h, N, d]: K^T V is N*d*d per head, Q (K^T V) another N*d*d
    return 2.0 * q.numel() * q.shape[-1], k


_COUNTERS: Dict[type, Callable[..., Tuple[float, Tensor]]] = {
    nn.Linear: _linear_macs, nn.Conv2d: _conv_macs, TokenMixing: _mixing_macs, AttentionProduct: _attention_macs}


@torch.no_grad()
def op_report(model: nn.Module, inputs: Tensor, forward: Optional[Callable[[Tensor], object]] = None) -> OpReport:
    """Run one forward pass of ``model`` on ``inputs`` (first dim = batch) and count every layer's ops."""
    report = OpReport(batch_size=int(inputs.shape[0]))
    handles = []
    for name, module in model.named_modules():
        counter = _COUNTERS.get(type(module))
        if counter is None:
            continue

        def hook(m, args, out, name=name, counter=counter):
            macs, x = counter(m, args, out)
            report.layers.append(LayerOps(name, type(m).__name__, float(macs), float(x.double().sum()),
                                          x.numel(), _is_spikes(x)))

        handles.append(module.register_forward_hook(hook))
    try:
        (forward or model)(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return report
