"""Writers of small classification datasets in the exact on-disk formats of the real ones (used by test_cls_*).

Image content is real wherever the repository has it: the CIFAR-10/100 and ImageNet test images shipped in
data/samples (label in the file name). Event recordings are written with the field layouts tonic reads.
"""
from __future__ import annotations

import gzip
import pickle
import re
import struct
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
FMNIST_DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def sample_files(kind: str) -> List[Tuple[Path, int]]:
    """``(path, label)`` of the real sample images of ``kind`` (cifar10, cifar100, imagenet), sorted."""
    files = sorted((SAMPLES / kind).glob(f"{kind}_*_*.*"))
    assert files, f"no sample images in {SAMPLES / kind}"
    return [(p, int(re.match(rf"{kind}_\d+_(\d+)\.", p.name).group(1))) for p in files]


def real_cifar(kind: str) -> Tuple[np.ndarray, np.ndarray]:
    """The real CIFAR test images of ``kind`` as uint8 ``[N, 32, 32, 3]`` and their labels."""
    pairs = sample_files(kind)
    images = np.stack([np.asarray(Image.open(p).convert("RGB"), dtype=np.uint8) for p, _ in pairs])
    return images, np.array([label for _, label in pairs], dtype=np.int64)


def _dump(path: Path, obj: Dict[bytes, object]) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)  # the official files are Python 2 cPickle dumps with bytes keys


def write_cifar(root: Path, kind: str, train: Tuple[np.ndarray, np.ndarray],
                test: Tuple[np.ndarray, np.ndarray]) -> Path:
    """Write ``root/cifar-10-batches-py`` or ``root/cifar-100-python`` with the given images ``[N, 32, 32, 3]``."""
    def rows(images: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(images), 3072))

    if kind == "cifar10":
        folder = root / "cifar-10-batches-py"
        folder.mkdir(parents=True, exist_ok=True)
        for i, part in enumerate(np.array_split(np.arange(len(train[0])), 5), start=1):
            _dump(folder / f"data_batch_{i}", {b"batch_label": f"training batch {i} of 5".encode(),
                                               b"labels": [int(v) for v in train[1][part]],
                                               b"data": rows(train[0][part]), b"filenames": []})
        _dump(folder / "test_batch", {b"batch_label": b"testing batch 1 of 1", b"labels": [int(v) for v in test[1]],
                                      b"data": rows(test[0]), b"filenames": []})
        names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
        _dump(folder / "batches.meta", {b"num_cases_per_batch": 10000, b"label_names": names, b"num_vis": 3072})
    else:
        folder = root / "cifar-100-python"
        folder.mkdir(parents=True, exist_ok=True)
        for name, (images, labels) in (("train", train), ("test", test)):
            _dump(folder / name, {b"filenames": [], b"batch_label": name.encode(),
                                  b"fine_labels": [int(v) for v in labels],
                                  b"coarse_labels": [int(v) // 5 for v in labels], b"data": rows(images)})
        _dump(folder / "meta", {b"fine_label_names": [f"class{i}".encode() for i in range(100)],
                                b"coarse_label_names": [f"super{i}".encode() for i in range(20)]})
    return folder


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> Path:
    """LeCun's idx format: magic 0x00000800 | ndim (unsigned bytes), big-endian dims, then the bytes."""
    header = struct.pack(">I", 0x800 | array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def fmnist_like_images(count: int, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """``count`` real grey 28 x 28 images: the CIFAR-10 samples in grey, resized, with random flips/shifts."""
    images, labels = real_cifar("cifar10")
    grey = np.stack([np.asarray(Image.fromarray(img).convert("L").resize((28, 28), Image.BILINEAR)) for img in images])
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(grey), count)
    out = grey[pick].copy()
    for i in range(count):
        out[i] = np.roll(out[i], rng.integers(-3, 4, size=2), axis=(0, 1))
    return out, labels[pick]


def write_fmnist(root: Path, train: int = 64, test: int = 32, gz: bool = True) -> Path:
    """The four Fashion-MNIST idx files in ``root`` (real images; see :func:`fmnist_like_images`)."""
    root.mkdir(parents=True, exist_ok=True)
    for prefix, count, seed in (("train", train, 0), ("t10k", test, 1)):
        images, labels = fmnist_like_images(count, seed)
        write_idx(root / f"{prefix}-images-idx3-ubyte", images, gz)
        write_idx(root / f"{prefix}-labels-idx1-ubyte", labels.astype(np.uint8), gz)
    return root


def write_imagenet(root: Path, splits: Sequence[str] = ("train", "val")) -> Dict[str, int]:
    """``root/<split>/n<label>/<name>.JPEG`` from the real ImageNet samples; returns wnid -> class index."""
    pairs = sample_files("imagenet")
    wnids = {label: f"n{label:08d}" for _, label in pairs}
    for split in splits:
        for path, label in pairs:
            folder = root / split / wnids[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.open(path).convert("RGB").save(folder / f"{split}_{path.stem}.JPEG", quality=95)
    ordered = sorted(wnids.values())
    return {w: ordered.index(w) for w in ordered}


def gesture_events(count: int, seed: int, ms: bool = True) -> np.ndarray:
    """Events ``[N, 4]`` = x, y, p, t (milliseconds, as tonic's preprocessed DVS128 Gesture files)."""
    rng = np.random.default_rng(seed)
    events = np.zeros((count, 4), dtype=np.int64)
    events[:, 0] = rng.integers(0, 128, count)
    events[:, 1] = rng.integers(0, 128, count)
    events[:, 2] = rng.integers(0, 2, count)
    events[:, 3] = np.sort(rng.integers(0, 6000, count))
    return events


def write_dvs_gesture(root: Path, users: Dict[str, Sequence[str]], labels: Sequence[int] = (0, 3, 10),
                      events: int = 400) -> List[Tuple[Path, int]]:
    """``root/DVSGesture/ibmGesture{Train,Test}/user<NN>_<lighting>/<label>.npy``; ``users`` maps split -> folders."""
    written = []
    for split, folders in users.items():
        for j, folder in enumerate(folders):
            path = root / "DVSGesture" / ("ibmGestureTrain" if split == "train" else "ibmGestureTest") / folder
            path.mkdir(parents=True, exist_ok=True)
            for label in labels:
                np.save(path / f"{label}.npy", gesture_events(events, seed=100 * j + label))
                written.append((path / f"{label}.npy", label))
    return written


def write_cifar10dvs(root: Path, classes: Sequence[str] = ("airplane", "cat"), per_class: int = 10,
                     events: int = 300) -> Dict[str, List[Path]]:
    """``root/CIFAR10DVS/<class>/cifar10_<class>_<i>.aedat4``, AEDAT 4 files written by faery (128 x 128 sensor)."""
    import faery

    written: Dict[str, List[Path]] = {}
    for c, name in enumerate(classes):
        folder = root / "CIFAR10DVS" / name
        folder.mkdir(parents=True, exist_ok=True)
        written[name] = []
        for i in range(per_class):
            rng = np.random.default_rng(1000 * c + i)
            ev = np.zeros(events, dtype=faery.EVENTS_DTYPE)
            ev["t"] = np.sort(rng.integers(0, 1_000_000, events))
            ev["x"], ev["y"] = rng.integers(0, 128, events), rng.integers(0, 128, events)
            ev["on"] = rng.random(events) < 0.5
            path = folder / f"cifar10_{name}_{i}.aedat4"
            faery.events_stream_from_array(ev, dimensions=(128, 128)).to_file(str(path))
            written[name].append(path)
    return written
