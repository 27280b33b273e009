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
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
from mmcv.image.geometric import cv2_interp_codes
from mmcv.transforms import BaseTransform
from PIL import Image, ImageEnhance, ImageOps

from tasks.registry import TRANSFORMS

from .datasets.base import check_int

__all__ = ["RandomCrop", "RandomResizedCrop", "RandAugment", "RandomErasing", "EventFrameAugment", "PackClsInputs"]


def _describe(value: Any) -> str:
    """``'ndarray (32, 32)'``, ``'Tensor (3, 32, 32)'``, ``'NoneType'``: what a transform got instead."""
    shape = f" {tuple(value.shape)}" if hasattr(value, "shape") else ""
    return f"{type(value).__name__}{shape}"


def _check_image(img: Any, who: str) -> np.ndarray:
    """``img`` if it is a uint8 ``[H, W, C]`` array with 1 or 3 channels, else an error naming ``who``."""
    if not isinstance(img, np.ndarray) or img.ndim != 3:
        raise ValueError(f"{who} expects results['img'] as an [H, W, C] array, got {_describe(img)}")
    if img.dtype != np.uint8:
        raise TypeError(f"{who} expects uint8 images (values 0..255), got {img.dtype}; convert with "
                        f"img.astype(np.uint8), or place {who} before any transform that makes floats")
    if img.shape[2] not in (1, 3):
        hint = "; it looks like [C, H, W]: transpose it to [H, W, C]" if img.shape[0] in (1, 3) else ""
        raise ValueError(f"{who} works on 1- or 3-channel images [H, W, C], got shape {img.shape}{hint}")
    if not img.shape[0] or not img.shape[1]:
        raise ValueError(f"{who} got an empty image of shape {img.shape}; check the file it was loaded from")
    return img


def _check_prob(value: Any, name: str) -> float:
    """``value`` as a float if it is a probability in [0, 1], else a ``ValueError`` naming the option."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


def _check_range(value: Any, name: str, upper: Optional[float] = None) -> Tuple[float, float]:
    """``(low, high)`` with ``0 < low <= high`` (``<= upper`` when given), else a ``ValueError`` naming the option."""
    ok = (isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))
    if not ok or not 0 < value[0] <= value[1] or (upper is not None and value[1] > upper):
        bound = f" <= {upper}" if upper is not None else ""
        raise ValueError(f"{name} must be (low, high) with 0 < low <= high{bound}, got {value!r}")
    return float(value[0]), float(value[1])


def _check_fill(fill: Any, name: str) -> Tuple[int, ...]:
    """``fill`` as a tuple of 1 or 3 ints in 0..255 (one per channel), else a ``ValueError`` naming the option."""
    values = tuple(fill) if isinstance(fill, (tuple, list)) else (fill,)
    if len(values) not in (1, 3) or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                            and 0 <= v <= 255 for v in values):
        raise ValueError(f"{name} must be 1 or 3 integers in 0..255 (one per channel), got {fill!r}")
    return tuple(int(v) for v in values)


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Pad ``padding`` pixels on each side with the value ``pad_val``, then crop ``size x size`` at random."""

    def __init__(self, size: int, padding: int = 0, pad_val: int = 0) -> None:
        self.size, self.padding = check_int(size, "RandomCrop size", 1), check_int(padding, "RandomCrop padding", 0)
        self.pad_val = _check_fill(pad_val, "RandomCrop pad_val")[0]

    def transform(self, results: Dict) -> Dict:
        img = _check_image(results.get("img"), type(self).__name__)
        if self.padding:
            p = self.padding
            img = np.pad(img, ((p, p), (p, p), (0, 0)), constant_values=self.pad_val)
        h, w = img.shape[:2]
        if h < self.size or w < self.size:
            raise ValueError(f"RandomCrop({self.size}) on a {h}x{w} image (after padding {self.padding}); the crop "
                             f"size must not exceed the padded image: lower size or raise padding")
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
        if interpolation not in cv2_interp_codes:
            raise ValueError(f"RandomResizedCrop interpolation must be one of {sorted(cv2_interp_codes)}, got "
                             f"{interpolation!r}")
        self.size, self.interpolation = check_int(size, "RandomResizedCrop size", 1), interpolation
        self.scale = _check_range(scale, "RandomResizedCrop scale", upper=1.0)
        self.ratio = _check_range(ratio, "RandomResizedCrop ratio")

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
        img = _check_image(results.get("img"), type(self).__name__)
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
        if unknown or not ops:
            raise ValueError(f"unknown RandAugment ops {unknown}; known: {sorted(_OPS)}" if unknown else
                             f"RandAugment ops is empty; list some of {sorted(_OPS)}, or drop RandAugment")
        if isinstance(magnitude, bool) or not isinstance(magnitude, (int, float)) or not 0 <= magnitude <= _MAX_LEVEL:
            raise ValueError(f"RandAugment magnitude must be in [0, {_MAX_LEVEL}], got {magnitude!r}")
        if isinstance(magnitude_std, bool) or not isinstance(magnitude_std, (int, float)) or magnitude_std < 0:
            raise ValueError(f"RandAugment magnitude_std must be >= 0, got {magnitude_std!r}")
        self.num_ops, self.magnitude = check_int(num_ops, "RandAugment num_ops", 0), float(magnitude)
        self.magnitude_std, self.prob = float(magnitude_std), _check_prob(prob, "RandAugment prob")
        fill = _check_fill(fill, "RandAugment fill")
        self.fill, self.ops = fill * 3 if len(fill) == 1 else fill, ops

    def transform(self, results: Dict) -> Dict:
        img = _check_image(results.get("img"), type(self).__name__)
        channels = img.shape[2]
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
        self.prob = _check_prob(prob, "RandomErasing prob")
        self.area = _check_range(area, "RandomErasing area", upper=1.0)
        self.aspect = _check_range(aspect, "RandomErasing aspect")
        self.fill = np.asarray(_check_fill(fill, "RandomErasing fill"), dtype=np.uint8)

    def transform(self, results: Dict) -> Dict:
        img = _check_image(results.get("img"), type(self).__name__)
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
        self.flip_prob = _check_prob(flip_prob, "EventFrameAugment flip_prob")
        self.max_shift = check_int(max_shift, "EventFrameAugment max_shift", 0)

    def transform(self, results: Dict) -> Dict:
        frames = results.get("img")
        if not isinstance(frames, np.ndarray) or frames.ndim != 4:
            raise ValueError(f"EventFrameAugment expects frames [T, C, H, W], got {_describe(frames)}")
        if self.max_shift >= min(frames.shape[-2:]):
            raise ValueError(f"EventFrameAugment max_shift {self.max_shift} can shift {frames.shape[-2]}x"
                             f"{frames.shape[-1]} frames out of view; use a max_shift below {min(frames.shape[-2:])}")
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


def _check_frames(frames: np.ndarray) -> np.ndarray:
    """Numeric, finite event frames ``[T, C, H, W]`` as contiguous float32, else an error."""
    if frames.dtype.kind not in "biuf":
        raise TypeError(f"PackClsInputs: event frames must be numbers, got {frames.dtype}")
    out = np.ascontiguousarray(frames, dtype=np.float32)
    if not np.isfinite(out).all():
        raise ValueError("PackClsInputs: event frames hold NaN or inf; check the dataset's frames (or delete its "
                         "frame cache)")
    return out


@TRANSFORMS.register_module()
class PackClsInputs(BaseTransform):
    """``results`` -> ``dict(inputs=..., data_samples=dict(gt_label=int))``.

    Images ``[H, W, C]`` become ``uint8`` tensors ``[C, H, W]`` (normalised later, on the whole batch, by
    ``ClsDataPreprocessor``); event frames ``[T, C, H, W]`` become ``float32`` tensors.
    """

    def transform(self, results: Dict) -> Dict:
        if "img" not in results or "gt_label" not in results:
            raise ValueError(f"PackClsInputs needs results['img'] and results['gt_label'], got keys {sorted(results)}; "
                             f"put it last in the pipeline, after the transform that loads the image")
        img, label = results["img"], results["gt_label"]
        if isinstance(label, bool) or not isinstance(label, (int, np.integer)):
            raise TypeError(f"PackClsInputs: gt_label must be an integer class index, got {label!r}")
        if not isinstance(img, np.ndarray) or img.ndim not in (3, 4):
            raise ValueError(f"PackClsInputs expects an [H, W, C] image or [T, C, H, W] frames, got {_describe(img)}")
        if img.ndim == 3:  # a copy: sources may be read-only
            inputs = torch.from_numpy(_check_image(img, "PackClsInputs").transpose(2, 0, 1).copy())
        else:
            inputs = torch.from_numpy(_check_frames(img))
        return dict(inputs=inputs, data_samples=dict(gt_label=int(label)))
