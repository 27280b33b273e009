"""Spike-timing errors, as asynchronous neuromorphic hardware makes them, and what they do to SSA vs the mixer.

The paper's event-driven argument (§3.1): spiking self-attention multiplies spikes by spikes (``Q K^T V``), so a
product needs its operands' spikes in the same step, while the token mixer multiplies spikes by weights
(``W_M X``), which stays linear in the spikes. Here every neuron's emitted spike train is perturbed at evaluation
(:func:`.hooks.rewrite_spikes`) before any layer consumes it, by one of:

- ``jitter``: each spike moves to a neighbouring step with probability ``p`` (earlier or later with equal
  probability; from the first or last step to its only neighbour). Spike counts per neuron are conserved.
- ``delay``: each spike arrives one step late with probability ``p``; spikes delayed past the last step are lost.
- ``drop``: each spike is lost with probability ``p``.

An I-LIF integer spike ``s`` (0..D per step) is ``s`` unit spikes, each perturbed independently (binomial draws),
so a step may receive more than D after jitter or delay; a spike-driven I-LIF's binary slots are perturbed as
steps of their own. With one step there is no neighbour: jitter and delay leave the spikes unchanged.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

import torch
from torch import Tensor, nn

from .hooks import rewrite_spikes
from .models import accuracy

__all__ = ["jitter_spikes", "delay_spikes", "drop_spikes", "PERTURBATIONS", "perturbed_accuracy", "jitter_sweep",
           "plot_jitter"]


def _moved(spikes: Tensor, p: float, generator: Optional[torch.Generator]) -> Tensor:
    """How many of each entry's unit spikes are affected, each with probability ``p``: ``Binomial(s, p)``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"perturbation probability must be in [0, 1], got {p}")
    counts = spikes.float()
    return torch.binomial(counts, torch.full_like(counts, p), generator=generator).to(spikes.dtype)


def jitter_spikes(spikes: Tensor, p: float, generator: Optional[torch.Generator] = None) -> Tensor:
    """Move each spike of ``[T, ...]`` to step ``t - 1`` or ``t + 1`` with probability ``p`` (module docstring)."""
    if spikes.shape[0] < 2:
        return spikes
    moved = _moved(spikes, p, generator)
    earlier = _moved(moved, 0.5, generator)
    earlier[0] = 0  # the first step can only move later, the last only earlier
    earlier[-1] = moved[-1]
    later = moved - earlier
    out = spikes - moved
    out[:-1] += earlier[1:]
    out[1:] += later[:-1]
    return out


def delay_spikes(spikes: Tensor, p: float, generator: Optional[torch.Generator] = None) -> Tensor:
    """Delay each spike of ``[T, ...]`` by one step with probability ``p``; delays past step ``T - 1`` are lost."""
    if spikes.shape[0] < 2:
        return spikes
    moved = _moved(spikes, p, generator)
    out = spikes - moved
    out[1:] += moved[:-1]
    return out


def drop_spikes(spikes: Tensor, p: float, generator: Optional[torch.Generator] = None) -> Tensor:
    """Remove each spike of ``[T, ...]`` with probability ``p``."""
    return spikes - _moved(spikes, p, generator)


PERTURBATIONS: Dict[str, Callable[[Tensor, float, Optional[torch.Generator]], Tensor]] = {
    "jitter": jitter_spikes, "delay": delay_spikes, "drop": drop_spikes}


def perturbed_accuracy(model: nn.Module, inputs: Tensor, labels: Tensor, kind: str, p: float, seed: int = 0,
                       batch_size: int = 500) -> float:
    """Top-1 (%) of ``model`` with every neuron's spikes perturbed by ``kind`` at strength ``p``."""
    if kind not in PERTURBATIONS:
        raise ValueError(f"perturbation must be one of {sorted(PERTURBATIONS)}, got {kind!r}")
    perturb, generator = PERTURBATIONS[kind], torch.Generator().manual_seed(seed)
    with rewrite_spikes(model, lambda _name, spikes: perturb(spikes, p, generator)):
        return accuracy(model, inputs, labels, batch_size)


def jitter_sweep(models: Mapping[str, nn.Module], inputs: Tensor, labels: Tensor,
                 kinds: Sequence[str] = tuple(PERTURBATIONS), strengths: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.5),
                 seed: int = 0) -> Dict[str, Any]:
    """``accuracy[model][kind][str(p)]`` (top-1 %) for every model, perturbation and strength, and the same as a
    fraction of the model's unperturbed accuracy (``relative``, NaN if that is 0). Every (model, kind, p) draws
    from a generator seeded with ``seed``."""
    result: Dict[str, Any] = dict(strengths=list(strengths), kinds=list(kinds), accuracy={}, relative={})
    for name, model in models.items():
        clean = accuracy(model, inputs, labels)
        result["accuracy"][name] = {k: {str(p): (clean if p == 0 else perturbed_accuracy(
            model, inputs, labels, k, p, seed)) for p in strengths} for k in kinds}
        result["relative"][name] = {k: {p: a / clean if clean else math.nan for p, a in v.items()}
                                    for k, v in result["accuracy"][name].items()}
    return result


def plot_jitter(result: Dict[str, Any], path: str, title: str) -> None:
    """One panel per perturbation: accuracy against its strength, one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = result["kinds"]
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.6 * len(kinds), 4), sharey=True)
    for ax, kind in zip(axes if len(kinds) > 1 else [axes], kinds):
        for name, by_kind in result["accuracy"].items():
            ax.plot([float(p) for p in by_kind[kind]], list(by_kind[kind].values()), marker="o", label=name)
        ax.set_title(kind)
        ax.set_xlabel("probability per spike")
        ax.grid(alpha=0.3)
    (axes[0] if len(kinds) > 1 else axes).set_ylabel("top-1 accuracy (%)")
    (axes[0] if len(kinds) > 1 else axes).legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
