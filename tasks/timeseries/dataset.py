"""``ForecastDataset``: windows over one multichannel series file, with the reference's splits and normalisation.

One dataset object is one split (``train`` / ``valid`` / ``test``) of one file. Item ``i``:

- ``inputs``: ``[window, m + k]`` float32: the normalised series (missing values filled) and, when enabled, the
  ``k`` calendar features of each row (:func:`tasks.timeseries.preprocess.calendar_features`; k = 5 for all);
- ``data_samples``: ``{"target": [horizon, m] float32, "observed": [horizon, m] bool}``: the next ``horizon``
  rows of the ``m`` series in *model space* (normalised, or original units with ``normalize_targets=False``)
  and which of them were recorded (missing targets are not scored).

``metainfo`` carries the columns and the affine map from model space back to original units
(``target_offset``, ``target_scale``); :class:`tasks.timeseries.metrics.ForecastMetric` reads it, and
:meth:`ForecastDataset.to_original_units` applies it.
"""
from __future__ import annotations

import inspect
import operator
import os
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np
import torch
from torch.utils.data import Dataset

from tasks.registry import DATASETS

from .checks import positive_int, reject_unknown
from .io import detect_format, read_series
from .preprocess import CALENDAR_FEATURES, calendar_features, fill_missing, observed_mask
from .scaling import Scaler
from .windows import SPLITS, split_ranges

__all__ = ["ForecastDataset"]

_NAME = "ForecastDataset"


@DATASETS.register_module()
class ForecastDataset(Dataset):
    """Multi-step forecasting windows over a series file.

    Args:
        file: the series file (see :func:`tasks.timeseries.io.read_series` for the formats).
        window: input length L (12 for METR-LA/PEMS-BAY, 168 for Solar/Electricity in the paper).
        horizon: number of future steps H to predict (6, 24, 48, 96 in the paper).
        split: ``train``, ``valid`` or ``test``.
        train_ratio, test_ratio: the chronological split; validation gets the rest (0.7/0.1 for the traffic
            sets, 0.6/0.2 for Solar/Electricity).
        fmt, key, time_column, columns, expected_columns: passed to ``read_series``.
        normalize: a :data:`tasks.timeseries.scaling.SCALER_MODES` mode.
        fit_on: ``train`` (statistics from the rows of the training samples) or ``all`` (the whole series, as
            the reference does).
        normalize_targets: targets in normalised units (default) or original units (the reference's
            ``raw_label=True``, its default for METR-LA, PEMS-BAY and Solar).
        calendar: append calendar features to the inputs: ``True`` all 5, a list of names (or one name) for some
            of them (:data:`tasks.timeseries.preprocess.CALENDAR_FEATURES`), ``False`` none, ``None`` all 5 for
            ``h5`` files only (reference).
        zero_is_missing: treat exact zeros as missing (traffic sets).
        fill: how missing inputs are filled (:data:`tasks.timeseries.preprocess.FILL_METHODS`).
        stride: use every ``stride``-th window of the split (1 = all, as the reference; a larger stride thins
            the strongly overlapping training windows to save CPU time).
    """

    def __init__(self, file: str, window: int, horizon: int, split: str = "train", train_ratio: float = 0.7,
                 test_ratio: float = 0.1, fmt: str = "auto", key: Optional[str] = None,
                 time_column: Optional[str] = "auto", columns: Optional[Sequence[str]] = None,
                 expected_columns: Optional[int] = None, normalize: str = "column_zscore", fit_on: str = "train",
                 normalize_targets: bool = True, calendar: Union[bool, str, Sequence[str], None] = None,
                 zero_is_missing: bool = False, fill: str = "ffill", stride: int = 1, **unknown: Any) -> None:
        super().__init__()
        reject_unknown(_NAME, unknown, _OPTIONS)
        if split not in SPLITS:
            raise ValueError(f"ForecastDataset: split must be one of {SPLITS}, got {split!r}")
        if fit_on not in ("train", "all"):
            raise ValueError(f"ForecastDataset: fit_on must be 'train' or 'all', got {fit_on!r}")
        window, horizon = positive_int(_NAME, "window", window), positive_int(_NAME, "horizon", horizon)
        stride = positive_int(_NAME, "stride", stride)
        fmt = detect_format(file) if fmt == "auto" and isinstance(file, (str, os.PathLike)) else fmt
        table = read_series(file, fmt, key, time_column, columns, expected_columns)
        if table.shape[0] < window + horizon:
            raise ValueError(f"{file} has {table.shape[0]} rows; at least {window + horizon} are needed for window "
                             f"{window} + horizon {horizon}: shorten the window or the horizon, or use a longer series")
        self.file, self.window, self.horizon, self.split = str(file), window, horizon, split
        self.columns = table.columns
        self.ranges = split_ranges(table.shape[0], self.window, self.horizon, train_ratio, test_ratio, owner=_NAME)
        self.range = self.ranges[split]
        if self.range.length < 1:
            raise ValueError(f"split {split!r} of {file} is empty: {table.shape[0]} rows with window {window} and "
                             f"horizon {horizon} give {self.ranges['test'].stop} samples, split as "
                             f"{ {k: v.length for k, v in self.ranges.items()} }; change train_ratio / test_ratio, "
                             f"shorten the window or use a longer series")
        self.starts = np.arange(self.range.start, self.range.stop, stride)  # first input row of each sample

        self.observed = observed_mask(table.values, zero_is_missing)
        filled = fill_missing(table.values, self.observed, fill, self.columns)
        fit_rows = self.ranges["train"].length + self.window + self.horizon - 1 if fit_on == "train" else None
        self.scaler = Scaler(normalize).fit(filled[:fit_rows], self.observed[:fit_rows])
        normalized = self.scaler.transform(filled)
        self.targets = (normalized if normalize_targets else filled).astype(np.float32)  # [n, m]
        self.normalize_targets = bool(normalize_targets)

        calendar = fmt == "h5" if calendar is None else calendar
        names = CALENDAR_FEATURES if calendar is True else (calendar,) if isinstance(calendar, str) else \
            tuple(calendar or ())
        parts = [normalized]
        if names:
            if table.index is None:
                raise ValueError(f"calendar features need timestamps, and {file} has none (format {fmt!r}); set "
                                 f"calendar=False or give a time_column")
            parts.append(calendar_features(table.index, names))
        self.inputs = np.concatenate(parts, axis=1).astype(np.float32)  # [n, m + k]
        self.index = table.index

    @property
    def num_series(self) -> int:
        return len(self.columns)

    @property
    def num_inputs(self) -> int:
        return self.inputs.shape[1]

    @property
    def metainfo(self) -> Dict[str, Any]:
        offset = self.scaler.offset if self.normalize_targets else np.zeros(self.num_series)
        scale = self.scaler.scale if self.normalize_targets else np.ones(self.num_series)
        return dict(columns=self.columns, target_offset=offset, target_scale=scale, window=self.window,
                    horizon=self.horizon, split=self.split, file=self.file, num_inputs=self.num_inputs)

    def __len__(self) -> int:
        return len(self.starts)

    def first_target_rows(self) -> np.ndarray:
        """``[M]``: the row of the series where each sample's targets start."""
        return self.starts + self.window

    def __getitem__(self, i: int) -> Dict[str, Any]:
        try:
            i = operator.index(i)
        except TypeError:
            raise TypeError(f"ForecastDataset index must be an integer, got {type(i).__name__} {i!r}") from None
        if not 0 <= i < len(self):
            raise IndexError(f"sample {i} out of range for the {self.split} split of {len(self)} samples")
        row = int(self.starts[i]) + self.window
        target = slice(row, row + self.horizon)
        return dict(inputs=torch.from_numpy(self.inputs[row - self.window:row]),
                    data_samples=dict(target=torch.from_numpy(self.targets[target]),
                                      observed=torch.from_numpy(self.observed[target])))

    def to_original_units(self, values: np.ndarray | torch.Tensor) -> np.ndarray:
        """Model-space values ``[..., m]`` (predictions or targets) -> original units."""
        values = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
        return self.scaler.inverse_transform(values) if self.normalize_targets else values.astype(np.float64)


_OPTIONS = tuple(inspect.signature(ForecastDataset.__init__).parameters)[1:-1]  # the keyword options, for typos
