"""Dataset base classes shared by every classification dataset.

Every dataset yields ``dict(img=..., gt_label=int, sample_idx=int)`` to its pipeline. Random transforms draw from
numpy's and Python's global generators, which :meth:`ClsBaseDataset.prepare_data` seeds from
``(seed, epoch, index)`` for each sample (and restores afterwards): the augmentation of a sample depends on nothing
but those three numbers, whichever worker loads it, so a run resumed mid-epoch sees exactly the data an
uninterrupted run would. ``seed`` and ``epoch`` are set by the train loop (:meth:`set_epoch`).

Bad input fails early with one line naming the file or option and what to do: the checks here (:func:`check_root`,
:func:`check_int`, :func:`check_labels`, unknown options) are shared by the datasets, transforms and metric, and
:meth:`ClsBaseDataset.full_init` dry-runs the pipeline once in the main process.
"""
from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dataset import BaseDataset

from tasks.common.seeding import sample_seed, seeded

__all__ = ["ClsBaseDataset", "ArrayClsDataset", "seeded", "sample_seed", "check_dir", "check_file", "check_root",
           "check_int", "check_labels"]


def check_dir(path: Path, layout: str) -> Path:
    """``path`` if it is a directory, else a ``FileNotFoundError`` naming it and the expected layout."""
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is not a directory; expected layout: {layout}")
    return path


def check_file(path: Path, layout: str) -> Path:
    """``path`` if it is a file, else a ``FileNotFoundError`` naming it and the expected layout."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; expected layout: {layout}")
    return path


def check_root(data_root: Any, who: str) -> str:
    """``data_root`` as a ``str``, or a ``TypeError`` when it is no path (e.g. ``None`` from a config)."""
    if not isinstance(data_root, (str, os.PathLike)):
        raise TypeError(f"{who}: data_root must be a folder path, got {data_root!r}; set data_root in the dataset "
                        f"config")
    return str(data_root)


def check_int(value: Any, name: str, minimum: int) -> int:
    """``value`` if it is an integer ``>= minimum`` (not a bool, float or str), else a ``TypeError``/``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}; write it without quotes or decimals")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}; fix it in the config")
    return int(value)


def check_labels(labels: Any, num_classes: int, where: str) -> np.ndarray:
    """Labels ``[N]`` as int64, or a ``ValueError`` naming ``where`` when they are not integers in
    ``0..num_classes - 1`` (``num_classes = 0``: range not checked)."""
    array = np.asarray(labels)
    if array.ndim != 1 or not (array.dtype.kind in "iu" or (array.dtype.kind == "f" and array.size == 0)):
        raise ValueError(f"{where}: labels must be a list of integers, got {array.dtype} {array.shape}; the file is "
                         f"corrupt or of another dataset")
    if num_classes and array.size and (array.min() < 0 or array.max() >= num_classes):
        bad = array[(array < 0) | (array >= num_classes)]
        raise ValueError(f"{where}: labels {sorted(set(bad.tolist()))[:5]} are outside 0..{num_classes - 1}; the "
                         f"file is corrupt or of another dataset")
    return array.astype(np.int64)


def _options(cls: type) -> List[str]:
    """Keyword options accepted by ``cls.__init__`` along the MRO, down to mmengine's ``BaseDataset``."""
    names: List[str] = []
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            names += [p.name for p in inspect.signature(klass.__init__).parameters.values()
                      if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in names]
        if klass is BaseDataset:
            break
    return names


class ClsBaseDataset(BaseDataset):
    """mmengine ``BaseDataset`` with class names and deterministic per-sample augmentation randomness.

    Subclasses implement :meth:`load_data_list` (one ``dict(gt_label=..., ...)`` per sample) and set
    ``CLASSES`` or pass ``metainfo=dict(classes=...)``.
    """

    CLASSES: Sequence[str] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        known = _options(type(self))
        unknown = sorted(set(kwargs) - set(known))
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown options {unknown}; known options: {', '.join(known)}")
        self.seed, self.epoch = 0, 0
        super().__init__(*args, **kwargs)

    def full_init(self) -> None:
        """mmengine's indexing, then one dry run of the pipeline on sample 0 (main process, seeded, nothing kept).

        A pipeline that does not fit the data (a crop larger than the images, float images into ``RandAugment``)
        then fails here, when the dataset is built, with the transform's one-line message, rather than inside a
        DataLoader worker, whose errors torch re-raises with the worker's traceback in the message.
        """
        if self._fully_initialized:
            return
        super().full_init()
        if self.pipeline.transforms and len(self):
            self.prepare_data(0)

    @property
    def classes(self) -> Tuple[str, ...]:
        return tuple(self.metainfo.get("classes", self.CLASSES))

    @classmethod
    def _load_metainfo(cls, metainfo: Optional[dict] = None) -> dict:
        info = super()._load_metainfo(metainfo)
        info.setdefault("classes", tuple(cls.CLASSES))
        return info

    def set_epoch(self, epoch: int, seed: Optional[int] = None) -> None:
        """Called by the train loop before each epoch (workers are forked afterwards, so they see it)."""
        self.epoch = int(epoch)
        if seed is not None:
            self.seed = int(seed)

    def get_data_info(self, idx: int) -> dict:
        if not -len(self) <= idx < len(self):
            raise IndexError(f"{type(self).__name__}: sample {idx} does not exist; the dataset has {len(self)} samples")
        return super().get_data_info(idx)

    def prepare_data(self, idx: int) -> Any:
        with seeded(sample_seed(self.seed, self.epoch, idx)):
            return super().prepare_data(idx)

    def get_labels(self) -> np.ndarray:
        """Labels of all samples, without loading any image (the base class's record only)."""
        return np.array([BaseDataset.get_data_info(self, i)["gt_label"] for i in range(len(self))], dtype=np.int64)


class ArrayClsDataset(ClsBaseDataset):
    """A dataset held in memory as one ``uint8`` array ``[N, H, W, C]`` plus labels ``[N]`` (CIFAR, Fashion-MNIST).

    Subclasses implement :meth:`load_arrays`; the data list keeps only labels and indices, so nothing is
    serialized per sample and workers share the array.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("serialize_data", False)
        self.images: Optional[np.ndarray] = None
        super().__init__(*args, **kwargs)

    def load_arrays(self) -> Tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        images, labels = self.load_arrays()
        if images.ndim != 4 or images.dtype != np.uint8 or len(images) != len(labels):
            raise ValueError(f"{type(self).__name__}.load_arrays must return uint8 images [N, H, W, C] and N labels, "
                             f"got {images.dtype} {images.shape} and {len(labels)} labels")
        if not len(images):
            raise ValueError(f"{type(self).__name__}: the {getattr(self, 'split', '')} files in {self.data_root} hold "
                             f"no images; re-download the dataset")
        labels = check_labels(labels, len(self.classes), f"{type(self).__name__} in {self.data_root}")
        self.images = images
        return [dict(gt_label=int(label), array_idx=i) for i, label in enumerate(labels)]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info["img"] = self.images[info["array_idx"]]
        return info
