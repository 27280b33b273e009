"""Per-column affine normalisation ``x_norm = (x - offset) / scale`` with the reference's four modes and one more.

Modes (SeqSNN's ``normalize`` codes in brackets):
- ``none`` [0]: offset 0, scale 1.
- ``global_max`` [1]: divide everything by the largest value of the whole table (Solar in the reference).
- ``column_max`` [2]: divide each column by its largest absolute value (METR-LA, PEMS-BAY in the reference).
- ``zscore`` [3]: subtract the global mean, divide by the global std + float eps (Electricity in the reference).
- ``column_zscore``: per-column mean and std (not in the reference; the default for generic tables whose columns
  have different units).

Statistics use observed values only (see :mod:`tasks.timeseries.preprocess`) of the rows passed to
:meth:`Scaler.fit`: the training part by default, the whole series to reproduce the reference (its statistics
include the test period). A column whose scale would be 0 (constant or all-zero) gets scale 1.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

__all__ = ["SCALER_MODES", "Scaler"]

SCALER_MODES = ("none", "global_max", "column_max", "zscore", "column_zscore")


@dataclass
class Scaler:
    """``offset`` and ``scale`` are ``[m]`` arrays (one per column) once fitted."""

    mode: str = "column_zscore"
    offset: Optional[np.ndarray] = None
    scale: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        if self.mode not in SCALER_MODES:
            raise ValueError(f"unknown normalisation {self.mode!r}; choose one of {SCALER_MODES}")

    def fit(self, values: np.ndarray, observed: Optional[np.ndarray] = None) -> "Scaler":
        """Fit on ``values`` ``[n, m]``; entries where ``observed`` is False are ignored."""
        m = values.shape[1]
        masked = np.where(observed, values, np.nan) if observed is not None else values
        offset, scale = np.zeros(m), np.ones(m)
        if self.mode == "global_max":
            scale[:] = np.nanmax(masked)
        elif self.mode == "column_max":
            scale = np.nanmax(np.abs(masked), axis=0)
        elif self.mode == "zscore":
            offset[:] = np.nanmean(masked)
            scale[:] = np.nanstd(masked) + np.finfo(float).eps
        elif self.mode == "column_zscore":
            offset, scale = np.nanmean(masked, axis=0), np.nanstd(masked, axis=0)
        scale = np.where(np.isfinite(scale) & (scale != 0), scale, 1.0)
        self.offset, self.scale = np.nan_to_num(offset).astype(np.float64), scale.astype(np.float64)
        return self

    def _check(self, values: np.ndarray) -> None:
        if self.offset is None or self.scale is None:
            raise RuntimeError("Scaler used before fit()")
        if values.shape[-1] != self.offset.shape[0]:
            raise ValueError(f"Scaler fitted on {self.offset.shape[0]} series got values of shape {values.shape}; "
                             f"pass [..., {self.offset.shape[0]}] arrays (one value per series on the last axis)")

    def transform(self, values: np.ndarray) -> np.ndarray:
        """``[..., m]`` original units -> normalised."""
        self._check(values)
        return (values - self.offset) / self.scale

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        """``[..., m]`` normalised -> original units."""
        self._check(values)
        return values * self.scale + self.offset
