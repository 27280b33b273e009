"""How much information survives LP / HP / RP token pruning (paper §3.2 Figure 4, appendix C): RIE and MS-SSIM.

Measures (appendix C):

- **RIE** (Eq. 13-14): ``IE(X) = -sum_{i=0,1} P(X=i) log2 P(X=i)`` with ``P(X=1)`` the mean spike firing frequency
  over the whole evaluated set, and ``RIE(X_p, X) = IE(X_p) / IE(X)``. An I-LIF integer spike ``s`` in ``0..D`` is
  ``s`` binary spikes in ``D`` slots (its spike-driven form), so ``P(X=1) = sum(X) / (numel(X) D)``.
- **MS-SSIM** (Wang, Simoncelli & Bovik 2003, which the appendix names): Gaussian window (11 taps, sigma 1.5),
  ``K1 = 0.01``, ``K2 = 0.03``, valid filtering, 5 scales with the weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333),
  2 x 2 average pooling between scales, ``MS-SSIM = l_M^{w_M} prod_j cs_j^{w_j}``; ``cs`` and the last scale's SSIM
  are clamped at 0 before the powers (as pytorch-msssim does: a negative base has no real fractional power).

What is compared (:func:`retention`): the spike maps of the model's block neurons, unpruned (``X``) and with the
model re-run pruning tokens after the stem at inference (``X_p``, :func:`.models.with_token_pruning`; the pruned
tokens put back as zeros, so both have the shape ``[T, B, N, C]``). MS-SSIM compares the feature maps as the
paper's visualisations draw them: per step and sample, the spikes of each token (SIV) on the ``sqrt(N) x sqrt(N)``
token grid, each token a ``f x f`` block (nearest upsampling by the smallest ``f`` that gives the 5 scales room for
the 11-tap window), with ``data_range`` the largest SIV of the unpruned map over the evaluated set.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .hooks import max_spike, record_kept, record_spikes, spiking_layers
from .models import KEPT_TOKENS, with_token_pruning

__all__ = ["information_entropy", "rie", "gaussian_window", "ssim_components", "ms_ssim", "MS_SSIM_WEIGHTS",
           "min_side", "token_maps", "retention", "plot_retention"]

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


# ---------------------------------------------------------------------------------------------------------------
# RIE (Eq. 13-14)
# ---------------------------------------------------------------------------------------------------------------
def information_entropy(spikes: Tensor, max_spike: int = 1) -> float:
    """Eq. 13: binary entropy (bits) of the mean firing frequency ``P(X=1) = sum / (numel * max_spike)``."""
    p1 = float(spikes.double().sum()) / (spikes.numel() * max_spike)
    if not 0.0 <= p1 <= 1.0:
        raise ValueError(f"spike values must lie in 0..{max_spike}; their mean frequency is {p1}")
    return -sum(p * math.log2(p) for p in (p1, 1.0 - p1) if p > 0)


def rie(pruned: Tensor, original: Tensor, max_spike: int = 1) -> float:
    """Eq. 14: ``IE(X_p) / IE(X)`` (NaN when ``X`` has no entropy: all silent or all firing)."""
    base = information_entropy(original, max_spike)
    return information_entropy(pruned, max_spike) / base if base > 0 else math.nan


# ---------------------------------------------------------------------------------------------------------------
# MS-SSIM (Wang et al. 2003)
# ---------------------------------------------------------------------------------------------------------------
def gaussian_window(size: int = 11, sigma: float = 1.5) -> Tensor:
    """Normalised 1-D Gaussian ``[size]`` centred on the middle tap (the 2-D window is its outer product)."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2.0
    g = torch.exp(-x ** 2 / (2.0 * sigma ** 2))
    return g / g.sum()


def _filter(x: Tensor, window: Tensor) -> Tensor:
    """Separable valid filtering of ``[B, C, H, W]`` with the 1-D window along H then W, all channels at once."""
    c = x.shape[1]
    k = window.to(x.dtype)
    x = F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)


def ssim_components(x: Tensor, y: Tensor, data_range: float, window: Tensor, k1: float = 0.01,
                    k2: float = 0.03) -> Tuple[Tensor, Tensor]:
    """Mean SSIM and mean contrast-structure term per image and channel: ``[B, C, H, W]`` -> two ``[B, C]``.

    ``l = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1)``, ``cs = (2 s_xy + C2) / (s_x^2 + s_y^2 + C2)``, local
    statistics under ``window``, ``C1 = (k1 L)^2``, ``C2 = (k2 L)^2``, ``L = data_range``.
    """
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu_x, mu_y, xx, yy, xy = _filter(torch.cat([x, y, x * x, y * y, x * y], dim=1), window).chunk(5, dim=1)
    var_x, var_y, cov = xx - mu_x ** 2, yy - mu_y ** 2, xy - mu_x * mu_y
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    luminance = (2 * mu_x * mu_y + c1) / (mu_x ** 2 + mu_y ** 2 + c1)
    return (luminance * cs).flatten(2).mean(-1), cs.flatten(2).mean(-1)


def min_side(win_size: int = 11, scales: int = len(MS_SSIM_WEIGHTS)) -> int:
    """The smallest image side whose coarsest scale still holds one window: ``(win - 1) 2^(M-1) + 1``."""
    return (win_size - 1) * 2 ** (scales - 1) + 1


def ms_ssim(x: Tensor, y: Tensor, data_range: float, weights: Sequence[float] = MS_SSIM_WEIGHTS,
            win_size: int = 11, sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> Tensor:
    """MS-SSIM of image pairs ``[B, C, H, W]`` -> ``[B]`` (mean over channels), ``len(weights)`` scales, computed
    in the inputs' dtype."""
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ms_ssim compares two [B, C, H, W] tensors of one shape, got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    if min(x.shape[-2:]) < min_side(win_size, len(weights)):
        raise ValueError(f"images of {x.shape[-2]} x {x.shape[-1]} are too small for {len(weights)} scales of a "
                         f"{win_size}-tap window: the smaller side must be >= {min_side(win_size, len(weights))}")
    window = gaussian_window(win_size, sigma)
    factors = []
    for scale, weight in enumerate(weights):
        ssim, cs = ssim_components(x, y, data_range, window, k1, k2)
        last = scale == len(weights) - 1
        factors.append((ssim if last else cs).clamp(min=0) ** weight)
        if not last:
            pad = [s % 2 for s in x.shape[-2:]]
            x, y = F.avg_pool2d(x, 2, padding=pad), F.avg_pool2d(y, 2, padding=pad)
    return torch.stack(factors).prod(0).mean(-1)


# ---------------------------------------------------------------------------------------------------------------
# the analysis
# ---------------------------------------------------------------------------------------------------------------
def token_maps(spikes: Tensor) -> Tensor:
    """Token spikes ``[T, B, N, C]`` -> SIV maps ``[T*B, 1, h, h]`` on the ``h = sqrt(N)`` token grid."""
    t, b, n, _ = spikes.shape
    side = math.isqrt(n)
    if side * side != n:
        raise ValueError(f"{n} tokens do not form a square grid")
    return spikes.sum(-1).reshape(t * b, 1, side, side)


def _scatter(kept: Tensor, token_index: Tensor, num_tokens: int) -> Tensor:
    """Kept tokens ``[T, B, N', C]`` at ``token_index`` ``[T, B, N']`` -> ``[T, B, N, C]`` with zeros elsewhere."""
    full = kept.new_zeros(*kept.shape[:2], num_tokens, kept.shape[-1])
    return full.scatter_(2, token_index.unsqueeze(-1).expand_as(kept), kept)


@torch.no_grad()
def _block_spikes(model: nn.Module, inputs: Tensor, layers: List[str], batch_size: int) -> Dict[str, Tensor]:
    """Spikes of ``layers`` on ``inputs``, pruned tokens put back as zeros: ``{name: [T, B, N, C]}``."""
    out: Dict[str, List[Tensor]] = {n: [] for n in layers}
    for start in range(0, len(inputs), batch_size):
        with record_spikes(model, layers) as spikes, record_kept(model) as kept:
            model(inputs[start:start + batch_size])
        index = kept[0].token_index
        for name in layers:
            s = spikes[name][0]
            out[name].append(s if index is None else _scatter(s, index, model.num_tokens))
    return {n: torch.cat(v, dim=1) for n, v in out.items()}


def _ms_ssim_of_maps(pruned: Tensor, original: Tensor, chunk: int = 256) -> float:
    """Mean MS-SSIM of SIV maps ``[M, 1, h, h]``, nearest-upsampled to fit the standard 5 scales (module docs)."""
    factor = math.ceil(min_side() / original.shape[-1])
    data_range = float(original.max()) or 1.0
    scores = [ms_ssim(F.interpolate(pruned[i:i + chunk], scale_factor=factor, mode="nearest"),
                      F.interpolate(original[i:i + chunk], scale_factor=factor, mode="nearest"), data_range)
              for i in range(0, len(original), chunk)]
    return float(torch.cat(scores).mean())


def retention(model: nn.Module, inputs: Tensor, keeps: Sequence[float] = (0.7, 0.5, 0.3),
              strategies: Sequence[str] = ("LP", "HP", "RP"), batch_size: int = 250, seed: int = 0) -> Dict[str, Any]:
    """RIE of every block neuron of ``model`` and MS-SSIM of the first and the last (the neuron DSTSP scores and the
    deepest one) on ``inputs`` ``[B, ...]``, after pruning tokens with each strategy, keeping each fraction of
    ``keeps``.

    Returns ``layers`` (block neurons in order; ``pruning_point`` is the first), ``firing_rate`` of the unpruned
    layers, ``rie[strategy][keep][layer]`` and ``ms_ssim[strategy][keep][layer]``.
    """
    layers = [name for name, _ in spiking_layers(model) if name.startswith("blocks.")]
    max_spikes = {name: max_spike(m) for name, m in spiking_layers(model) if name in layers}
    original = _block_spikes(model, inputs, layers, batch_size)
    shown = [layers[0], layers[-1]]
    maps = {n: token_maps(original[n]) for n in shown}
    result: Dict[str, Any] = dict(layers=layers, pruning_point=layers[0], keeps=list(keeps),
                                  kept={s: KEPT_TOKENS[s] for s in strategies},
                                  firing_rate={n: float(s.mean()) / max_spikes[n] for n, s in original.items()},
                                  rie={}, ms_ssim={})
    for strategy in strategies:
        result["rie"][strategy], result["ms_ssim"][strategy] = {}, {}
        for keep in keeps:
            torch.manual_seed(seed)
            pruned = _block_spikes(with_token_pruning(model, keep, strategy), inputs, layers, batch_size)
            result["rie"][strategy][str(keep)] = {n: rie(pruned[n], original[n], max_spikes[n]) for n in layers}
            result["ms_ssim"][strategy][str(keep)] = {n: _ms_ssim_of_maps(token_maps(pruned[n]), maps[n])
                                                      for n in shown}
    return result


def plot_retention(result: Dict[str, Any], path: str, title: str) -> None:
    """RIE and MS-SSIM against the kept fraction at the pruning point and at the deepest block neuron."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [result["layers"][0], result["layers"][-1]]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for row, measure in enumerate(("rie", "ms_ssim")):
        for col, layer in enumerate(shown):
            ax = axes[row, col]
            for strategy, by_keep in result[measure].items():
                keeps = [float(k) for k in by_keep]
                ax.plot([100 * k for k in keeps], [v[layer] for v in by_keep.values()], marker="o",
                        label=f"{strategy}: keep {result['kept'][strategy]}")
            ax.set_title(f"{'RIE' if measure == 'rie' else 'MS-SSIM'} at {layer}", fontsize=10)
            ax.grid(alpha=0.3)
            if row == 1:
                ax.set_xlabel("tokens kept (%)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
