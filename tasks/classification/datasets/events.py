"""Neuromorphic datasets through tonic: DVS128 Gesture and CIFAR10-DVS as ``[T, 2, size, size]`` event frames.

Layouts (tonic's, i.e. what ``tonic.datasets.<Name>(save_to=data_root)`` downloads and unpacks)::

    <data_root>/DVSGesture/ibmGestureTrain/user<NN>_<lighting>/<label>.npy   (events [N, 4]: x, y, p, t in ms)
    <data_root>/DVSGesture/ibmGestureTest/user<NN>_<lighting>/<label>.npy
    <data_root>/CIFAR10DVS/<class name>/<name>.aedat4                          (airplane, automobile, ... truck)

Events are read by tonic, their coordinates scaled from the 128 x 128 sensor to ``size`` (``tonic.transforms
.Downsample``; ``size=48`` as in STMixer / the paper's E.2) and binned into ``time_steps`` frames by
``tonic.transforms.ToFrame``: ``binning='event_count'`` gives every frame the same number of events
(SpikingJelly's ``split_by='number'``, used by the Spikformer/STMixer code), ``binning='time'`` equal durations.
Frames hold event counts per polarity and pixel.

Framed samples are cached as ``.npy`` files under ``cache_dir`` (default ``<data_root>/frames_cache``), in a
sub-folder named after the dataset and the binning parameters, so epochs after the first read one small array
instead of re-binning the events. Writes are atomic (temporary file + rename), so parallel workers are safe.

CIFAR10-DVS has no official split: as in the paper (E.2) and the Spikformer code, the first 90% of each class
(in sorted file order, rounded up) are the 9k training samples and the rest the 1k test samples.
"""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
from mmengine.registry import DATASETS

from .base import ClsBaseDataset, check_dir

__all__ = ["EventFrameDataset", "DVS128Gesture", "CIFAR10DVS", "bin_events"]

BINNINGS = ("event_count", "time")


def bin_events(events: np.ndarray, sensor_size: Tuple[int, int, int], time_steps: int, size: int,
               binning: str = "event_count") -> np.ndarray:
    """Structured events (fields ``x, y, p, t``) -> frames ``[time_steps, 2, size, size]`` of int16 counts."""
    import tonic.transforms as tt

    width, height, polarities = sensor_size
    if len(events) and (events["x"].max() >= width or events["y"].max() >= height):
        raise ValueError(f"event coordinates up to ({events['x'].max()}, {events['y'].max()}) exceed the "
                         f"{width} x {height} sensor")
    steps = dict(n_event_bins=time_steps) if binning == "event_count" else dict(n_time_bins=time_steps)
    transform = tt.Compose([tt.Downsample(sensor_size=sensor_size, target_size=(size, size)),
                            tt.ToFrame(sensor_size=(size, size, polarities), **steps)])
    frames = transform(events)
    if frames.shape != (time_steps, polarities, size, size):  # fewer events than bins, or an empty recording
        padded = np.zeros((time_steps, polarities, size, size), dtype=np.int16)
        padded[: len(frames)] = frames[:time_steps]
        frames = padded
    return frames


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

    def __init__(self, data_root: str, split: str = "train", time_steps: int = 10, size: int = 48,
                 binning: str = "event_count", cache_dir: Union[str, None, bool] = None, **kwargs: Any) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"{type(self).__name__} split must be 'train' or 'test', got {split!r}")
        if binning not in BINNINGS:
            raise ValueError(f"binning must be one of {BINNINGS}, got {binning!r}")
        if time_steps < 1 or size < 1:
            raise ValueError(f"time_steps and size must be >= 1, got {time_steps} and {size}")
        self.split, self.time_steps, self.size, self.binning = split, int(time_steps), int(size), binning
        if cache_dir is False:
            self.cache_dir: Optional[Path] = None
        else:
            base = Path(cache_dir) if cache_dir else Path(data_root) / "frames_cache"
            self.cache_dir = base / f"{self.FOLDER}_T{time_steps}_{size}px_{binning}"
        self._tonic: Any = None
        super().__init__(data_root=data_root, **kwargs)

    # -- indexing -------------------------------------------------------------------------------------------------
    def _tonic_dataset(self) -> Any:
        """The tonic dataset object (lists of files and targets) without tonic's download step."""
        import tonic.datasets

        folder = Path(self.data_root) / self.FOLDER
        check_dir(folder, self.LAYOUT)
        layout = self.LAYOUT

        class Local(getattr(tonic.datasets, self.TONIC_CLASS)):
            def _check_exists(self) -> bool:  # tonic would download when its archive is absent
                return True

            def download(self) -> None:
                raise FileNotFoundError(f"{folder} is incomplete; expected layout: {layout}")

        Local.__name__ = Local.__qualname__ = self.TONIC_CLASS  # tonic places its files by the class name
        return Local(save_to=str(self.data_root), **self._tonic_kwargs())

    def _tonic_kwargs(self) -> Dict[str, Any]:
        return {}

    def _select(self, files: List[str], targets: List[int]) -> List[int]:
        """Indices of the tonic dataset that belong to ``self.split``, in sorted file order."""
        return sorted(range(len(files)), key=files.__getitem__)

    def load_data_list(self) -> List[dict]:
        self._tonic = self._tonic_dataset()
        files, targets = list(self._tonic.data), [int(t) for t in self._tonic.targets]
        if not files:
            raise FileNotFoundError(f"no recordings found under {Path(self.data_root) / self.FOLDER}; expected "
                                    f"layout: {self.LAYOUT}")
        root = Path(self.data_root)
        return [dict(gt_label=targets[i], tonic_idx=i, event_path=str(Path(files[i]).relative_to(root)))
                for i in self._select(files, targets)]

    # -- framing and caching ----------------------------------------------------------------------------------------
    def frames(self, info: dict) -> np.ndarray:
        """Frames ``[T, 2, size, size]`` int16 of one sample (from the cache, or binned and cached)."""
        name = str(Path(info["event_path"]).with_suffix("")).replace(os.sep, "__") + ".npy"
        cached = self.cache_dir / name if self.cache_dir else None
        if cached is not None and cached.is_file():
            return np.load(cached)
        if self._tonic is None:  # after unpickling in a spawned worker
            self._tonic = self._tonic_dataset()
        try:
            events, _ = self._tonic[info["tonic_idx"]]
        except Exception as err:  # tonic/aedat raise many types for unreadable files
            raise ValueError(f"cannot read events from {Path(self.data_root) / info['event_path']}: {err}") from err
        frames = bin_events(events, self._tonic.sensor_size, self.time_steps, self.size, self.binning)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=cached.parent, suffix=".npy", delete=False) as tmp:
                np.save(tmp, frames)
            os.replace(tmp.name, cached)
        return frames

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info["img"] = self.frames(info)
        return info

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state["_tonic"] = None  # tonic's dataset class is made per instance: rebuilt on first use
        return state


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

    def _tonic_dataset(self) -> Any:
        check_dir(Path(self.data_root) / self.FOLDER / ("ibmGestureTrain" if self.split == "train"
                                                          else "ibmGestureTest"), self.LAYOUT)
        return super()._tonic_dataset()

    def _tonic_kwargs(self) -> Dict[str, Any]:
        return dict(train=self.split == "train")


@DATASETS.register_module()
class CIFAR10DVS(EventFrameDataset):
    """CIFAR10-DVS (Li et al. 2017): 10k recordings of CIFAR-10 images, 9k/1k train/test split per class."""

    CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    TONIC_CLASS = "CIFAR10DVS"
    FOLDER = "CIFAR10DVS"
    LAYOUT = "<data_root>/CIFAR10DVS/<class name: airplane ... truck>/<name>.aedat4 (tonic's CIFAR10-DVS)"
    TRAIN_FRACTION = 0.9

    def _select(self, files: List[str], targets: List[int]) -> List[int]:
        chosen = []
        for label in sorted(set(targets)):
            members = sorted((i for i, t in enumerate(targets) if t == label), key=files.__getitem__)
            cut = math.ceil(len(members) * self.TRAIN_FRACTION)
            chosen.extend(members[:cut] if self.split == "train" else members[cut:])
        return chosen
