"""Model registry: ``@register_model`` entry points, one pretrained config per variant (timm conventions)."""
from __future__ import annotations

import copy
import fnmatch
import inspect
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from torch import nn

from .encoder import PRUNING_KEYWORDS, PruningOptions

__all__ = ["PretrainedCfg", "register_model", "create", "list_models", "get_pretrained_cfg", "is_model",
           "shipped_weights", "has_pretrained", "plain_values", "SHIPPED_WEIGHTS"]


@dataclass
class PretrainedCfg:
    """What a user needs to feed a variant: input, normalisation, classes, time steps and where its weights live."""

    num_classes: int = 1000
    input_size: Tuple[int, int, int] = (3, 224, 224)
    mean: Tuple[float, ...] = (0.485, 0.456, 0.406)
    std: Tuple[float, ...] = (0.229, 0.224, 0.225)
    time_steps: int = 1
    hf_hub_id: Optional[str] = None  # the Hub repository of published weights; None until they exist
    dataset: str = "imagenet-1k"
    paper_params_m: Optional[float] = None
    paper_top1: Optional[float] = None
    notes: str = ""
    event_binning: str = "event_count"  # event models: T frames of equal event counts (DVS sets) or durations ('time')

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass
class _Entry:
    fn: Callable[..., nn.Module]
    pretrained_cfg: PretrainedCfg
    model_args: Dict[str, Any] = field(default_factory=dict)


_REGISTRY: Dict[str, _Entry] = {}
SHIPPED_WEIGHTS = Path(__file__).resolve().parent / "weights"  # <variant>/ checkpoint folders in the package


def register_model(name: str, pretrained_cfg: PretrainedCfg, **model_args: Any):
    """Register ``fn(**model_args, **overrides) -> nn.Module`` under ``name`` with its pretrained config."""

    def decorator(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        _REGISTRY[name] = _Entry(fn, copy.deepcopy(pretrained_cfg), dict(model_args))
        return fn

    return decorator


def _entry(name: str) -> _Entry:
    if not isinstance(name, str):
        raise TypeError(f"a model name is a string such as 'smixer-cifar10', got {type(name).__name__}; "
                        f"see zoo.list_models()")
    if name not in _REGISTRY:
        close = fnmatch.filter(_REGISTRY, f"*{name.split('-')[0]}*")[:5]
        raise KeyError(f"unknown model {name!r}" + (f"; did you mean one of {close}?" if close else
                                                     "; see zoo.list_models()"))
    return _REGISTRY[name]


def is_model(name: str) -> bool:
    return name in _REGISTRY


def shipped_weights(name: str) -> Optional[Path]:
    """The checkpoint folder of ``name`` that ships in the package (``zoo/weights/<name>``), if there is one."""
    folder = SHIPPED_WEIGHTS / name
    return folder if is_model(name) and folder.is_dir() else None


def has_pretrained(name: str) -> bool:
    """Whether ``zoo.load(name)`` finds weights: shipped in the package or published on the Hub (``hf_hub_id``)."""
    return shipped_weights(name) is not None or _entry(name).pretrained_cfg.hf_hub_id is not None


def list_models(pattern: Optional[str] = None, pretrained: bool = False) -> List[str]:
    """Registered names, sorted, optionally filtered by a shell-style pattern (``"*dstsp"``); with
    ``pretrained=True`` only those that have weights (:func:`has_pretrained`)."""
    names = sorted(_REGISTRY)
    names = fnmatch.filter(names, pattern) if pattern else names
    return [n for n in names if has_pretrained(n)] if pretrained else names


def get_pretrained_cfg(name: str) -> PretrainedCfg:
    return copy.deepcopy(_entry(name).pretrained_cfg)


def model_args(name: str, **overrides: Any) -> Dict[str, Any]:
    """The constructor arguments of a variant with ``overrides`` applied (what ``config.json`` stores)."""
    entry = _entry(name)
    args = copy.deepcopy(entry.model_args)
    args.setdefault("num_classes", entry.pretrained_cfg.num_classes)
    args.setdefault("time_steps", entry.pretrained_cfg.time_steps)
    args.update(overrides)
    return args


def _check_options(name: str, fn: Callable[..., nn.Module], options: Dict[str, Any]) -> None:
    """Refuse options the constructor does not take, naming the ones it does."""
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    unknown = sorted(set(options) - set(params))
    if unknown:
        raise TypeError(f"{name}: unknown option(s) {unknown}; known: {sorted(k for k in params if k != 'self')}")


def create(name: str, **overrides: Any) -> nn.Module:
    """Build a registered variant with random weights; ``overrides`` replace constructor arguments.

    Pruning is one argument, ``pruning`` (:class:`zoo.encoder.PruningOptions`' flat dict); here, and only here, the
    ``dstsp=dict(...)`` shorthand and the ``placement=`` / ``mixer_weight=`` / ``stem_layer=`` keywords are also
    accepted and folded into it (:meth:`zoo.encoder.PruningOptions.at_edge`)."""
    entry = _entry(name)
    if "pruning" in inspect.signature(entry.fn).parameters:
        overrides = _fold_pruning(name, overrides)
    _check_options(name, entry.fn, overrides)
    args = model_args(name, **overrides)
    model = entry.fn(**args)
    model.variant = name
    model.pretrained_cfg = get_pretrained_cfg(name)
    model.init_args = constructor_args(entry.fn, args)
    return model


def _fold_pruning(name: str, overrides: Dict[str, Any]) -> Dict[str, Any]:
    """``overrides`` with the pruning keywords folded into one ``pruning`` (the variant's own as the base), in its
    one spelling (:meth:`zoo.encoder.PruningOptions.to_config`)."""
    given = {k: overrides[k] for k in PRUNING_KEYWORDS if k in overrides}
    rest = {k: v for k, v in overrides.items() if k not in given}
    options = PruningOptions.at_edge(_entry(name).model_args.get("pruning"), **given)
    return dict(rest, pruning=options.to_config())


def constructor_args(fn: Callable[..., nn.Module], args: Dict[str, Any]) -> Dict[str, Any]:
    """Every argument of ``fn`` as the call bound it (defaults filled in), as plain JSON-able values: what
    ``config.json`` stores and ``zoo.load`` rebuilds the model from."""
    bound = inspect.signature(fn).bind(**args)
    bound.apply_defaults()
    return {k: plain_values(v) for k, v in bound.arguments.items()}


def plain_values(value: Any) -> Any:
    """Dataclasses, mappings and sequences -> dicts and lists of plain values (what JSON stores)."""
    if is_dataclass(value) and not isinstance(value, type):
        return plain_values(asdict(value))
    if isinstance(value, Mapping):
        return {k: plain_values(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_values(v) for v in value]
    return value
