"""Top-k accuracy for mmengine's evaluator."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from tasks.registry import METRICS

from .datasets.base import check_int

__all__ = ["Accuracy"]


def _label(value: Any, num_classes: int) -> int:
    """``gt_label`` as an int in ``0..num_classes - 1`` (a Python/numpy int or a one-element integer tensor)."""
    if torch.is_tensor(value) and value.numel() == 1 and not value.is_floating_point() and value.dtype != torch.bool:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"Accuracy: gt_label must be an integer class index, got {value!r}")
    if not 0 <= value < num_classes:
        raise ValueError(f"Accuracy: gt_label {value} is outside 0..{num_classes - 1} (the {num_classes} class "
                         f"scores); the model's num_classes does not match the dataset's")
    return int(value)


def _rank(sample: dict) -> Dict[str, int]:
    """Rank of the true class among a sample's scores (0 = first); ties put the lower class index first."""
    if not isinstance(sample, dict) or "pred_score" not in sample or "gt_label" not in sample:
        raise ValueError(f"Accuracy needs one dict(pred_score=[K] scores, gt_label=int) per sample, got "
                         f"{sorted(sample) if isinstance(sample, dict) else type(sample).__name__}")
    scores = torch.as_tensor(sample["pred_score"]).detach().cpu()
    if scores.dim() != 1 or not scores.numel():
        raise ValueError(f"Accuracy: pred_score must be a vector [K] of class scores, got shape {tuple(scores.shape)}")
    if not scores.is_floating_point():
        raise TypeError(f"Accuracy: pred_score must hold float scores, got {scores.dtype}")
    if not torch.isfinite(scores).all():
        raise ValueError("Accuracy: pred_score holds NaN or inf; the model diverged (check the loss) or its input "
                         "holds NaN")
    label = _label(sample["gt_label"], scores.numel())
    true = scores[label]
    return dict(rank=int((scores > true).sum()) + int((scores[:label] == true).sum()), num_classes=scores.numel())


@METRICS.register_module()
class Accuracy(BaseMetric):
    """Top-k accuracy in percent, ``accuracy/top{k}`` for each ``k`` in ``topk`` (k is capped at the class count).

    Consumes the per-sample dicts of ``SpikingClassifier.predict`` (``pred_score`` ``[K]`` float, ``gt_label`` int
    in ``0..K-1``). Ties between scores rank the lower class index first, as ``argmax`` does: top-1 accuracy is the
    accuracy of the predicted label, and a model that scores all classes alike is not counted right.
    """

    default_prefix = "accuracy"

    def __init__(self, topk: Union[int, Sequence[int]] = (1, 5), collect_device: str = "cpu",
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        topk = (topk,) if isinstance(topk, (int, np.integer)) else topk
        if not isinstance(topk, (tuple, list)) or not topk:
            raise ValueError(f"Accuracy topk must be one or more positive integers, e.g. (1, 5), got {topk!r}")
        self.topk = tuple(check_int(k, "Accuracy topk", 1) for k in topk)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        inputs = data_batch.get("inputs") if isinstance(data_batch, dict) else None
        if inputs is not None and len(inputs) != len(data_samples):
            raise ValueError(f"Accuracy got {len(data_samples)} predictions for a batch of {len(inputs)} inputs; "
                             f"the model must return one prediction per sample")
        self.results.extend(_rank(sample) for sample in data_samples)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError("Accuracy got no predictions (empty evaluation set?); check the dataset's split and "
                             "indices")
        counts = sorted({r["num_classes"] for r in results})
        if len(counts) > 1:
            raise ValueError(f"Accuracy: predictions score different numbers of classes {counts}; evaluate one model "
                             f"on one dataset at a time")
        metrics = {}
        for k in self.topk:
            k_eff = min(k, counts[0])
            metrics[f"top{k}"] = 100.0 * sum(r["rank"] < k_eff for r in results) / len(results)
        return metrics
