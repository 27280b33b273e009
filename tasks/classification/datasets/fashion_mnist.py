"""Fashion-MNIST from the original idx files (gzipped or not).

Layout::

    <data_root>/{train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte}[.gz]

``data_root=None`` looks in ``$DATA_ROOT/fashion-mnist`` and then in ``/usr/share/datasets/fashion-mnist``, where
Debian's package puts the complete set (``apt-get install -y dataset-fashion-mnist``).
"""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import Any, List, Optional, Tuple

import numpy as np

from tasks.registry import DATASETS

from .base import ArrayClsDataset, check_root

__all__ = ["FashionMNIST", "read_idx", "find_fashion_mnist", "DEBIAN_DIR", "APT_COMMAND"]

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
APT_COMMAND = "apt-get install -y dataset-fashion-mnist"
_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_LAYOUT = ("<data_root>/{train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
           "t10k-labels-idx1-ubyte}[.gz] (the original idx files)")
_MAGIC = {3: 0x00000803, 1: 0x00000801}  # unsigned byte data, 3 dims (images) or 1 dim (labels)
_REFETCH = f"re-download it (or `{APT_COMMAND}`)"


def read_idx(path: Path, dims: int) -> np.ndarray:
    """Read an idx file of unsigned bytes with ``dims`` dimensions (big-endian header, as LeCun's format)."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"{path} cannot be read as {'gzip' if opener is gzip.open else 'raw'} data: {err}; "
                         f"{_REFETCH}") from None
    header = 4 + 4 * dims
    if len(data) < header:
        raise ValueError(f"{path} is {len(data)} bytes, shorter than an idx header ({header} bytes); {_REFETCH}")
    magic = int.from_bytes(data[:4], "big")
    if magic != _MAGIC[dims]:
        raise ValueError(f"{path} has magic number {magic:#010x}; an idx{dims}-ubyte file starts with "
                         f"{_MAGIC[dims]:#010x}: is it another file of the set, renamed? {_REFETCH}")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    count = int(np.prod(shape))
    if len(data) - header != count:
        raise ValueError(f"{path} header says {shape} = {count} bytes of data but the file holds "
                         f"{len(data) - header} (truncated or corrupt); {_REFETCH}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _candidates() -> List[Path]:
    roots = []
    if os.environ.get("DATA_ROOT"):
        roots.append(Path(os.environ["DATA_ROOT"]) / "fashion-mnist")
    roots.append(DEBIAN_DIR)
    return roots


def _file(root: Path, name: str) -> Optional[Path]:
    for path in (root / name, root / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def _missing(root: Path) -> List[str]:
    return [name for pair in _FILES.values() for name in pair if _file(root, name) is None]


def find_fashion_mnist(data_root: Optional[str] = None) -> Path:
    """The folder holding the four idx files: ``data_root`` if given, else the first default that has them."""
    roots = [Path(check_root(data_root, "FashionMNIST"))] if data_root else _candidates()
    for root in roots:
        if not _missing(root):
            return root
    if data_root and Path(data_root).is_dir():
        raise FileNotFoundError(f"{data_root} lacks the Fashion-MNIST files {_missing(Path(data_root))} (each may "
                                f"end in .gz); expected layout: {_LAYOUT}")
    tried = ", ".join(str(r) for r in roots)
    raise FileNotFoundError(f"Fashion-MNIST not found in {tried}; expected layout: {_LAYOUT}. Install the complete "
                            f"dataset with `{APT_COMMAND}` (files go to {DEBIAN_DIR}) or set DATA_ROOT so that "
                            f"$DATA_ROOT/fashion-mnist holds them")


@DATASETS.register_module()
class FashionMNIST(ArrayClsDataset):
    """Fashion-MNIST (Xiao et al. 2017): 60k train / 10k test grey 28x28 images, 10 classes -> ``[N, 28, 28, 1]``."""

    CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")

    def __init__(self, data_root: Optional[str] = None, split: str = "train", **kwargs: Any) -> None:
        if split not in _FILES:
            raise ValueError(f"FashionMNIST split must be 'train' or 'test', got {split!r}")
        self.split = split
        super().__init__(data_root=str(find_fashion_mnist(data_root)), **kwargs)

    def load_arrays(self) -> Tuple[np.ndarray, np.ndarray]:
        root = Path(self.data_root)
        image_name, label_name = _FILES[self.split]
        image_path, label_path = _file(root, image_name), _file(root, label_name)
        images, labels = read_idx(image_path, 3), read_idx(label_path, 1)
        if images.shape[1:] != (28, 28):
            raise ValueError(f"{image_path} holds {images.shape[1]} x {images.shape[2]} images, Fashion-MNIST's are "
                             f"28 x 28; is it another dataset? {_REFETCH}")
        if len(images) != len(labels):
            raise ValueError(f"{root}: {len(images)} {self.split} images but {len(labels)} labels; {_REFETCH}")
        return np.ascontiguousarray(images[..., None]), labels.astype(np.int64)
