"""Missing values and calendar features.

Missing-value policy (documented in docs/timeseries.md):
1. A value is *missing* when it is NaN, or when it is exactly 0 and ``zero_is_missing`` is set (the traffic
   sets record a dead loop detector as speed 0; Solar and Electricity have genuine zeros, so it is off there).
2. Inputs: missing values are filled per column (``fill``): ``ffill`` carries the last observed value forward
   (leading gaps take the first observed value), ``linear`` interpolates in time, ``zero`` writes 0, ``none``
   fills nothing and refuses a series that has missing values.
3. Targets: the dataset returns an ``observed`` mask next to every target; the loss and the metrics ignore
   targets that were missing (the filled value is never scored).
4. Normalisation statistics are computed over observed values only.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["FILL_METHODS", "observed_mask", "fill_missing", "calendar_features", "CALENDAR_FEATURES"]

FILL_METHODS = ("ffill", "linear", "zero", "none")
CALENDAR_FEATURES = ("minute_of_hour", "hour_of_day", "day_of_week", "day_of_month", "day_of_year")


def observed_mask(values: np.ndarray, zero_is_missing: bool) -> np.ndarray:
    """``[n, m]`` values -> ``[n, m]`` bool, True where a value was recorded."""
    observed = ~np.isnan(values)
    if zero_is_missing:
        observed &= values != 0
    return observed


def fill_missing(values: np.ndarray, observed: np.ndarray, method: str,
                 columns: Sequence[str] = ()) -> np.ndarray:
    """Return a copy of ``values`` ``[n, m]`` with the unobserved entries filled by ``method``."""
    if method not in FILL_METHODS:
        raise ValueError(f"unknown fill method {method!r}; choose one of {FILL_METHODS}")
    if observed.all():
        return values.copy()
    if method == "none":
        raise ValueError(f"the series has {int((~observed).sum())} missing values and fill='none'; choose a fill "
                         f"method from {FILL_METHODS[:-1]}")
    empty = np.flatnonzero(~observed.any(0))
    if empty.size:
        names = [columns[i] if i < len(columns) else str(i) for i in empty[:10]]
        raise ValueError(f"columns {names} have no observed value at all ({empty.size} such columns); drop them")
    if method == "zero":
        return np.where(observed, values, 0.0)
    frame = pd.DataFrame(np.where(observed, values, np.nan))
    if method == "ffill":
        frame = frame.ffill().bfill()
    else:
        frame = frame.interpolate(method="linear", axis=0, limit_direction="both")
    return frame.to_numpy(dtype=np.float64)


def calendar_features(index: pd.DatetimeIndex, names: Sequence[str] = CALENDAR_FEATURES) -> np.ndarray:
    """Calendar features per row, each scaled to [-0.5, 0.5]: ``[n]`` timestamps -> ``[n, len(names)]``.

    All five (the default) are the reference's: minute / 59, hour / 23, day of week / 6, (day of month - 1) / 30,
    (day of year - 1) / 365, each minus 0.5 (the ``time_features(freq="t")`` encoding of Informer, used by SeqSNN
    for the .h5 sets). ``names`` picks some of :data:`CALENDAR_FEATURES`, in that order.
    """
    unknown = [n for n in names if n not in CALENDAR_FEATURES]
    if unknown or not names:
        raise ValueError(f"calendar features must be some of {CALENDAR_FEATURES}, got {list(names)}")
    index = pd.DatetimeIndex(index)
    all_feats = dict(minute_of_hour=index.minute / 59.0, hour_of_day=index.hour / 23.0,
                     day_of_week=index.dayofweek / 6.0, day_of_month=(index.day - 1) / 30.0,
                     day_of_year=(index.dayofyear - 1) / 365.0)
    return np.stack([np.asarray(all_feats[n], dtype=np.float64) for n in names], axis=1) - 0.5
