"""Pictures of the tokens and steps DSTSP keeps and prunes over real inputs (paper Figures 2 and 6).

For each input, DSTSP (LP, the method; P_s 0.3 and P_t 0.5 by default, as in Figure 2) is applied to the model's
stem output as it runs after the stem (``placement='AS'``), scoring with the model's own neuron type; tokens are
scored by the spikes of the full sequence at the kept steps (``spatial_siv='original'``, Algorithm 1 lines 4-7), so
the pictured SIV is exactly what ranked them.

One row per input: the input (an image, or the event frames summed over steps and polarities, on a log scale), the
feature (SIV of each token summed over steps: the spikes block 0's input neuron emits), the input with the pruned
tokens of the highest-SIV kept step tinted, and the SIV of every step with the kept steps marked.
"""
from __future__ import annotations

import copy
from typing import Any, Dict, List, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from zoo.neurons import collapse_spike_slots, spike_slots
from zoo.pruning import DSTSP

__all__ = ["kept_tokens", "plot_tokens"]


@torch.no_grad()
def kept_tokens(model: nn.Module, inputs: Tensor, spatial_ratio: float = 0.3,
                temporal_ratio: float = 0.5) -> Dict[str, Any]:
    """What DSTSP keeps of ``model``'s stem output for ``inputs`` (images ``[B, C, H, W]`` or frames
    ``[B, T, C, H, W]``).

    Returns per sample (lists of length B): ``token_siv`` ``[T][N]`` (spikes per token and step), ``kept_steps``
    (indices into T, in time order), ``kept_tokens`` (per kept step, indices into N in raster order) and
    ``kept_spike_share`` (the share of the sample's spikes at the kept tokens of the kept steps).
    """
    pruner = DSTSP(spatial_ratio=spatial_ratio, temporal_ratio=temporal_ratio, pruned_tokens="discard",
                   order="original", spatial_siv="original").eval()
    pruner.neuron = copy.deepcopy(model.blocks[0].mixer.sn_in)  # score with the model's own neuron type
    x = inputs.transpose(0, 1) if inputs.dim() == 5 else inputs  # frames time first, as the stem takes them
    stem = model.patch_embed(x, model.time_steps)  # [T, B, N, C] (SMixer's stem also returns its step index)
    stream = stem[0] if isinstance(stem, tuple) else stem
    spikes = pruner.neuron(stream)  # what block 0's input neuron emits on the full stream
    slots = spike_slots(pruner.neuron)
    siv = (spikes if slots == 1 else collapse_spike_slots(spikes, slots)).sum(-1)  # [T, B, N]
    _, steps, tokens = pruner(stream)
    steps = steps if steps is not None else torch.arange(stream.shape[0]).unsqueeze(1).expand(-1, stream.shape[1])
    tokens = tokens if tokens is not None else torch.arange(stream.shape[2]).expand(*steps.shape, -1)
    result: Dict[str, List[Any]] = dict(token_siv=[], kept_steps=[], kept_tokens=[], kept_spike_share=[])
    for b in range(stream.shape[1]):
        order = steps[:, b].argsort()
        kept_steps, kept = steps[order, b], tokens[order, b]  # [T'], [T', N']
        total = float(siv[:, b].sum())
        kept_spikes = float(sum(siv[t, b, kept[i]].sum() for i, t in enumerate(kept_steps)))
        result["token_siv"].append(siv[:, b].tolist())
        result["kept_steps"].append(kept_steps.tolist())
        result["kept_tokens"].append(kept.sort(dim=-1).values.tolist())
        result["kept_spike_share"].append(kept_spikes / total if total else float("nan"))
    return result


def _picture(inputs: Tensor) -> np.ndarray:
    """What is drawn as the input: a grey image ``[C, H, W]`` (channels summed), or event frames ``[T, 2, H, W]`` as
    ``log(1 + events per pixel)`` (a few busy pixels would otherwise hide the rest)."""
    picture = inputs.float().sum(dim=tuple(range(inputs.dim() - 2))).numpy()
    return np.log1p(picture) if inputs.dim() == 4 else picture


def plot_tokens(inputs: Tensor, result: Dict[str, Any], path: str, titles: Sequence[str], title: str) -> None:
    """One row per input (module docstring); ``titles`` names each row, ``inputs`` ``[B, C, H, W]`` or
    ``[B, T, C, H, W]`` as given to :func:`kept_tokens` (before normalisation, for display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = len(result["token_siv"])
    fig, axes = plt.subplots(rows, 4, figsize=(12, 2.9 * rows), squeeze=False)
    for b in range(rows):
        picture = _picture(inputs[b])
        siv = np.asarray(result["token_siv"][b])  # [T, N]
        side = int(round(np.sqrt(siv.shape[1])))
        cell = picture.shape[0] // side
        ax = axes[b]
        ax[0].imshow(picture, cmap="gray")
        ax[0].set_title(titles[b], fontsize=9)
        ax[1].imshow(siv.sum(0).reshape(side, side), cmap="magma")
        ax[1].set_title("feature: spikes per token", fontsize=9)
        steps = result["kept_steps"][b]
        best = max(range(len(steps)), key=lambda i: siv[steps[i]].sum())
        mask = np.zeros(side * side, dtype=bool)
        mask[result["kept_tokens"][b][best]] = True
        kept = np.kron(mask.reshape(side, side), np.ones((cell, cell), dtype=bool))
        tint = np.zeros((*kept.shape, 4))
        tint[~kept] = (0.12, 0.47, 0.71, 0.7)  # pruned tokens in blue
        ax[2].imshow(picture, cmap="gray")
        ax[2].imshow(tint)
        ax[2].set_title(f"step {steps[best]}: pruned tokens blue ({result['kept_spike_share'][b]:.0%} of spikes "
                        f"kept)", fontsize=9)
        for a in ax[:3]:
            a.set_xticks([])
            a.set_yticks([])
        totals = siv.sum(1)
        ax[3].bar(range(len(totals)), totals, color=["tab:orange" if t in steps else "lightgrey"
                                                       for t in range(len(totals))])
        ax[3].set_title("spikes per step (kept in orange)", fontsize=9)
        ax[3].set_xlabel("time step")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
