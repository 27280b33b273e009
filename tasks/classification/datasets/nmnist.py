"""N-MNIST's on-disk event format, and datasets that read it: the real N-MNIST, and the simulated N-Fashion-MNIST.

File format (Orchard et al. 2015, "Converting static image datasets to spiking neuromorphic datasets using
saccades", Front. Neurosci. 9:437; the readme of the N-MNIST download and tonic's ``tonic.io.read_mnist_file``,
itself adapted from G. Orchard's ``eventvision.py``): a file is a list of 40-bit events, 5 bytes each::

    byte 0      x address (pixels)
    byte 1      y address (pixels)
    byte 2      bit 7: polarity (1 = ON, 0 = OFF); bits 6-0: timestamp bits 22-16
    bytes 3, 4  timestamp bits 15-0 (big-endian)                    -> 23-bit timestamps in microseconds

An event with ``y == 240`` is no event but a timestamp-overflow marker: ``2 ** 13`` is added to the timestamps of
it and every later event (tonic's reading, kept here so that both read a file alike), and it is dropped.

Layout (what the N-MNIST zip files unpack to, and where tonic's ``NMNIST(save_to=data_root)`` looks)::

    <data_root>/NMNIST/Train/<label 0-9>/<id>.bin
    <data_root>/NMNIST/Test/<label 0-9>/<id>.bin

:class:`NMNIST` frames the recordings into ``[T, 2, size, size]`` event counts with the machinery of
:class:`~tasks.classification.datasets.events.EventFrameDataset` (tonic's indexing after a layout check, binning by
time or by event count, the frame cache); :class:`NFashionMNIST` is the same reader on the simulated
N-Fashion-MNIST (``tasks/classification/datasets/saccades.py``, ``tools/make_nfmnist.py``) with Fashion-MNIST's
class names. N-Caltech101 files have this format too (on sensors up to 240 x 180 pixels): ``sensor_size=(W, H)``
reads files of a larger sensor laid out as above.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from tasks.registry import DATASETS
from zoo.fileio import write_atomic

from .base import check_int
from .events import EVENT_DTYPE, EventFrameDataset, check_events

__all__ = ["NMNIST", "NFashionMNIST", "read_nmnist_file", "write_nmnist_file", "encode_nmnist", "EVENT_DTYPE",
           "SENSOR_SIZE", "OVERFLOW_Y", "OVERFLOW_STEP", "default_nfmnist_root"]

SENSOR_SIZE = (34, 34)  # N-MNIST: 28 x 28 digits plus the saccades' excursion
OVERFLOW_Y = 240  # an event with this y address marks a timestamp overflow
OVERFLOW_STEP = 2 ** 13  # what tonic (after Orchard's eventvision.py) adds to later timestamps at each marker
MAX_TIMESTAMP = 2 ** 23 - 1
FORMAT = "N-MNIST's 5-byte events (x, y, polarity bit + 23-bit microsecond timestamp)"
MAKE_COMMAND = "python tools/make_nfmnist.py --out data/nfmnist"


def _sensor(sensor_size: Any) -> Tuple[int, int]:
    if not isinstance(sensor_size, (tuple, list)) or len(sensor_size) != 2:
        raise ValueError(f"sensor_size must be (width, height) in pixels, got {sensor_size!r}")
    width, height = (check_int(v, f"sensor_size {name}", 1) for v, name in zip(sensor_size, ("width", "height")))
    if width > 256 or height > OVERFLOW_Y:
        raise ValueError(f"sensor_size {width} x {height} does not fit N-MNIST's format (x < 256, y < {OVERFLOW_Y})")
    return width, height


def read_nmnist_file(path: Union[str, os.PathLike], sensor_size: Sequence[int] = SENSOR_SIZE) -> np.ndarray:
    """Events of an N-MNIST-format file as a structured array (fields ``x, y, p, t``: int64, ``t`` in us).

    Reads as ``tonic.io.read_mnist_file`` does (overflow markers included). A file whose size is not a multiple of
    5 bytes, or with events outside the ``(width, height)`` sensor, raises a one-line ``ValueError`` naming it.
    """
    width, height = _sensor(sensor_size)
    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise OSError(f"{path}: cannot read ({err.strerror or err}); expected {FORMAT}") from None
    if raw.size % 5:
        raise ValueError(f"{path} is {raw.size} bytes, not a multiple of 5 (N-MNIST events are 5 bytes): truncated "
                         f"or not an N-MNIST file; re-download or re-make it")
    raw = raw.reshape(-1, 5).astype(np.int64)
    x, y = raw[:, 0], raw[:, 1]
    p = raw[:, 2] >> 7
    t = ((raw[:, 2] & 0x7F) << 16) | (raw[:, 3] << 8) | raw[:, 4]
    overflow = y == OVERFLOW_Y
    if overflow.any():
        t = t + OVERFLOW_STEP * np.cumsum(overflow)  # tonic: all_ts[marker:] += 2**13 for each marker
    keep = ~overflow
    events = np.empty(int(keep.sum()), dtype=EVENT_DTYPE)
    events["x"], events["y"], events["p"], events["t"] = x[keep], y[keep], p[keep], t[keep]
    if len(events) and (events["x"].max() >= width or events["y"].max() >= height):
        bad = int(np.argmax((events["x"] >= width) | (events["y"] >= height)))
        raise ValueError(f"{path}: event {bad} at x {events['x'][bad]}, y {events['y'][bad]} lies outside the "
                         f"{width} x {height} sensor; a recording of another sensor? (set sensor_size)")
    return events


def encode_nmnist(events: np.ndarray, sensor_size: Sequence[int] = SENSOR_SIZE) -> bytes:
    """Structured events (``x, y, p, t``; ``t`` integer microseconds < 2**23) -> the bytes of an N-MNIST file."""
    width, height = _sensor(sensor_size)
    check_events(events, (width, height, 2), "events to write")
    t = np.asarray(events["t"])
    if t.dtype.kind not in "iu":
        raise TypeError(f"events to write: timestamps must be integer microseconds, got {t.dtype}")
    if len(events) and (t.min() < 0 or t.max() > MAX_TIMESTAMP):
        raise ValueError(f"events to write: timestamps {t.min()}..{t.max()} us do not fit N-MNIST's 23 bits "
                         f"(0..{MAX_TIMESTAMP} us)")
    t = t.astype(np.int64)
    out = np.empty((len(events), 5), dtype=np.uint8)
    out[:, 0] = events["x"]
    out[:, 1] = events["y"]
    out[:, 2] = (np.asarray(events["p"], dtype=np.int64) << 7) | (t >> 16)
    out[:, 3] = (t >> 8) & 0xFF
    out[:, 4] = t & 0xFF
    return out.tobytes()


def write_nmnist_file(path: Union[str, os.PathLike], events: np.ndarray,
                      sensor_size: Sequence[int] = SENSOR_SIZE) -> None:
    """Write ``events`` to ``path`` in N-MNIST's format, atomically (a killed write leaves no partial file)."""
    write_atomic(Path(path), encode_nmnist(events, sensor_size))


def default_nfmnist_root() -> Path:
    """Where the simulated set is looked for when ``data_root`` is None: ``$DATA_ROOT/nfmnist``, else ``data/nfmnist``
    (the default output of ``tools/make_nfmnist.py``, relative to the working directory)."""
    base = os.environ.get("DATA_ROOT")
    return Path(base) / "nfmnist" if base else Path("data") / "nfmnist"


@DATASETS.register_module()
class NMNIST(EventFrameDataset):
    """N-MNIST (Orchard et al. 2015): 60k / 10k recordings of MNIST digits by an ATIS sensor making three saccades.

    Also reads any set written in its format and layout (the simulated N-Fashion-MNIST; N-Caltech101-format files
    laid out as N-MNIST, with ``sensor_size``).

    Args:
        data_root: the folder that holds ``NMNIST/`` (tonic's ``save_to``).
        split: ``'train'`` or ``'test'``.
        time_steps: T, frames per sample.
        size: frames are ``size x size`` (downsampled from the sensor when smaller; the 4x stems need a multiple of
            4: ``32`` for N-MNIST's 34 x 34 sensor).
        binning: ``'time'`` (equal durations: the three saccades split evenly) or ``'event_count'``.
        sensor_size: ``(width, height)`` of the sensor, ``(34, 34)`` for N-MNIST.
        cache_dir: as :class:`EventFrameDataset` (``None``: ``<data_root>/frames_cache``; ``False``: no cache).
    """

    CLASSES = ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine")
    TONIC_CLASS = "NMNIST"
    FOLDER = "NMNIST"
    LAYOUT = "<data_root>/NMNIST/{Train, Test}/<label 0-9>/<id>.bin (N-MNIST's layout, as tonic reads it)"
    FILE_FORMAT = FORMAT
    SPLIT_FOLDERS = {"train": "Train", "test": "Test"}

    def __init__(self, data_root: Optional[str] = None, split: str = "train", time_steps: int = 8, size: int = 32,
                 binning: str = "time", sensor_size: Sequence[int] = SENSOR_SIZE,
                 cache_dir: Union[str, None, bool] = None, **kwargs: Any) -> None:
        self.sensor_wh = _sensor(sensor_size)
        super().__init__(data_root=self._root(data_root), split=split, time_steps=time_steps, size=size,
                         binning=binning, cache_dir=cache_dir, **kwargs)

    def _root(self, data_root: Optional[str]) -> Any:
        return data_root

    # EventFrameDataset takes the sensor from tonic's class (34 x 34); a larger N-Caltech101-style sensor replaces it
    @property
    def sensor_size(self) -> Tuple[int, int, int]:
        return (*self.sensor_wh, 2)

    @sensor_size.setter
    def sensor_size(self, value: Tuple[int, int, int]) -> None:
        pass  # the sensor is this dataset's option, not tonic's constant

    def _cache_dir(self, data_root: str, cache_dir: Union[str, None, bool]) -> Optional[Path]:
        folder = super()._cache_dir(data_root, cache_dir)
        if folder is not None and self.sensor_wh != SENSOR_SIZE:
            folder = folder.with_name(f"{folder.name}_{self.sensor_wh[0]}x{self.sensor_wh[1]}")
        return folder

    def _tonic_kwargs(self) -> dict:
        return dict(train=self.split == "train")

    def _check_layout(self, folder: Path) -> None:
        """Every ``.bin`` under ``NMNIST/`` must sit in ``{Train, Test}/<digit>/`` (tonic takes the label from the
        folder name's last character): a misplaced file is named with what to do."""
        split = folder / self.SPLIT_FOLDERS[self.split]
        if not split.is_dir():
            raise FileNotFoundError(f"{split} is not a directory; expected layout: {self.LAYOUT}")
        for path, dirs, files in os.walk(folder):
            rel = Path(path).relative_to(folder).parts
            dirs.sort()
            for name in sorted(files):
                if not name.endswith("bin"):
                    continue
                where = Path(path) / name
                if len(rel) != 2 or rel[0] not in self.SPLIT_FOLDERS.values():
                    raise ValueError(f"{where}: N-MNIST recordings belong in NMNIST/{{Train, Test}}/<label>/; move "
                                     f"it there or remove it (expected layout: {self.LAYOUT})")
                if not (rel[1].isdigit() and int(rel[1]) < len(self.classes)):
                    raise ValueError(f"{where}: its folder {rel[1]!r} is no label 0..{len(self.classes) - 1}; move "
                                     f"it into its label's folder or remove it (expected layout: {self.LAYOUT})")
                if not name.endswith(".bin"):
                    raise ValueError(f"{where}: recordings are named <id>.bin; rename or remove it")

    def load_data_list(self) -> list:
        data = super().load_data_list()
        for info in data:  # tonic labels by the folder's last character; the layout check made it the whole name
            info["gt_label"] = int(Path(info["event_path"]).parent.name)
        return data

    def read_events(self, path: Path) -> np.ndarray:
        return read_nmnist_file(path, self.sensor_wh)

    def _events(self, path: Path) -> np.ndarray:
        events = read_nmnist_file(path, self.sensor_wh)  # its errors already name the file, in one line
        if len(events) > 1 and (np.diff(events["t"]) < 0).any():  # recordings are sorted; sort one that is not
            events = events[np.argsort(events["t"], kind="stable")]
        check_events(events, self.sensor_size, str(path))
        return events


@DATASETS.register_module()
class NFashionMNIST(NMNIST):
    """N-Fashion-MNIST (simulated saccades): Fashion-MNIST's 70k images turned into events by simulating N-MNIST's
    protocol (three saccades of a 34 x 34 DVS pixel array; ``tasks/classification/datasets/saccades.py``), in
    N-MNIST's format and layout. Not a recording: see ``<data_root>/README.md`` and docs/events.md.

    ``data_root=None`` reads ``$DATA_ROOT/nfmnist``, else ``data/nfmnist``; make the set with
    ``python tools/make_nfmnist.py --out data/nfmnist``.
    """

    CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")

    def _root(self, data_root: Optional[str]) -> Any:
        if data_root is not None:
            return data_root
        root = default_nfmnist_root()
        if not (root / self.FOLDER).is_dir():
            raise FileNotFoundError(f"N-Fashion-MNIST not found in {root} (data_root None: $DATA_ROOT/nfmnist, else "
                                    f"data/nfmnist); make it with `{MAKE_COMMAND}` or set data_root")
        return str(root)
