"""DSTSP: Dynamic Spatial-Temporal Spiking Pruning (paper §3.3, Algorithm 1), the zoo's first pruner.

Parameter-free. Scores are spike intensity values (SIV, sums of spikes) computed under ``no_grad``; the kept
features are gathered, so pruned features receive no gradient and cost nothing in backward.

Temporal pruning (DSTP, Eq. 6-7): per sample, SIV of each time step; keep the top ``T' = floor(T (1 - P_t))``
steps; the kept real-valued inputs are run through the spiking neuron again (Eq. 7 ``X'' = SN(X')``: the next
neuron sees only the kept steps, so its membrane dynamics restart on the shorter sequence).

Spatial pruning (DSSP, Eq. 4-5): per sample and per kept step, SIV of each token; keep the top
``N' = floor(N (1 - P_s))`` tokens. The token mixer then uses ``W_M'`` (its ``weight_mode``, see
:class:`zoo.mixer.TokenMixing`). Pruned tokens are discarded or merged into the kept ones ("softmatch", defined in
:func:`softmatch_merge`). Which spikes score the tokens (``spatial_siv``): ``resimulated`` (default) the spikes of
the kept steps run through the neuron again (Eq. 7's ``X''``, what the first block's neuron sees); ``original`` the
spikes the neuron produced over all T steps, taken at the kept steps (Algorithm 1, lines 4-7).

Ties: ranking is a stable descending sort, so among equal SIVs the lower time step / raster index is kept.

Orders: ``order="siv"`` keeps the kept steps/tokens in descending SIV order, as Eq. 4 and 6 write it
(``X_i = SORT(I, X)``, then the first T'/N'); ``order="original"`` keeps them in their original time/raster order.

Where DSTSP runs (after the stem or inside it, paper Table 8) is the encoder's placement, the stem layer it prunes
after is the stem's option and the W_M' strategy is the mixer's. The ``dstsp=dict(...)`` shorthand that models
accept carries all of them; :class:`DSTSPShorthand` splits it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from ..layers import NeuronCfg, build_neuron, take_steps, take_tokens
from ..neurons import collapse_spike_slots, spike_slots
from .base import Pruned, Pruner, kept_count
from .registry import register_pruner

__all__ = ["DSTSPConfig", "DSTSP", "DSTSPShorthand", "softmatch_weights", "softmatch_merge", "SPATIAL_SIVS"]

STRATEGIES = ("LP", "HP", "RP")  # prune low-SIV (the method), high-SIV, random
STAGES = ("B", "T", "I")  # prune in both training and inference, training only, inference only
PRUNED_TOKENS = ("discard", "softmatch")
ORDERS = ("siv", "original")
SPATIAL_SIVS = ("resimulated", "original")  # spikes that score the tokens: Eq. 7's X'' or Algorithm 1's X_tp
STEP_CHOICES = ("siv", "random", "uniform", "first")  # how the kept steps are chosen: the method, then its controls


@dataclass
class DSTSPConfig:
    """Options of DSTSP itself. The defaults are the paper's method (LP, stage B, softmatch).

    Attributes:
        spatial_ratio: P_s, fraction of tokens pruned per sample and step.
        temporal_ratio: P_t, fraction of time steps pruned per sample.
        strategy: ``LP`` prune low-SIV (the method), ``HP`` prune high-SIV, ``RP`` prune at random (Fig. 7).
        stage: ``B`` prune in training and inference, ``T`` training only, ``I`` inference only (Table 8).
        pruned_tokens: ``discard`` or ``softmatch`` (merge into similar kept tokens).
        order: ``siv`` (descending SIV, as the equations write it) or ``original`` (time / raster order).
        softmatch_temperature: temperature of the softmatch assignment (cosine similarities are in [0, 1]).
        spatial_siv: spikes that score the tokens after temporal pruning: ``resimulated`` the kept steps run
            through the neuron again (Eq. 7 ``X'' = SN(X')``), ``original`` the spikes of the full T-step sequence
            at the kept steps (Algorithm 1, lines 4-7). Identical when no step is pruned by this module.
        step_choice: how the ``T'`` kept steps are chosen: ``siv`` by their spike intensity (the method, with
            ``strategy``), or the controls that isolate what SIV selection buys, which score nothing: ``random``
            (``T'`` of the ``T`` steps drawn per sample and forward pass), ``uniform`` (evenly spaced,
            ``floor((i + 1/2) T / T')``) and ``first`` (steps ``0 .. T'-1``); kept in time order.
    """

    spatial_ratio: float = 0.0
    temporal_ratio: float = 0.0
    strategy: str = "LP"
    stage: str = "B"
    pruned_tokens: str = "softmatch"
    order: str = "siv"
    softmatch_temperature: float = 0.1
    spatial_siv: str = "resimulated"
    step_choice: str = "siv"

    def __post_init__(self) -> None:
        kept_count(1 << 20, self.spatial_ratio, "spatial")
        kept_count(1 << 20, self.temporal_ratio, "temporal")
        for name, allowed in (("strategy", STRATEGIES), ("stage", STAGES), ("pruned_tokens", PRUNED_TOKENS),
                              ("order", ORDERS), ("spatial_siv", SPATIAL_SIVS), ("step_choice", STEP_CHOICES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"DSTSP {name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.softmatch_temperature <= 0:
            raise ValueError(f"softmatch_temperature must be > 0, got {self.softmatch_temperature}")

    @classmethod
    def build(cls, cfg: "DSTSPConfig | Mapping[str, Any]") -> "DSTSPConfig":
        if isinstance(cfg, cls):
            return cfg
        if not isinstance(cfg, Mapping):
            raise TypeError(f"DSTSP options must be a DSTSPConfig or a dict, got {type(cfg).__name__}")
        unknown = set(cfg) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown DSTSP options {sorted(unknown)}; known: {sorted(cls.__dataclass_fields__)}")
        return cls(**cfg)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


# the keys of the dstsp=dict(...) shorthand that belong to other parts, with their defaults
_SHORTHAND_DEFAULTS: Dict[str, Any] = dict(temporal_placement="AS", stem_layer=0, mixer_weight="static")
_PLACEMENTS = {"AS": "after_stem", "IS": "in_stem"}  # temporal pruning after the stem, or inside it (Table 8)


@dataclass(frozen=True)
class DSTSPShorthand:
    """The ``dstsp=dict(...)`` shorthand of the models, split into the options of the parts that own them.

    The shorthand takes every :class:`DSTSPConfig` field plus ``temporal_placement`` (``AS`` after the stem,
    ``IS`` inside it: the encoder's placement ``after_stem`` / ``in_stem``), ``stem_layer`` (with ``IS``, the stem
    layer to prune after: the stem's option) and ``mixer_weight`` (``static`` / ``random`` / ``crop``: the token
    mixer's W_M' mode). Configs, docs and saved ``config.json`` files use it.
    """

    config: DSTSPConfig
    placement: str = "after_stem"
    stem_layer: int = 0
    mixer_weight: str = "static"

    @classmethod
    def split(cls, options: Union[DSTSPConfig, Mapping[str, Any], None]) -> Optional["DSTSPShorthand"]:
        if options is None:
            return None
        if isinstance(options, DSTSPConfig):
            options = options.to_dict()
        if not isinstance(options, Mapping):
            raise TypeError(f"dstsp must be a dict of DSTSP options, got {type(options).__name__}")
        known = set(DSTSPConfig.__dataclass_fields__) | set(_SHORTHAND_DEFAULTS)
        unknown = set(options) - known
        if unknown:
            raise ValueError(f"unknown DSTSP options {sorted(unknown)}; known: {sorted(known)}")
        parts = {**_SHORTHAND_DEFAULTS, **{k: options[k] for k in _SHORTHAND_DEFAULTS if k in options}}
        if parts["temporal_placement"] not in _PLACEMENTS:
            raise ValueError(f"DSTSP temporal_placement must be one of {tuple(_PLACEMENTS)}, "
                             f"got {parts['temporal_placement']!r}")
        config = DSTSPConfig.build({k: v for k, v in options.items() if k not in _SHORTHAND_DEFAULTS})
        return cls(config, _PLACEMENTS[parts["temporal_placement"]], parts["stem_layer"], parts["mixer_weight"])

    @property
    def pruning(self) -> Dict[str, Any]:
        """The pruner's part: ``dict(type="DSTSP", **DSTSPConfig fields)``."""
        return dict(type="DSTSP", **self.config.to_dict())

    def to_dict(self) -> Dict[str, Any]:
        """The shorthand with every option spelled out (a config that does not depend on the defaults)."""
        placement = next(k for k, v in _PLACEMENTS.items() if v == self.placement)
        return dict(self.config.to_dict(), temporal_placement=placement, stem_layer=self.stem_layer,
                    mixer_weight=self.mixer_weight)


def fixed_steps(choice: str, time_steps: int, keep: int, batch: int, device: torch.device) -> Tensor:
    """The kept-step index ``[keep, batch]`` of a control ``step_choice`` (``random``, ``uniform``, ``first``), in
    time order."""
    if choice == "random":
        return torch.rand(batch, time_steps, device=device).argsort(-1)[:, :keep].sort(-1).values.T.contiguous()
    if choice == "uniform":
        steps = [int((i + 0.5) * time_steps / keep) for i in range(keep)]
    else:
        steps = list(range(keep))
    return torch.tensor(steps, device=device).unsqueeze(1).expand(keep, batch)


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


@register_pruner
class DSTSP(Pruner):
    """Dynamic Spatial-Temporal Spiking Pruning on the real-valued token stream.

    ``pruner(x)``: ``x`` ``[T, B, N, C]`` -> :class:`~zoo.pruning.base.Pruned` ``(x', step_index, token_index)``
    with ``x'`` ``[T', B, N', C]``, ``step_index`` ``[T', B]`` (``None`` if time was not pruned here) and
    ``token_index`` ``[T', B, N']`` (``None`` if tokens were not pruned). When the stage says "not now" (e.g.
    ``stage='T'`` in eval), ``x`` passes unchanged.

    Built from a :class:`DSTSPConfig` or from its fields as keywords (``DSTSP(spatial_ratio=0.3)``, which is what
    ``zoo.pruning.build(dict(type="DSTSP", ...))`` does). ``neuron`` is the spiking neuron whose spikes are scored
    (the model's neuron type); it has no parameters. A spike-driven I-LIF's D binary slots are summed per step
    before scoring (the SIV is a count of spikes either way), so both I-LIF forms select the same steps and tokens.
    """

    def __init__(self, cfg: Optional[DSTSPConfig] = None, neuron: NeuronCfg = "LIF", **options: Any) -> None:
        super().__init__()
        if cfg is not None and options:
            raise TypeError(f"DSTSP takes a DSTSPConfig or its options {sorted(options)}, not both")
        self.cfg = DSTSPConfig.build(options if cfg is None else cfg)
        self.neuron = build_neuron(neuron)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.cfg.to_dict().items())

    @property
    def active(self) -> bool:
        """Whether pruning applies in the current mode (train/eval) under the configured stage."""
        return self.cfg.stage == "B" or (self.cfg.stage == "T") == self.training

    @property
    def always_active(self) -> bool:
        return self.cfg.stage == "B"

    def kept_tokens(self, num_tokens: int) -> int:
        return kept_count(num_tokens, self.cfg.spatial_ratio, "spatial") if self.cfg.spatial_ratio else num_tokens

    def kept_steps(self, time_steps: int) -> int:
        return kept_count(time_steps, self.cfg.temporal_ratio, "temporal") if self.cfg.temporal_ratio else time_steps

    @torch.no_grad()
    def _spikes(self, x: Tensor) -> Tensor:
        """Spike counts per step: ``[T, *]`` real -> ``[T, *]`` (binary LIF spikes or I-LIF integers)."""
        spikes = self.neuron(x)
        slots = spike_slots(self.neuron)
        return spikes if slots == 1 else collapse_spike_slots(spikes, slots)

    def prune_steps(self, x: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """Temporal pruning inside the stem. ``x`` ``[T, B, *]`` real-valued -> kept ``[T', B, *]`` and index
        ``[T', B]``; passes through (index ``None``) when not active or ``temporal_ratio`` is 0."""
        if not self.active or self.cfg.temporal_ratio == 0:
            return x, None
        with torch.no_grad():  # the scores only rank the steps: no autograd record of the scoring neuron
            index, _ = self._rank_steps(x)
        return take_steps(x, index), index

    def _rank_steps(self, x: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """``x`` ``[T, B, *]`` -> the kept-step index ``[T', B]`` and the scored spikes ``[T, B, *]`` (``None`` for
        the controls of ``step_choice``, which score nothing)."""
        keep = kept_count(x.shape[0], self.cfg.temporal_ratio, "temporal")
        if self.cfg.step_choice != "siv":
            return fixed_steps(self.cfg.step_choice, x.shape[0], keep, x.shape[1], x.device), None
        spikes = self._spikes(x)
        siv = spikes.flatten(2).sum(-1)  # [T, B]
        index, _ = _rank(siv.transpose(0, 1), keep, self.cfg.strategy, self.cfg.order)
        return index.transpose(0, 1).contiguous(), spikes

    def _prune_steps(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """``x`` ``[T, B, *]`` -> kept ``[T', B, *]``, index ``[T', B]`` and the spikes ``[T, B, *]`` that score the
        tokens with ``spatial_siv='original'``."""
        index, spikes = self._rank_steps(x)
        if spikes is None and self.cfg.spatial_siv == "original" and self.cfg.spatial_ratio > 0:
            spikes = self._spikes(x)
        return take_steps(x, index), index, spikes

    def prune_tokens(self, x: Tensor, spikes: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Spatial pruning. ``x`` ``[T, B, N, C]`` -> kept ``[T, B, N', C]`` and token index ``[T, B, N']``.

        ``spikes`` ``[T, B, N, C]``: the spikes that score the tokens; ``None`` runs the neuron on ``x`` (Eq. 7).
        """
        keep = kept_count(x.shape[2], self.cfg.spatial_ratio, "spatial")
        spikes = self._spikes(x) if spikes is None else spikes
        siv = spikes.sum(-1)  # [T, B, N]
        index, pruned_index = _rank(siv, keep, self.cfg.strategy, self.cfg.order)  # [T, B, N'], [T, B, N - N']
        kept = take_tokens(x, index)
        if self.cfg.pruned_tokens == "softmatch" and pruned_index.shape[-1]:
            weights = softmatch_weights(take_tokens(spikes, index), take_tokens(spikes, pruned_index),
                                        self.cfg.softmatch_temperature)
            kept = softmatch_merge(kept, take_tokens(x, pruned_index), weights)
        return kept, index

    def prune(self, x: Tensor, prune_time: bool = True) -> Pruned:
        step_index = token_index = scored = None
        if not self.active:
            return Pruned(x, None, None)
        if prune_time and self.cfg.temporal_ratio > 0:
            x, step_index, spikes = self._prune_steps(x)
            original = spikes is not None and self.cfg.spatial_siv == "original"
            scored = take_steps(spikes, step_index) if original else None
        if self.cfg.spatial_ratio > 0:
            x, token_index = self.prune_tokens(x, scored)
        return Pruned(x, step_index, token_index)
