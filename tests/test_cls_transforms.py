"""Per-sample transforms and batch augmentation of the classification task."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import tasks.classification  # noqa: F401
from tasks.classification.batch_augment import MixupCutmix, one_hot_smooth
from tasks.common.seeding import seeded
from tasks.classification.transforms import (_OPS, EventFrameAugment, PackClsInputs, RandAugment, RandomCrop,
                                             RandomErasing, RandomResizedCrop)

from test_cls_helpers import real_cifar


@pytest.fixture(scope="module")
def image():
    return real_cifar("cifar10")[0][0]


def test_random_crop_pads_then_crops(image):
    with seeded(0):
        out = RandomCrop(32, padding=4).transform(dict(img=image))["img"]
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    # the crop is a shifted copy of the image with zero borders: find the shift and compare
    padded = np.pad(image, ((4, 4), (4, 4), (0, 0)))
    matches = [(y, x) for y in range(9) for x in range(9) if (padded[y:y + 32, x:x + 32] == out).all()]
    assert matches
    grey = RandomCrop(28, padding=2).transform(dict(img=image[:28, :28, :1]))["img"]
    assert grey.shape == (28, 28, 1)  # single-channel images keep their channel axis
    with pytest.raises(ValueError, match="RandomCrop"):
        RandomCrop(40).transform(dict(img=image))


def test_random_resized_crop_semantics(image):
    rect = np.zeros((40, 60, 3), np.uint8)
    rect[:, 10:50] = 255  # the centred 40 x 40 square is white
    square = RandomResizedCrop(20, scale=(1.0, 1.0), ratio=(1.0, 1.0)).transform(dict(img=rect))["img"]
    assert square.shape == (20, 20, 3) and square.min() == 255  # STMixer's recipe: the largest centred square
    with seeded(3):
        out = RandomResizedCrop(24, scale=(0.2, 0.5)).transform(dict(img=image))["img"]
    assert out.shape == (24, 24, 3)
    crop = RandomResizedCrop(24, scale=(0.2, 0.5))
    with seeded(5):
        boxes = [crop.crop_box(32, 32) for _ in range(200)]
    areas = np.array([h * w for _, _, h, w in boxes]) / 1024
    assert areas.min() >= 0.15 and areas.max() <= 0.56
    with pytest.raises(ValueError, match="scale"):
        RandomResizedCrop(24, scale=(0.5, 0.2))


@pytest.mark.parametrize("name", sorted(_OPS))
def test_every_randaugment_op_runs_on_rgb_and_grey(image, name):
    with seeded(1):
        for img in (image, image[..., :1]):
            out = RandAugment(num_ops=1, magnitude=9, prob=1.0, ops=[name]).transform(dict(img=img.copy()))["img"]
            assert out.shape == img.shape and out.dtype == np.uint8


def test_randaugment_policy(image):
    aug = RandAugment(num_ops=2, magnitude=9, magnitude_std=0.5, prob=1.0)
    with seeded(0):
        changed = sum(not np.array_equal(aug.transform(dict(img=image.copy()))["img"], image) for _ in range(20))
    assert changed >= 15  # two ops at magnitude ~9 change nearly every image
    idle = RandAugment(num_ops=2, magnitude=9, prob=0.0)
    assert np.array_equal(idle.transform(dict(img=image.copy()))["img"], image)
    with pytest.raises(ValueError, match="unknown RandAugment ops"):
        RandAugment(ops=["Nope"])
    with pytest.raises(ValueError, match="1- or 3-channel"):
        aug.transform(dict(img=np.zeros((8, 8, 2), np.uint8)))


def test_random_erasing(image):
    erase = RandomErasing(prob=1.0, fill=(1, 2, 3))
    with seeded(0):
        out = erase.transform(dict(img=image))["img"]
    mask = (out != image).any(-1)
    assert mask.any() and (out[mask] == [1, 2, 3]).all()
    ys, xs = np.nonzero(mask)
    assert mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1].mean() > 0.9  # one rectangle
    assert np.array_equal(RandomErasing(prob=0.0).transform(dict(img=image))["img"], image)


def test_event_frame_augment_shift_and_flip():
    frames = np.zeros((3, 2, 8, 8), np.int16)
    frames[:, 0, 2, 1] = 5
    flipped = EventFrameAugment(flip_prob=1.0).transform(dict(img=frames.copy()))["img"]
    assert flipped[0, 0, 2, 6] == 5 and flipped.sum() == frames.sum()
    with seeded(0):
        shifted = EventFrameAugment(flip_prob=0.0, max_shift=2).transform(dict(img=frames.copy()))["img"]
    (t, c, y, x) = np.argwhere(shifted)[0]
    assert abs(y - 2) <= 2 and abs(x - 1) <= 2 and (shifted[:, 0, y, x] == 5).all()
    with pytest.raises(ValueError, match=r"\[T, C, H, W\]"):
        EventFrameAugment().transform(dict(img=np.zeros((8, 8, 2))))


def test_pack_inputs(image):
    packed = PackClsInputs().transform(dict(img=image, gt_label=7))
    assert packed["inputs"].shape == (3, 32, 32) and packed["inputs"].dtype == torch.uint8
    assert torch.equal(packed["inputs"][1], torch.from_numpy(image[..., 1]))
    assert packed["data_samples"] == dict(gt_label=7)
    frames = PackClsInputs().transform(dict(img=np.ones((4, 2, 6, 6), np.int16), gt_label=1))["inputs"]
    assert frames.shape == (4, 2, 6, 6) and frames.dtype == torch.float32
    with pytest.raises(ValueError, match="PackClsInputs"):
        PackClsInputs().transform(dict(img=np.zeros((4, 4)), gt_label=0))


def test_one_hot_smooth_matches_torch_label_smoothing():
    logits, labels = torch.randn(6, 5), torch.tensor([0, 4, 2, 2, 1, 3])
    target = one_hot_smooth(labels, 5, 0.1)
    assert torch.allclose(target.sum(1), torch.ones(6))
    soft = torch.sum(-target * F.log_softmax(logits, -1), -1).mean()
    assert torch.allclose(soft, F.cross_entropy(logits, labels, label_smoothing=0.1))


def test_mixup_and_cutmix():
    x = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 2, 8, 8).contiguous()
    labels = torch.tensor([0, 1, 2, 3])
    mixup = MixupCutmix(4, mixup_alpha=1.0, prob=1.0)
    mixed, target = mixup(x, labels, np.random.default_rng(0))
    lam = float(target[0, 0])  # sample 0 is mixed with sample 3
    assert torch.allclose(mixed[0], torch.full_like(mixed[0], 3 * (1 - lam)))
    assert torch.allclose(target.sum(1), torch.ones(4)) and abs(float(target[0, 3]) - (1 - lam)) < 1e-6
    cutmix = MixupCutmix(4, cutmix_alpha=1.0, prob=1.0)
    frames = x.unsqueeze(1).expand(4, 3, 2, 8, 8).contiguous()  # event frames [B, T, C, H, W]
    mixed, target = cutmix(frames, labels, np.random.default_rng(1))
    pasted = float((mixed[0] == 3).float().mean())  # the box from sample 3, same at every step
    assert abs(float(target[0, 3]) - pasted) < 1e-6 and (mixed[0, 0] == mixed[0, 2]).all()
    off = MixupCutmix(4, mixup_alpha=1.0, prob=0.0)
    same, target = off(x, labels, np.random.default_rng(0))
    assert torch.equal(same, x) and torch.equal(target, F.one_hot(labels, 4).float())
    with pytest.raises(ValueError, match="even batch"):
        mixup(x[:3], labels[:3], np.random.default_rng(0))
