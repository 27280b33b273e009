"""mmengine checkpoints that load under torch's safe loading (``torch.load(weights_only=True)``, the default).

mmengine stores its message hub (``HistoryBuffer`` objects holding numpy arrays) in every checkpoint, which the
safe unpickler refuses. Rather than switching safe loading off, :class:`SafeCheckpointHook` rewrites that part
of the checkpoint into tensors and plain Python before saving and rebuilds it after loading, so a checkpoint
holds nothing but tensors, numbers, strings, lists and dicts.
"""
from __future__ import annotations

from typing import Any, Dict

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.registry import HOOKS

__all__ = ["SafeCheckpointHook", "to_safe", "from_safe"]

_BUFFER = "__history_buffer__"
_ARRAY = "__ndarray__"


def to_safe(obj: Any) -> Any:
    """Recursively turn HistoryBuffers, numpy arrays and numpy scalars into tensors / Python values."""
    if isinstance(obj, HistoryBuffer):
        log, count = obj.data
        return {_BUFFER: True, "log": torch.from_numpy(np.asarray(log, dtype=np.float64)),
                "count": torch.from_numpy(np.asarray(count, dtype=np.float64)), "max_length": obj.max_length}
    if isinstance(obj, np.ndarray):
        return {_ARRAY: torch.from_numpy(np.ascontiguousarray(obj))}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: to_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_safe(v) for v in obj)
    return obj


def from_safe(obj: Any) -> Any:
    """Inverse of :func:`to_safe`."""
    if isinstance(obj, dict):
        if obj.get(_BUFFER) is True:
            return HistoryBuffer(obj["log"].numpy(), obj["count"].numpy(), obj["max_length"])
        if set(obj) == {_ARRAY}:
            return obj[_ARRAY].numpy()
        return {k: from_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(from_safe(v) for v in obj)
    return obj


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Keep checkpoints loadable with ``weights_only=True`` (see the module docstring)."""

    priority = "VERY_LOW"

    def before_save_checkpoint(self, runner, checkpoint: Dict[str, Any]) -> None:
        for key in ("message_hub", "meta"):
            if key in checkpoint:
                checkpoint[key] = to_safe(checkpoint[key])

    def after_load_checkpoint(self, runner, checkpoint: Dict[str, Any]) -> None:
        if "message_hub" in checkpoint:
            checkpoint["message_hub"] = from_safe(checkpoint["message_hub"])
