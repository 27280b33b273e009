"""mmengine model around any zoo classifier: ``SpikingClassifier`` and its ``ClsDataPreprocessor``.

Neuron state: every zoo neuron is multi-step (it integrates over the ``T`` steps of one call and keeps nothing
afterwards), so there is no state to reset between batches; two identical calls give identical outputs.
"""
from __future__ import annotations

import inspect
import math
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.model import BaseDataPreprocessor, BaseModel
from torch import Tensor

import zoo
from tasks.common.losses import with_pruner_losses
from tasks.registry import MODELS

from .batch_augment import MixupCutmix

__all__ = ["SpikingClassifier", "ClsDataPreprocessor"]


def _numbers(values: Any, name: str) -> List[float]:
    """``values`` as a list of finite floats (one per channel), else a ``ValueError`` naming the option."""
    ok = isinstance(values, (list, tuple)) and values and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
    if not ok:
        raise ValueError(f"ClsDataPreprocessor {name} must be a list of finite numbers, one per channel, got "
                         f"{values!r}")
    return [float(v) for v in values]


def _stack(inputs: Any) -> Tensor:
    """A batch tensor from a tensor or a list of per-sample tensors of one shape."""
    if isinstance(inputs, (list, tuple)):
        shapes = sorted({tuple(x.shape) for x in inputs})
        if len(shapes) > 1:
            raise ValueError(f"the samples of a batch differ in shape {shapes[:3]}; resize or crop them to one size in "
                             f"the pipeline")
        inputs = torch.stack(list(inputs))
    if not torch.is_tensor(inputs):
        raise TypeError(f"ClsDataPreprocessor expects inputs as a tensor or a list of tensors, got "
                        f"{type(inputs).__name__}")
    if inputs.dtype == torch.bool or inputs.is_complex():
        raise TypeError(f"ClsDataPreprocessor expects uint8 images or float frames, got {inputs.dtype}")
    return inputs


def _check_batch_augment(options: Dict[str, Any]) -> None:
    """Raise on keys of ``batch_augment`` that neither :class:`MixupCutmix` nor ``off_epoch`` take."""
    known = [n for n in inspect.signature(MixupCutmix).parameters if n not in ("num_classes", "label_smoothing")]
    unknown = sorted(set(options) - set(known) - {"off_epoch"})
    if unknown:
        raise ValueError(f"batch_augment: unknown keys {unknown}; known: {', '.join(known)}, off_epoch")


def _check_labels(labels: Tensor, batch: int, num_classes: int) -> None:
    """Raise unless ``labels`` is ``[batch]`` with values in ``0..num_classes - 1``."""
    if labels.shape != (batch,):
        raise ValueError(f"gt_label has shape {tuple(labels.shape)} for a batch of {batch}; give one label per sample")
    if batch and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"gt_label {labels.min().item()}..{labels.max().item()} is outside 0..{num_classes - 1}; "
                         f"set backbone_args num_classes to the dataset's class count")


@MODELS.register_module()
class ClsDataPreprocessor(BaseDataPreprocessor):
    """Stack, cast to float and normalise a batch: ``(x - mean) / std`` over the channel dim (dim -3).

    Inputs are images ``[B, C, H, W]`` (uint8, values 0..255: give ``mean``/``std`` on that scale) or event frames
    ``[B, T, C, H, W]``. ``to_rgb`` reverses the channel order (mmcv decodes files as BGR). Labels become a
    ``[B]`` long tensor in ``data_samples['gt_label']``.
    """

    def __init__(self, mean: Optional[Sequence[float]] = None, std: Optional[Sequence[float]] = None,
                 to_rgb: bool = False, non_blocking: bool = False) -> None:
        super().__init__(non_blocking)
        if (mean is None) != (std is None):
            raise ValueError("ClsDataPreprocessor needs both mean and std, or neither")
        self.to_rgb = to_rgb
        self.normalize = mean is not None
        if self.normalize:
            mean, std = _numbers(mean, "mean"), _numbers(std, "std")
            if len(mean) != len(std) or min(std) <= 0:
                raise ValueError(f"mean and std must have the same length and std > 0, got {mean} and {std}")
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1), persistent=False)
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(-1, 1, 1), persistent=False)

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        if not isinstance(data, dict) or "inputs" not in data:
            raise ValueError(f"ClsDataPreprocessor expects dict(inputs=..., data_samples=dict(gt_label=...)), got "
                             f"{sorted(data) if isinstance(data, dict) else type(data).__name__}")
        data = self.cast_data(data)
        inputs = _stack(data["inputs"])
        if inputs.dim() not in (4, 5):
            raise ValueError(f"expected a batch of images [B, C, H, W] or frames [B, T, C, H, W], got "
                             f"{tuple(inputs.shape)}")
        inputs = inputs.float()
        if self.to_rgb:
            inputs = inputs.flip(-3)
        if self.normalize:
            if inputs.shape[-3] != self.mean.shape[0]:
                raise ValueError(f"{inputs.shape[-3]} input channels but mean/std for {self.mean.shape[0]}")
            inputs = (inputs - self.mean) / self.std
        samples = data.get("data_samples")
        if samples is not None:
            labels = torch.as_tensor(samples["gt_label"], device=inputs.device)
            if labels.is_floating_point() or labels.dtype == torch.bool:
                raise TypeError(f"gt_label must be integer class indices, got {labels.dtype}")
            samples = dict(samples, gt_label=labels.long())
        return dict(inputs=inputs, data_samples=samples)


@MODELS.register_module()
class SpikingClassifier(BaseModel):
    """A zoo classifier (``zoo.create(backbone, **backbone_args)``) trained and evaluated by mmengine.

    Args:
        backbone: registered zoo variant, e.g. ``'smixer-cifar10-dstsp'``.
        backbone_args: constructor overrides (``num_classes``, ``img_size``, ``time_steps``, ``pruning``;
            ``zoo.create`` also takes the ``dstsp`` shorthand).
        label_smoothing: smoothing of the one-hot targets.
        batch_augment: ``dict(mixup_alpha, cutmix_alpha, prob, switch_prob, off_epoch)`` for
            :class:`MixupCutmix`; ``off_epoch`` (optional) switches it off from that epoch on (timm's
            ``mixup_off_epoch``).
        data_preprocessor: defaults to a :class:`ClsDataPreprocessor` without normalisation.

    ``forward(inputs, data_samples, mode)``: ``'loss'`` -> ``dict(loss, accuracy)``, ``'predict'`` -> one dict per
    sample (``pred_score`` ``[K]``, ``pred_label``, ``gt_label``), ``'tensor'`` -> logits ``[B, K]``.
    """

    def __init__(self, backbone: str, backbone_args: Optional[Dict[str, Any]] = None, label_smoothing: float = 0.0,
                 batch_augment: Optional[Dict[str, Any]] = None,
                 data_preprocessor: Optional[Union[dict, BaseDataPreprocessor]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor or dict(type="ClsDataPreprocessor"), init_cfg=init_cfg)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        _check_batch_augment(batch_augment or {})
        self.backbone = zoo.create(backbone, **(backbone_args or {}))
        self.num_classes = int(self.backbone.head.out_features)
        self.label_smoothing = float(label_smoothing)
        augment = dict(batch_augment or {})
        self.mix_off_epoch: Optional[int] = augment.pop("off_epoch", None)
        self.batch_augment = (MixupCutmix(self.num_classes, label_smoothing=self.label_smoothing, **augment)
                              if augment else None)

    def forward(self, inputs: Tensor, data_samples: Optional[dict] = None, mode: str = "tensor"
                ) -> Union[Tensor, Dict[str, Tensor], List[dict]]:
        if mode == "tensor":
            return self.backbone(inputs)
        if not isinstance(data_samples, dict) or "gt_label" not in data_samples:
            raise ValueError(f"mode {mode!r} needs data_samples=dict(gt_label=[B] labels), got {data_samples!r}")
        _check_labels(data_samples["gt_label"], inputs.shape[0], self.num_classes)
        if mode == "loss":
            return self.loss(inputs, data_samples["gt_label"])
        if mode == "predict":
            return self.predict(inputs, data_samples["gt_label"])
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def _mixing_now(self) -> bool:
        if self.batch_augment is None or not self.batch_augment.enabled:
            return False
        if self.mix_off_epoch is None:
            return True
        return MessageHub.get_current_instance().get_info("epoch", 0) < self.mix_off_epoch

    def loss(self, inputs: Tensor, labels: Tensor) -> Dict[str, Tensor]:
        if self._mixing_now():
            # numpy generator drawn from torch's RNG, which the train loop reseeds every iteration
            rng = np.random.default_rng(int(torch.randint(0, 2 ** 31 - 1, ())))
            inputs, target = self.batch_augment(inputs, labels, rng)
            logits = self.backbone(inputs)
            loss = torch.sum(-target * F.log_softmax(logits, dim=-1), dim=-1).mean()
        else:
            logits = self.backbone(inputs)
            loss = F.cross_entropy(logits, labels, label_smoothing=self.label_smoothing)
        with torch.no_grad():
            accuracy = (logits.argmax(-1) == labels).float().mean() * 100.0
        return with_pruner_losses(self.backbone, dict(loss=loss, accuracy=accuracy))

    @torch.no_grad()
    def predict(self, inputs: Tensor, labels: Tensor) -> List[dict]:
        scores = self.backbone(inputs).softmax(-1)
        return [dict(pred_score=s, pred_label=int(s.argmax()), gt_label=int(y)) for s, y in zip(scores, labels)]
