"""CIFAR-10 and CIFAR-100 from the official python pickle batches.

Layout (as unpacked from ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz``)::

    <data_root>/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}
    <data_root>/cifar-100-python/{train, test, meta}

Each batch is a pickled dict with ``b'data'`` (uint8 ``[N, 3072]``: the red, green and blue 32x32 planes) and
``b'labels'`` (CIFAR-10) or ``b'fine_labels'`` (CIFAR-100). The unpickler accepts only the numpy classes these
files contain, so a tampered file cannot run code.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

from tasks.registry import DATASETS

from .base import ArrayClsDataset, check_dir, check_file, check_labels, check_root

__all__ = ["CIFAR10", "CIFAR100", "read_cifar_batch"]

_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"CIFAR batch refers to {module}.{name}, which a CIFAR file never holds")
        return super().find_class(module, name)


_GZIP_MAGIC = b"\x1f\x8b"
_REFETCH = "re-extract it from the official archive (cifar-10-python.tar.gz / cifar-100-python.tar.gz)"


def read_cifar_batch(path: Path) -> Dict[str, Any]:
    """Unpickle one CIFAR batch file into a dict with ``str`` keys."""
    with open(path, "rb") as f:
        if f.read(2) == _GZIP_MAGIC:
            raise ValueError(f"{path} is gzip-compressed, not a CIFAR python batch; unpack the archive with "
                             f"`tar xzf` and point data_root at the folder that holds the unpacked batches")
        f.seek(0)
        try:
            raw = _NumpyOnlyUnpickler(f, encoding="bytes").load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as err:
            raise ValueError(f"{path} is not a CIFAR python batch (pickled dict): {err}; {_REFETCH}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path} is not a CIFAR python batch: it holds a {type(raw).__name__}, not a dict; "
                         f"{_REFETCH}")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in raw.items()}


def _names(values: List[Any]) -> Tuple[str, ...]:
    return tuple(v.decode() if isinstance(v, bytes) else str(v) for v in values)


class _CIFAR(ArrayClsDataset):
    """Shared reader: ``split`` is ``'train'`` or ``'test'``; images come out as ``[N, 32, 32, 3]`` RGB uint8."""

    FOLDER = ""
    ARCHIVE = ""
    NUM_CLASSES = 0
    TRAIN: Tuple[str, ...] = ()
    TEST: Tuple[str, ...] = ()
    META = ""
    LABEL_KEY = ""
    NAMES_KEY = ""

    def __init__(self, data_root: str, split: str = "train", **kwargs: Any) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"{type(self).__name__} split must be 'train' or 'test', got {split!r}")
        self.split = split
        super().__init__(data_root=check_root(data_root, type(self).__name__), **kwargs)

    @classmethod
    def layout(cls) -> str:
        return f"<data_root>/{cls.FOLDER}/{{{', '.join(cls.TRAIN + cls.TEST + (cls.META,))}}} (official python batches)"

    def _folder(self) -> Path:
        """``<data_root>/FOLDER``; a missing one with the archive beside it says to unpack the archive."""
        folder = Path(self.data_root) / self.FOLDER
        archive = Path(self.data_root) / self.ARCHIVE
        if not folder.is_dir() and archive.is_file():
            raise FileNotFoundError(f"{folder} is not a directory but {archive} is there; unpack it with "
                                    f"`tar xzf {archive} -C {self.data_root}`")
        return check_dir(folder, self.layout())

    def _class_names(self, folder: Path) -> Tuple[str, ...]:
        path = check_file(folder / self.META, self.layout())
        meta = read_cifar_batch(path)
        if self.NAMES_KEY not in meta:
            raise ValueError(f"{path} has no {self.NAMES_KEY!r} entry (keys: {sorted(meta)}); is it the meta file of "
                             f"another dataset? {_REFETCH}")
        names = _names(meta[self.NAMES_KEY])
        if len(names) != self.NUM_CLASSES:
            raise ValueError(f"{path} lists {len(names)} class names, {type(self).__name__} has {self.NUM_CLASSES}; "
                             f"{_REFETCH}")
        return names

    def _read_batch(self, path: Path) -> Tuple[np.ndarray, np.ndarray]:
        """One batch file -> images ``[N, 32, 32, 3]`` uint8 and labels ``[N]`` int64."""
        batch = read_cifar_batch(path)
        if "data" not in batch or self.LABEL_KEY not in batch:
            raise ValueError(f"{path} lacks 'data' or {self.LABEL_KEY!r}: keys are {sorted(batch)}; is it a batch of "
                             f"another dataset? {_REFETCH}")
        data = np.asarray(batch["data"])
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
            raise ValueError(f"{path}: 'data' must be uint8 [N, 3072], got {data.dtype} {data.shape}; {_REFETCH}")
        labels = check_labels(batch[self.LABEL_KEY], self.NUM_CLASSES, str(path))
        if len(labels) != len(data):
            raise ValueError(f"{path}: {len(data)} images but {len(labels)} labels; {_REFETCH}")
        return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels

    def load_arrays(self) -> Tuple[np.ndarray, np.ndarray]:
        folder = self._folder()
        self._metainfo["classes"] = self._class_names(folder)
        batches = [self._read_batch(check_file(folder / name, self.layout()))
                   for name in (self.TRAIN if self.split == "train" else self.TEST)]
        return (np.ascontiguousarray(np.concatenate([images for images, _ in batches])),
                np.concatenate([labels for _, labels in batches]))


@DATASETS.register_module()
class CIFAR10(_CIFAR):
    FOLDER = "cifar-10-batches-py"
    ARCHIVE = "cifar-10-python.tar.gz"
    NUM_CLASSES = 10
    TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
    TEST = ("test_batch",)
    META = "batches.meta"
    LABEL_KEY = "labels"
    NAMES_KEY = "label_names"


@DATASETS.register_module()
class CIFAR100(_CIFAR):
    FOLDER = "cifar-100-python"
    ARCHIVE = "cifar-100-python.tar.gz"
    NUM_CLASSES = 100
    TRAIN = ("train",)
    TEST = ("test",)
    META = "meta"
    LABEL_KEY = "fine_labels"
    NAMES_KEY = "fine_label_names"
