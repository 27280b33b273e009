"""mmengine checkpoints that load under torch's safe loading, are written atomically, and are checked before use.

- Safe loading (``torch.load(weights_only=True)``, the default): mmengine stores its message hub
  (``HistoryBuffer`` objects holding numpy arrays) in every checkpoint, which the safe unpickler refuses. Rather
  than switching safe loading off, :class:`SafeCheckpointHook` rewrites that part of the checkpoint into tensors
  and plain Python before saving and rebuilds it after loading, so a checkpoint holds nothing but tensors,
  numbers, strings, lists and dicts.
- Atomic writes: the same hook makes the run's ``CheckpointHook`` write through :class:`AtomicLocalBackend`
  (a temporary file renamed into place), so a run killed while saving leaves the previous checkpoints intact and
  no truncated file under a checkpoint's name.
- Before use: :func:`check_checkpoint` and :func:`check_state_dict_matches` turn an empty, truncated or foreign
  checkpoint into one line naming the file and the problem (mmengine alone would raise deep inside torch, or load
  a foreign checkpoint partially with warnings); :func:`latest_checkpoint` finds the newest checkpoint of a work
  dir that loads, for ``--resume``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np
import torch
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import HistoryBuffer, print_log
from mmengine.model import is_model_wrapper
from torch import nn

from tasks.registry import HOOKS
from zoo.fileio import write_atomic

from .cli import first_line

__all__ = ["SafeCheckpointHook", "AtomicLocalBackend", "to_safe", "from_safe", "check_checkpoint",
           "check_state_dict_matches", "latest_checkpoint"]

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


@register_backend("atomic_local")
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose writes are atomic: a temporary file beside the target, renamed."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        write_atomic(filepath, obj)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = "utf-8") -> None:
        self.put(obj.encode(encoding), filepath)


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Keep checkpoints loadable with ``weights_only=True`` and written atomically (see the module docstring)."""

    priority = "VERY_LOW"

    def before_run(self, runner) -> None:
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook) and hook.backend_args is None and hook.file_client_args is None:
                hook.backend_args = dict(backend="atomic_local")

    def before_save_checkpoint(self, runner, checkpoint: Dict[str, Any]) -> None:
        for key in ("message_hub", "meta"):
            if key in checkpoint:
                checkpoint[key] = to_safe(checkpoint[key])

    def after_load_checkpoint(self, runner, checkpoint: Dict[str, Any]) -> None:
        for key in ("message_hub", "meta"):
            if key in checkpoint:
                checkpoint[key] = from_safe(checkpoint[key])


def read_checkpoint(path: Union[str, Path]) -> Dict[str, Any]:
    """Load a training checkpoint safely, memory-mapped; one line naming the file if it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if path.stat().st_size == 0:
        raise ValueError(f"checkpoint {path} is empty (a run killed while writing it?); use an earlier one")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # noqa: BLE001  (zip, pickle and safe-unpickler errors all mean "not usable")
        raise ValueError(f"checkpoint {path} cannot be read (truncated, corrupt, or not a torch checkpoint of "
                         f"this project): {first_line(err)}") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ValueError(f"checkpoint {path} is not an mmengine training checkpoint (no 'state_dict'); "
                         f"zoo folders (model.safetensors) load with zoo.load")
    return checkpoint


def check_checkpoint(path: Union[str, Path]) -> None:
    """Raise a one-line error if ``path`` is not a readable mmengine training checkpoint."""
    read_checkpoint(path)


def check_state_dict_matches(model: nn.Module, path: Union[str, Path]) -> None:
    """Raise a one-line error unless the checkpoint's weights have exactly ``model``'s names and shapes."""
    model = model.module if is_model_wrapper(model) else model
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    saved = {k: tuple(v.shape) for k, v in read_checkpoint(path)["state_dict"].items()}
    missing, unexpected = sorted(set(expected) - set(saved)), sorted(set(saved) - set(expected))
    wrong = sorted(k for k in set(expected) & set(saved) if expected[k] != saved[k])
    if missing or unexpected or wrong:
        raise ValueError(f"checkpoint {path} does not fit the config's model (another architecture or size?): "
                         f"{len(missing)} missing {missing[:3]}, {len(unexpected)} unexpected {unexpected[:3]}, "
                         f"{len(wrong)} of another shape {wrong[:3]}")


def latest_checkpoint(work_dir: Union[str, Path]) -> Optional[str]:
    """The newest checkpoint in ``work_dir`` that loads: the one ``last_checkpoint`` names, else the most recent
    ``*.pth``; unreadable ones (a run killed while writing) are skipped with a warning. ``None`` if none."""
    work_dir = Path(work_dir)
    marker = work_dir / "last_checkpoint"
    named = marker.read_text().strip() if marker.is_file() else ""
    candidates = [Path(named)] if named else []
    candidates += sorted(work_dir.glob("*.pth"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in candidates:
        if not path.is_file():
            continue
        try:
            check_checkpoint(path)
        except ValueError as err:
            print_log(f"skipping unusable checkpoint: {err}", logger="current", level=30)
            continue
        return str(path)
    return None
