"""Argument checks shared by the forecasting datasets and models: one-line errors that name the option."""
from __future__ import annotations

import difflib
import numbers
from typing import Any, Iterable, Mapping

import torch

__all__ = ["positive_int", "ratio", "reject_unknown", "finite"]


def positive_int(owner: str, name: str, value: Any) -> int:
    """``value`` as an int >= 1, or a ``TypeError`` / ``ValueError`` naming ``owner``'s option ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be a positive integer, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{owner}: {name} must be >= 1, got {value}")
    return int(value)


def ratio(owner: str, name: str, value: Any) -> float:
    """``value`` as a float strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number between 0 and 1, got {type(value).__name__} {value!r}")
    if not 0 < value < 1:
        raise ValueError(f"{owner}: {name} = {value} is out of range; it must lie strictly between 0 and 1")
    return float(value)


def reject_unknown(owner: str, unknown: Mapping[str, Any], valid: Iterable[str]) -> None:
    """Raise a ``TypeError`` naming the unknown options of ``owner`` (with the closest valid name)."""
    if not unknown:
        return
    valid = sorted(valid)
    hints = []
    for name in sorted(unknown):
        close = difflib.get_close_matches(name, valid, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise TypeError(f"{owner}: unknown option(s) {', '.join(hints)}; valid options are {valid}")


def finite(tensor: torch.Tensor, what: str, hint: str) -> None:
    """Raise ``ValueError`` naming how many values of ``tensor`` are NaN or inf, with ``what`` and a ``hint``."""
    ok = torch.isfinite(tensor)
    if not ok.all():
        raise ValueError(f"{what} hold {int((~ok).sum())} NaN or inf values; {hint}")
