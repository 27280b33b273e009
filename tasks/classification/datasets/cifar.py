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
from mmengine.registry import DATASETS

from .base import ArrayClsDataset, check_dir, check_file

__all__ = ["CIFAR10", "CIFAR100", "read_cifar_batch"]

_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"CIFAR batch refers to {module}.{name}, which a CIFAR file never holds")
        return super().find_class(module, name)


def read_cifar_batch(path: Path) -> Dict[str, Any]:
    """Unpickle one CIFAR batch file into a dict with ``str`` keys."""
    try:
        with open(path, "rb") as f:
            raw = _NumpyOnlyUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as err:
        raise ValueError(f"{path} is not a CIFAR python batch (pickled dict): {err}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path} is not a CIFAR python batch: it holds a {type(raw).__name__}, not a dict")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in raw.items()}


def _names(values: List[Any]) -> Tuple[str, ...]:
    return tuple(v.decode() if isinstance(v, bytes) else str(v) for v in values)


class _CIFAR(ArrayClsDataset):
    """Shared reader: ``split`` is ``'train'`` or ``'test'``; images come out as ``[N, 32, 32, 3]`` RGB uint8."""

    FOLDER = ""
    TRAIN: Tuple[str, ...] = ()
    TEST: Tuple[str, ...] = ()
    META = ""
    LABEL_KEY = ""
    NAMES_KEY = ""

    def __init__(self, data_root: str, split: str = "train", **kwargs: Any) -> None:
        if split not in ("train", "test"):
            raise ValueError(f"{type(self).__name__} split must be 'train' or 'test', got {split!r}")
        self.split = split
        super().__init__(data_root=data_root, **kwargs)

    @classmethod
    def layout(cls) -> str:
        return f"<data_root>/{cls.FOLDER}/{{{', '.join(cls.TRAIN + cls.TEST + (cls.META,))}}} (official python batches)"

    def load_arrays(self) -> Tuple[np.ndarray, np.ndarray]:
        folder = check_dir(Path(self.data_root) / self.FOLDER, self.layout())
        meta = read_cifar_batch(check_file(folder / self.META, self.layout()))
        if self.NAMES_KEY not in meta:
            raise ValueError(f"{folder / self.META} has no {self.NAMES_KEY!r} entry")
        self._metainfo["classes"] = _names(meta[self.NAMES_KEY])
        images, labels = [], []
        for name in self.TRAIN if self.split == "train" else self.TEST:
            path = check_file(folder / name, self.layout())
            batch = read_cifar_batch(path)
            if "data" not in batch or self.LABEL_KEY not in batch:
                raise ValueError(f"{path} lacks 'data' or {self.LABEL_KEY!r}: keys are {sorted(batch)}")
            data = np.asarray(batch["data"])
            if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
                raise ValueError(f"{path}: 'data' must be uint8 [N, 3072], got {data.dtype} {data.shape}")
            if len(batch[self.LABEL_KEY]) != len(data):
                raise ValueError(f"{path}: {len(data)} images but {len(batch[self.LABEL_KEY])} labels")
            images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            labels.append(np.asarray(batch[self.LABEL_KEY], dtype=np.int64))
        return np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels)


@DATASETS.register_module()
class CIFAR10(_CIFAR):
    FOLDER = "cifar-10-batches-py"
    TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
    TEST = ("test_batch",)
    META = "batches.meta"
    LABEL_KEY = "labels"
    NAMES_KEY = "label_names"


@DATASETS.register_module()
class CIFAR100(_CIFAR):
    FOLDER = "cifar-100-python"
    TRAIN = ("train",)
    TEST = ("test",)
    META = "meta"
    LABEL_KEY = "fine_labels"
    NAMES_KEY = "fine_label_names"
