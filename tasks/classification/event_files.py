"""Event-camera recordings from files, as checked structured events ``[N]`` (fields ``x, y, p, t``).

Formats, by file name:

- ``.aedat4`` (iniVation AEDAT 4), ``.raw`` (Prophesee EVT 2 / EVT 3, the version from the header), ``.dat``
  (Prophesee DAT) and ``.es`` (Event Stream): decoded by ``faery``; the sensor size comes from the file.
- ``.npy`` (a structured array with fields ``x, y, t, p``), ``.npz`` (arrays ``x``, ``y``, ``t``, ``p`` of one
  length, or one structured array as in ``.npy``) and ``.csv`` (a header line naming the columns ``x, y, t, p``,
  in any order, among others): ``t`` in microseconds, ``p`` 0/1 (or -1/1, or bool) for OFF/ON.

A file that does not record its sensor size (a table, an EVT 2 file without a ``geometry`` header line) is taken to
come from the smallest sensor of :data:`SENSORS` that holds all its events, unless ``sensor_size`` is given; the
recording says which (:attr:`EventRecording.sensor_source`). Events must lie inside the sensor and be sorted by
time (:func:`tasks.classification.datasets.events.check_events`); any other problem is a one-line error naming the
file.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

from tasks.common.cli import first_line

from .datasets.events import EVENT_DTYPE, check_events

__all__ = ["EventRecording", "read_event_file", "EVENT_SUFFIXES", "SENSORS", "EVENT_DTYPE"]

FAERY_FORMATS = {".aedat4": "AEDAT 4", ".raw": "Prophesee EVT 2/3", ".dat": "Prophesee DAT", ".es": "Event Stream"}
TABLE_FORMATS = {".npy": "numpy array", ".npz": "numpy archive", ".csv": "CSV table"}
NMNIST_FORMAT = {".bin": "N-MNIST binary"}  # N-MNIST, N-Caltech101, N-Fashion-MNIST (simulated saccades)
EVENT_SUFFIXES = tuple(FAERY_FORMATS) + tuple(TABLE_FORMATS) + tuple(NMNIST_FORMAT)
NMNIST_SENSOR = (34, 34)  # N-MNIST's: a .bin file whose events fit it is taken to be an N-MNIST recording
FIELDS = ("x", "y", "t", "p")

# Resolutions (width, height) of common event cameras, smallest first: the sensor assumed for a file that does not
# record its own.
SENSORS: Dict[str, Tuple[int, int]] = {
    "DVS128": (128, 128), "DAVIS240": (240, 180), "Prophesee GenX320": (320, 320), "DAVIS346": (346, 260),
    "Prophesee HVGA": (480, 360), "VGA (Prophesee Gen3, DVXplorer)": (640, 480),
    "HD (Prophesee IMX636)": (1280, 720),
}
_LARGEST = max(SENSORS.values(), key=lambda size: size[0] * size[1])

Size = Tuple[int, int]


@dataclass(frozen=True)
class EventRecording:
    """``events``: ``[N]`` structured int64 ``x, y, p, t`` (p 0 = OFF, 1 = ON; t in microseconds), sorted by t,
    inside the ``(width, height)`` sensor; ``sensor_source`` says where that size came from."""

    path: str
    format: str
    events: np.ndarray
    sensor_size: Size
    sensor_source: str

    @property
    def duration_s(self) -> float:
        return float(self.events["t"][-1] - self.events["t"][0]) / 1e6 if len(self.events) else 0.0

    def summary(self) -> Dict[str, object]:
        """What was read, for a prediction's report."""
        return dict(format=self.format, sensor_size=list(self.sensor_size), sensor_size_from=self.sensor_source,
                    num_events=len(self.events), duration_s=round(self.duration_s, 6))


def read_event_file(path: Union[str, Path], sensor_size: Optional[Size] = None) -> EventRecording:
    """Read and check the recording at ``path`` (formats in the module docstring); ``sensor_size`` ``(width,
    height)`` replaces the file's or the inferred one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"event recording not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in EVENT_SUFFIXES:
        raise ValueError(f"{path}: unknown event file type {suffix or '(no extension)'!r}; known: "
                         f"{', '.join(EVENT_SUFFIXES)}")
    if sensor_size is not None:
        sensor_size = _check_size(sensor_size)
    if suffix in FAERY_FORMATS:
        events, recorded = _read_faery(path)
    elif suffix in NMNIST_FORMAT:
        events, recorded = _read_nmnist(path)
    else:
        events, recorded = _to_events(_read_table(path), path), None
    size, source = _sensor(events, sensor_size, recorded, path)
    check_events(events, (*size, 2), str(path))
    name = FAERY_FORMATS.get(suffix) or TABLE_FORMATS.get(suffix) or NMNIST_FORMAT[suffix]
    return EventRecording(str(path), name, events, size, source)


def _read_nmnist(path: Path) -> Tuple[np.ndarray, Optional[Size]]:
    """An N-MNIST-format file (5-byte events, no header): its events, and N-MNIST's 34 x 34 sensor when they fit
    it (else ``None``: a larger sensor, e.g. N-Caltech101's, inferred as for other files)."""
    from .datasets.nmnist import OVERFLOW_Y, read_nmnist_file

    events = read_nmnist_file(path, sensor_size=(256, OVERFLOW_Y))  # the format's own limits
    fits = not len(events) or (events["x"].max() < NMNIST_SENSOR[0] and events["y"].max() < NMNIST_SENSOR[1])
    return events, NMNIST_SENSOR if fits else None


def _check_size(size: Sequence[int]) -> Size:
    if len(size) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in size):
        raise ValueError(f"sensor_size must be (width, height) in pixels, got {size!r}")
    return int(size[0]), int(size[1])


def _sensor(events: np.ndarray, given: Optional[Size], recorded: Optional[Size], path: Path) -> Tuple[Size, str]:
    """The sensor size and where it came from: given, recorded in the file, or the smallest known sensor that
    holds every event."""
    if given is not None:
        return given, "given"
    if recorded is not None:
        return recorded, "file header"
    if not len(events):
        raise ValueError(f"{path} holds no events and does not record its sensor size; nothing to classify")
    width, height = int(events["x"].max()) + 1, int(events["y"].max()) + 1
    for name, size in SENSORS.items():
        if width <= size[0] and height <= size[1]:
            return size, f"inferred: {name}, the smallest known sensor holding every event"
    raise ValueError(f"{path}: events reach x {width - 1}, y {height - 1}, beyond every known sensor "
                     f"({', '.join(f'{w}x{h}' for w, h in SENSORS.values())}); give the sensor size")


# ------------------------------------------------------------------------------------------------- faery formats
def _read_faery(path: Path) -> Tuple[np.ndarray, Optional[Size]]:
    """Events of an AEDAT 4 / EVT / DAT / ES file and the sensor size it records (``None`` if it records none)."""
    try:
        import faery
    except ImportError as err:
        raise ImportError(f"reading {path.suffix} files needs the 'faery' package (pip install faery)") from err
    prophesee = path.suffix.lower() in (".raw", ".dat")  # the only formats whose header may lack the size
    recorded = _evt_geometry(path) if prophesee else None
    fallback = recorded or _LARGEST  # faery needs a size to decode a file without one: the largest known sensor
    try:
        stream = faery.events_stream_from_file(path, dimensions_fallback=fallback)
        raw = stream.to_array()
        dimensions = tuple(int(v) for v in stream.dimensions())
    except Exception as err:  # noqa: BLE001  (faery raises bare Exception / RuntimeError for every unreadable file)
        raise ValueError(f"{path}: cannot read it as {FAERY_FORMATS[path.suffix.lower()]} ({first_line(err)}); "
                         f"the file is corrupt, truncated or of another format") from None
    events = np.empty(len(raw), EVENT_DTYPE)
    events["x"], events["y"], events["t"] = raw["x"], raw["y"], raw["t"]
    events["p"] = raw["on"]
    return events, recorded if prophesee else dimensions


def _evt_geometry(path: Path) -> Optional[Size]:
    """``(width, height)`` from the text header (the leading ``%`` lines) of a Prophesee file: ``% geometry WxH``,
    ``% format EVT3;width=W;height=H`` or DAT's ``% Width W`` / ``% Height H``; ``None`` if it names none."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    lines = []
    for line in head.split(b"\n"):
        if not line.startswith(b"%"):
            break
        lines.append(line.decode("latin-1"))
    header = "\n".join(lines)
    geometry = re.search(r"geometry\s+(\d+)\s*x\s*(\d+)", header, re.IGNORECASE)
    if geometry:
        return int(geometry[1]), int(geometry[2])
    width, height = (re.search(rf"(?:{key}=|^%\s*{key}\s+)(\d+)", header, re.IGNORECASE | re.MULTILINE)
                     for key in ("width", "height"))
    return (int(width[1]), int(height[1])) if width and height else None


# ------------------------------------------------------------------------------------------------------ tables
class _FieldError(ValueError):
    """A readable table whose fields are not the events' x, y, t, p."""


def _read_table(path: Path) -> Dict[str, np.ndarray]:
    """The columns ``x, y, t, p`` (``[N]`` each) of a ``.npy``, ``.npz`` or ``.csv`` file."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return _read_csv(path)
        loaded = np.load(path, allow_pickle=False)  # an array, or a lazy archive (by content, not by name)
        if isinstance(loaded, np.ndarray):
            return _structured_columns(loaded, path)
        with loaded:
            names = set(loaded.files)
            if set(FIELDS) <= names:
                return {name: loaded[name] for name in FIELDS}
            if len(names) == 1:
                return _structured_columns(loaded[names.pop()], path)
            raise _FieldError(f"{path}: a .npz of events holds arrays x, y, t, p (or one structured array), it "
                              f"holds {sorted(names)}")
    except _FieldError:
        raise
    except (ValueError, OSError, EOFError, UnicodeDecodeError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: cannot read it as a {TABLE_FORMATS[suffix]} of events ({first_line(err)}); the "
                         f"file is corrupt, truncated or of another format") from None


def _structured_columns(array: np.ndarray, path: Path) -> Dict[str, np.ndarray]:
    names = array.dtype.names or ()
    if array.ndim != 1 or not set(FIELDS) <= set(names):
        raise _FieldError(f"{path}: events must be a structured array [N] with fields x, y, t, p, got "
                          f"{array.dtype} {array.shape}")
    return {name: array[name] for name in FIELDS}


def _read_csv(path: Path) -> Dict[str, np.ndarray]:
    with open(path, "r") as f:
        header = [name.strip().strip('"').lower() for name in f.readline().split(",")]
    missing = [name for name in FIELDS if name not in header]
    if missing:
        raise _FieldError(f"{path}: the header line must name the columns x, y, t, p; it lacks {missing} (it has "
                          f"{header})")
    columns = [header.index(name) for name in FIELDS]
    table = np.loadtxt(path, delimiter=",", skiprows=1, usecols=columns, ndmin=2, dtype=np.float64)
    return dict(zip(FIELDS, table.T))


def _to_events(columns: Dict[str, np.ndarray], path: Path) -> np.ndarray:
    """Columns ``x, y, t, p`` -> structured int64 events; whole numbers required, polarities -1/0/1 or bool."""
    lengths = {name: np.shape(values) for name, values in columns.items()}
    if len(set(lengths.values())) != 1 or len(next(iter(lengths.values()))) != 1:
        raise ValueError(f"{path}: x, y, t, p must be 1-D and of one length, got shapes {lengths}")
    events = np.empty(len(columns["x"]), EVENT_DTYPE)
    for name in FIELDS:
        values = np.asarray(columns[name])
        if values.dtype.kind not in "biuf":
            raise ValueError(f"{path}: field {name} holds {values.dtype}, not numbers")
        if values.dtype.kind == "f" and not (np.isfinite(values).all() and (values == np.round(values)).all()):
            raise ValueError(f"{path}: field {name} holds NaN, inf or fractions; x, y, p are whole numbers and t "
                             f"whole microseconds")
        events[name] = values
    polarities = set(np.unique(events["p"]).tolist())
    if not polarities <= {0, 1} and not polarities <= {-1, 1}:
        raise ValueError(f"{path}: polarities {sorted(polarities)[:5]} are not OFF/ON; use 0/1 (or -1/1)")
    events["p"] = events["p"] > 0
    return events
