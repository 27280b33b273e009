"""Sanity forecasts without learning: persistence and seasonal naive, for any :class:`ForecastDataset` split.

Both return model-space predictions ``[M, H, C]`` (one per sample, in order) made only from rows before each
sample's first target row, from the dataset's filled series (missing values filled by the dataset's policy).

- persistence: every future step equals the last input row;
- seasonal naive with period P: step h (0-based) of a sample whose targets start at row r equals row
  ``r + h - P * ceil((h + 1) / P)``, the same phase one (or more) periods earlier. It may look further back than
  the input window (e.g. a daily period of 144 ten-minute steps with a 72-step window): it is a reference
  forecast, not a model restricted to the window.
"""
from __future__ import annotations

import numpy as np

from .dataset import ForecastDataset

__all__ = ["persistence_forecast", "seasonal_naive_forecast"]


def persistence_forecast(dataset: ForecastDataset) -> np.ndarray:
    """``[M, H, C]``: the last input row of each sample, repeated over the horizon."""
    last = dataset.targets[dataset.first_target_rows() - 1]  # [M, C]
    return np.repeat(last[:, None, :], dataset.horizon, axis=1)


def seasonal_naive_forecast(dataset: ForecastDataset, period: int) -> np.ndarray:
    """``[M, H, C]``: each future step copied from the same phase of an earlier period."""
    if period < 1:
        raise ValueError(f"period must be >= 1, got {period}")
    steps = np.arange(dataset.horizon)
    lag = period * ((steps + period) // period)  # P * ceil((h + 1) / P)
    rows = dataset.first_target_rows()[:, None] + steps[None, :] - lag[None, :]  # [M, H]
    if rows.min() < 0:
        raise ValueError(f"seasonal naive with period {period} needs {-rows.min()} rows before the first sample of "
                         f"the {dataset.split} split")
    return dataset.targets[rows]
