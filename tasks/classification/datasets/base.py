"""Dataset base classes shared by every classification dataset.

Every dataset yields ``dict(img=..., gt_label=int, sample_idx=int)`` to its pipeline. Random transforms draw from
numpy's and Python's global generators, which :meth:`ClsBaseDataset.prepare_data` seeds from
``(seed, epoch, index)`` for each sample (and restores afterwards): the augmentation of a sample depends on nothing
but those three numbers, whichever worker loads it, so a run resumed mid-epoch sees exactly the data an
uninterrupted run would. ``seed`` and ``epoch`` are set by the train loop (:meth:`set_epoch`).
"""
from __future__ import annotations

import random
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dataset import BaseDataset

__all__ = ["ClsBaseDataset", "ArrayClsDataset", "seeded", "sample_seed", "check_dir", "check_file"]


def sample_seed(*keys: int) -> int:
    """A 32-bit seed derived from integer keys (``SeedSequence`` mixing, so neighbouring keys are unrelated)."""
    return int(np.random.SeedSequence([int(k) & 0xFFFFFFFF for k in keys]).generate_state(1)[0])


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed numpy's and Python's global generators inside the block; restore their previous states after it."""
    np_state, py_state = np.random.get_state(), random.getstate()
    np.random.seed(seed)
    random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def check_dir(path: Path, layout: str) -> Path:
    """``path`` if it is a directory, else a ``FileNotFoundError`` naming it and the expected layout."""
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is not a directory; expected layout: {layout}")
    return path


def check_file(path: Path, layout: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; expected layout: {layout}")
    return path


class ClsBaseDataset(BaseDataset):
    """mmengine ``BaseDataset`` with class names and deterministic per-sample augmentation randomness.

    Subclasses implement :meth:`load_data_list` (one ``dict(gt_label=..., ...)`` per sample) and set
    ``CLASSES`` or pass ``metainfo=dict(classes=...)``.
    """

    CLASSES: Sequence[str] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.seed, self.epoch = 0, 0
        super().__init__(*args, **kwargs)

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
        classes = len(self.classes)
        if classes and len(labels) and (labels.min() < 0 or labels.max() >= classes):
            raise ValueError(f"{type(self).__name__}: labels outside 0..{classes - 1} in {self.data_root}")
        self.images = images
        return [dict(gt_label=int(label), array_idx=i) for i, label in enumerate(labels)]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info["img"] = self.images[info["array_idx"]]
        return info
