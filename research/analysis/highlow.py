"""Accuracy of a trained model that sees only its high-SIV tokens, only its low-SIV tokens, or random ones (paper §3.2:
97.9% vs 79.9% on DVS128 Gesture).

After the stem, per sample and step, the tokens are ranked by SIV (spikes of block 0's input neuron, what DSTSP
scores) and only the ``keep`` fraction is passed to the blocks (:func:`.models.with_token_pruning`: DSTSP at
inference with LP keeps the high-SIV tokens, HP the low-SIV ones, RP random ones); the head averages the kept tokens.
"""
from __future__ import annotations

from typing import Any, Dict, Sequence

import torch
from torch import Tensor, nn

from .models import KEPT_TOKENS, accuracy, with_token_pruning

__all__ = ["high_low", "plot_high_low"]


def high_low(model: nn.Module, inputs: Tensor, labels: Tensor, keeps: Sequence[float] = (0.25, 0.5, 0.75),
             strategies: Sequence[str] = ("LP", "HP", "RP"), seed: int = 0) -> Dict[str, Any]:
    """Top-1 (%) of ``model`` on ``inputs`` ``[B, ...]`` / ``labels`` ``[B]`` with all tokens (``all_tokens``) and,
    for each strategy and kept fraction, with the kept tokens only: ``accuracy[strategy][str(keep)]``; ``kept``
    names which tokens each strategy keeps. RP draws from torch's generator seeded with ``seed``."""
    result: Dict[str, Any] = dict(all_tokens=accuracy(model, inputs, labels), keeps=list(keeps),
                                  kept={s: KEPT_TOKENS[s] for s in strategies}, accuracy={})
    for strategy in strategies:
        torch.manual_seed(seed)
        result["accuracy"][strategy] = {str(k): accuracy(with_token_pruning(model, k, strategy), inputs, labels)
                                        for k in keeps}
    return result


def plot_high_low(result: Dict[str, Any], path: str, title: str) -> None:
    """Accuracy against the kept fraction of tokens, one line per strategy, the all-token accuracy dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for strategy, by_keep in result["accuracy"].items():
        keeps = [float(k) for k in by_keep]
        ax.plot([100 * k for k in keeps], list(by_keep.values()), marker="o",
                label=f"{result['kept'][strategy]} tokens ({strategy})")
    ax.axhline(result["all_tokens"], color="grey", linestyle="--", label=f"all tokens ({result['all_tokens']:.2f}%)")
    ax.set_xlabel("tokens kept after the stem (% per sample and step)")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
