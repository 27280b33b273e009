"""What every analysis writes besides its figure: one JSON file with the result, the models, the inputs, the command
and the machine."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict

from torch import nn

from research.experiments.measure import machine
from zoo.fileio import write_atomic

__all__ = ["describe_model", "write_report"]


def describe_model(model: nn.Module, source: str) -> Dict[str, Any]:
    """The variant, its constructor arguments, parameters and recorded metrics of ``model``; ``source`` says where
    its weights come from (a folder, or ``random``)."""
    return dict(source=source, variant=model.variant, args=model.init_args,
                params=sum(p.numel() for p in model.parameters()), metrics=getattr(model, "metrics", None))


def _plain(value: Any) -> Any:
    """JSON-safe: NaN and infinities become ``None``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def write_report(path: Path, analysis: str, result: Dict[str, Any], **meta: Any) -> Path:
    """Write ``{"analysis", "machine", **meta, "result"}`` to ``path`` as JSON (atomically); returns ``path``."""
    record = dict(analysis=analysis, machine=machine(), **meta, result=result)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(_plain(record), indent=2, default=str).encode())
    return path
