"""Forecast the next steps of a series file with a trained forecaster: ``SeriesForecaster``.

    forecaster = SeriesForecaster.from_config("configs/ts/realdata/smixer-h24_1xb64-20e_caiso-load.py", "best.pth")
    forecast = forecaster("load_2018.csv")     # the ``horizon`` steps after the file's last row
    forecast.write_csv("forecast.csv"); forecast.plot("forecast.png")

A forecaster is an mmengine ``Forecaster`` (its config and a training checkpoint); the config's test dataset says
how its inputs were made, and the same is done to the given file (:func:`tasks.timeseries.io.read_series`, the
config's ``time_column`` / ``columns`` / ``fill`` / ``zero_is_missing`` / calendar features): its last ``window``
rows are the model's input ``[1, window, series + calendar]``, and the forecast ``[horizon, series]`` is mapped
back to the file's units and stamped with the timestamps that continue the file's most common step.

Normalisation statistics are not part of a checkpoint. They are recomputed as training computed them, from the
config's training file and split, when that file is present; otherwise they are fitted (the config's
``normalize`` mode) on all rows of the given file, and the forecast says so (:attr:`Forecast.scaler`).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from PIL import Image

from tasks.common.checkpoint import check_state_dict_matches
from tasks.common.config import load_config
from tasks.registry import MODELS
from zoo.fileio import write_atomic

from .dataset import ForecastDataset
from .export import load_forecaster, stored_scaler
from .io import SeriesTable, detect_format, read_series
from .model import Forecaster
from .preprocess import CALENDAR_FEATURES, calendar_features, fill_missing, observed_mask
from .scaling import Scaler

__all__ = ["SeriesForecaster", "Forecast", "calendar_names", "next_timestamps", "training_scaler"]

PathLike = Union[str, Path]


@dataclass
class Forecast:
    """The ``horizon`` steps after the end of ``input``: ``values`` ``[horizon, series]`` in the file's units at
    ``time`` (``None`` for a file without timestamps: the steps are then its row numbers ``n .. n + horizon - 1``),
    with the input ``window`` it was made from (``history`` ``[window, series]`` at ``history_time``)."""

    input: str
    columns: Tuple[str, ...]
    values: np.ndarray
    time: Optional[pd.DatetimeIndex]
    history: np.ndarray
    history_time: Optional[pd.DatetimeIndex]
    first_step: int
    scaler: str
    details: Dict[str, Any] = field(default_factory=dict)

    @property
    def horizon(self) -> int:
        return len(self.values)

    def frame(self) -> pd.DataFrame:
        """One row per forecast step: the timestamp (or ``step``) then one column per series."""
        if self.time is not None:
            first = pd.DataFrame({self.time.name or "time": self.time})
        else:
            first = pd.DataFrame({"step": np.arange(self.first_step, self.first_step + self.horizon)})
        return pd.concat([first, pd.DataFrame(self.values, columns=list(self.columns))], axis=1)

    def write_csv(self, path: PathLike) -> Path:
        write_atomic(path, self.frame().to_csv(index=False))
        return Path(path)

    def plot(self, path: PathLike, max_panels: int = 6, title: str = "") -> Path:
        """History and forecast of the first ``max_panels`` series, one panel each, as a PNG."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        count = min(len(self.columns), max_panels)
        fig, axes = plt.subplots(count, 1, figsize=(10, 2.2 * count + 0.6), squeeze=False, sharex=True)
        past = self.history_time if self.history_time is not None else \
            np.arange(self.first_step - len(self.history), self.first_step)
        future = self.time if self.time is not None else np.arange(self.first_step, self.first_step + self.horizon)
        for c, ax in enumerate(axes[:, 0]):
            ax.plot(past, self.history[:, c], color="black", lw=1.2, label="input window")
            ax.plot(future, self.values[:, c], color="tab:red", lw=1.5, label="forecast")
            ax.set_ylabel(self.columns[c], fontsize=8)
            ax.tick_params(labelsize=7)
        axes[0, 0].legend(fontsize=7, loc="upper left")
        shown = f", first {count} of {len(self.columns)} series" if count < len(self.columns) else ""
        axes[0, 0].set_title(f"{title or Path(self.input).name}: {self.horizon}-step forecast{shown}", fontsize=9)
        fig.tight_layout()
        image = io.BytesIO()
        fig.savefig(image, format="png", dpi=90)
        plt.close(fig)
        palette = io.BytesIO()  # a 256-colour PNG: a few times smaller, the same to the eye
        Image.open(image).convert("RGB").quantize(colors=256).save(palette, format="png", optimize=True)
        return write_atomic(path, palette.getvalue())


def calendar_names(calendar: Union[bool, str, Sequence[str], None], fmt: str) -> Tuple[str, ...]:
    """The calendar features a dataset option ``calendar`` means (as :class:`ForecastDataset` reads it, ``None``
    meaning all of them for ``h5`` files only)."""
    calendar = fmt == "h5" if calendar is None else calendar
    if calendar is True:
        return CALENDAR_FEATURES
    return (calendar,) if isinstance(calendar, str) else tuple(calendar or ())


def next_timestamps(index: pd.DatetimeIndex, count: int) -> pd.DatetimeIndex:
    """The ``count`` timestamps after ``index``, spaced by its most common step."""
    if len(index) < 2:
        raise ValueError("a forecast's timestamps continue the input's time step, and one timestamp has none; give "
                         "at least two rows")
    step = pd.Series(index[1:] - index[:-1]).mode()[0]  # the most common step (the smallest of tied ones)
    return pd.DatetimeIndex([index[-1] + step * k for k in range(1, count + 1)], name=index.name)


class SeriesForecaster:
    """A :class:`Forecaster` with the data options of its config; ``forecaster(file)`` -> :class:`Forecast`.

    ``data`` is the config's test-dataset dict (``window``, ``time_column``, ``normalize``, ...); ``scaler`` the
    training statistics (``None``: fitted on each input file) and ``scaler_source`` where they come from;
    ``weights`` says where the weights came from.
    """

    def __init__(self, model: Forecaster, data: Dict[str, Any], scaler: Optional[Scaler] = None,
                 scaler_source: str = "given", weights: str = "") -> None:
        self.model = model.eval()
        self.data = data
        self.window, self.horizon = model.net.window, model.net.horizon
        self.num_series, self.num_inputs = model.net.out_channels, model.net.in_channels
        fmt = data.get("fmt", "auto")
        self.calendar = calendar_names(data.get("calendar"), detect_format(data["file"]) if fmt == "auto" else fmt)
        if self.num_series + len(self.calendar) != self.num_inputs:
            raise ValueError(f"the config's model reads {self.num_inputs} inputs, but its data give "
                             f"{self.num_series} series + {len(self.calendar)} calendar features")
        self.scaler, self.scaler_source = scaler, scaler_source
        self.weights = weights

    @classmethod
    def from_config(cls, config: Union[PathLike, Config], checkpoint: Optional[PathLike] = None) -> "SeriesForecaster":
        """The forecaster of a config (a path or a loaded ``Config``) with the weights of an mmengine
        ``checkpoint`` (``None``: random weights)."""
        cfg = config if isinstance(config, Config) else load_config(config)
        if cfg.model.get("type") != "Forecaster":
            raise ValueError(f"{config} is not a forecasting config: its model is {cfg.model.get('type')!r}, not "
                             f"'Forecaster'")
        model = MODELS.build(cfg.model)
        if checkpoint is not None:
            check_state_dict_matches(model, checkpoint)
            load_checkpoint(model, str(checkpoint), map_location="cpu", strict=True, logger="silent")
        train = dict(cfg.train_dataloader.dataset)
        scaler = training_scaler(train)
        return cls(model, dict(cfg.test_dataloader.dataset), scaler,
                   f"the training split of {train.get('file')} (recomputed as in training)" if scaler else "",
                   f"checkpoint {checkpoint}" if checkpoint is not None else "random (no checkpoint)")

    @classmethod
    def from_pretrained(cls, source: PathLike) -> "SeriesForecaster":
        """The forecaster of a forecaster folder (:mod:`tasks.timeseries.export`): a path, the name of a shipped one
        (:func:`tasks.timeseries.export.list_forecasters`) or a Hub repo id. Its inputs are normalised with the
        training statistics stored in the folder."""
        model, config = load_forecaster(source)
        data = dict(config["data"], columns=config["columns"])
        return cls(model, data, stored_scaler(config), "the training split's statistics stored with the weights",
                   f"{source} (test R² {model.metrics.get('r2', float('nan')):.3f})")

    @torch.no_grad()
    def __call__(self, file: PathLike) -> Forecast:
        table = read_series(file, "auto", None, self.data.get("time_column", "auto"), self.data.get("columns"),
                            min_rows=1)
        if table.shape[1] != self.num_series:
            raise ValueError(f"{file} has {table.shape[1]} series columns {list(table.columns)[:8]}, the model "
                             f"forecasts {self.num_series}; give a table with the series the model was trained on")
        if table.shape[0] < self.window:
            raise ValueError(f"{file} has {table.shape[0]} rows; the model reads a window of the last {self.window} "
                             f"rows: give at least {self.window}")
        if self.calendar and table.index is None:
            raise ValueError(f"{file} has no time column, and the model reads calendar features {self.calendar}; "
                             f"give a table with timestamps")
        inputs, scaler, details = self._inputs(table)
        pred = self.model(torch.from_numpy(inputs[None]))[0].numpy()  # [horizon, series], model space
        values = scaler.inverse_transform(pred) if self.data.get("normalize_targets", True) else pred
        index = table.index
        return Forecast(str(file), table.columns, values.astype(np.float64),
                        next_timestamps(index, self.horizon) if index is not None else None,
                        table.values[-self.window:], index[-self.window:] if index is not None else None,
                        table.shape[0], details.pop("scaler"), details)

    def _inputs(self, table: SeriesTable) -> Tuple[np.ndarray, Scaler, Dict[str, Any]]:
        """The model's input window ``[window, series + calendar]`` float32, the scaler, and what was done."""
        observed = observed_mask(table.values, self.data.get("zero_is_missing", False))
        filled = fill_missing(table.values, observed, self.data.get("fill", "ffill"), table.columns)
        scaler, note = self.scaler, self.scaler_source
        if scaler is None:
            scaler = Scaler(self.data.get("normalize", "column_zscore")).fit(filled, observed)
            note = (f"fitted on the {table.shape[0]} rows of the input ({scaler.mode}): the config's training file "
                    f"is not present")
        parts = [scaler.transform(filled[-self.window:])]
        if self.calendar:
            parts.append(calendar_features(table.index[-self.window:], self.calendar))
        details = dict(scaler=note, rows=table.shape[0], window=self.window, horizon=self.horizon,
                       missing_in_window=int((~observed[-self.window:]).sum()), calendar=list(self.calendar))
        return np.concatenate(parts, axis=1).astype(np.float32), scaler, details


def training_scaler(train: Dict[str, Any]) -> Optional[Scaler]:
    """The normalisation statistics of a config's training dataset (its dict), or ``None`` when its file is not
    present."""
    file = train.get("file")
    if not isinstance(file, (str, Path)) or not Path(file).is_file():
        return None
    return ForecastDataset(**{k: v for k, v in train.items() if k != "type"}).scaler
