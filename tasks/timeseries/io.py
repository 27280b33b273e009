"""Reading multichannel series from the benchmarks' on-disk formats and from any CSV or parquet table.

Formats (``fmt``):
- ``h5``: METR-LA / PEMS-BAY, a pandas HDF5 table (``pd.read_hdf``): rows = 5-minute steps with a
  ``DatetimeIndex``, columns = sensors (keys ``df`` for METR-LA, ``speed`` for PEMS-BAY). Needs ``tables``.
- ``txt``: Solar-Energy (``solar_AL.txt``) / Electricity (``electricity.txt``): comma-separated numbers, no
  header, no timestamps; every row must have the same number of fields.
- ``csv`` / ``parquet``: a generic table with a header. A time column (``time_column``, or the first column
  whose values all parse as dates when ``time_column="auto"``) becomes the index; the series are the numeric
  columns (or exactly ``columns``). Compressed CSV (``.csv.xz``, ``.csv.gz``...) is read transparently.

Every reader returns a :class:`SeriesTable` with values ``[n, m]`` (float64, NaN = missing) and raises a
``ValueError`` that names the file and the problem (no numeric column, wrong column count, too few rows...).
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

__all__ = ["SeriesTable", "read_series", "detect_format", "FORMATS"]

FORMATS = ("h5", "txt", "csv", "parquet")
_SUFFIXES = {".h5": "h5", ".hdf5": "h5", ".hdf": "h5", ".txt": "txt", ".csv": "csv", ".parquet": "parquet",
             ".pq": "parquet"}
_COMPRESSION = {".xz", ".gz", ".bz2", ".zip", ".zst"}


@dataclass(frozen=True)
class SeriesTable:
    """A multichannel series: ``values`` ``[n, m]`` float64 (NaN where missing), one name per column and the
    timestamps of the rows (``None`` for formats without time, e.g. the ``txt`` benchmarks)."""

    values: np.ndarray
    columns: Tuple[str, ...]
    index: Optional[pd.DatetimeIndex]
    path: str

    @property
    def shape(self) -> Tuple[int, int]:
        return self.values.shape  # type: ignore[return-value]


def detect_format(path: str | os.PathLike) -> str:
    """File format from the name: ``.h5``, ``.txt``, ``.csv`` (also ``.csv.xz`` etc.) or ``.parquet``."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    if not suffixes or suffixes[-1] not in _SUFFIXES:
        raise ValueError(f"cannot tell the format of {path}: expected a name ending in one of "
                         f"{sorted(_SUFFIXES)} (optionally compressed), or pass fmt= one of {FORMATS}")
    return _SUFFIXES[suffixes[-1]]


def read_series(path: str | os.PathLike, fmt: str = "auto", key: Optional[str] = None,
                time_column: Optional[str] = "auto", columns: Optional[Sequence[str]] = None,
                expected_columns: Optional[int] = None, min_rows: int = 2) -> SeriesTable:
    """Read a series file (see the module docstring for the formats).

    Args:
        path: the file.
        fmt: ``auto`` (from the name) or one of :data:`FORMATS`.
        key: HDF5 key (``h5`` only); ``None`` reads the only object in the file.
        time_column: ``csv``/``parquet``: the timestamp column, ``"auto"`` to detect one, ``None`` for none.
        columns: ``csv``/``parquet``: the series columns to keep (default: every numeric column).
        expected_columns: if given, the number of series columns the file must have (e.g. 207 for METR-LA).
        min_rows: the file must have at least this many rows.

    The result is cached per (file, modification time, options): the train, validation and test datasets of
    one config read the file once. The returned arrays must not be modified in place.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"series file not found: {path}")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt not in FORMATS:
        raise ValueError(f"unknown series format {fmt!r}; choose one of {FORMATS} or 'auto'")
    table = _read_cached(str(path.resolve()), path.stat().st_mtime_ns, fmt, key, time_column,
                         tuple(columns) if columns is not None else None)
    n, m = table.shape
    if expected_columns is not None and m != expected_columns:
        raise ValueError(f"{path} has {m} series columns, expected {expected_columns} "
                         f"(wrong file, or a file with the wrong shape)")
    if n < min_rows:
        raise ValueError(f"{path} has {n} rows; at least {min_rows} are needed")
    return table


@functools.lru_cache(maxsize=8)
def _read_cached(path: str, mtime_ns: int, fmt: str, key: Optional[str], time_column: Optional[str],
                 columns: Optional[Tuple[str, ...]]) -> SeriesTable:
    if fmt == "h5":
        return _read_h5(path, key)
    if fmt == "txt":
        return _read_txt(path)
    frame = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path)
    return _from_frame(frame, path, time_column, columns)


def _read_h5(path: str, key: Optional[str]) -> SeriesTable:
    try:
        frame = pd.read_hdf(path, key=key)
    except ImportError as err:  # pandas raises ImportError when PyTables is missing
        raise ImportError(f"reading {path} needs the 'tables' package (pip install tables)") from err
    except ValueError as err:  # several objects and no key
        raise ValueError(f"{path}: {err}; pass key= (METR-LA uses 'df', PEMS-BAY 'speed')") from err
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{path} holds a {type(frame).__name__}, expected a DataFrame of rows = time steps, "
                         f"columns = sensors")
    index = frame.index if isinstance(frame.index, pd.DatetimeIndex) else None
    if index is None:
        raise ValueError(f"{path}: the table's index is {type(frame.index).__name__}, expected a DatetimeIndex "
                         f"(rows = 5-minute time steps)")
    values = _numeric_block(frame, path)
    return SeriesTable(values, tuple(str(c) for c in frame.columns), index, path)


def _read_txt(path: str) -> SeriesTable:
    rows: List[List[str]] = []
    with open(path, "r") as handle:
        for line_no, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            fields = line.split(",")
            if rows and len(fields) != len(rows[0]):
                raise ValueError(f"{path}: line {line_no} has {len(fields)} comma-separated fields, the first line "
                                 f"has {len(rows[0])} (expected a rectangular table: rows = time steps, "
                                 f"columns = series, no header)")
            rows.append(fields)
    if not rows:
        raise ValueError(f"{path} is empty")
    try:
        values = np.asarray(rows, dtype=np.float64)
    except ValueError as err:
        raise ValueError(f"{path}: non-numeric field ({err}); the txt format is numbers only, no header") from err
    return SeriesTable(values, tuple(str(i) for i in range(values.shape[1])), None, path)


def _numeric_block(frame: pd.DataFrame, path: str) -> np.ndarray:
    numeric = frame.apply(pd.to_numeric, errors="coerce")
    bad = [str(c) for c in frame.columns if numeric[c].isna().all() and not frame[c].isna().all()]
    if bad:
        raise ValueError(f"{path}: columns {bad} hold no numbers")
    return numeric.to_numpy(dtype=np.float64)


def _from_frame(frame: pd.DataFrame, path: str, time_column: Optional[str],
                columns: Optional[Tuple[str, ...]]) -> SeriesTable:
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise ValueError(f"{path} has no data (shape {frame.shape})")
    index = None
    if time_column == "auto":
        time_column = _find_time_column(frame)
    if time_column is not None:
        if time_column not in frame.columns:
            raise ValueError(f"{path}: time column {time_column!r} not found; columns are {list(frame.columns)}")
        index = pd.DatetimeIndex(pd.to_datetime(frame[time_column]))
    candidates = [c for c in frame.columns if c != time_column]
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{path}: columns {missing} not found; columns are {list(frame.columns)}")
        return SeriesTable(_numeric_block(frame[list(columns)], path), tuple(columns), index, path)
    numeric = frame[candidates].apply(pd.to_numeric, errors="coerce")
    keep = [c for c in candidates if numeric[c].notna().any()]
    if not keep:
        raise ValueError(f"{path} has no numeric columns (columns: {list(frame.columns)}); a series table needs "
                         f"one numeric column per series")
    return SeriesTable(numeric[keep].to_numpy(dtype=np.float64), tuple(str(c) for c in keep), index, path)


def _find_time_column(frame: pd.DataFrame) -> Optional[str]:
    """The first non-numeric column whose values all parse as timestamps, else ``None``."""
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            return name
        if pd.api.types.is_numeric_dtype(column):
            continue
        parsed = pd.to_datetime(column, errors="coerce", format="mixed")
        if parsed.notna().all():
            return name
    return None
