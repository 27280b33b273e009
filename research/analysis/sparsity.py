"""Sparsity and firing rates per layer for dense and DSTSP-pruned models (paper Table 7, measured on real inputs).

Per spiking layer (every zoo neuron, :func:`.hooks.record_spikes`): the steps it ran, its firing rate (mean spikes
per neuron and step, over ``max_spike``: the fraction of binary slots that fire, so LIF and I-LIF compare), the
fraction of silent neuron-steps and the spikes it emits per sample (which pruned steps and tokens lower too).
Per model: top-1 accuracy, Table 7's sparsity (the ratio of pruned spiking tokens: ``1 - T'N' / (T N)`` of the
token-steps the encoder runs on, from :func:`.hooks.record_kept`), and the SOPs and energy per image of
``zoo.ops.op_report`` (paper appendix B).
"""
from __future__ import annotations

from typing import Any, Dict, Mapping

import torch
from torch import Tensor, nn

from zoo.ops import op_report
from zoo.pruning import Pruned

from .hooks import max_spike, record_kept, record_spikes, spiking_layers
from .models import accuracy

__all__ = ["layer_sparsity", "model_sparsity", "plot_sparsity"]


def _token_steps(kept: Pruned, model: nn.Module, batch: int) -> int:
    """Token-steps the encoder ran on for a batch of ``batch`` samples, from its kept indices."""
    if kept.token_index is not None:
        return kept.token_index.numel()
    steps = kept.step_index.shape[0] if kept.step_index is not None else model.time_steps
    return steps * batch * model.num_tokens


@torch.no_grad()
def layer_sparsity(model: nn.Module, inputs: Tensor, batch_size: int = 250) -> Dict[str, Any]:
    """``layers`` (name -> steps, firing_rate, silent, spikes_per_sample) and ``token_sparsity`` of ``model`` on
    ``inputs`` ``[B, ...]``."""
    neurons = dict(spiking_layers(model))
    sums = {n: dict(spikes=0.0, silent=0.0, numel=0, steps=0) for n in neurons}
    kept_token_steps = 0
    for start in range(0, len(inputs), batch_size):
        with record_spikes(model) as spikes, record_kept(model) as kept:
            model(inputs[start:start + batch_size])
        for name, calls in spikes.items():
            s = calls[0]
            sums[name]["spikes"] += float(s.double().sum())
            sums[name]["silent"] += float((s == 0).double().sum())
            sums[name]["numel"] += s.numel()
            sums[name]["steps"] = int(s.shape[0])
        kept_token_steps += _token_steps(kept[0], model, len(inputs[start:start + batch_size]))
    layers = {n: dict(steps=v["steps"], firing_rate=v["spikes"] / (v["numel"] * max_spike(neurons[n])),
                      silent=v["silent"] / v["numel"], spikes_per_sample=v["spikes"] / len(inputs))
              for n, v in sums.items()}
    total = model.time_steps * model.num_tokens * len(inputs)
    return dict(layers=layers, token_sparsity=1.0 - kept_token_steps / total)


def model_sparsity(models: Mapping[str, nn.Module], inputs: Tensor, labels: Tensor,
                   energy_batch: int = 256) -> Dict[str, Any]:
    """For each model: ``top1`` (%), :func:`layer_sparsity`, and ``sops`` / ``energy_mj`` per image (op counts on
    the first ``energy_batch`` inputs)."""
    rows = {}
    for name, model in models.items():
        report = op_report(model, inputs[:energy_batch])
        rows[name] = dict(top1=accuracy(model, inputs, labels), **layer_sparsity(model, inputs),
                          sops=report.sops, energy_mj=report.energy_mj)
    return rows


def plot_sparsity(rows: Dict[str, Any], path: str, title: str) -> None:
    """Firing rate and spikes per sample of every layer, one bar per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(rows)
    layers = list(rows[names[0]]["layers"])
    pos = np.arange(len(layers))
    width = 0.8 / len(names)
    fig, axes = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
    for i, name in enumerate(names):
        row = rows[name]
        label = f"{name}: {row['top1']:.2f}%, token sparsity {row['token_sparsity']:.2f}"
        for ax, key in zip(axes, ("firing_rate", "spikes_per_sample")):
            ax.bar(pos + (i - (len(names) - 1) / 2) * width,
                   [row["layers"].get(layer, {}).get(key, 0.0) for layer in layers], width=width, label=label)
    axes[0].set_ylabel("firing rate (spikes / neuron / step / D)")
    axes[1].set_ylabel("spikes per sample")
    axes[1].set_yscale("log")
    axes[1].set_xticks(pos, layers, rotation=75, fontsize=7)
    axes[0].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
