"""The pruned encoder: a pruner and the blocks it prunes for, and the one place that knows where pruning happens.

Every model family with encoder blocks (the SMixer classifier, the time-series forecaster, the detector's SMixer
stages) holds a :class:`PrunedEncoder` as ``blocks`` and runs it on the stream ``[T, B, N, C]`` its stem produces.
The pruner (any registered :class:`zoo.pruning.Pruner`, built from ``pruning=dict(type=...)``) says *what* is
kept; the :class:`Placement` says *where*:

- ``after_stem`` (default; DSTSP's ``AS``): once, before block 0;
- ``in_stem`` (DSTSP's ``IS``): time steps inside the stem (the stem calls :attr:`PrunedEncoder.stem_pruner` after
  its pruning layer), tokens before block ``start``;
- ``dict(start=s)``: once, before block ``s`` (blocks before it see every token);
- ``dict(start=s, every=k)``: before blocks ``s, s + k, s + 2k, ...``, each point pruning the already pruned
  stream again (e.g. STATA: every third block from ``L / 3``);
- ``pass_through=True``: the pruned tokens and steps skip the blocks up to the next pruning point (or the end) and
  are put back unchanged, so the stream keeps its full size between segments (the detector's stages;
  ``dict(every=1, pass_through=True)`` is TP-Spikformer's per-block pruning).

A model's pruning is one :class:`PruningOptions` (in configs and ``config.json`` its flat dict ``pruning=dict(type=
'DSTSP', spatial_ratio=0.3, placement='in_stem', mixer_weight='static', stem_layer=0)``), passed from the config
through the model constructor to :func:`build_encoder`. ``zoo.create`` also takes the ``dstsp=dict(...)``
shorthand and ``placement=`` / ``mixer_weight=`` / ``stem_layer=`` keywords: :meth:`PruningOptions.at_edge`
converts them, there and nowhere else.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from .layers import NeuronCfg, StepPruner, take_steps
from .mixer import WEIGHT_MODES, EncoderBlock
from .pruning import DSTSPConfig, DSTSPShorthand, Pruned, Pruner, build

__all__ = ["Placement", "PruningOptions", "PruningSpec", "PrunedEncoder", "build_encoder", "smixer_encoder",
           "check_stem_point", "upgrade_saved_args", "PRUNING_KEYWORDS", "pruner_aux_loss"]

PlacementSpec = Union["Placement", str, Mapping[str, Any], None]


@dataclass(frozen=True)
class Placement:
    """Where the encoder prunes (module docstring). Built from a name (``after_stem``, ``in_stem``) or a dict.

    Attributes:
        in_stem: time steps are pruned inside the stem; the pruning points then prune tokens only.
        start: the first pruning point: before block ``start`` (0: right after the stem).
        every: 0 for one pruning point; ``k > 0`` for points before blocks ``start, start + k, ...``.
        pass_through: pruned tokens and steps skip the blocks up to the next point (or the end) and are put back.
    """

    in_stem: bool = False
    start: int = 0
    every: int = 0
    pass_through: bool = False

    def __post_init__(self) -> None:
        for name in ("in_stem", "pass_through"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"placement {name} must be True or False, got {getattr(self, name)!r}")
        for name in ("start", "every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"placement {name} must be an integer >= 0, got {value!r}")

    @classmethod
    def build(cls, spec: PlacementSpec) -> "Placement":
        if spec is None or isinstance(spec, cls):
            return spec or cls()
        if isinstance(spec, str):
            if spec not in _NAMED:
                raise ValueError(f"unknown placement {spec!r}; use one of {sorted(_NAMED)} or a dict of "
                                 f"{[f.name for f in fields(cls)]}")
            return _NAMED[spec]
        if not isinstance(spec, Mapping):
            raise TypeError(f"placement must be a name, a dict or a Placement, got {type(spec).__name__}")
        unknown = sorted(set(spec) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown placement options {unknown}; known: {[f.name for f in fields(cls)]}")
        return cls(**spec)

    def points(self, depth: int) -> Tuple[int, ...]:
        """The block indices before which the encoder prunes, for an encoder of ``depth`` blocks."""
        if self.start >= depth:
            raise ValueError(f"placement start {self.start} is not a block of this {depth}-block encoder "
                             f"(0..{depth - 1})")
        return tuple(range(self.start, depth, self.every)) if self.every else (self.start,)


_NAMED = {"after_stem": Placement(), "in_stem": Placement(in_stem=True)}


PruningSpec = Union["PruningOptions", Mapping[str, Any], None]
_MODEL_KEYS = ("placement", "mixer_weight", "stem_layer")  # the keys of a pruning dict that are not the pruner's
PRUNING_KEYWORDS = ("pruning", "dstsp") + _MODEL_KEYS  # the keywords zoo.create accepts (PruningOptions.at_edge)
_UNSET = object()


@dataclass(frozen=True)
class PruningOptions:
    """A model's pruning, each option for the part that owns it: the one object that travels from a config to the
    encoder (every model constructor takes it as ``pruning``).

    Its one spelling, in configs and in saved ``config.json`` files, is a flat dict: the pruner's config plus the
    model's three keys, ``pruning=dict(type='DSTSP', spatial_ratio=0.3, temporal_ratio=0.5, placement='in_stem',
    mixer_weight='static', stem_layer=0)`` (:meth:`build`, :meth:`to_config`); ``None``: no pruning.

    Attributes:
        pruner: the pruner's config ``dict(type=<registered pruner>, ...)`` or ``None``.
        placement: the encoder's :class:`Placement`; ``None``: the pruner's own
            (:meth:`zoo.pruning.Pruner.default_placement`).
        mixer_weight: the token mixer's W_M' mode (``static``, ``random``, ``crop``; :class:`zoo.mixer.TokenMixing`).
        stem_layer: the stem layer after which ``in_stem`` placement prunes time steps.
    """

    pruner: Optional[Mapping[str, Any]] = None
    placement: Optional[Placement] = None
    mixer_weight: str = "static"
    stem_layer: int = 0

    def __post_init__(self) -> None:
        if self.pruner is not None:
            if not isinstance(self.pruner, Mapping) or not isinstance(self.pruner.get("type"), str):
                raise TypeError(f"a pruner config is dict(type=<pruner>, ...) (zoo.list_pruners()), "
                                f"got {self.pruner!r}")
            object.__setattr__(self, "pruner", dict(self.pruner))
        if self.placement is not None and not isinstance(self.placement, Placement):
            object.__setattr__(self, "placement", Placement.build(self.placement))
        if self.mixer_weight not in WEIGHT_MODES:
            raise ValueError(f"mixer_weight (the W_M' mode) must be one of {WEIGHT_MODES}, got {self.mixer_weight!r}")
        if isinstance(self.stem_layer, bool) or not isinstance(self.stem_layer, int) or self.stem_layer < 0:
            raise ValueError(f"stem_layer must be an integer >= 0, got {self.stem_layer!r}")

    @classmethod
    def build(cls, spec: PruningSpec) -> "PruningOptions":
        """``None`` (no pruning), a :class:`PruningOptions`, or the flat dict (class docstring) -> options."""
        if spec is None or isinstance(spec, cls):
            return spec or cls()
        if not isinstance(spec, Mapping):
            raise TypeError(f"pruning must be a dict(type=<pruner>, ...) or None, got {type(spec).__name__}")
        pruner = {k: v for k, v in spec.items() if k not in _MODEL_KEYS}
        model = {k: spec[k] for k in _MODEL_KEYS if k in spec and spec[k] is not None}
        if not pruner:
            if model:
                raise ValueError(f"pruning {dict(spec)} names no pruner: add type=<pruner> (zoo.list_pruners())")
            return cls()
        if "type" not in pruner:
            raise ValueError(f"pruning {dict(spec)} names no pruner: add type=<pruner> (zoo.list_pruners())")
        return cls(pruner, **model)

    @classmethod
    def from_dstsp(cls, dstsp: Union[DSTSPConfig, Mapping[str, Any], None]) -> "PruningOptions":
        """The ``dstsp=dict(...)`` shorthand (:class:`zoo.pruning.DSTSPShorthand`) -> options."""
        short = DSTSPShorthand.split(dstsp)  # checks every option
        if short is None:
            return cls()
        given = dstsp.to_dict() if isinstance(dstsp, DSTSPConfig) else dstsp
        pruner = dict(type="DSTSP", **{k: v for k, v in given.items() if k in DSTSPConfig.__dataclass_fields__})
        return cls(pruner, Placement.build(short.placement), short.mixer_weight, short.stem_layer)

    @classmethod
    def at_edge(cls, base: PruningSpec = None, **given: Any) -> "PruningOptions":
        """What ``zoo.create(name, ...)`` and ``zoo.load`` accept -> options: the only place where the shorthands
        are read. ``base`` is the variant's registered pruning; then, in this order, ``dstsp=`` (the DSTSP
        shorthand) and ``pruning=`` (the flat dict) each replace the whole of it (``None``: no pruning), and
        ``placement=``, ``mixer_weight=``, ``stem_layer=`` replace their one part."""
        unknown = sorted(set(given) - set(PRUNING_KEYWORDS))
        if unknown:
            raise TypeError(f"unknown pruning keywords {unknown}; known: {list(PRUNING_KEYWORDS)}")
        options = cls.build(base)
        if "dstsp" in given:
            options = cls.from_dstsp(given["dstsp"])
        if "pruning" in given:
            options = cls.build(given["pruning"])
        parts = {k: given[k] for k in _MODEL_KEYS if given.get(k) is not None}
        checked = replace(options, **parts)  # each part checked first
        if parts and options.pruner is None:
            raise ValueError(f"{sorted(parts)} given without a pruner: they place one; add "
                             f"pruning=dict(type=<pruner>, ...) (zoo.list_pruners())")
        return checked

    @classmethod
    def from_saved(cls, args: Mapping[str, Any]) -> "PruningOptions":
        """The pruning keywords of a ``config.json`` written before the one spelling (``dstsp``, ``pruning``,
        ``placement``, ``mixer_weight``, ``stem_layer``, ``None`` meaning not given; an explicit part replaced the
        matching part of ``dstsp``) -> options."""
        options = cls.from_dstsp(args.get("dstsp"))
        if args.get("pruning") is not None:
            options = replace(options, pruner=cls.build(args["pruning"]).pruner)
        parts = {k: args[k] for k in _MODEL_KEYS if args.get(k) is not None}
        return replace(options, **parts) if parts else options

    def to_config(self) -> Optional[Dict[str, Any]]:
        """The flat dict (``None`` without a pruner): what configs and ``config.json`` hold."""
        if self.pruner is None:
            return None
        named = next((k for k, v in _NAMED.items() if v == self.placement), None)
        placement = named or (None if self.placement is None else asdict(self.placement))
        return dict(self.pruner, placement=placement, mixer_weight=self.mixer_weight, stem_layer=self.stem_layer)

    @property
    def in_stem(self) -> bool:
        """Whether the given placement prunes time steps inside the stem (a pruner's default never does)."""
        return self.placement is not None and self.placement.in_stem


def upgrade_saved_args(args: Mapping[str, Any]) -> Dict[str, Any]:
    """A saved model's arguments with the pruning keywords of before the one spelling folded into ``pruning``."""
    if not any(k in args for k in ("dstsp",) + _MODEL_KEYS):
        return dict(args)
    rest = {k: v for k, v in args.items() if k not in PRUNING_KEYWORDS}
    return dict(rest, pruning=PruningOptions.from_saved(args).to_config())


def _compose_steps(outer: Optional[Tensor], inner: Optional[Tensor]) -> Optional[Tensor]:
    """Kept-step indices ``[T1, B]`` (into T) then ``[T2, B]`` (into T1) -> ``[T2, B]`` into T."""
    if inner is None:
        return outer
    return inner if outer is None else take_steps(outer, inner)


def _compose_tokens(outer: Optional[Tensor], steps: Optional[Tensor], inner: Optional[Tensor]) -> Optional[Tensor]:
    """Kept-token indices ``[T1, B, N1]`` (into N), then steps ``[T2, B]`` and tokens ``[T2, B, N2]`` (into N1)
    kept from that stream -> ``[T2, B, N2]`` into N."""
    if outer is None:
        return inner
    outer = outer if steps is None else take_steps(outer, steps)
    return outer if inner is None else outer.gather(2, inner)


@dataclass
class _Held:
    """A pass-through segment: the stream before pruning and what the pruner kept of it (its own indices)."""

    outer: Pruned
    steps: Optional[Tensor]
    tokens: Optional[Tensor]

    def put_back(self, kept: Tensor) -> Pruned:
        """``kept`` ``[T', B, N', C]`` back into the outer stream ``[T, B, N, C]``; the rest passes unchanged."""
        full = self.outer.stream
        if self.tokens is not None:
            base = take_steps(full, self.steps) if self.steps is not None else full
            kept = base.scatter(2, self.tokens.unsqueeze(-1).expand_as(kept), kept)
        if self.steps is not None:
            batch = torch.arange(full.shape[1], device=full.device)
            restored = full.clone()
            restored[self.steps, batch] = kept
            kept = restored
        return self.outer._replace(stream=kept)


class PrunedEncoder(nn.Module):
    """``depth`` blocks and the pruner that shortens their stream at the :class:`Placement`'s points.

    ``make_block(kept_tokens)`` builds one block for the token count it will see when the pruner is active
    (``None``: all ``num_tokens``); it is called for blocks 0..depth-1 in order. The pruner's ratios are checked
    here (``kept_tokens``, and ``kept_steps`` when ``time_steps`` is given), so a ratio that keeps nothing fails
    when the model is built. The pruner is ``bind``-ed to the blocks.

    Children: the blocks, named ``0`` .. ``depth - 1`` (a model holding the encoder as ``blocks`` has the
    state-dict keys ``blocks.<i>.*`` of a plain ``ModuleList``), and ``pruner`` if any. ``len``, indexing and
    iteration go over the blocks.

    ``forward(tokens, step_index=None)``: ``tokens`` ``[T, B, N, C]`` from the stem (``T`` the kept steps and
    ``step_index`` ``[T, B]`` when the stem pruned them) -> :class:`zoo.pruning.Pruned` ``(stream [T', B, N', C],
    step_index [T', B] | None, token_index [T', B, N'] | None)``, the indices into the stem's full T and N (with
    ``pass_through`` the stream is full-size again and the indices are the stem's). The pruner's
    :meth:`~zoo.pruning.Pruner.enter` runs on the stem's stream before block 0 and its
    :meth:`~zoo.pruning.Pruner.leave` on the stream after the last block (STATA's anchor token lives in between).
    """

    def __init__(self, make_block: Callable[[Optional[int]], nn.Module], depth: int, num_tokens: int,
                 pruner: Optional[Pruner] = None, placement: PlacementSpec = None,
                 time_steps: Optional[int] = None) -> None:
        super().__init__()
        self.placement = Placement.build(placement)
        self.points = frozenset(self.placement.points(depth) if pruner is not None else ())
        self.pruner = pruner
        self.depth, self.num_tokens = depth, num_tokens
        block_tokens = list(self.block_tokens(num_tokens))
        if pruner is not None and time_steps is not None:
            self._check_steps(time_steps)
        for i, kept in enumerate(block_tokens):
            self.add_module(str(i), make_block(None if kept == num_tokens else kept))
        if pruner is not None:
            pruner.bind(list(self))

    def block_tokens(self, num_tokens: int) -> Iterator[int]:
        """The token count each block sees while the pruner is active (``num_tokens`` from the stem)."""
        tokens = num_tokens
        for i in range(self.depth):
            if i in self.points:
                tokens = self.pruner.kept_tokens(num_tokens if self.placement.pass_through else tokens)
            yield tokens

    def _check_steps(self, time_steps: int) -> None:
        """Raise if the pruner keeps no step of ``time_steps`` at the stem or at any pruning point."""
        if self.placement.in_stem:
            self.pruner.kept_steps(time_steps)
            return
        steps = time_steps
        for _ in self.points:
            steps = self.pruner.kept_steps(time_steps if self.placement.pass_through else steps)

    def __len__(self) -> int:
        return self.depth

    def __iter__(self) -> Iterator[nn.Module]:
        return (self._modules[str(i)] for i in range(self.depth))

    def __getitem__(self, index: int) -> nn.Module:
        return self._modules[str(range(self.depth)[index])]

    def extra_repr(self) -> str:
        return f"placement={self.placement}, points={sorted(self.points)}"

    @property
    def stem_pruner(self) -> Optional[StepPruner]:
        """What a stem calls to prune time steps inside it (``in_stem`` placement), or ``None``."""
        return self.prune_in_stem if self.pruner is not None and self.placement.in_stem else None

    def prune_in_stem(self, x: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """``x`` ``[T, B, *]`` inside the stem -> kept ``[T', B, *]`` and the step index ``[T', B]`` (or ``None``)."""
        kept, steps, _ = self.pruner(x, steps_only=True)
        return kept, steps

    def aux_loss(self) -> Optional[Tensor]:
        """The pruner's auxiliary loss term of the last forward pass (``None`` without one)."""
        return self.pruner.aux_loss() if self.pruner is not None else None

    def forward(self, tokens: Tensor, step_index: Optional[Tensor] = None) -> Pruned:
        state, held = Pruned(tokens, step_index, None), None
        if self.pruner is not None:
            state = self.pruner.enter(state)
        for i, block in enumerate(self):
            if i in self.points:
                if held is not None:
                    state = held.put_back(state.stream)
                state, held = self._prune(state)
            state = state._replace(stream=block(state.stream, state.token_index))
        state = held.put_back(state.stream) if held is not None else state
        return self.pruner.leave(state) if self.pruner is not None else state

    def _prune(self, state: Pruned) -> Tuple[Pruned, Optional[_Held]]:
        kept, steps, tokens = self.pruner(state.stream, prune_time=not self.placement.in_stem)
        pruned = Pruned(kept, _compose_steps(state.step_index, steps),
                        _compose_tokens(state.token_index, steps, tokens))
        return pruned, (_Held(state, steps, tokens) if self.placement.pass_through else None)


def pruner_aux_loss(model: nn.Module) -> Optional[Tensor]:
    """The sum of the auxiliary losses of the last forward pass of every pruned encoder in ``model`` (``None`` when
    no pruner has one): what the tasks add to their training loss as ``loss_pruner``."""
    terms = [t for m in model.modules() if isinstance(m, PrunedEncoder) for t in [m.aux_loss()] if t is not None]
    return sum(terms) if terms else None


def build_encoder(make_block: Callable[[Optional[int]], nn.Module], depth: int, num_tokens: int, dim: int,
                  pruning: PruningSpec, neuron: NeuronCfg = "LIF", time_steps: Optional[int] = None,
                  pass_through: bool = False, static_mixer: bool = True, stem_layers: int = 0,
                  owner: str = "this model") -> PrunedEncoder:
    """A :class:`PrunedEncoder` of ``depth`` blocks (``make_block(kept_tokens)``) pruned as ``pruning`` says (a
    :class:`PruningOptions` or its flat dict): the one builder every model family uses.

    The pruner is built from ``pruning``'s pruner config with the model's ``neuron``, ``embed_dim`` (``dim``) and
    ``time_steps`` as context (:func:`zoo.pruning.build` passes those its constructor names): the one place where a
    pruner's options (its ratios) are checked. Without a placement the pruner's
    :meth:`~zoo.pruning.Pruner.default_placement` is used; ``pass_through=True`` makes the placement pass pruned
    tokens through (a model that needs a full-size stream after the encoder). ``static_mixer``: the blocks hold token
    mixers with the options' ``mixer_weight``, and a static ``N' x N'`` W_M' needs a pruner that prunes in training
    and evaluation alike. ``stem_layers``: how many stem layers of the model ``owner`` can prune time steps after
    (``in_stem`` placement; 0: the model has no in-stem pruning point).
    """
    options = PruningOptions.build(pruning)
    check_stem_point(options, stem_layers, owner)
    pruner = build(options.pruner, neuron=neuron, embed_dim=dim, time_steps=time_steps)
    placement = options.placement
    if placement is None:
        placement = Placement.build(pruner.default_placement(depth) if pruner is not None else None)
    if pass_through:
        placement = replace(placement, pass_through=True)
    if (static_mixer and options.mixer_weight == "static" and pruner is not None and not pruner.always_active
            and pruner.kept_tokens(num_tokens) < num_tokens):
        raise ValueError(f"a static N'xN' mixer weight cannot serve unpruned tokens: {type(pruner).__name__} "
                         f"({pruner.extra_repr()}) does not prune in training and evaluation alike; use "
                         f"mixer_weight='random' or 'crop'")
    return PrunedEncoder(make_block, depth, num_tokens, pruner, placement, time_steps)


def check_stem_point(options: PruningOptions, stem_layers: int, owner: str) -> None:
    """Refuse an ``in_stem`` placement or a ``stem_layer`` that the model ``owner`` (``stem_layers`` layers that can
    prune time steps after them) does not have."""
    if options.in_stem and not stem_layers:
        raise ValueError(f"{owner} has no in-stem pruning point: placement 'in_stem' (DSTSP "
                         f"temporal_placement='IS') is not available; use 'after_stem'")
    if options.stem_layer >= max(stem_layers, 1):
        raise ValueError(f"{owner}: stem_layer {options.stem_layer} is not a stem layer it can prune after "
                         f"(0..{max(stem_layers, 1) - 1})")


def smixer_encoder(dim: int, num_tokens: int, depth: int, num_heads: int, mlp_ratio: float = 4.0,
                   mixer: str = "stm", neuron: NeuronCfg = "LIF", pruning: PruningSpec = None,
                   time_steps: Optional[int] = None, pass_through: bool = False, stem_layers: int = 0,
                   owner: str = "this model") -> PrunedEncoder:
    """A :class:`PrunedEncoder` (:func:`build_encoder`) of ``depth`` :class:`zoo.mixer.EncoderBlock` s (the SMixer /
    Spikformer blocks), whose token mixers use the options' ``mixer_weight``."""
    options = PruningOptions.build(pruning)

    def make_block(kept_tokens: Optional[int]) -> EncoderBlock:
        return EncoderBlock(dim, num_tokens, num_heads, mlp_ratio, mixer, neuron, options.mixer_weight,
                            kept_tokens)

    return build_encoder(make_block, depth, num_tokens, dim, options, neuron, time_steps, pass_through,
                         static_mixer=mixer == "stm", stem_layers=stem_layers, owner=owner)
