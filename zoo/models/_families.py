"""Parts shared by the converted spiking-transformer families (Spikformer V2, QKFormer, SDT-V3; docs/families.md).

- :data:`SJ_LIF`: SpikingJelly's ``MultiStepLIFNode(tau=2, detach_reset=True)`` as a zoo LIF config;
- :func:`to_tokens` / :func:`to_map` / :func:`scatter_tokens` / :func:`gather_tokens`: layout changes between
  feature maps ``[T, B, C, H, W]`` and the token stream ``[T, B, N, C]`` (pruned streams included);
"""
from __future__ import annotations

from typing import Optional, Tuple

from torch import Tensor

from ..layers import NeuronCfg, build_neuron, take_tokens
from ..neurons import spike_slots

__all__ = ["SJ_LIF", "check_neuron", "to_tokens", "to_map", "scatter_tokens", "gather_tokens", "downsampled"]

# SpikingJelly's MultiStepLIFNode(tau=2, detach_reset=True): H = V + (X - V) / 2, fire at H >= 1, hard reset to 0,
# Sigmoid surrogate (alpha 4). The zoo LIF integrates H' = 0.5 V' + X, i.e. H' = 2 H: the same neuron, forward and
# backward, at threshold 2 with the Sigmoid surrogate's alpha halved (QKFormer, Spikformer V1).
SJ_LIF = dict(type="LIF", decay=0.5, v_threshold=2.0, surrogate="sigmoid", alpha=2.0, detach_reset=True)


def check_neuron(neuron: NeuronCfg) -> NeuronCfg:
    """Refuse the spike-driven (binary-slot) I-LIF form, which the family blocks do not implement."""
    if spike_slots(build_neuron(neuron)) > 1:
        raise ValueError("the Spikformer V2 / QKFormer / SDT-V3 blocks take integer I-LIF spikes, not the "
                         "spike-driven slot form: drop spike_driven=True from the neuron config")
    return neuron


def to_tokens(x: Tensor) -> Tensor:
    """Feature maps ``[T, B, C, H, W]`` -> tokens ``[T, B, H*W, C]`` (raster order)."""
    return x.flatten(3).transpose(2, 3)


def to_map(x: Tensor, grid: Tuple[int, int]) -> Tensor:
    """Tokens ``[T, B, H*W, C]`` (all of them) -> feature maps ``[T, B, C, H, W]``."""
    return x.transpose(2, 3).unflatten(3, grid)


def scatter_tokens(x: Tensor, token_index: Optional[Tensor], num_tokens: int) -> Tensor:
    """Kept tokens ``[T, B, N', C]`` at their positions ``token_index`` ``[T, B, N']`` in an all-zero stream
    ``[T, B, N, C]`` (pruned tokens carry no spikes); ``token_index=None`` returns ``x`` (nothing pruned)."""
    if token_index is None:
        return x
    full = x.new_zeros(*x.shape[:2], num_tokens, x.shape[-1])
    return full.scatter(2, token_index.unsqueeze(-1).expand_as(x), x)


def gather_tokens(x: Tensor, token_index: Optional[Tensor]) -> Tensor:
    """The kept tokens ``[T, B, N', C]`` of a full stream ``[T, B, N, C]`` (inverse of :func:`scatter_tokens`)."""
    if token_index is None:
        return x
    return take_tokens(x, token_index)


def downsampled(size: int, stride: int) -> int:
    """Side of a map after a 3x3 / pad-1 (or 1x1 / pad-0) window at ``stride``: ``ceil(size / stride)``."""
    return (size - 1) // stride + 1

