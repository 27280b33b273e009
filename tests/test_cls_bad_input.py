"""Bad input to the classification datasets, transforms, metric and model gets one clear one-line error that
names the problem and what to do, raised by the task's own code (never deep inside numpy / pickle / tonic / PIL /
torch), and never a silent wrong answer or a half-written file. Files are written in the exact on-disk formats
(tests/test_cls_helpers.py) and then broken the way real downloads break."""
from __future__ import annotations

import gzip
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import tasks.classification  # noqa: F401  (registers everything)
from tasks.classification.batch_augment import MixupCutmix
from tasks.classification.datasets import CIFAR10, CIFAR10DVS, DVS128Gesture, FashionMNIST, ImageFolder, bin_events
from tasks.classification.datasets import events as events_module
from tasks.classification.transforms import (EventFrameAugment, PackClsInputs, RandAugment, RandomCrop,
                                             RandomErasing, RandomResizedCrop)
from tasks.registry import DATASETS, METRICS, MODELS

from test_cls_helpers import (ROOT, gesture_events, real_cifar, write_cifar, write_cifar10dvs, write_dvs_gesture,
                              write_fmnist, write_idx, write_imagenet)

EVENTS = next((p for p in (ROOT.parent / "shared" / "data" / "events", Path("/work/shared/data/events"))
               if p.is_dir()), None)


def raises(error, match, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` raises ``error`` matching ``match``, on one line, from tasks/classification."""
    with pytest.raises(error, match=match) as info:
        fn(*args, **kwargs)
    assert "\n" not in str(info.value), f"a multi-line message: {info.value}"
    assert "tasks/classification" in str(info.traceback[-1].path), f"raised deep inside {info.traceback[-1].path}"
    return info.value


# --------------------------------------------------------------------------------------------------------------
# Fashion-MNIST idx files
# --------------------------------------------------------------------------------------------------------------
@pytest.fixture()
def fmnist(tmp_path):
    return write_fmnist(tmp_path / "fm", train=8, test=8, gz=False)


def test_fmnist_empty_truncated_and_swapped_files(fmnist):
    images = fmnist / "t10k-images-idx3-ubyte"
    good = images.read_bytes()
    images.write_bytes(b"")
    raises(ValueError, r"t10k-images-idx3-ubyte is 0 bytes, shorter than an idx header.*re-download",
           FashionMNIST, data_root=str(fmnist), split="test")
    images.write_bytes(good[:-100])
    raises(ValueError, r"holds 6172 \(truncated or corrupt\); re-download", FashionMNIST, data_root=str(fmnist),
           split="test")
    images.write_bytes((fmnist / "t10k-labels-idx1-ubyte").read_bytes())
    raises(ValueError, r"magic number 0x00000801; an idx3-ubyte file starts with 0x00000803",
           FashionMNIST, data_root=str(fmnist), split="test")


def test_fmnist_truncated_gzip(tmp_path):
    root = write_fmnist(tmp_path / "fm", train=8, test=8, gz=True)
    path = root / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-30])
    raises(ValueError, r"t10k-images-idx3-ubyte.gz cannot be read as gzip data: .*re-download",
           FashionMNIST, data_root=str(root), split="test")


def test_fmnist_missing_file_is_named(fmnist):
    (fmnist / "t10k-labels-idx1-ubyte").unlink()
    raises(FileNotFoundError, r"lacks the Fashion-MNIST files \['t10k-labels-idx1-ubyte'\]",
           FashionMNIST, data_root=str(fmnist), split="test")


@pytest.mark.parametrize("images, labels, match", [
    (np.zeros((8, 32, 32), np.uint8), np.zeros(8, np.uint8), r"holds 32 x 32 images, Fashion-MNIST's are 28 x 28"),
    (np.zeros((8, 28, 28), np.uint8), np.full(8, 12, np.uint8), r"labels \[12\] are outside 0..9"),
    (np.zeros((8, 28, 28), np.uint8), np.zeros(5, np.uint8), r"8 test images but 5 labels"),
    (np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8), r"the test files in .* hold no images"),
])
def test_fmnist_wrong_content(fmnist, images, labels, match):
    write_idx(fmnist / "t10k-images-idx3-ubyte", images, gz=False)
    write_idx(fmnist / "t10k-labels-idx1-ubyte", labels, gz=False)
    raises(ValueError, match, FashionMNIST, data_root=str(fmnist), split="test")


# --------------------------------------------------------------------------------------------------------------
# CIFAR pickles
# --------------------------------------------------------------------------------------------------------------
@pytest.fixture()
def cifar(tmp_path):
    images, labels = real_cifar("cifar10")
    return write_cifar(tmp_path, "cifar10", (images, labels), (images, labels))


def _dump(path: Path, obj) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def test_cifar_empty_truncated_and_gzipped_batches(cifar):
    batch = cifar / "test_batch"
    good = batch.read_bytes()
    batch.write_bytes(b"")
    raises(ValueError, r"test_batch is not a CIFAR python batch \(pickled dict\): Ran out of input; re-extract",
           CIFAR10, data_root=str(cifar.parent), split="test")
    batch.write_bytes(good[: len(good) // 2])
    raises(ValueError, r"pickle data was truncated; re-extract", CIFAR10, data_root=str(cifar.parent), split="test")
    batch.write_bytes(gzip.compress(good))
    raises(ValueError, r"test_batch is gzip-compressed.*tar xzf", CIFAR10, data_root=str(cifar.parent), split="test")


def test_cifar_archive_not_unpacked(tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"\x1f\x8b")
    raises(FileNotFoundError, r"cifar-10-batches-py is not a directory but .*cifar-10-python.tar.gz is there; "
                              r"unpack it with `tar xzf", CIFAR10, data_root=str(tmp_path), split="test")


@pytest.mark.parametrize("labels, match", [
    ([0, 11], r"test_batch: labels \[11\] are outside 0..9"),
    ([0, -1], r"labels \[-1\] are outside 0..9"),
    ([0.5, 1.0], r"labels must be a list of integers, got float64"),  # was silently truncated to 0
    (["cat", "dog"], r"labels must be a list of integers, got <U3"),
    ([0, 1, 2], r"2 images but 3 labels"),
])
def test_cifar_bad_labels(cifar, labels, match):
    _dump(cifar / "test_batch", {b"data": np.zeros((2, 3072), np.uint8), b"labels": labels})
    raises(ValueError, match, CIFAR10, data_root=str(cifar.parent), split="test")


def test_cifar_meta_of_another_dataset(cifar):
    _dump(cifar / "batches.meta", {b"label_names": [b"cat", b"dog"]})
    raises(ValueError, r"batches.meta lists 2 class names, CIFAR10 has 10", CIFAR10, data_root=str(cifar.parent),
           split="test")


# --------------------------------------------------------------------------------------------------------------
# Config options of every dataset, through the registry as the runner builds them
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["CIFAR10", "CIFAR100", "ImageFolder", "DVS128Gesture", "CIFAR10DVS"])
def test_data_root_none_and_unknown_option(kind):
    raises(TypeError, rf"{kind}: data_root must be a folder path, got None; set data_root",
           DATASETS.build, dict(type=kind, data_root=None))
    raises(TypeError, rf"^{kind}: unknown options \['img_size'\]; known options: data_root, split, .*pipeline",
           DATASETS.build, dict(type=kind, data_root="somewhere", img_size=32))


def test_index_out_of_range(cifar):
    dataset = CIFAR10(data_root=str(cifar.parent), split="test")
    raises(IndexError, r"CIFAR10: sample 20 does not exist; the dataset has 20 samples", dataset.get_data_info, 20)


# --------------------------------------------------------------------------------------------------------------
# ImageNet-style folders
# --------------------------------------------------------------------------------------------------------------
def test_image_folder_unknown_class_and_duplicate_classes(tmp_path):
    write_imagenet(tmp_path, splits=("val",))
    (tmp_path / "val" / "extra").mkdir()
    classes = sorted(p.name for p in (tmp_path / "val").iterdir() if p.name != "extra")
    raises(ValueError, r"val has class folders \['extra'\] that are not in the class list.*metainfo=dict",
           ImageFolder, data_root=str(tmp_path), split="val", metainfo=dict(classes=classes))
    raises(ValueError, r"metainfo classes list \['extra'\] more than once", ImageFolder, data_root=str(tmp_path),
           split="val", metainfo=dict(classes=classes + ["extra", "extra"]))


def test_image_folder_split_lacking_a_class_keeps_train_labels(tmp_path):
    for split, folders in (("train", "abc"), ("val", "ac")):
        for name in folders:
            (tmp_path / split / name).mkdir(parents=True)
            Image.new("RGB", (8, 8)).save(tmp_path / split / name / "x.png")
    (tmp_path / "val" / ".ipynb_checkpoints").mkdir()  # hidden: no class
    val = ImageFolder(data_root=str(tmp_path), split="val")
    assert val.classes == ("a", "b", "c")
    assert val.get_labels().tolist() == [0, 2]  # c keeps train's index 2 (was silently 1)


def test_image_folder_corrupt_empty_and_vanished_images(tmp_path):
    folder = tmp_path / "val" / "n01"
    folder.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "a.JPEG")
    (folder / "b.JPEG").write_bytes(b"\xff\xd8\xff not a jpeg")
    (folder / "c.JPEG").write_bytes(b"")
    pipeline = [dict(type="mmcv.LoadImageFromFile"), dict(type="PackClsInputs")]
    dataset = DATASETS.build(dict(type="ImageFolder", data_root=str(tmp_path), split="val", pipeline=pipeline))
    raises(ValueError, r"b.JPEG: cannot load this image \(failed to load image.*\); replace or delete the file",
           dataset.__getitem__, 1)
    raises(ValueError, r"c.JPEG: cannot load this image \(the file is empty\)", dataset.__getitem__, 2)
    (folder / "a.JPEG").unlink()
    raises(FileNotFoundError, r"a.JPEG was removed after the dataset was indexed", dataset.__getitem__, 0)


def test_pipeline_that_does_not_fit_the_data_fails_when_built(cifar):
    """A dry run on sample 0 in the main process: not later in a DataLoader worker, whose error torch wraps in a
    multi-line traceback."""
    pipeline = [dict(type="RandomCrop", size=40), dict(type="PackClsInputs")]
    raises(ValueError, r"RandomCrop\(40\) on a 32x32 image \(after padding 0\); .*lower size or raise padding",
           DATASETS.build, dict(type="CIFAR10", data_root=str(cifar.parent), split="test", pipeline=pipeline))


# --------------------------------------------------------------------------------------------------------------
# Event datasets: DVS128 Gesture .npy, CIFAR10-DVS .aedat4, bin_events
# --------------------------------------------------------------------------------------------------------------
@pytest.fixture()
def gesture(tmp_path):
    write_dvs_gesture(tmp_path, {"train": ["user01_led"]}, labels=(0,), events=40)
    return tmp_path


def _gesture_file(root: Path) -> Path:
    return root / "DVSGesture" / "ibmGestureTrain" / "user01_led" / "0.npy"


def _broken(kind: str) -> object:
    events = gesture_events(40, seed=0)
    if kind == "nan":
        events = events.astype(np.float64)
        events[3, 0] = np.nan
    elif kind == "polarity":
        events[:, 2] = events[:, 2] * 2 - 1  # -1/1: was silently all "on"
    elif kind == "unsorted":
        events[:, 3] = events[::-1, 3]
    elif kind == "negative":
        events[3, 0] = -5  # was silently counted at the far edge
    return {"empty": b"", "text": b"x y p t\n", "columns": np.zeros((10, 3), np.int64)}.get(kind, events)


@pytest.mark.parametrize("kind, match", [
    ("empty", r"0.npy: cannot read events \(not a .npy file\); expected a .npy array \[N, 4\].*re-download"),
    ("text", r"cannot read events \(not a .npy file\)"),
    ("columns", r"cannot read events \(int64 array of shape \(10, 3\)\)"),
    ("nan", r"cannot read events \(NaN, inf or fractional values\)"),
    ("polarity", r"0.npy: polarities -1..1 are outside 0..1; map them to 0 \(off\) and 1 \(on\)"),
    ("unsorted", r"0.npy: timestamps decrease at event 1; sort the events by t"),
    ("negative", r"0.npy: event coordinates x -5..\d+, y \d+..\d+ exceed the 128 x 128 sensor"),
])
def test_gesture_bad_recordings(gesture, kind, match):
    content = _broken(kind)
    if isinstance(content, bytes):
        _gesture_file(gesture).write_bytes(content)
    else:
        np.save(_gesture_file(gesture), content)
    dataset = DVS128Gesture(data_root=str(gesture), split="train", time_steps=2, size=16, cache_dir=False)
    raises(ValueError, match, dataset.get_data_info, 0)


@pytest.mark.parametrize("name, match", [
    ("user01_led/foo.npy", r"foo.npy: DVS128 Gesture recordings are named <label>.npy with a label 0..10; rename"),
    ("user01_led/11.npy", r"11.npy: DVS128 Gesture recordings are named <label>.npy with a label 0..10"),
    ("extra/0.npy", r"extra: DVS128 Gesture folders are named user<NN>_<lighting>; rename or remove it"),
])
def test_gesture_misplaced_files(gesture, name, match):
    path = gesture / "DVSGesture" / "ibmGestureTrain" / name
    path.parent.mkdir(exist_ok=True)
    np.save(path, gesture_events(40, seed=1))
    raises(ValueError, match, DVS128Gesture, data_root=str(gesture), split="train")


@pytest.mark.parametrize("options, error, match", [
    (dict(time_steps=0), ValueError, r"time_steps must be >= 1, got 0"),
    (dict(time_steps=2.5), TypeError, r"time_steps must be an integer >= 1, got 2.5"),  # was silently 2
    (dict(time_steps="10"), TypeError, r"time_steps must be an integer >= 1, got '10'; write it without quotes"),
    (dict(size=200), ValueError, r"size 200 exceeds the 128 x 128 sensor"),
    (dict(binning="count"), ValueError, r"binning must be one of \('event_count', 'time'\)"),
    (dict(split="val"), ValueError, r"split must be 'train' or 'test', got 'val'"),
])
def test_event_dataset_options(gesture, options, error, match):
    raises(error, match, DATASETS.build, dict(type="DVS128Gesture", data_root=str(gesture), **options))


def test_frame_cache_is_rebuilt_and_never_left_half_written(gesture, monkeypatch):
    cache = gesture / "cache"
    (gesture / "not-a-folder").write_text("x")
    raises(ValueError, r"cache_dir .*not-a-folder is a file; give a folder, or cache_dir=False",
           DVS128Gesture, data_root=str(gesture), time_steps=2, size=16, cache_dir=str(gesture / "not-a-folder"))
    dataset = DVS128Gesture(data_root=str(gesture), split="train", time_steps=2, size=16, cache_dir=str(cache))
    frames = dataset.get_data_info(0)["img"]
    cached = next(cache.rglob("*.npy"))
    cached.write_bytes(cached.read_bytes()[:60])  # truncated: re-binned, not an error
    np.testing.assert_array_equal(dataset.get_data_info(0)["img"], frames)
    np.save(cached, np.zeros((5, 2, 16, 16), np.int16))  # stale shape: re-binned, not returned
    np.testing.assert_array_equal(dataset.get_data_info(0)["img"], frames)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    cached.unlink()
    monkeypatch.setattr(events_module.np, "save", disk_full)
    raises(OSError, r"cannot write the frame cache .*No space left on device.*cache_dir=False",
           dataset.get_data_info, 0)
    assert [p.name for p in cache.rglob("*") if p.is_file()] == []  # no temporary file left behind


def test_cifar10dvs_bad_recordings_and_layout(tmp_path):
    files = write_cifar10dvs(tmp_path, classes=("cat",), per_class=2, events=60)
    first = files["cat"][0]
    first.write_bytes(first.read_bytes()[:40])
    dataset = CIFAR10DVS(data_root=str(tmp_path), split="train", time_steps=2, size=16, cache_dir=False)
    raises(ValueError, r"cifar10_cat_0.aedat4: cannot read events \(.*\); expected an AEDAT 4 file .*re-download",
           dataset.get_data_info, 0)
    raises(ValueError, r"none of the 2 recordings under .*CIFAR10DVS falls in the test split; add recordings",
           CIFAR10DVS, data_root=str(tmp_path), split="test")
    (tmp_path / "CIFAR10DVS" / "cats").mkdir()
    shutil.copy(files["cat"][1], tmp_path / "CIFAR10DVS" / "cats" / "x.aedat4")
    raises(ValueError, r"x.aedat4: its folder 'cats' is no CIFAR10-DVS class \(airplane, .*\); move it",
           CIFAR10DVS, data_root=str(tmp_path), split="train")


@pytest.mark.skipif(EVENTS is None, reason="no shared event recordings")
def test_cifar10dvs_recording_of_another_format_or_camera(tmp_path):
    folder = tmp_path / "CIFAR10DVS" / "cat"
    folder.mkdir(parents=True)
    shutil.copy(EVENTS / "evt3.raw", folder / "a.aedat4")  # a Prophesee EVT3 file renamed
    shutil.copy(EVENTS / "davis346.aedat4", folder / "b.aedat4")  # a real 346 x 260 DAVIS recording
    dataset = CIFAR10DVS(data_root=str(tmp_path), split="train", time_steps=2, size=16, cache_dir=False)
    raises(ValueError, r"a.aedat4: cannot read events \(.*AEDAT4.*\)", dataset.get_data_info, 0)
    raises(ValueError, r"b.aedat4: event coordinates x 0..345, y \d+..259 exceed the 128 x 128 sensor",
           dataset.get_data_info, 1)


def _events(**fields) -> np.ndarray:
    events = np.zeros(6, [("x", np.int16), ("y", np.int16), ("p", np.int8), ("t", np.int64)])
    events["t"] = np.arange(6)
    for name, value in fields.items():
        events[name] = value
    return events


@pytest.mark.parametrize("events, options, error, match", [
    (np.zeros((6, 4)), {}, TypeError, r"events must be a structured array \[N\] with fields x, y, p, t"),
    (np.zeros(6, [("x", float), ("y", float), ("p", bool), ("t", float)]), {}, TypeError,
     r"fields \['x', 'y'\] are float64; x, y and p must be integers"),
    (_events(p=2), {}, ValueError, r"polarities 2..2 are outside 0..1"),
    (_events(), dict(time_steps=0), ValueError, r"time_steps must be >= 1"),
    (_events(), dict(sensor_size=(128, 128)), ValueError, r"sensor_size must be \(width, height, polarities\)"),
])
def test_bin_events_refuses_bad_events(events, options, error, match):
    kwargs = {**dict(sensor_size=(128, 128, 2), time_steps=2, size=16), **options}
    raises(error, match, bin_events, events, **kwargs)


def test_bin_events_of_an_empty_recording():
    frames = bin_events(_events()[:0], (128, 128, 2), time_steps=3, size=16)  # was a TypeError inside tonic
    assert frames.shape == (3, 2, 16, 16) and not frames.any()


# --------------------------------------------------------------------------------------------------------------
# Transforms
# --------------------------------------------------------------------------------------------------------------
IMAGE_TRANSFORMS = [RandomCrop(16), RandomResizedCrop(16), RandAugment(prob=1.0), RandomErasing(prob=1.0),
                    PackClsInputs()]


@pytest.mark.parametrize("transform", IMAGE_TRANSFORMS, ids=lambda t: type(t).__name__)
@pytest.mark.parametrize("img, error, match", [
    (np.zeros((32, 32, 3), np.float32), TypeError, r"expects uint8 images \(values 0..255\), got float32"),
    (np.zeros((32, 32, 3), bool), TypeError, r"got bool"),
    (np.zeros((3, 32, 32), np.uint8), ValueError, r"it looks like \[C, H, W\]: transpose it to \[H, W, C\]"),
    (np.zeros((32, 32, 4), np.uint8), ValueError, r"1- or 3-channel images \[H, W, C\], got shape \(32, 32, 4\)"),
    (np.zeros((0, 0, 3), np.uint8), ValueError, r"empty image of shape \(0, 0, 3\)"),
    (torch.zeros(32, 32, 3, dtype=torch.uint8), ValueError, r"got Tensor \(32, 32, 3\)"),
])
def test_image_transforms_refuse_bad_images(transform, img, error, match):
    raises(error, rf"{type(transform).__name__}.*{match}", transform.transform, dict(img=img, gt_label=0))


@pytest.mark.parametrize("build, error, match", [
    (lambda: RandomCrop(0), ValueError, r"RandomCrop size must be >= 1, got 0"),
    (lambda: RandomCrop(28, padding=-1), ValueError, r"RandomCrop padding must be >= 0"),
    (lambda: RandomResizedCrop(16, scale=(0.5,)), ValueError, r"RandomResizedCrop scale must be \(low, high\)"),
    (lambda: RandomResizedCrop(16, interpolation="cubic"), ValueError, r"interpolation must be one of \['area'"),
    (lambda: RandAugment(prob=1.5), ValueError, r"RandAugment prob must be a probability in \[0, 1\], got 1.5"),
    (lambda: RandAugment(fill=(1, 2)), ValueError, r"RandAugment fill must be 1 or 3 integers in 0..255"),
    (lambda: RandomErasing(area=(0.5, 2)), ValueError, r"RandomErasing area must be \(low, high\) with 0 < low"),
    (lambda: EventFrameAugment(max_shift=2.5), TypeError, r"max_shift must be an integer >= 0, got 2.5"),
])
def test_transform_options(build, error, match):
    raises(error, match, build)


def test_crop_larger_than_the_image_and_shift_larger_than_the_frames():
    raises(ValueError, r"RandomCrop\(40\) on a 36x36 image \(after padding 2\); .*lower size",
           RandomCrop(40, padding=2).transform, dict(img=np.zeros((32, 32, 3), np.uint8)))
    raises(ValueError, r"max_shift 8 can shift 8x8 frames out of view; use a max_shift below 8",
           EventFrameAugment(max_shift=8).transform, dict(img=np.zeros((2, 2, 8, 8), np.int16)))


@pytest.mark.parametrize("results, error, match", [
    (dict(img=np.full((2, 2, 8, 8), np.nan, np.float32), gt_label=0), ValueError, r"event frames hold NaN or inf"),
    (dict(img=np.zeros((8, 8, 3), np.uint8), gt_label=1.7), TypeError, r"gt_label must be an integer class index"),
    (dict(img=np.zeros((8, 8, 3), np.uint8)), ValueError, r"needs results\['img'\] and results\['gt_label'\]"),
])
def test_pack_inputs_refuses_bad_samples(results, error, match):
    raises(error, rf"PackClsInputs.*{match}", PackClsInputs().transform, results)


# --------------------------------------------------------------------------------------------------------------
# Accuracy metric
# --------------------------------------------------------------------------------------------------------------
def _accuracy(samples, data_batch=None, topk=(1, 5)):
    metric = METRICS.build(dict(type="Accuracy", topk=topk))
    metric.process(data_batch or {}, samples)
    return metric.compute_metrics(metric.results)


def _sample(scores, label):
    return dict(pred_score=torch.tensor(scores), gt_label=label)


@pytest.mark.parametrize("samples, batch, error, match", [
    ([_sample([0.1, 0.9], 2)], None, ValueError, r"gt_label 2 is outside 0..1 .*num_classes does not match"),
    ([_sample([0.1, 0.9], -1)], None, ValueError, r"gt_label -1 is outside 0..1"),
    ([_sample([0.1, 0.9], 1.0)], None, TypeError, r"gt_label must be an integer class index, got 1.0"),
    ([_sample([float("nan"), 0.5], 0)], None, ValueError, r"pred_score holds NaN or inf; the model diverged"),
    ([_sample([1, 3], 0)], None, TypeError, r"pred_score must hold float scores, got torch.int64"),
    ([_sample([[0.1, 0.9]], 0)], None, ValueError, r"pred_score must be a vector \[K\] .*got shape \(1, 2\)"),
    ([_sample([0.1, 0.9], 0)], dict(inputs=torch.zeros(2, 3)), ValueError,
     r"Accuracy got 1 predictions for a batch of 2 inputs"),
    ([_sample([0.1, 0.9], 0), _sample([0.1, 0.2, 0.7], 0)], None, ValueError,
     r"predictions score different numbers of classes \[2, 3\]"),
    ([], None, ValueError, r"Accuracy got no predictions \(empty evaluation set\?\)"),
])
def test_accuracy_refuses_bad_predictions(samples, batch, error, match):
    raises(error, match, _accuracy, samples, batch)


def test_accuracy_options_and_ties():
    raises(ValueError, r"Accuracy topk must be >= 1, got 0", METRICS.build, dict(type="Accuracy", topk=(0,)))
    raises(TypeError, r"Accuracy topk must be an integer >= 1, got '1'", METRICS.build, dict(type="Accuracy",
                                                                                          topk=("1",)))
    # a dead network scores all classes alike: it was counted right for every label (100%), now as argmax is
    flat = [_sample([0.25] * 4, label) for label in range(4)]
    assert _accuracy(flat, topk=(1, 2)) == {"top1": 25.0, "top2": 50.0}


# --------------------------------------------------------------------------------------------------------------
# Model inputs: labels against the model's classes, batch augmentation
# --------------------------------------------------------------------------------------------------------------
def test_model_refuses_labels_the_head_cannot_score():
    model = MODELS.build(dict(type="SpikingClassifier", backbone="smixer-cifar10",
                              backbone_args=dict(num_classes=10, img_size=16, embed_dim=32, depth=1, num_heads=4,
                                                 time_steps=1)))
    images = torch.zeros(2, 3, 16, 16, dtype=torch.uint8)
    data = model.data_preprocessor(dict(inputs=images, data_samples=dict(gt_label=[3, 12])), True)
    raises(ValueError, r"gt_label 3..12 is outside 0..9; set backbone_args num_classes", model, **data, mode="loss")
    data = model.data_preprocessor(dict(inputs=images, data_samples=dict(gt_label=[3, 1, 2])), True)
    raises(ValueError, r"gt_label has shape \(3,\) for a batch of 2", model, **data, mode="predict")
    raises(ValueError, r"the samples of a batch differ in shape .*resize or crop them",
           model.data_preprocessor, dict(inputs=[torch.zeros(3, 16, 16), torch.zeros(3, 8, 8)]), False)
    raises(ValueError, r"batch_augment: unknown keys \['mixup'\]; known: mixup_alpha", MODELS.build,
           dict(type="SpikingClassifier", backbone="smixer-cifar10", batch_augment=dict(mixup=0.8)))


def test_mixup_refuses_mismatched_labels():
    mix = MixupCutmix(3, mixup_alpha=1.0)
    raises(ValueError, r"labels \[B\], got \(4, 3, 8, 8\) and \(2,\)", mix, torch.zeros(4, 3, 8, 8),
           torch.tensor([0, 1]))
    raises(ValueError, r"labels 0..3 are outside 0..2", mix, torch.zeros(4, 3, 8, 8), torch.tensor([0, 1, 2, 3]))
