"""Neuromorphic datasets through tonic: DVS128 Gesture and CIFAR10-DVS as ``[T, 2, size, size]`` event frames.

Layouts (tonic's, i.e. what ``tonic.datasets.<Name>(save_to=data_root)`` downloads and unpacks)::

    <data_root>/DVSGesture/ibmGestureTrain/user<NN>_<lighting>/<label>.npy   (events [N, 4]: x, y, p, t in ms)
    <data_root>/DVSGesture/ibmGestureTest/user<NN>_<lighting>/<label>.npy
    <data_root>/CIFAR10DVS/<class name>/<name>.aedat4                          (airplane, automobile, ... truck)

tonic indexes the recordings (after a check of the layout that names any misplaced file or folder); they are read
as tonic reads them (``np.load`` / ``tonic.io.read_aedat4``), checked (:func:`check_events`: fields, sensor range,
polarities, time order), their coordinates scaled from the 128 x 128 sensor to ``size`` (``tonic.transforms
.Downsample``; ``size=48`` as in STMixer / the paper's E.2) and binned into ``time_steps`` frames by
``tonic.transforms.ToFrame``: ``binning='event_count'`` gives every frame the same number of events
(SpikingJelly's ``split_by='number'``, used by the Spikformer/STMixer code), ``binning='time'`` equal durations.
Frames hold event counts per polarity and pixel.

Framed samples are cached as ``.npy`` files under ``cache_dir`` (default ``<data_root>/frames_cache``), in a
sub-folder named after the dataset and the binning parameters, so epochs after the first read one small array
instead of re-binning the events. Writes are atomic (temporary file + rename, the temporary file removed if the
write fails), so parallel workers are safe; an unreadable or mis-shaped cache file is re-binned and replaced.

CIFAR10-DVS has no official split: as in the paper (E.2) and the Spikformer code, the first 90% of each class
(in sorted file order, rounded up) are the 9k training samples and the rest the 1k test samples.
"""
from __future__ import annotations

import io
import math
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.lib.recfunctions as rfn

from tasks.common.cli import first_line
from tasks.registry import DATASETS
from zoo.fileio import write_atomic

from .base import ClsBaseDataset, check_dir, check_int, check_root

__all__ = ["EventFrameDataset", "DVS128Gesture", "CIFAR10DVS", "bin_events", "check_events", "EVENT_DTYPE"]

BINNINGS = ("event_count", "time")
FIELDS = ("x", "y", "p", "t")
EVENT_DTYPE = np.dtype([(f, np.int64) for f in FIELDS])  # structured events as every reader returns them


def check_events(events: Any, sensor_size: Sequence[int], where: str = "events") -> None:
    """Raise a ``TypeError``/``ValueError`` naming ``where`` unless ``events`` is a structured array ``[N]`` with
    integer fields ``x, y, p`` inside the ``(width, height, polarities)`` sensor and finite, sorted times ``t``."""
    names = getattr(getattr(events, "dtype", None), "names", None) or ()
    if not isinstance(events, np.ndarray) or events.ndim != 1 or not set(FIELDS) <= set(names):
        raise TypeError(f"{where} must be a structured array [N] with fields x, y, p, t, got "
                        f"{getattr(events, 'dtype', type(events).__name__)} {getattr(events, 'shape', '')}")
    x, y, p, t = (events[f] for f in FIELDS)
    floats = [f for f in ("x", "y", "p") if events[f].dtype.kind not in "biu"]
    if floats:
        raise TypeError(f"{where}: fields {floats} are {events[floats[0]].dtype}; x, y and p must be integers")
    if not len(events):
        return
    if t.dtype.kind == "f" and not np.isfinite(t).all():
        raise ValueError(f"{where}: timestamps hold NaN or inf; the recording is corrupt, re-download it")
    width, height, polarities = sensor_size
    if x.min() < 0 or y.min() < 0 or x.max() >= width or y.max() >= height:
        raise ValueError(f"{where}: event coordinates x {x.min()}..{x.max()}, y {y.min()}..{y.max()} exceed the "
                         f"{width} x {height} sensor; is it a recording of another camera?")
    if p.min() < 0 or p.max() >= polarities:
        raise ValueError(f"{where}: polarities {p.min()}..{p.max()} are outside 0..{polarities - 1}; map them to "
                         f"0 (off) and 1 (on)")
    if (t[1:] < t[:-1]).any():
        raise ValueError(f"{where}: timestamps decrease at event {int(np.argmax(t[1:] < t[:-1])) + 1}; sort the "
                         f"events by t")


def _check_sensor(sensor_size: Any) -> Tuple[int, int, int]:
    if not isinstance(sensor_size, (tuple, list)) or len(sensor_size) != 3:
        raise ValueError(f"sensor_size must be (width, height, polarities), got {sensor_size!r}")
    return tuple(check_int(v, f"sensor_size {name}", 1) for v, name in zip(sensor_size, ("width", "height",
                                                                                     "polarities")))


def _check_binning(time_steps: Any, size: Any, binning: Any, sensor_size: Sequence[int]) -> Tuple[int, int]:
    """``(time_steps, size)`` as ints, or an error naming the option that is out of range."""
    time_steps, size = check_int(time_steps, "time_steps", 1), check_int(size, "size", 1)
    if binning not in BINNINGS:
        raise ValueError(f"binning must be one of {BINNINGS}, got {binning!r}")
    width, height = sensor_size[:2]
    if size > min(width, height):
        raise ValueError(f"size {size} exceeds the {width} x {height} sensor; frames are downsampled, use a size "
                         f"<= {min(width, height)}")
    return time_steps, size


def bin_events(events: np.ndarray, sensor_size: Tuple[int, int, int], time_steps: int, size: int,
               binning: str = "event_count") -> np.ndarray:
    """Structured events (fields ``x, y, p, t``) -> frames ``[time_steps, polarities, size, size]`` of int16 counts.

    An empty recording gives empty frames; fewer events than frames leave the last frames empty.
    """
    import tonic.transforms as tt

    sensor_size = _check_sensor(sensor_size)
    time_steps, size = _check_binning(time_steps, size, binning, sensor_size)
    check_events(events, sensor_size)
    polarities = sensor_size[2]
    padded = np.zeros((time_steps, polarities, size, size), dtype=np.int16)
    if not len(events):
        return padded
    steps = dict(n_event_bins=time_steps) if binning == "event_count" else dict(n_time_bins=time_steps)
    transform = tt.Compose([tt.Downsample(sensor_size=sensor_size, target_size=(size, size)),
                            tt.ToFrame(sensor_size=(size, size, polarities), **steps)])
    frames = transform(events)
    if frames.shape == padded.shape:
        return frames
    padded[: len(frames)] = frames[:time_steps]  # fewer events than bins
    return padded


class EventFrameDataset(ClsBaseDataset):
    """Base of the tonic-backed datasets: index the recordings, frame them on first use, cache the frames.

    Args:
        data_root: tonic's ``save_to`` folder (holds ``DVSGesture/`` or ``CIFAR10DVS/``).
        split: ``'train'`` or ``'test'``.
        time_steps: T, the number of frames per sample.
        size: output frames are ``size x size`` (from the 128 x 128 sensor).
        binning: ``'event_count'`` or ``'time'``.
        cache_dir: where framed samples are cached; ``None`` -> ``<data_root>/frames_cache``; ``False`` -> no cache.
    """

    TONIC_CLASS = ""
    FOLDER = ""
    LAYOUT = ""
    FILE_FORMAT = ""

    def __init__(self, data_root: str, split: str = "train", time_steps: int = 10, size: int = 48,
                 binning: str = "event_count", cache_dir: Union[str, None, bool] = None, **kwargs: Any) -> None:
        import tonic.datasets

        name = type(self).__name__
        data_root = check_root(data_root, name)
        if split not in ("train", "test"):
            raise ValueError(f"{name} split must be 'train' or 'test', got {split!r}")
        self.sensor_size: Tuple[int, int, int] = tuple(getattr(tonic.datasets, self.TONIC_CLASS).sensor_size)
        self.time_steps, self.size = _check_binning(time_steps, size, binning, self.sensor_size)
        self.split, self.binning = split, binning
        self.cache_dir = self._cache_dir(data_root, cache_dir)
        super().__init__(data_root=data_root, **kwargs)

    def _cache_dir(self, data_root: str, cache_dir: Union[str, None, bool]) -> Optional[Path]:
        """The cache sub-folder for these binning parameters, or ``None`` for ``cache_dir=False``."""
        if cache_dir is False:
            return None
        if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
            raise TypeError(f"{type(self).__name__}: cache_dir must be a folder path, None (<data_root>/frames_cache) "
                            f"or False (no cache), got {cache_dir!r}")
        base = Path(cache_dir) if cache_dir else Path(data_root) / "frames_cache"
        if base.exists() and not base.is_dir():
            raise ValueError(f"{type(self).__name__}: cache_dir {base} is a file; give a folder, or cache_dir=False")
        return base / f"{self.FOLDER}_T{self.time_steps}_{self.size}px_{self.binning}"

    # -- indexing -------------------------------------------------------------------------------------------------
    def _tonic_dataset(self) -> Any:
        """The tonic dataset object (lists of files and targets) without tonic's download step."""
        import tonic.datasets

        folder = Path(self.data_root) / self.FOLDER
        check_dir(folder, self.LAYOUT)
        self._check_layout(folder)
        layout = self.LAYOUT

        class Local(getattr(tonic.datasets, self.TONIC_CLASS)):
            def _check_exists(self) -> bool:  # tonic would download when its archive is absent
                return True

            def download(self) -> None:
                raise FileNotFoundError(f"{folder} is incomplete; expected layout: {layout}")

        Local.__name__ = Local.__qualname__ = self.TONIC_CLASS  # tonic places its files by the class name
        return Local(save_to=str(self.data_root), **self._tonic_kwargs())

    def _check_layout(self, folder: Path) -> None:
        """Raise a ``ValueError`` naming the first file or folder under ``folder`` that tonic cannot index."""

    def _tonic_kwargs(self) -> Dict[str, Any]:
        return {}

    def _select(self, files: List[str], targets: List[int]) -> List[int]:
        """Indices of the tonic dataset that belong to ``self.split``, in sorted file order."""
        return sorted(range(len(files)), key=files.__getitem__)

    def load_data_list(self) -> List[dict]:
        tonic_dataset = self._tonic_dataset()
        files, targets = list(tonic_dataset.data), [int(t) for t in tonic_dataset.targets]
        folder = Path(self.data_root) / self.FOLDER
        if not files:
            raise FileNotFoundError(f"no recordings found under {folder}; expected layout: {self.LAYOUT}")
        chosen = self._select(files, targets)
        if not chosen:
            raise ValueError(f"{type(self).__name__}: none of the {len(files)} recordings under {folder} falls in the "
                             f"{self.split} split; add recordings (expected layout: {self.LAYOUT})")
        root = Path(self.data_root)
        return [dict(gt_label=targets[i], event_path=str(Path(files[i]).relative_to(root))) for i in chosen]

    # -- reading, framing and caching -------------------------------------------------------------------------------
    def read_events(self, path: Path) -> np.ndarray:
        """Structured events (fields ``x, y, p, t``) of the recording at ``path``, as tonic reads them."""
        raise NotImplementedError

    def _events(self, path: Path) -> np.ndarray:
        """:meth:`read_events`, with any reader error turned into one line naming the file."""
        try:
            events = self.read_events(path)
        except Exception as err:  # numpy/aedat raise many types for unreadable files
            raise ValueError(f"{path}: cannot read events ({first_line(err)}); expected {self.FILE_FORMAT}: "
                             f"re-download the file or remove it") from None
        check_events(events, self.sensor_size, str(path))
        return events

    def _cached(self, path: Path) -> Optional[np.ndarray]:
        """The frames cached at ``path``; ``None`` if absent, unreadable or of another shape (then re-binned)."""
        if not path.is_file():
            return None
        try:
            frames = np.load(path)
        except (OSError, ValueError, EOFError):  # a truncated or foreign file: the cache is rebuilt
            return None
        expected = (self.time_steps, self.sensor_size[2], self.size, self.size)
        return frames if frames.shape == expected and frames.dtype == np.int16 else None

    @staticmethod
    def _store(path: Path, frames: np.ndarray) -> None:
        """Write ``frames`` to ``path`` atomically; on failure no temporary file is left behind."""
        try:
            buffer = io.BytesIO()
            np.save(buffer, frames)
            write_atomic(path, buffer.getvalue())
        except OSError as err:
            raise OSError(f"cannot write the frame cache {path} ({err.strerror or err}); free disk space, fix the "
                          f"folder's permissions, or set cache_dir=False") from None

    def frames(self, info: dict) -> np.ndarray:
        """Frames ``[T, 2, size, size]`` int16 of one sample (from the cache, or binned and cached)."""
        name = str(Path(info["event_path"]).with_suffix("")).replace(os.sep, "__") + ".npy"
        cached = self.cache_dir / name if self.cache_dir else None
        frames = self._cached(cached) if cached is not None else None
        if frames is not None:
            return frames
        events = self._events(Path(self.data_root) / info["event_path"])
        frames = bin_events(events, self.sensor_size, self.time_steps, self.size, self.binning)
        if cached is not None:
            self._store(cached, frames)
        return frames

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info["img"] = self.frames(info)
        return info


@DATASETS.register_module()
class DVS128Gesture(EventFrameDataset):
    """DVS128 Gesture (Amir et al. 2017): 11 gestures, official train/test split by user."""

    CLASSES = ("hand clap", "right hand wave", "left hand wave", "right arm clockwise",
               "right arm counter-clockwise", "left arm clockwise", "left arm counter-clockwise", "arm roll",
               "air drums", "air guitar", "other gestures")
    TONIC_CLASS = "DVSGesture"
    FOLDER = "DVSGesture"
    LAYOUT = ("<data_root>/DVSGesture/{ibmGestureTrain, ibmGestureTest}/user<NN>_<lighting>/<label>.npy "
              "(tonic's preprocessed DVS128 Gesture: events [N, 4] = x, y, p, t in ms)")
    FILE_FORMAT = "a .npy array [N, 4] of integers x, y, p, t (ms)"

    def _check_layout(self, folder: Path) -> None:
        split = check_dir(folder / ("ibmGestureTrain" if self.split == "train" else "ibmGestureTest"), self.LAYOUT)
        for path, _, files in os.walk(split):
            parts = Path(path).relative_to(split).parts
            if not parts:  # tonic ignores files beside the user folders
                continue
            if not re.fullmatch(r"user\d+_.+", parts[0]):
                raise ValueError(f"{split / parts[0]}: DVS128 Gesture folders are named user<NN>_<lighting>; rename "
                                 f"or remove it")
            for name in files:
                match = re.fullmatch(r"(\d+)\.npy", name)
                if name.endswith("npy") and not (match and int(match.group(1)) < len(self.CLASSES)):
                    raise ValueError(f"{Path(path) / name}: DVS128 Gesture recordings are named <label>.npy with a "
                                     f"label 0..{len(self.CLASSES) - 1}; rename or remove it")

    def _tonic_kwargs(self) -> Dict[str, Any]:
        return dict(train=self.split == "train")

    def read_events(self, path: Path) -> np.ndarray:
        """tonic's reading of a ``.npy`` [N, 4] (x, y, p, t in ms) into structured events, t in microseconds."""
        with open(path, "rb") as f:
            if f.read(6) != b"\x93NUMPY":
                raise ValueError("not a .npy file")
            f.seek(0)
            raw = np.load(f)
        if raw.ndim != 2 or raw.shape[1] != 4 or raw.dtype.kind not in "iuf":
            raise ValueError(f"{raw.dtype} array of shape {raw.shape}")
        if raw.dtype.kind == "f" and not (np.isfinite(raw).all() and (raw == np.round(raw)).all()):
            raise ValueError("NaN, inf or fractional values")
        events = raw.astype(np.int64)
        events[:, 3] *= 1000
        return rfn.unstructured_to_structured(events, EVENT_DTYPE)


@DATASETS.register_module()
class CIFAR10DVS(EventFrameDataset):
    """CIFAR10-DVS (Li et al. 2017): 10k recordings of CIFAR-10 images, 9k/1k train/test split per class."""

    CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    TONIC_CLASS = "CIFAR10DVS"
    FOLDER = "CIFAR10DVS"
    LAYOUT = "<data_root>/CIFAR10DVS/<class name: airplane ... truck>/<name>.aedat4 (tonic's CIFAR10-DVS)"
    FILE_FORMAT = "an AEDAT 4 file of a 128 x 128 event camera"
    TRAIN_FRACTION = 0.9

    def _check_layout(self, folder: Path) -> None:
        for path in sorted(folder.rglob("*aedat4")):
            if path.parent.name not in self.CLASSES:
                raise ValueError(f"{path}: its folder {path.parent.name!r} is no CIFAR10-DVS class "
                                 f"({', '.join(self.CLASSES)}); move it into its class folder or remove it")

    def read_events(self, path: Path) -> np.ndarray:
        from tonic.io import read_aedat4

        events = read_aedat4(str(path))
        events.dtype.names = ["t", "x", "y", "p"]
        return events

    def _select(self, files: List[str], targets: List[int]) -> List[int]:
        chosen = []
        for label in sorted(set(targets)):
            members = sorted((i for i, t in enumerate(targets) if t == label), key=files.__getitem__)
            cut = math.ceil(len(members) * self.TRAIN_FRACTION)
            chosen.extend(members[:cut] if self.split == "train" else members[cut:])
        return chosen
