"""How unevenly spikes are spread over tokens and time steps (paper §3.2, Figure 3), layer by layer, on real inputs.

The spike intensity value (SIV) of a region is the number of spikes in it (§3.2; I-LIF integer spikes count as that
many binary spikes). Per layer, from the spikes each neuron emits (:func:`.hooks.record_spikes`):

- token SIV ``[T, B, N]``: spikes of each token (all channels) at each step; a stem layer's "tokens" are the pixels
  of its feature map ``[T, B, C, H, W]`` (``N = H W``);
- step SIV ``[T, B]``: spikes of each step of a sample.

Imbalance, per layer (:func:`imbalance`): Gini coefficient of the token SIVs of each (step, sample), top-k shares
(the fraction of a (step, sample)'s spikes carried by its top 10% / 30% tokens), the share that DSTSP's default
P_s = 0.3 discards (its 30% lowest-SIV tokens), the fraction of silent tokens, the median ("the boundary for 50% of
spiking tokens", Fig. 3's dashed line) and maximum; over steps, the Gini of each sample's step SIVs and the share of
its busiest step.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from torch import Tensor, nn

from .hooks import record_spikes, spiking_layers

__all__ = ["token_siv", "step_siv", "gini", "top_share", "imbalance", "collect_siv", "siv_analysis", "plot_siv",
           "PRUNING_POINT"]

PRUNING_POINT = "blocks.0.mixer.sn_in"  # the neuron whose spikes DSTSP scores after the stem (block 0's input)


def token_siv(spikes: Tensor) -> Tensor:
    """Spikes per token: ``[T, B, N, C]`` -> ``[T, B, N]``; a stem map ``[T, B, C, H, W]`` -> ``[T, B, H*W]``."""
    if spikes.dim() == 4:
        return spikes.sum(-1)
    if spikes.dim() == 5:
        return spikes.sum(2).flatten(2)
    raise ValueError(f"expected token spikes [T, B, N, C] or a feature map [T, B, C, H, W], got {tuple(spikes.shape)}")


def step_siv(spikes: Tensor) -> Tensor:
    """Spikes per step of each sample: ``[T, B, ...]`` -> ``[T, B]``."""
    return spikes.flatten(2).sum(-1)


def gini(values: Tensor) -> Tensor:
    """Gini coefficient of the last dim: ``[..., n]`` -> ``[...]``; 0 for equal values, ``1 - 1/n`` when one holds
    everything; rows without spikes give NaN (no distribution to measure).

    ``G = sum_ij |x_i - x_j| / (2 n^2 mean)``, computed from the ascending sort as
    ``2 sum_i i x_(i) / (n sum x) - (n + 1) / n`` (i = 1..n).
    """
    x = values.double().sort(dim=-1).values
    n = x.shape[-1]
    rank = torch.arange(1, n + 1, dtype=x.dtype)
    total = x.sum(-1)
    g = 2.0 * (x * rank).sum(-1) / (n * total) - (n + 1.0) / n
    return torch.where(total > 0, g, torch.full_like(g, math.nan))


def top_share(values: Tensor, fraction: float) -> Tensor:
    """Share of the row total carried by the ``ceil(fraction * n)`` largest values of the last dim: ``[..., n]`` ->
    ``[...]`` (NaN for rows that sum to 0)."""
    n = values.shape[-1]
    k = min(n, max(1, math.ceil(fraction * n - 1e-9)))
    x = values.double()
    total = x.sum(-1)
    share = x.topk(k, dim=-1).values.sum(-1) / total
    return torch.where(total > 0, share, torch.full_like(share, math.nan))


def _nanmean(x: Tensor) -> float:
    x = x[~torch.isnan(x)]
    return float(x.mean()) if x.numel() else math.nan


def imbalance(tokens: Tensor, steps: Tensor) -> Dict[str, float]:
    """The imbalance numbers of one layer from its token SIV ``[T, B, N]`` and step SIV ``[T, B]`` (module
    docstring); shares and Ginis are means over the (step, sample) rows (over samples for steps) that hold spikes."""
    flat = tokens.flatten(0, 1).double()  # [T*B, N]
    per_sample = steps.transpose(0, 1).double()  # [B, T]
    return dict(
        tokens_per_map=int(tokens.shape[-1]),
        token_siv_max=float(flat.max()), token_siv_median=float(flat.median()), token_siv_mean=float(flat.mean()),
        silent_tokens=float((flat == 0).double().mean()),
        token_gini=_nanmean(gini(flat)),
        top10_token_share=_nanmean(top_share(flat, 0.1)),
        top30_token_share=_nanmean(top_share(flat, 0.3)),
        low30_token_share=_nanmean(1.0 - top_share(flat, 0.7)),
        steps=int(steps.shape[0]),
        step_gini=_nanmean(gini(per_sample)) if steps.shape[0] > 1 else math.nan,
        top_step_share=_nanmean(top_share(per_sample, 1.0 / steps.shape[0])),
    )


@torch.no_grad()
def collect_siv(model: nn.Module, inputs: Tensor, batch_size: int = 250,
                layers: Optional[List[str]] = None) -> Dict[str, Dict[str, Tensor]]:
    """Run ``model`` on ``inputs`` (``[B, ...]``, ``batch_size`` at a time) and keep, per spiking layer, its token
    SIV ``[T, B, N]`` and step SIV ``[T, B]`` (``float32`` counts). Layers without tokens (a neuron on pooled
    features ``[T, B, C]``, e.g. SDT-V3's head spike) are left out."""
    names = layers or [name for name, _ in spiking_layers(model)]
    parts: Dict[str, Dict[str, List[Tensor]]] = {n: dict(tokens=[], steps=[]) for n in names}
    for start in range(0, len(inputs), batch_size):
        with record_spikes(model, names) as spikes:
            model(inputs[start:start + batch_size])
        for name in names:
            for s in spikes[name]:  # one call per forward pass
                if s.dim() not in (4, 5):
                    continue
                parts[name]["tokens"].append(token_siv(s).float())
                parts[name]["steps"].append(step_siv(s).float())
    return {n: {k: torch.cat(v, dim=1) for k, v in p.items()} for n, p in parts.items() if p["tokens"]}


def siv_analysis(model: nn.Module, inputs: Tensor, batch_size: int = 250) -> Dict[str, Any]:
    """SIV imbalance of every spiking layer of ``model`` on ``inputs``, plus what the figure draws.

    Returns ``layers`` (name -> :func:`imbalance` numbers), ``pruning_point`` (the layer DSTSP scores) with its
    token-SIV histogram (counts of each integer SIV value) and, per layer, the mean sorted share curve: the share of
    a (step, sample)'s spikes held by its top x% tokens, x = 0..100; ``step_share``: the same over each sample's
    steps at the pruning point.
    """
    siv = collect_siv(model, inputs, batch_size)
    point = PRUNING_POINT if PRUNING_POINT in siv else next(iter(siv))
    return dict(layers={name: imbalance(v["tokens"], v["steps"]) for name, v in siv.items()},
                pruning_point=point,
                histogram=torch.bincount(siv[point]["tokens"].flatten().round().long()).tolist(),
                sorted_share={name: [0.0] + _cumulative_share(v["tokens"].flatten(0, 1)) for name, v in siv.items()},
                step_share=_cumulative_share(siv[point]["steps"].transpose(0, 1)))


def _cumulative_share(rows: Tensor) -> List[float]:
    """Mean over the rows of ``[R, n]`` that hold spikes of the share held by each row's top 1..n values."""
    x = rows.double()
    x = x[x.sum(-1) > 0]
    return (x.sort(dim=-1, descending=True).values.cumsum(-1) / x.sum(-1, keepdim=True)).mean(0).tolist()


def plot_siv(result: Dict[str, Any], path: str, title: str) -> None:
    """Three panels: the pruning point's token-SIV histogram with its median (Fig. 3), every layer's sorted share
    curve, and each layer's Gini / top-30% share."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    point, layers = result["pruning_point"], result["layers"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    hist = np.asarray(result["histogram"], dtype=float)
    axes[0].bar(np.arange(len(hist)), hist / hist.sum(), width=1.0, color="tab:blue")
    median = layers[point]["token_siv_median"]
    axes[0].axvline(median, color="k", linestyle="--", label=f"median {median:g} (50% of tokens below)")
    axes[0].set_xlabel(f"token SIV (spikes per token and step) at {point}")
    axes[0].set_ylabel("fraction of tokens")
    axes[0].set_title(f"max {layers[point]['token_siv_max']:g}, min 0; Gini {layers[point]['token_gini']:.2f}")
    axes[0].legend()
    cmap = plt.get_cmap("viridis")
    names = list(result["sorted_share"])
    for i, name in enumerate(names):
        curve = result["sorted_share"][name]
        x = np.linspace(0, 100, len(curve))
        axes[1].plot(x, curve, color=cmap(i / max(1, len(names) - 1)), linewidth=2.5 if name == point else 1,
                     label=name if name == point or i in (0, len(names) - 1) else None)
    axes[1].plot([0, 100], [0, 1], color="grey", linestyle=":", label="uniform")
    axes[1].set_xlabel("top x% of tokens by SIV (per sample and step)")
    axes[1].set_ylabel("share of the spikes")
    axes[1].legend(fontsize=7)
    axes[1].grid(alpha=0.3)
    pos = np.arange(len(layers))
    axes[2].bar(pos - 0.2, [v["token_gini"] for v in layers.values()], width=0.4, label="token Gini")
    axes[2].bar(pos + 0.2, [v["top30_token_share"] for v in layers.values()], width=0.4,
                label="share of the top 30% tokens")
    axes[2].set_xticks(pos, list(layers), rotation=75, fontsize=7)
    axes[2].set_ylim(0, 1)
    axes[2].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
