"""Pruner registry: ``@register_pruner`` on the class, ``build(dict(type=<name>, **options))``, ``list_pruners()``."""
from __future__ import annotations

import inspect
from typing import Any, Dict, List, Mapping, Optional, Type, TypeVar

from .base import Pruner

__all__ = ["register_pruner", "build", "list_pruners"]

_PRUNERS: Dict[str, Type[Pruner]] = {}
P = TypeVar("P", bound=Type[Pruner])


def register_pruner(cls: P) -> P:
    """Class decorator: register a :class:`Pruner` subclass under its class name."""
    if not (isinstance(cls, type) and issubclass(cls, Pruner)):
        raise TypeError(f"register_pruner takes a Pruner subclass, got {cls!r}")
    if cls.__name__ in _PRUNERS:
        raise ValueError(f"pruner {cls.__name__!r} is already registered")
    _PRUNERS[cls.__name__] = cls
    return cls


def list_pruners() -> List[str]:
    """Names of the registered pruners, sorted."""
    return sorted(_PRUNERS)


def build(cfg: Optional[Mapping[str, Any]], **context: Any) -> Optional[Pruner]:
    """``dict(type=<registered name>, **options)`` -> the pruner (``None`` -> ``None``).

    ``context`` is what a model offers every pruner (``neuron``, ``embed_dim``, ``time_steps``); a pruner
    receives the entries its constructor names, unless ``cfg`` sets them itself.
    """
    if cfg is None:
        return None
    if not isinstance(cfg, Mapping):
        raise TypeError(f"pruning must be a dict(type=<pruner>, ...), got {type(cfg).__name__}")
    options = dict(cfg)
    name = options.pop("type", None)
    if name not in _PRUNERS:
        raise ValueError(f"unknown pruner type {name!r}; registered: {list_pruners()}")
    cls = _PRUNERS[name]
    params = inspect.signature(cls).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(options) - set(params))
        if unknown:
            raise ValueError(f"pruner {name!r} does not take {unknown}; its options are {sorted(params)}")
    given = {k: v for k, v in context.items() if k in params and k not in options}
    return cls(**options, **given)
