"""Reading multichannel series from the benchmarks' on-disk formats and from any CSV or parquet table.

Formats (``fmt``):
- ``h5``: METR-LA / PEMS-BAY, a pandas HDF5 table (``pd.read_hdf``): rows = 5-minute steps with a
  ``DatetimeIndex``, columns = sensors (keys ``df`` for METR-LA, ``speed`` for PEMS-BAY). Needs ``tables``.
- ``txt``: Solar-Energy (``solar_AL.txt``) / Electricity (``electricity.txt``): comma-separated numbers, no
  header, no timestamps; every row must have the same number of fields.
- ``csv`` / ``parquet``: a generic table with a header on its first line. A time column (``time_column``, or the
  first column whose values all parse as dates when ``time_column="auto"``) becomes the index; the series are the
  numeric columns (or exactly ``columns``). A column that holds numbers must hold only numbers (or empty fields
  for missing values); a column without any number is not a series and is left out. Compressed CSV
  (``.csv.xz``, ``.csv.gz``...) is read transparently.

Every reader returns a :class:`SeriesTable` with values ``[n, m]`` (float64, NaN = missing) and rejects, with a
``ValueError`` that names the file and the problem: an empty, truncated or corrupt file, a file in another format
than its name says, text in a numeric column, infinite values, timestamps that are not strictly increasing, the
wrong number of columns or too few rows.
"""
from __future__ import annotations

import functools
import lzma
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from tasks.common.cli import first_line

__all__ = ["SeriesTable", "read_series", "detect_format", "FORMATS"]

FORMATS = ("h5", "txt", "csv", "parquet")
_SUFFIXES = {".h5": "h5", ".hdf5": "h5", ".hdf": "h5", ".txt": "txt", ".csv": "csv", ".parquet": "parquet",
             ".pq": "parquet"}
_COMPRESSION = {".xz", ".gz", ".bz2", ".zip", ".zst"}
_DECOMPRESSION_ERRORS = (EOFError, lzma.LZMAError, zlib.error, zipfile.BadZipFile, OSError)


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
        columns: ``csv``/``parquet``: the series columns to keep (default: every numeric column); a single
            name may be given as a string.
        expected_columns: if given, the number of series columns the file must have (e.g. 207 for METR-LA).
        min_rows: the file must have at least this many rows.

    The result is cached per (file, modification time, options): the train, validation and test datasets of
    one config read the file once. The returned arrays must not be modified in place.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"series file must be a path, got {type(path).__name__} {path!r}; set file= to the path "
                        f"of a {'/'.join(FORMATS)} file")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; file= must name a series file in it")
    if not path.is_file():
        raise FileNotFoundError(f"series file not found: {path}")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt not in FORMATS:
        raise ValueError(f"unknown series format {fmt!r}; choose one of {FORMATS} or 'auto'")
    if key is not None and fmt != "h5":
        raise ValueError(f"{path}: key={key!r} applies to h5 files only, and this is a {fmt} file; remove key=")
    columns = (columns,) if isinstance(columns, str) else columns
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
        table = _read_h5(path, key)
    elif fmt == "txt":
        table = _read_txt(path)
    else:
        frame = _read_parquet(path) if fmt == "parquet" else _read_csv(path)
        table = _from_frame(frame, path, time_column, columns)
    _check_finite(table)
    return table


# ------------------------------------------------------------------------------------------------- file formats
def _read_h5(path: str, key: Optional[str]) -> SeriesTable:
    frame = _h5_object(path, key)
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{path} holds a {type(frame).__name__}, expected a DataFrame of rows = time steps, "
                         f"columns = sensors")
    index = frame.index if isinstance(frame.index, pd.DatetimeIndex) else None
    if index is None:
        raise ValueError(f"{path}: the table's index is {type(frame.index).__name__}, expected a DatetimeIndex "
                         f"(rows = 5-minute time steps)")
    _check_increasing(index, path)
    values = _numeric_block(frame, path)
    return SeriesTable(values, tuple(str(c) for c in frame.columns), index, path)


def _h5_object(path: str, key: Optional[str]) -> object:
    """The pandas object stored under ``key`` (or the only one) in an HDF5 file."""
    try:
        store = pd.HDFStore(path, mode="r")
    except ImportError as err:  # pandas raises ImportError when PyTables is missing
        raise ImportError(f"reading {path} needs the 'tables' package (pip install tables)") from err
    except Exception:  # noqa: BLE001  (PyTables raises HDF5ExtError with a C back trace for any unreadable file)
        raise ValueError(f"cannot open {path} as HDF5: the file is empty, truncated or not an HDF5 file; "
                         f"re-download it, or pass fmt= if it is another format") from None
    with store:
        keys = [k.lstrip("/") for k in store.keys()]
        if not keys:
            raise ValueError(f"{path} holds no pandas table (an HDF5 file not written by DataFrame.to_hdf?); "
                             f"expected a DataFrame of rows = time steps, columns = sensors")
        if key is None and len(keys) > 1:
            raise ValueError(f"{path} holds {len(keys)} tables {keys}; pass key= one of them (METR-LA uses 'df', "
                             f"PEMS-BAY 'speed')")
        key = keys[0] if key is None else key.lstrip("/")
        if key not in keys:
            raise ValueError(f"{path} has no table under key {key!r}; its keys are {keys}: pass key= one of them")
        try:
            return store[key]
        except Exception as err:  # noqa: BLE001  (a damaged table: PyTables / HDF5 errors of every kind)
            raise ValueError(f"cannot read table {key!r} of {path} ({first_line(err)}); the file is damaged or "
                             f"truncated: re-download it") from None


def _read_txt(path: str) -> SeriesTable:
    rows: List[List[str]] = []
    try:
        with open(path, "r") as handle:
            for line_no, line in enumerate(handle, 1):
                line = line.strip()
                if not line:
                    continue
                fields = line.split(",")
                if rows and len(fields) != len(rows[0]):
                    raise ValueError(f"{path}: line {line_no} has {len(fields)} comma-separated fields, the first "
                                     f"line has {len(rows[0])} (expected a rectangular table: rows = time steps, "
                                     f"columns = series, no header; a short last line means a truncated file)")
                rows.append(fields)
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text file (binary content); the txt format is comma-separated numbers: "
                         f"is it another format? pass fmt= one of {FORMATS}") from None
    if not rows:
        raise ValueError(f"{path} is empty; expected comma-separated numbers, one line per time step")
    try:
        values = np.asarray(rows, dtype=np.float64)
    except ValueError as err:
        raise ValueError(f"{path}: non-numeric field ({err}); the txt format is numbers only, no header") from None
    return SeriesTable(values, tuple(str(i) for i in range(values.shape[1])), None, path)


def _read_csv(path: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, low_memory=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty; expected a CSV table with a header line") from None
    except pd.errors.ParserError as err:
        raise ValueError(f"{path} is not a well-formed CSV table ({first_line(err)}); every line must have the "
                         f"fields of the header line") from None
    except PermissionError:
        raise
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text CSV file (binary content); is it another format? rename it or pass "
                         f"fmt= one of {FORMATS}") from None
    except _DECOMPRESSION_ERRORS as err:
        raise ValueError(f"cannot read {path} ({first_line(err)}); the file is truncated or not compressed as its "
                         f"name says: re-download it") from None
    if not isinstance(frame.index, pd.RangeIndex):
        raise ValueError(f"{path}: the data lines have more fields than the first line, so the first line is not "
                         f"the header (a title or metadata line?); remove the lines above the header")
    _check_complete_last_line(path, frame)
    return frame


def _check_complete_last_line(path: str, frame: pd.DataFrame) -> None:
    """An uncompressed CSV whose last line lacks its newline and some fields was cut off while being written."""
    if Path(path).suffix.lower() in _COMPRESSION or frame.shape[0] == 0 or not frame.iloc[-1].isna().iloc[-1]:
        return
    with open(path, "rb") as handle:
        handle.seek(max(0, os.path.getsize(path) - 1))
        if handle.read(1) in (b"\n", b"\r"):
            return
    raise ValueError(f"{path}: the last line is incomplete (no newline, fields missing): the file was truncated; "
                     f"re-create it, or delete the partial last line")


def _read_parquet(path: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except ImportError as err:
        raise ImportError(f"reading {path} needs the 'pyarrow' package (pip install pyarrow)") from err
    except Exception as err:  # noqa: BLE001  (pyarrow's ArrowInvalid / OSError for any unreadable file)
        reason = first_line(err).replace(f"Could not open Parquet input source '{path}': ", "")
        raise ValueError(f"cannot read {path} as parquet ({reason}); the file is empty, truncated or not a "
                         f"parquet file: re-create it, or pass fmt= if it is another format") from None


# --------------------------------------------------------------------------------------------- table contents
def _numeric_column(column: pd.Series, path: str) -> np.ndarray:
    """``[n]`` float64 of a column that must hold only numbers or missing values."""
    numeric = pd.to_numeric(column, errors="coerce")
    text = numeric.isna() & column.notna()
    if text.any():
        row = int(np.flatnonzero(text.to_numpy())[0])
        raise ValueError(f"{path}: column {str(column.name)!r} holds text at data row {row} "
                         f"({column.iloc[row]!r}; {int(text.sum())} row(s) in all); fix them (an empty field "
                         f"means missing), or list the series with columns=")
    return numeric.to_numpy(dtype=np.float64)


def _numeric_block(frame: pd.DataFrame, path: str) -> np.ndarray:
    """``[n, m]`` float64 of columns that must hold only numbers or missing values."""
    if frame.shape[1] == 0:
        return np.zeros((frame.shape[0], 0))
    return np.stack([_numeric_column(frame[c], path) for c in frame.columns], axis=1)


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
        index = _parse_time(frame[time_column], path)
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{path}: columns {missing} not found; columns are {list(frame.columns)}")
        if time_column in columns:
            raise ValueError(f"{path}: {time_column!r} is the time column, not a series; leave it out of columns=")
        return SeriesTable(_numeric_block(frame[list(columns)], path), tuple(columns), index, path)
    candidates = [c for c in frame.columns if c != time_column]
    keep = [c for c in candidates if pd.to_numeric(frame[c], errors="coerce").notna().any()]
    if not keep:
        raise ValueError(f"{path} has no numeric columns (columns: {list(frame.columns)}); a series table needs "
                         f"one numeric column per series")
    return SeriesTable(_numeric_block(frame[keep], path), tuple(str(c) for c in keep), index, path)


def _parse_time(column: pd.Series, path: str) -> pd.DatetimeIndex:
    """The timestamps of a time column; every row must hold one, in strictly increasing order."""
    try:
        index = pd.DatetimeIndex(pd.to_datetime(column))
    except (ValueError, TypeError, OverflowError):
        index = pd.DatetimeIndex(pd.to_datetime(column, errors="coerce", format="mixed"))
    bad = np.flatnonzero(index.isna())
    if bad.size:
        raise ValueError(f"{path}: time column {str(column.name)!r} holds {column.iloc[bad[0]]!r} at data row "
                         f"{bad[0]}, not a timestamp ({bad.size} row(s) in all); fix them, or pass "
                         f"time_column=None to read the table without timestamps")
    _check_increasing(index, path)
    return index


def _check_increasing(index: pd.DatetimeIndex, path: str) -> None:
    steps = np.diff(index.asi8)
    if (steps > 0).all():
        return
    row = int(np.flatnonzero(steps <= 0)[0]) + 1
    raise ValueError(f"{path}: timestamps must increase row by row, but data row {row} ({index[row]}) does not come "
                     f"after row {row - 1} ({index[row - 1]}); sort the file by time and drop duplicate rows (a long "
                     f"table with one row per time and series must be pivoted to one column per series)")


def _check_finite(table: SeriesTable) -> None:
    infinite = np.isinf(table.values)
    if infinite.any():
        row, col = (int(i[0]) for i in np.nonzero(infinite))
        raise ValueError(f"{table.path}: column {table.columns[col]!r} holds {table.values[row, col]} at data row "
                         f"{row} ({int(infinite.sum())} infinite values in all); replace them with real readings, or "
                         f"with empty fields / NaN to mark them missing")


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
