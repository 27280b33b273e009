"""Per-sample transforms that mmcv lacks, registered in mmengine's ``TRANSFORMS``.

Images travel as ``results['img']``: ``uint8`` ``[H, W, C]`` (mmcv's convention), event frames as ``[T, C, H, W]``
counts. Pipelines combine these with mmcv's ``LoadImageFromFile``, ``RandomFlip``, ``Resize`` and ``CenterCrop``.
Randomness comes from numpy's and Python's global generators, which the datasets seed per sample
(``tasks.classification.datasets.base``), so augmentations are reproducible and resume exactly.

- :class:`RandomCrop`: pad then crop at a random position (the classic CIFAR/MNIST augmentation).
- :class:`RandomResizedCrop`: timm/torchvision semantics, including the centre-crop fallback.
- :class:`RandAugment`: timm's ``rand-m{M}-n{N}-mstd{S}-inc1`` policy (the STMixer recipe) on PIL images.
- :class:`RandomErasing`: timm's random erasing with a constant fill.
- :class:`EventFrameAugment`: random flip and translation of event frames.
- :class:`PackClsInputs`: ``results`` -> ``dict(inputs=Tensor, data_samples=dict(gt_label=int))``.
"""
from __future__ import annotations

import math
import random
from typing import Callable, Dict, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.registry import TRANSFORMS
from PIL import Image, ImageEnhance, ImageOps

__all__ = ["RandomCrop", "RandomResizedCrop", "RandAugment", "RandomErasing", "EventFrameAugment", "PackClsInputs"]


def _check_image(img: np.ndarray, who: str) -> None:
    if not isinstance(img, np.ndarray) or img.ndim != 3:
        raise ValueError(f"{who} expects results['img'] as an [H, W, C] array, got "
                         f"{getattr(img, 'shape', type(img).__name__)}")


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Pad ``padding`` pixels on each side with the value ``pad_val``, then crop ``size x size`` at random."""

    def __init__(self, size: int, padding: int = 0, pad_val: int = 0) -> None:
        self.size, self.padding, self.pad_val = int(size), int(padding), int(pad_val)

    def transform(self, results: Dict) -> Dict:
        img = results["img"]
        _check_image(img, type(self).__name__)
        if self.padding:
            p = self.padding
            img = np.pad(img, ((p, p), (p, p), (0, 0)), constant_values=self.pad_val)
        h, w = img.shape[:2]
        if h < self.size or w < self.size:
            raise ValueError(f"RandomCrop({self.size}) on a {h}x{w} image (after padding {self.padding})")
        top, left = np.random.randint(0, h - self.size + 1), np.random.randint(0, w - self.size + 1)
        results["img"] = np.ascontiguousarray(img[top: top + self.size, left: left + self.size])
        results["img_shape"] = results["img"].shape[:2]
        return results

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


@TRANSFORMS.register_module()
class RandomResizedCrop(BaseTransform):
    """Crop a random area fraction in ``scale`` with aspect ratio in ``ratio`` (log-uniform), resize to ``size``.

    After 10 failed draws, falls back to a centre crop with the aspect ratio clamped to ``ratio`` (torchvision
    and timm behave the same). ``scale=(1, 1), ratio=(1, 1)`` is the STMixer recipe: the largest centred square.
    """

    def __init__(self, size: int, scale: Tuple[float, float] = (0.08, 1.0),
                 ratio: Tuple[float, float] = (3 / 4, 4 / 3), interpolation: str = "bicubic") -> None:
        if not 0 < scale[0] <= scale[1] <= 1 or not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f"RandomResizedCrop needs 0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= ratio[1], "
                             f"got scale={scale}, ratio={ratio}")
        self.size, self.scale, self.ratio, self.interpolation = int(size), tuple(scale), tuple(ratio), interpolation

    def crop_box(self, h: int, w: int) -> Tuple[int, int, int, int]:
        """``(top, left, height, width)`` of the crop in an ``h x w`` image."""
        area = h * w
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target = area * np.random.uniform(*self.scale)
            aspect = math.exp(np.random.uniform(*log_ratio))
            cw, ch = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                return np.random.randint(0, h - ch + 1), np.random.randint(0, w - cw + 1), ch, cw
        in_ratio = w / h
        if in_ratio < self.ratio[0]:
            cw, ch = w, int(round(w / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            ch, cw = h, int(round(h * self.ratio[1]))
        else:
            cw, ch = w, h
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def transform(self, results: Dict) -> Dict:
        img = results["img"]
        _check_image(img, type(self).__name__)
        top, left, ch, cw = self.crop_box(*img.shape[:2])
        crop = img[top: top + ch, left: left + cw]
        resized = mmcv.imresize(crop, (self.size, self.size), interpolation=self.interpolation)
        results["img"] = resized if resized.ndim == 3 else resized[..., None]
        results["img_shape"] = results["img"].shape[:2]
        return results

    def __repr__(self) -> str:
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio})"


# ---------------------------------------------------------------------------------------------------------------
# RandAugment (timm's "increasing" policy; magnitudes on a 0..10 scale)
# ---------------------------------------------------------------------------------------------------------------
_MAX_LEVEL = 10.0


def _signed(value: float) -> float:
    return -value if random.random() < 0.5 else value


def _affine(img: Image.Image, matrix: Tuple[float, ...], fill: Tuple[int, ...]) -> Image.Image:
    return img.transform(img.size, Image.AFFINE, matrix, resample=Image.BILINEAR, fillcolor=fill)


def _solarize_add(img: Image.Image, add: int, threshold: int = 128) -> Image.Image:
    lut = [min(255, i + add) if i < threshold else i for i in range(256)]
    return img.point(lut * len(img.getbands()))


_Op = Callable[[Image.Image, float, Tuple[int, ...]], Image.Image]
_OPS: Dict[str, _Op] = {
    "AutoContrast": lambda img, m, fill: ImageOps.autocontrast(img),
    "Equalize": lambda img, m, fill: ImageOps.equalize(img),
    "Invert": lambda img, m, fill: ImageOps.invert(img),
    "Rotate": lambda img, m, fill: img.rotate(_signed(m / _MAX_LEVEL * 30.0), resample=Image.BILINEAR,
                                              fillcolor=fill),
    "PosterizeIncreasing": lambda img, m, fill: ImageOps.posterize(img, 4 - int(m / _MAX_LEVEL * 4)),
    "SolarizeIncreasing": lambda img, m, fill: ImageOps.solarize(img, 256 - int(m / _MAX_LEVEL * 256)),
    "SolarizeAdd": lambda img, m, fill: _solarize_add(img, int(m / _MAX_LEVEL * 110)),
    "ColorIncreasing": lambda img, m, fill: ImageEnhance.Color(img).enhance(1.0 + _signed(m / _MAX_LEVEL * 0.9)),
    "ContrastIncreasing": lambda img, m, fill: ImageEnhance.Contrast(img).enhance(
        1.0 + _signed(m / _MAX_LEVEL * 0.9)),
    "BrightnessIncreasing": lambda img, m, fill: ImageEnhance.Brightness(img).enhance(
        1.0 + _signed(m / _MAX_LEVEL * 0.9)),
    "SharpnessIncreasing": lambda img, m, fill: ImageEnhance.Sharpness(img).enhance(
        1.0 + _signed(m / _MAX_LEVEL * 0.9)),
    "ShearX": lambda img, m, fill: _affine(img, (1, _signed(m / _MAX_LEVEL * 0.3), 0, 0, 1, 0), fill),
    "ShearY": lambda img, m, fill: _affine(img, (1, 0, 0, _signed(m / _MAX_LEVEL * 0.3), 1, 0), fill),
    "TranslateXRel": lambda img, m, fill: _affine(
        img, (1, 0, _signed(m / _MAX_LEVEL * 0.45) * img.size[0], 0, 1, 0), fill),
    "TranslateYRel": lambda img, m, fill: _affine(
        img, (1, 0, 0, 0, 1, _signed(m / _MAX_LEVEL * 0.45) * img.size[1]), fill),
}


@TRANSFORMS.register_module()
class RandAugment(BaseTransform):
    """timm's RandAugment with the "increasing" op set (``rand-m{magnitude}-n{num_ops}-mstd{magnitude_std}-inc1``).

    For each image, ``num_ops`` ops are drawn with replacement from the 15 ops; each is applied with probability
    ``prob`` at a magnitude drawn from ``N(magnitude, magnitude_std)`` clipped to [0, 10]. Geometric ops fill
    with ``fill`` (per channel, 0..255; timm uses the dataset mean). ``ops`` restricts the op set (e.g. no
    ``Invert`` for a dataset where inverted images mean something else).
    """

    def __init__(self, num_ops: int = 2, magnitude: float = 9.0, magnitude_std: float = 0.5, prob: float = 0.5,
                 fill: Sequence[int] = (128, 128, 128), ops: Optional[Sequence[str]] = None) -> None:
        ops = list(ops) if ops is not None else list(_OPS)
        unknown = sorted(set(ops) - set(_OPS))
        if unknown:
            raise ValueError(f"unknown RandAugment ops {unknown}; known: {sorted(_OPS)}")
        if not 0 <= magnitude <= _MAX_LEVEL:
            raise ValueError(f"RandAugment magnitude must be in [0, {_MAX_LEVEL}], got {magnitude}")
        self.num_ops, self.magnitude, self.magnitude_std, self.prob = int(num_ops), float(magnitude), \
            float(magnitude_std), float(prob)
        self.fill, self.ops = tuple(int(v) for v in fill), ops

    def transform(self, results: Dict) -> Dict:
        img = results["img"]
        _check_image(img, type(self).__name__)
        channels = img.shape[2]
        if channels not in (1, 3):
            raise ValueError(f"RandAugment works on 1- or 3-channel images, got {channels} channels")
        pil = Image.fromarray(img[..., 0] if channels == 1 else img)
        fill = self.fill[0] if channels == 1 else self.fill
        for name in random.choices(self.ops, k=self.num_ops):
            if random.random() > self.prob:
                continue
            magnitude = self.magnitude
            if self.magnitude_std > 0:
                magnitude = min(_MAX_LEVEL, max(0.0, random.gauss(magnitude, self.magnitude_std)))
            pil = _OPS[name](pil, magnitude, fill)
        out = np.asarray(pil, dtype=np.uint8)
        results["img"] = np.ascontiguousarray(out[..., None] if channels == 1 else out)
        return results

    def __repr__(self) -> str:
        return (f"RandAugment(n={self.num_ops}, m={self.magnitude}, mstd={self.magnitude_std}, p={self.prob}, "
                f"ops={len(self.ops)})")


@TRANSFORMS.register_module()
class RandomErasing(BaseTransform):
    """With probability ``prob``, fill one random rectangle with ``fill`` (timm's ``reprob`` with ``remode=const``).

    The rectangle covers an area fraction in ``area`` with a log-uniform aspect ratio in ``aspect``; timm erases
    the normalised tensor with zeros, i.e. with the mean colour, which is what ``fill = mean * 255`` does here.
    """

    def __init__(self, prob: float = 0.25, area: Tuple[float, float] = (0.02, 1 / 3),
                 aspect: Tuple[float, float] = (0.3, 1 / 0.3), fill: Sequence[int] = (0, 0, 0)) -> None:
        self.prob, self.area, self.aspect, self.fill = float(prob), tuple(area), tuple(aspect), \
            np.asarray(fill, dtype=np.uint8)

    def transform(self, results: Dict) -> Dict:
        img = results["img"]
        _check_image(img, type(self).__name__)
        if np.random.rand() >= self.prob:
            return results
        h, w = img.shape[:2]
        log_aspect = (math.log(self.aspect[0]), math.log(self.aspect[1]))
        for _ in range(10):
            target = h * w * np.random.uniform(*self.area)
            aspect = math.exp(np.random.uniform(*log_aspect))
            eh, ew = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
            if eh < h and ew < w:
                top, left = np.random.randint(0, h - eh + 1), np.random.randint(0, w - ew + 1)
                img = img.copy()
                img[top: top + eh, left: left + ew] = self.fill[: img.shape[2]]
                results["img"] = img
                break
        return results


@TRANSFORMS.register_module()
class EventFrameAugment(BaseTransform):
    """Random horizontal flip (probability ``flip_prob``) and translation by up to ``max_shift`` pixels (zeros
    shifted in) of event frames ``[T, C, H, W]``, the same for all T frames of a sample.

    Keep ``flip_prob=0`` for DVS128 Gesture, where left and right hand gestures are different classes.
    """

    def __init__(self, flip_prob: float = 0.5, max_shift: int = 0) -> None:
        self.flip_prob, self.max_shift = float(flip_prob), int(max_shift)

    def transform(self, results: Dict) -> Dict:
        frames = results["img"]
        if not isinstance(frames, np.ndarray) or frames.ndim != 4:
            raise ValueError(f"EventFrameAugment expects frames [T, C, H, W], got "
                             f"{getattr(frames, 'shape', type(frames).__name__)}")
        if np.random.rand() < self.flip_prob:
            frames = frames[..., ::-1]
        if self.max_shift:
            dy, dx = np.random.randint(-self.max_shift, self.max_shift + 1, size=2)
            shifted = np.zeros_like(frames)
            h, w = frames.shape[-2:]
            shifted[..., max(dy, 0): h + min(dy, 0), max(dx, 0): w + min(dx, 0)] = \
                frames[..., max(-dy, 0): h + min(-dy, 0), max(-dx, 0): w + min(-dx, 0)]
            frames = shifted
        results["img"] = np.ascontiguousarray(frames)
        return results


@TRANSFORMS.register_module()
class PackClsInputs(BaseTransform):
    """``results`` -> ``dict(inputs=..., data_samples=dict(gt_label=int))``.

    Images ``[H, W, C]`` become ``uint8`` tensors ``[C, H, W]`` (normalised later, on the whole batch, by
    ``ClsDataPreprocessor``); event frames ``[T, C, H, W]`` become ``float32`` tensors.
    """

    def transform(self, results: Dict) -> Dict:
        img = results["img"]
        if not isinstance(img, np.ndarray) or img.ndim not in (3, 4):
            raise ValueError(f"PackClsInputs expects an [H, W, C] image or [T, C, H, W] frames, got "
                             f"{getattr(img, 'shape', type(img).__name__)}")
        if img.ndim == 3:
            inputs = torch.from_numpy(img.transpose(2, 0, 1).copy())  # a copy: sources may be read-only
        else:
            inputs = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))
        return dict(inputs=inputs, data_samples=dict(gt_label=int(results["gt_label"])))
