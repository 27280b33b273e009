"""Batch augmentation (mixup / cutmix, timm's "batch" mode) and soft targets with label smoothing."""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from .datasets.base import check_int

__all__ = ["one_hot_smooth", "MixupCutmix"]


def _check_smoothing(smoothing: float) -> float:
    if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)) or not 0 <= smoothing < 1:
        raise ValueError(f"label_smoothing must be in [0, 1), got {smoothing!r}")
    return float(smoothing)


def one_hot_smooth(labels: Tensor, num_classes: int, smoothing: float = 0.0) -> Tensor:
    """``[B]`` labels -> ``[B, K]`` targets: ``1 - s + s/K`` on the label, ``s/K`` elsewhere (timm and torch)."""
    if labels.dim() != 1 or labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"labels must be a vector [B] of integer class indices, got {labels.dtype} "
                        f"{tuple(labels.shape)}")
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels {labels.min().item()}..{labels.max().item()} are outside 0..{num_classes - 1}; the "
                         f"dataset has more classes than the model's num_classes")
    off = _check_smoothing(smoothing) / num_classes
    target = torch.full((labels.shape[0], num_classes), off, device=labels.device)
    return target.scatter_(1, labels.long().view(-1, 1), 1.0 - smoothing + off)


class MixupCutmix:
    """Mix each batch with its reverse (timm ``Mixup``, ``mode='batch'``).

    With probability ``prob`` a batch is mixed: by cutmix with probability ``switch_prob`` when both are enabled
    (``cutmix_alpha > 0`` and ``mixup_alpha > 0``), else by the enabled one. ``lam ~ Beta(alpha, alpha)``; mixup
    blends whole inputs, cutmix pastes a box covering ``1 - lam`` of the image (``lam`` is then corrected to the
    pasted area). Targets are the same blend of the label-smoothed one-hot targets. Works on images
    ``[B, C, H, W]`` and event frames ``[B, T, C, H, W]`` (the box is on the last two dims).

    Randomness comes from the ``generator`` passed to :meth:`__call__` (the model passes one seeded per
    iteration, so resumed runs mix identically).
    """

    def __init__(self, num_classes: int, mixup_alpha: float = 0.0, cutmix_alpha: float = 0.0, prob: float = 1.0,
                 switch_prob: float = 0.5, label_smoothing: float = 0.0) -> None:
        if mixup_alpha < 0 or cutmix_alpha < 0 or not 0 <= prob <= 1 or not 0 <= switch_prob <= 1:
            raise ValueError(f"invalid mixup/cutmix settings: mixup_alpha={mixup_alpha}, cutmix_alpha={cutmix_alpha},"
                             f" prob={prob}, switch_prob={switch_prob}; the alphas must be >= 0 and the "
                             f"probabilities in [0, 1]")
        self.num_classes = check_int(num_classes, "num_classes", 1)
        self.mixup_alpha, self.cutmix_alpha = float(mixup_alpha), float(cutmix_alpha)
        self.prob, self.switch_prob = float(prob), float(switch_prob)
        self.label_smoothing = _check_smoothing(label_smoothing)

    @property
    def enabled(self) -> bool:
        return self.prob > 0 and (self.mixup_alpha > 0 or self.cutmix_alpha > 0)

    def _draw(self, rng: np.random.Generator) -> Tuple[float, bool]:
        """``(lam, use_cutmix)``; ``lam = 1`` means no mixing."""
        if not self.enabled or rng.random() >= self.prob:
            return 1.0, False
        use_cutmix = self.cutmix_alpha > 0 and (self.mixup_alpha == 0 or rng.random() < self.switch_prob)
        alpha = self.cutmix_alpha if use_cutmix else self.mixup_alpha
        return float(rng.beta(alpha, alpha)), use_cutmix

    @staticmethod
    def _box(h: int, w: int, lam: float, rng: np.random.Generator) -> Tuple[int, int, int, int]:
        cut = np.sqrt(1.0 - lam)
        ch, cw = int(h * cut), int(w * cut)
        cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
        return (int(np.clip(cy - ch // 2, 0, h)), int(np.clip(cy + ch // 2, 0, h)),
                int(np.clip(cx - cw // 2, 0, w)), int(np.clip(cx + cw // 2, 0, w)))

    def __call__(self, inputs: Tensor, labels: Tensor, rng: Optional[np.random.Generator] = None
                 ) -> Tuple[Tensor, Tensor]:
        """``inputs`` ``[B, ...]``, ``labels`` ``[B]`` -> mixed inputs and soft targets ``[B, K]``."""
        rng = rng if rng is not None else np.random.default_rng()
        if inputs.dim() not in (4, 5) or labels.shape != inputs.shape[:1]:
            raise ValueError(f"mixup/cutmix needs images [B, C, H, W] or frames [B, T, C, H, W] and labels [B], got "
                             f"{tuple(inputs.shape)} and {tuple(labels.shape)}")
        if inputs.shape[0] % 2:
            raise ValueError(f"mixup/cutmix needs an even batch size, got {inputs.shape[0]} (use drop_last=True)")
        target = one_hot_smooth(labels, self.num_classes, self.label_smoothing)
        lam, use_cutmix = self._draw(rng)
        if lam == 1.0:
            return inputs, target
        flipped = inputs.flip(0)
        if use_cutmix:
            h, w = inputs.shape[-2:]
            y0, y1, x0, x1 = self._box(h, w, lam, rng)
            inputs = inputs.clone()
            inputs[..., y0:y1, x0:x1] = flipped[..., y0:y1, x0:x1]
            lam = 1.0 - (y1 - y0) * (x1 - x0) / float(h * w)
        else:
            inputs = inputs * lam + flipped * (1.0 - lam)
        return inputs, target * lam + target.flip(0) * (1.0 - lam)
