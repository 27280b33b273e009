"""Writers for small files in the exact on-disk formats of the four forecasting benchmarks (no tests here).

- METR-LA: ``metr-la.h5``, pandas HDF5 (fixed format) under key ``df``: float64 speeds, a 5-minute
  ``DatetimeIndex`` starting 2012-03-01 00:00, sensor-id column names;
- PEMS-BAY: ``pems-bay.h5``, the same layout under key ``speed``, starting 2017-01-01 00:00;
- Solar-Energy: ``solar_AL.txt`` and Electricity: ``electricity.txt``, comma-separated numbers, no header.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = {  # name in the configs -> (file name, number of series)
    "metr_la": ("metr-la.h5", 207),
    "pems_bay": ("pems-bay.h5", 325),
    "solar": ("solar_AL.txt", 137),
    "electricity": ("electricity.txt", 321),
}


def speeds(rows: int, sensors: int, seed: int = 0, zero_fraction: float = 0.0) -> np.ndarray:
    """Traffic-like speeds (mph) with a daily cycle; ``zero_fraction`` of the readings set to 0 (missing)."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)[:, None]
    values = 60 - 15 * np.sin(2 * np.pi * t / 288 + rng.uniform(0, 6, sensors)) + rng.normal(0, 2, (rows, sensors))
    values[rng.random((rows, sensors)) < zero_fraction] = 0.0
    return values


def write_traffic_h5(path: Path, values: np.ndarray, key: str = "df", start: str = "2012-03-01") -> Path:
    index = pd.date_range(start, periods=values.shape[0], freq="5min")
    columns = [str(773869 + i) for i in range(values.shape[1])]
    pd.DataFrame(values, index=index, columns=columns).to_hdf(path, key=key)
    return path


def write_txt(path: Path, values: np.ndarray) -> Path:
    np.savetxt(path, values, delimiter=",", fmt="%.4f")
    return path


def write_benchmark(folder: Path, name: str, rows: int, seed: int = 0) -> Path:
    """A small file of benchmark ``name`` with its real column count, in its exact format, in ``folder``."""
    file, columns = BENCHMARKS[name]
    path = folder / file
    if name == "metr_la":
        return write_traffic_h5(path, speeds(rows, columns, seed, zero_fraction=0.02), key="df")
    if name == "pems_bay":
        return write_traffic_h5(path, speeds(rows, columns, seed, zero_fraction=0.02), key="speed",
                                start="2017-01-01")
    rng = np.random.default_rng(seed)
    if name == "solar":  # MW, zero at night (144 ten-minute steps a day)
        day = np.clip(np.sin(2 * np.pi * (np.arange(rows) % 144) / 144 - np.pi / 2), 0, None)
        return write_txt(path, day[:, None] * rng.uniform(5, 30, columns))
    return write_txt(path, rng.poisson(rng.uniform(10, 500, columns), (rows, columns)).astype(float))
