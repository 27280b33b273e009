"""Classification datasets on small files in the exact on-disk formats, and on real images and recordings."""
from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest

import tasks.classification  # noqa: F401  (registers everything)
from tasks.classification.datasets import CIFAR10, CIFAR100, CIFAR10DVS, DVS128Gesture, FashionMNIST, ImageFolder
from tasks.classification.datasets import events as events_module
from tasks.classification.datasets.fashion_mnist import read_idx
from tasks.registry import DATASETS

from test_cls_helpers import (FMNIST_DEBIAN, ROOT, real_cifar, write_cifar, write_cifar10dvs, write_dvs_gesture,
                              write_fmnist, write_idx, write_imagenet)


# --------------------------------------------------------------------------------------------------------------
# CIFAR
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,cls", [("cifar10", CIFAR10), ("cifar100", CIFAR100)])
def test_cifar_real_test_images_keep_their_labels(tmp_path, kind, cls):
    images, labels = real_cifar(kind)
    write_cifar(tmp_path, kind, train=(images[::-1], labels[::-1]), test=(images, labels))
    test = cls(data_root=str(tmp_path), split="test")
    assert len(test) == len(images) == 20
    for i in range(len(test)):
        info = test.get_data_info(i)
        assert info["gt_label"] == labels[i], "loader label differs from the label in the file name"
        np.testing.assert_array_equal(info["img"], images[i])  # planes -> HWC RGB exactly
    train = cls(data_root=str(tmp_path), split="train")
    assert train.get_labels().tolist() == labels[::-1].tolist()
    assert len(test.classes) == (10 if kind == "cifar10" else 100)
    assert test.classes[0] == ("airplane" if kind == "cifar10" else "class0")


def test_cifar_missing_and_malformed_files_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cifar-10-batches-py.*expected layout"):
        CIFAR10(data_root=str(tmp_path), split="test")
    images, labels = real_cifar("cifar10")
    folder = write_cifar(tmp_path, "cifar10", (images, labels), (images, labels))
    (folder / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3"):
        CIFAR10(data_root=str(tmp_path), split="train")
    (folder / "test_batch").write_bytes(b"not a pickle at all")
    with pytest.raises(ValueError, match="test_batch"):
        CIFAR10(data_root=str(tmp_path), split="test")
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f, protocol=2)
    with pytest.raises(ValueError, match=r"uint8 \[N, 3072\]"):
        CIFAR10(data_root=str(tmp_path), split="test")


def test_cifar_unpickler_refuses_code(tmp_path):
    images, labels = real_cifar("cifar10")
    folder = write_cifar(tmp_path, "cifar10", (images, labels), (images, labels))

    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": []}, f, protocol=2)
    with pytest.raises(ValueError, match=r"builtin_?_?\.print"):
        CIFAR10(data_root=str(tmp_path), split="test")


# --------------------------------------------------------------------------------------------------------------
# Fashion-MNIST
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_idx_files(tmp_path, gz):
    write_fmnist(tmp_path, train=40, test=24, gz=gz)
    train = FashionMNIST(data_root=str(tmp_path), split="train")
    test = FashionMNIST(data_root=str(tmp_path), split="test")
    assert (len(train), len(test)) == (40, 24)
    info = train.get_data_info(3)
    assert info["img"].shape == (28, 28, 1) and info["img"].dtype == np.uint8
    suffix = ".gz" if gz else ""
    raw = read_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", 3)
    np.testing.assert_array_equal(info["img"][..., 0], raw[3])
    assert train.classes[9] == "Ankle boot"


def test_fashion_mnist_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_ROOT", str(tmp_path / "nowhere"))
    monkeypatch.setattr("tasks.classification.datasets.fashion_mnist.DEBIAN_DIR", tmp_path / "no-debian")
    with pytest.raises(FileNotFoundError, match=r"apt-get install -y dataset-fashion-mnist.*|expected layout"):
        FashionMNIST(split="test")
    write_fmnist(tmp_path / "fm", train=8, test=8)
    monkeypatch.setenv("DATA_ROOT", str(tmp_path))  # $DATA_ROOT/fashion-mnist is looked up first
    (tmp_path / "fm").rename(tmp_path / "fashion-mnist")
    assert len(FashionMNIST(split="test")) == 8
    bad = write_idx(tmp_path / "bad-idx", np.zeros((4, 28, 28), np.uint8), gz=False)
    data = bytearray(bad.read_bytes())
    data[3] = 0x01
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"bad-idx has magic number"):
        read_idx(bad, 3)
    truncated = write_idx(tmp_path / "short-idx", np.zeros((4, 28, 28), np.uint8), gz=False)
    truncated.write_bytes(truncated.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_idx(truncated, 3)
    with gzip.open(tmp_path / "labels.gz", "wb") as f:
        f.write(b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02")
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "labels.gz", 1)


@pytest.mark.skipif(not FMNIST_DEBIAN.is_dir(), reason="apt-get install -y dataset-fashion-mnist")
def test_fashion_mnist_real_files():
    test = FashionMNIST(split="test", indices=100)
    labels = test.get_labels()
    assert len(test) == 100 and set(labels.tolist()) <= set(range(10)) and len(set(labels.tolist())) > 5
    assert labels[:3].tolist() == [9, 2, 1]  # the first test images: ankle boot, pullover, trouser
    img = test.get_data_info(0)["img"]
    assert img.shape == (28, 28, 1) and 0 < img.mean() < 255


# --------------------------------------------------------------------------------------------------------------
# ImageNet folder layout
# --------------------------------------------------------------------------------------------------------------
def test_image_folder_real_imagenet_images(tmp_path):
    index = write_imagenet(tmp_path)
    pipeline = [dict(type="mmcv.LoadImageFromFile"),
                dict(type="mmcv.Resize", scale=(224, 1 << 16), keep_ratio=True, interpolation="bicubic"),
                dict(type="mmcv.CenterCrop", crop_size=224), dict(type="PackClsInputs")]
    val = DATASETS.build(dict(type="ImageFolder", data_root=str(tmp_path), split="val", pipeline=pipeline))
    assert len(val) == 20 and val.classes == tuple(sorted(index))
    for i in (0, 7, 19):
        info = val.get_data_info(i)
        assert info["gt_label"] == index[Path(info["img_path"]).parent.name]
        item = val[i]
        assert item["inputs"].shape == (3, 224, 224) and item["data_samples"]["gt_label"] == info["gt_label"]


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train is not a directory; expected layout"):
        ImageFolder(data_root=str(tmp_path), split="train")
    (tmp_path / "train" / "n01").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no images"):
        ImageFolder(data_root=str(tmp_path), split="train")


# --------------------------------------------------------------------------------------------------------------
# Deterministic per-sample augmentation
# --------------------------------------------------------------------------------------------------------------
def test_augmentation_depends_only_on_seed_epoch_index(tmp_path):
    images, labels = real_cifar("cifar10")
    write_cifar(tmp_path, "cifar10", (images, labels), (images, labels))
    pipeline = [dict(type="RandomCrop", size=32, padding=4), dict(type="mmcv.RandomFlip", prob=0.5),
                dict(type="RandAugment", num_ops=2, magnitude=9, magnitude_std=0.5), dict(type="PackClsInputs")]
    a = CIFAR10(data_root=str(tmp_path), split="test", pipeline=pipeline)
    b = CIFAR10(data_root=str(tmp_path), split="test", pipeline=pipeline)
    a.set_epoch(3, seed=7)
    b.set_epoch(3, seed=7)
    np.random.seed(123)  # the global state must not matter ...
    first = [a[i]["inputs"] for i in range(6)]
    np.random.seed(456)
    second = [b[i]["inputs"] for i in reversed(range(6))][::-1]
    assert all((x == y).all() for x, y in zip(first, second))
    state = np.random.get_state()[1].copy()
    a[0]
    assert (np.random.get_state()[1] == state).all()  # ... and is restored afterwards
    b.set_epoch(4, seed=7)
    assert any((x != b[i]["inputs"]).any() for i, x in enumerate(first))


# --------------------------------------------------------------------------------------------------------------
# Event datasets through tonic
# --------------------------------------------------------------------------------------------------------------
def test_dvs128_gesture_frames_and_cache(tmp_path, monkeypatch):
    written = write_dvs_gesture(tmp_path, {"train": ["user01_fluorescent", "user02_led"], "test": ["user24_natural"]})
    train = DVS128Gesture(data_root=str(tmp_path), split="train", time_steps=4, size=48)
    test = DVS128Gesture(data_root=str(tmp_path), split="test", time_steps=4, size=48)
    assert (len(train), len(test)) == (6, 3)
    assert sorted(train.get_labels().tolist()) == [0, 0, 3, 3, 10, 10]
    info = train.get_data_info(0)
    frames = info["img"]
    assert frames.shape == (4, 2, 48, 48)
    source = np.load(tmp_path / info["event_path"])
    assert int(frames.sum()) == len(source) - len(source) % 4  # event-count bins drop the remainder only
    assert (frames.reshape(4, -1).sum(1) == len(source) // 4).all()  # equal event counts per frame
    first = source[: len(source) // 4]  # the first bin, mapped from 128 to 48 pixels
    expected = np.zeros((2, 48, 48), np.int64)
    np.add.at(expected, (first[:, 2], first[:, 1] * 48 // 128, first[:, 0] * 48 // 128), 1)
    np.testing.assert_array_equal(frames[0], expected)
    # the second access reads the cache, never the events
    monkeypatch.setattr(events_module, "bin_events", lambda *a, **k: pytest.fail("re-binned a cached sample"))
    np.testing.assert_array_equal(train.get_data_info(0)["img"], frames)
    assert len(list((tmp_path / "frames_cache" / "DVSGesture_T4_48px_event_count").glob("*.npy"))) == 1
    assert written


def test_cifar10dvs_aedat4_split_and_labels(tmp_path):
    files = write_cifar10dvs(tmp_path, classes=("airplane", "cat"), per_class=10)
    train = CIFAR10DVS(data_root=str(tmp_path), split="train", time_steps=5, size=48, cache_dir=False)
    test = CIFAR10DVS(data_root=str(tmp_path), split="test", time_steps=5, size=48, cache_dir=False)
    assert (len(train), len(test)) == (18, 2)  # 90% of each class for training, as in the paper's E.2
    assert sorted(test.get_labels().tolist()) == [0, 3]
    last = sorted(files["cat"])[-1]
    assert any(test.get_data_info(i)["event_path"].endswith(last.name) for i in range(2))
    frames = test.get_data_info(0)["img"]
    assert frames.shape == (5, 2, 48, 48) and int(frames.sum()) == 300


def test_event_datasets_missing_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"DVSGesture.*expected layout"):
        DVS128Gesture(data_root=str(tmp_path), split="train")
    with pytest.raises(FileNotFoundError, match=r"CIFAR10DVS.*expected layout"):
        CIFAR10DVS(data_root=str(tmp_path), split="train")
    (tmp_path / "CIFAR10DVS" / "cat").mkdir(parents=True)
    (tmp_path / "CIFAR10DVS" / "cat" / "broken.aedat4").write_bytes(b"#!AER-DAT4.0\r\n garbage")
    broken = CIFAR10DVS(data_root=str(tmp_path), split="train", cache_dir=False)
    with pytest.raises(ValueError, match="broken.aedat4"):
        broken.get_data_info(0)


def test_binning_a_real_recording():
    """A real DAVIS346 recording (AEDAT 4, 346 x 260): event-count frames hold every event once."""
    from tonic.io import read_aedat4

    path = ROOT.parent / "shared" / "data" / "events" / "davis346.aedat4"
    if not path.is_file():
        path = Path("/work/shared/data/events/davis346.aedat4")
    events = read_aedat4(str(path))
    events.dtype.names = ["t", "x", "y", "p"]
    frames = events_module.bin_events(events, (346, 260, 2), time_steps=8, size=48)
    assert frames.shape == (8, 2, 48, 48)
    assert int(frames.sum()) == len(events) - len(events) % 8 and len(events) > 10000
    assert (frames.reshape(8, -1).sum(1) == len(events) // 8).all()
    assert frames[:, 1].sum() > 0 and frames[:, 0].sum() > 0  # both polarities present
    with pytest.raises(ValueError, match="exceed the 128 x 128 sensor"):
        events_module.bin_events(events, (128, 128, 2), time_steps=8, size=48)


def test_event_dataset_pickles_for_spawned_workers(tmp_path):
    import pickle as pkl

    write_dvs_gesture(tmp_path, {"train": ["user01_fluorescent"]})
    dataset = DVS128Gesture(data_root=str(tmp_path), split="train", time_steps=2, size=16, cache_dir=False)
    clone = pkl.loads(pkl.dumps(dataset))
    np.testing.assert_array_equal(clone.get_data_info(1)["img"], dataset.get_data_info(1)["img"])
