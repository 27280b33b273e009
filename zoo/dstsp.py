"""DSTSP: Dynamic Spatial-Temporal Spiking Pruning (paper §3.3, Algorithm 1).

Parameter-free. Scores are spike intensity values (SIV, sums of spikes) computed under ``no_grad``; the kept
features are gathered, so pruned features receive no gradient and cost nothing in backward.

Temporal pruning (DSTP, Eq. 6-7): per sample, SIV of each time step; keep the top ``T' = floor(T (1 - P_t))``
steps; the kept real-valued inputs are run through the spiking neuron again (Eq. 7 ``X'' = SN(X')``: the next
neuron sees only the kept steps, so its membrane dynamics restart on the shorter sequence).

Spatial pruning (DSSP, Eq. 4-5): per sample and per kept step, SIV of each token; keep the top
``N' = floor(N (1 - P_s))`` tokens. The token mixer then uses ``W_M'`` (see :class:`zoo.mixer.TokenMixing`).
Pruned tokens are discarded or merged into the kept ones ("softmatch", defined in :func:`softmatch_merge`).
Which spikes score the tokens (``spatial_siv``): ``resimulated`` (default) the spikes of the kept steps run
through the neuron again (Eq. 7's ``X''``, what the first block's neuron sees); ``original`` the spikes the neuron
produced over all T steps, taken at the kept steps (Algorithm 1, lines 4-7).

Ties: ranking is a stable descending sort, so among equal SIVs the lower time step / raster index is kept.

Orders: ``order="siv"`` keeps the kept steps/tokens in descending SIV order, as Eq. 4 and 6 write it
(``X_i = SORT(I, X)``, then the first T'/N'); ``order="original"`` keeps them in their original time/raster order.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional, Tuple

import torch
from torch import Tensor, nn

from .layers import make_neuron, take_steps
from .neurons import collapse_spike_slots, spike_slots

__all__ = ["DSTSPConfig", "DSTSP", "kept_count", "softmatch_merge"]

STRATEGIES = ("LP", "HP", "RP")  # prune low-SIV (the method), high-SIV, random
STAGES = ("B", "T", "I")  # prune in both training and inference, training only, inference only
PLACEMENTS = ("AS", "IS")  # temporal pruning after the stem, or inside it
MIXER_WEIGHTS = ("static", "random", "crop")
PRUNED_TOKENS = ("discard", "softmatch")
ORDERS = ("siv", "original")
SPATIAL_SIVS = ("resimulated", "original")  # spikes that score the tokens: Eq. 7's X'' or Algorithm 1's X_tp


def kept_count(total: int, ratio: float, what: str) -> int:
    """``floor(total * (1 - ratio))``; raises if the ratio is outside [0, 1) or keeps nothing."""
    if not isinstance(ratio, (int, float)) or not 0.0 <= ratio < 1.0 or math.isnan(ratio):
        raise ValueError(f"{what} pruning ratio must be in [0, 1), got {ratio!r}")
    kept = int(math.floor(total * (1.0 - ratio) + 1e-9))
    if kept < 1:
        raise ValueError(f"{what} pruning ratio {ratio} keeps 0 of {total} {what} units; use a ratio below "
                         f"{1.0 - 1.0 / total:.4f}")
    return kept


@dataclass
class DSTSPConfig:
    """Options of DSTSP. The defaults are the paper's method (LP, stage B, after the stem, static W_M', softmatch).

    Attributes:
        spatial_ratio: P_s, fraction of tokens pruned per sample and step.
        temporal_ratio: P_t, fraction of time steps pruned per sample.
        strategy: ``LP`` prune low-SIV (the method), ``HP`` prune high-SIV, ``RP`` prune at random (Fig. 7).
        stage: ``B`` prune in training and inference, ``T`` training only, ``I`` inference only (Table 8).
        temporal_placement: ``AS`` temporal pruning after the stem, ``IS`` inside it (Table 8).
        stem_layer: with ``IS``, prune after this main-path layer of the stem (0 = after the first conv-BN).
        mixer_weight: ``static`` N'xN' matrix, ``random`` shared random indices in training (full matrix, cropped at
            the kept tokens, at inference), ``crop`` the full matrix cropped at the kept tokens' positions.
        pruned_tokens: ``discard`` or ``softmatch`` (merge into similar kept tokens).
        order: ``siv`` (descending SIV, as the equations write it) or ``original`` (time / raster order).
        softmatch_temperature: temperature of the softmatch assignment (cosine similarities are in [0, 1]).
        spatial_siv: spikes that score the tokens after temporal pruning: ``resimulated`` the kept steps run
            through the neuron again (Eq. 7 ``X'' = SN(X')``), ``original`` the spikes of the full T-step sequence
            at the kept steps (Algorithm 1, lines 4-7). Identical when no step is pruned by this module.
    """

    spatial_ratio: float = 0.0
    temporal_ratio: float = 0.0
    strategy: str = "LP"
    stage: str = "B"
    temporal_placement: str = "AS"
    stem_layer: int = 0
    mixer_weight: str = "static"
    pruned_tokens: str = "softmatch"
    order: str = "siv"
    softmatch_temperature: float = 0.1
    spatial_siv: str = "resimulated"

    def __post_init__(self) -> None:
        kept_count(1 << 20, self.spatial_ratio, "spatial")
        kept_count(1 << 20, self.temporal_ratio, "temporal")
        for name, allowed in (("strategy", STRATEGIES), ("stage", STAGES), ("temporal_placement", PLACEMENTS),
                              ("mixer_weight", MIXER_WEIGHTS), ("pruned_tokens", PRUNED_TOKENS),
                              ("order", ORDERS), ("spatial_siv", SPATIAL_SIVS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"DSTSP {name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.mixer_weight == "static" and self.stage != "B" and self.spatial_ratio > 0:
            raise ValueError("a static N'xN' mixer weight cannot serve unpruned tokens: stage 'T' or 'I' needs "
                             "mixer_weight='random' or 'crop'")
        if not 0 <= self.stem_layer <= 3:
            raise ValueError(f"stem_layer must be in 0..3, got {self.stem_layer}")
        if self.softmatch_temperature <= 0:
            raise ValueError(f"softmatch_temperature must be > 0, got {self.softmatch_temperature}")

    @classmethod
    def build(cls, cfg: "DSTSPConfig | Dict[str, Any] | None") -> Optional["DSTSPConfig"]:
        if cfg is None or isinstance(cfg, cls):
            return cfg
        if not isinstance(cfg, dict):
            raise TypeError(f"dstsp must be a DSTSPConfig or a dict, got {type(cfg).__name__}")
        unknown = set(cfg) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown DSTSP options {sorted(unknown)}; known: {sorted(cls.__dataclass_fields__)}")
        return cls(**cfg)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def _rank(scores: Tensor, k: int, strategy: str, order: str) -> Tuple[Tensor, Tensor]:
    """Split the last dim of ``scores`` ``[..., n]`` into kept ``[..., k]`` and pruned ``[..., n-k]`` indices.

    Stable descending sort: among equal scores the lower index ranks first (is kept first).
    """
    if strategy == "HP":
        scores = -scores
    elif strategy == "RP":
        scores = torch.rand_like(scores, dtype=torch.float32)
    ranking = scores.float().argsort(dim=-1, descending=True, stable=True)
    kept, pruned = ranking[..., :k], ranking[..., k:]
    return (kept.sort(dim=-1).values if order == "original" else kept), pruned


@torch.no_grad()
def softmatch_weights(kept_spikes: Tensor, pruned_spikes: Tensor, temperature: float) -> Tensor:
    """Soft assignment of each pruned token to the kept tokens.

    ``kept_spikes`` ``[..., K, C]``, ``pruned_spikes`` ``[..., P, C]`` -> weights ``[..., P, K]``: softmax over the
    kept tokens of cosine similarity / temperature; rows of pruned tokens that fired no spike are zero.
    """
    kept = nn.functional.normalize(kept_spikes.float(), dim=-1)
    pruned = nn.functional.normalize(pruned_spikes.float(), dim=-1)
    weights = (pruned @ kept.transpose(-1, -2) / temperature).softmax(dim=-1)
    return weights * (pruned_spikes.sum(-1, keepdim=True) > 0)


def softmatch_merge(kept: Tensor, pruned: Tensor, weights: Tensor) -> Tensor:
    """Merge pruned tokens into kept ones: ``x_k' = (x_k + sum_p w_pk x_p) / (1 + sum_p w_pk)``.

    ``kept`` ``[..., K, C]``, ``pruned`` ``[..., P, C]``, ``weights`` ``[..., P, K]`` -> ``[..., K, C]``. Each pruned
    token distributes a total weight of 1 (0 if it fired nothing), so the result is a weighted mean that keeps the
    scale of the residual stream. Gradients flow to the merged features, not through the weights.
    """
    weights = weights.to(kept.dtype)
    merged = kept + weights.transpose(-1, -2) @ pruned
    return merged / (1.0 + weights.sum(-2)).unsqueeze(-1)


class DSTSP(nn.Module):
    """Dynamic Spatial-Temporal Spiking Pruning on the real-valued token stream.

    ``forward(x)``: ``x`` ``[T, B, N, C]`` -> ``(x', step_index, token_index)`` with ``x'`` ``[T', B, N', C]``,
    ``step_index`` ``[T', B]`` (``None`` if time was not pruned here) and ``token_index`` ``[T', B, N']`` (``None``
    if tokens were not pruned). When the stage says "not now" (e.g. ``stage='T'`` in eval), ``x`` passes unchanged.

    ``neuron`` is the spiking neuron whose spikes are scored (the model's neuron type); it has no parameters.
    A spike-driven I-LIF's D binary slots are summed per step before scoring (the SIV is a count of spikes either
    way), so both I-LIF forms select the same steps and tokens.
    """

    def __init__(self, cfg: DSTSPConfig, neuron: str = "lif", neuron_kwargs: Optional[Dict[str, Any]] = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.neuron = make_neuron(neuron, **(neuron_kwargs or {}))

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.cfg.to_dict().items())

    @property
    def active(self) -> bool:
        """Whether pruning applies in the current mode (train/eval) under the configured stage."""
        return self.cfg.stage == "B" or (self.cfg.stage == "T") == self.training

    @torch.no_grad()
    def _spikes(self, x: Tensor) -> Tensor:
        """Spike counts per step: ``[T, *]`` real -> ``[T, *]`` (binary LIF spikes or I-LIF integers)."""
        spikes = self.neuron(x)
        slots = spike_slots(self.neuron)
        return spikes if slots == 1 else collapse_spike_slots(spikes, slots)

    def prune_steps(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Temporal pruning. ``x`` ``[T, B, *]`` real-valued -> kept ``[T', B, *]`` and index ``[T', B]``."""
        kept, index, _ = self._prune_steps(x)
        return kept, index

    def _prune_steps(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """``x`` ``[T, B, *]`` -> kept ``[T', B, *]``, index ``[T', B]`` and the scored spikes ``[T, B, *]``."""
        keep = kept_count(x.shape[0], self.cfg.temporal_ratio, "temporal")
        spikes = self._spikes(x)
        siv = spikes.flatten(2).sum(-1)  # [T, B]
        index, _ = _rank(siv.transpose(0, 1), keep, self.cfg.strategy, self.cfg.order)
        index = index.transpose(0, 1).contiguous()
        return take_steps(x, index), index, spikes

    def prune_tokens(self, x: Tensor, spikes: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Spatial pruning. ``x`` ``[T, B, N, C]`` -> kept ``[T, B, N', C]`` and token index ``[T, B, N']``.

        ``spikes`` ``[T, B, N, C]``: the spikes that score the tokens; ``None`` runs the neuron on ``x`` (Eq. 7).
        """
        keep = kept_count(x.shape[2], self.cfg.spatial_ratio, "spatial")
        spikes = self._spikes(x) if spikes is None else spikes
        siv = spikes.sum(-1)  # [T, B, N]
        index, pruned_index = _rank(siv, keep, self.cfg.strategy, self.cfg.order)  # [T, B, N'], [T, B, N - N']
        kept = _take_tokens(x, index)
        if self.cfg.pruned_tokens == "softmatch" and pruned_index.shape[-1]:
            weights = softmatch_weights(_take_tokens(spikes, index), _take_tokens(spikes, pruned_index),
                                        self.cfg.softmatch_temperature)
            kept = softmatch_merge(kept, _take_tokens(x, pruned_index), weights)
        return kept, index

    def forward(self, x: Tensor, prune_time: bool = True) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
        if x.dim() != 4:
            raise ValueError(f"DSTSP expects tokens [T, B, N, C], got shape {tuple(x.shape)}")
        step_index = token_index = scored = None
        if not self.active:
            return x, None, None
        if prune_time and self.cfg.temporal_ratio > 0:
            x, step_index, spikes = self._prune_steps(x)
            scored = take_steps(spikes, step_index) if self.cfg.spatial_siv == "original" else None
        if self.cfg.spatial_ratio > 0:
            x, token_index = self.prune_tokens(x, scored)
        return x, step_index, token_index

    def stem_step_pruner(self, x: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """Temporal pruning inside the stem (placement ``IS``); passes through (index ``None``) when not active."""
        if not self.active or self.cfg.temporal_ratio == 0:
            return x, None
        return self.prune_steps(x)


def _take_tokens(x: Tensor, index: Tensor) -> Tensor:
    """``x`` ``[T, B, N, C]``, ``index`` ``[T, B, K]`` -> ``[T, B, K, C]``."""
    return x.gather(2, index.unsqueeze(-1).expand(-1, -1, -1, x.shape[-1]))
