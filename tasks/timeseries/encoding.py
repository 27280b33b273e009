"""Spike encoding of a window and the CPG positional code (SeqSNN / Lv et al. 2025).

- :class:`SpikeEncoder`: ``[B, L, C]`` real inputs -> Conv2d(1 -> T, kernel (1, k)) along the time axis of every
  variable -> BatchNorm over the T maps -> spiking neuron; the T output maps become the time steps:
  ``[T, B, L, C]`` spikes.
- :func:`cpg_code`: the binary "central pattern generator" code of each position p,
  ``PE[p, 2i] = H(sin(p w^(-2i/N)) - 0.8)``, ``PE[p, 2i+1] = H(cos(p w^(-2i/N)) - 0.8)`` (H(0) = 1).
- :class:`CPGLinear`: ``Linear(C -> D)(x) + Linear(N -> D)(PE[position])``, the "CPG linear" input projection.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from zoo.layers import NeuronCfg, StepPruner, build_neuron

__all__ = ["SpikeEncoder", "cpg_code", "CPGLinear"]


class SpikeEncoder(nn.Module):
    """Convolutional spike encoder. ``[B, L, C]`` -> spikes ``[T, B, L, C]`` (and the kept-step index).

    ``forward``'s ``stem_pruner`` (the pruned encoder's ``stem_pruner`` with ``in_stem`` placement, else ``None``)
    gets the pre-activation ``[T, B, L, C]`` and returns the kept steps and their index ``[T', B]`` (``None`` if
    nothing was pruned); the neuron then runs on the kept steps only.
    """

    def __init__(self, time_steps: int = 4, kernel_size: int = 3, neuron: NeuronCfg = "LIF") -> None:
        super().__init__()
        if time_steps < 1 or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"need time_steps >= 1 and an odd kernel_size, got {time_steps}, {kernel_size}")
        self.time_steps = time_steps
        self.conv = nn.Conv2d(1, time_steps, (1, kernel_size), padding=(0, kernel_size // 2))
        self.bn = nn.BatchNorm2d(time_steps)
        self.neuron = build_neuron(neuron)

    def forward(self, x: Tensor, stem_pruner: Optional[StepPruner] = None) -> Tuple[Tensor, Optional[Tensor]]:
        y = self.bn(self.conv(x.transpose(1, 2).unsqueeze(1)))  # [B, 1, C, L] -> [B, T, C, L]
        y = y.permute(1, 0, 3, 2).contiguous()  # [T, B, L, C]
        step_index = None
        if stem_pruner is not None:
            y, step_index = stem_pruner(y)
        return self.neuron(y), step_index


def cpg_code(num_positions: int, num_neurons: int = 10, w_max: float = 10000.0) -> Tensor:
    """Binary CPG code ``[num_positions, num_neurons]`` (float 0/1)."""
    if num_neurons < 1 or num_positions < 1:
        raise ValueError(f"need num_positions, num_neurons >= 1, got {num_positions}, {num_neurons}")
    position = torch.arange(num_positions, dtype=torch.float32).unsqueeze(1)  # [P, 1]
    freq = torch.exp(torch.arange(0, num_neurons, 2, dtype=torch.float32) * (-math.log(w_max) / num_neurons))
    code = torch.zeros(num_positions, num_neurons)
    code[:, 0::2] = (torch.sin(position * freq) - 0.8 >= 0).float()
    code[:, 1::2] = (torch.cos(position * freq[: num_neurons // 2]) - 0.8 >= 0).float()
    return code


class CPGLinear(nn.Module):
    """Input projection with the CPG positional code added. ``[T, B, L, C]`` -> ``[T, B, L, D]``.

    Positions are the L window positions (the tokens), shared by every time step. Dropout (rate ``dropout``)
    acts on the input, as in the reference.
    """

    def __init__(self, in_features: int, out_features: int, max_positions: int, num_neurons: int = 10,
                 w_max: float = 10000.0, dropout: float = 0.1) -> None:
        super().__init__()
        self.register_buffer("code", cpg_code(max_positions, num_neurons, w_max), persistent=False)
        self.proj = nn.Linear(in_features, out_features)
        self.cpg_proj = nn.Linear(num_neurons, out_features)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        positions = x.shape[-2]
        if positions > self.code.shape[0]:
            raise ValueError(f"CPG code covers {self.code.shape[0]} positions, got a window of {positions}")
        return self.proj(self.dropout(x)) + self.cpg_proj(self.code[:positions])
