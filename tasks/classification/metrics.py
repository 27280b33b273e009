"""Top-k accuracy for mmengine's evaluator."""
from __future__ import annotations

from typing import Dict, List, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS

__all__ = ["Accuracy"]


@METRICS.register_module()
class Accuracy(BaseMetric):
    """Top-k accuracy in percent, ``accuracy/top{k}`` for each ``k`` in ``topk`` (k is capped at the class count).

    Consumes the per-sample dicts of ``SpikingClassifier.predict`` (``pred_score`` ``[K]``, ``gt_label``).
    """

    default_prefix = "accuracy"

    def __init__(self, topk: Sequence[int] = (1, 5), collect_device: str = "cpu", prefix: str = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not topk or min(topk) < 1:
            raise ValueError(f"topk must be positive integers, got {topk}")
        self.topk = tuple(int(k) for k in topk)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            scores = torch.as_tensor(sample["pred_score"]).float()
            label = int(sample["gt_label"])
            rank = int((scores > scores[label]).sum())  # 0 = the label has the highest score
            self.results.append(dict(rank=rank, num_classes=scores.numel()))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError("Accuracy got no predictions (empty evaluation set?)")
        metrics = {}
        for k in self.topk:
            k_eff = min(k, results[0]["num_classes"])
            metrics[f"top{k}"] = 100.0 * sum(r["rank"] < k_eff for r in results) / len(results)
        return metrics
