"""Forecasting metrics: R² (paper Eq. 15), RSE (Eq. 16), MAE, RMSE, and the mmengine metric that reports them.

For predictions ``P`` and targets ``Y`` of shape ``[M, H, C]`` (samples, horizon steps, variables) and the
per-(step, variable) mean over samples ``Ybar[h, c] = mean_m Y[m, h, c]``:

    R²  = 1 - sum (Y - P)² / sum (Y - Ybar)²                  (Eq. 15)
    RSE = sqrt(sum (Y - P)²) / sqrt(sum (Y - Ybar)²)          (Eq. 16, with squared norms: see the docs)

so that R² = 1 - RSE². Both are NaN when the targets do not vary (zero denominator). SeqSNN's ``r2`` (sklearn on
the flattened arrays) uses one global mean instead of ``Ybar[h, c]``; ``mean="global"`` reproduces it. With an
``observed`` mask, sums and means run over observed entries only.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS

__all__ = ["r2_score", "rse", "ForecastMetric", "evaluate_predictions", "R2_MEANS"]

R2_MEANS = ("per_step", "global")


def _prepare(pred: Any, target: Any, observed: Any) -> tuple:
    p, y = (np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a, dtype=np.float64)
            for a in (pred, target))
    if p.shape != y.shape or p.ndim != 3:
        raise ValueError(f"predictions and targets must both be [M, H, C], got {p.shape} and {y.shape}")
    w = np.ones_like(y) if observed is None else np.asarray(
        observed.detach().cpu() if isinstance(observed, torch.Tensor) else observed, dtype=np.float64)
    if w.shape != y.shape:
        raise ValueError(f"observed mask must be {y.shape}, got {w.shape}")
    return p, y, w


def _sst(y: np.ndarray, w: np.ndarray, mean: str) -> float:
    if mean == "per_step":
        ybar = (w * y).sum(0) / np.maximum(w.sum(0), 1.0)  # [H, C]
    elif mean == "global":
        ybar = (w * y).sum() / max(w.sum(), 1.0)
    else:
        raise ValueError(f"mean must be one of {R2_MEANS}, got {mean!r}")
    return float((w * (y - ybar) ** 2).sum())


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def r2_score(pred: Any, target: Any, observed: Any = None, mean: str = "per_step") -> float:
    """Eq. 15 on ``[M, H, C]`` arrays (``mean="global"``: SeqSNN's variant)."""
    p, y, w = _prepare(pred, target, observed)
    return 1.0 - _ratio((w * (y - p) ** 2).sum(), _sst(y, w, mean))


def rse(pred: Any, target: Any, observed: Any = None) -> float:
    """Eq. 16 on ``[M, H, C]`` arrays."""
    p, y, w = _prepare(pred, target, observed)
    return float(np.sqrt(_ratio((w * (y - p) ** 2).sum(), _sst(y, w, "per_step"))))


@METRICS.register_module()
class ForecastMetric(BaseMetric):
    """R², RSE, MAE, RMSE and the validation loss for :class:`tasks.timeseries.model.Forecaster` outputs.

    Reported keys (prefix ``ts``): ``mse`` (masked MSE in model space: the training objective, monitored by
    early stopping and the best-checkpoint rule; not called ``loss`` because mmengine's log processor shows
    running means of keys matching ``loss``), ``r2`` and ``rse`` (in ``space``: ``original`` units by default, or
    ``normalized``), ``mae`` and ``rmse`` (always in original units) and, with ``r2_global=True``, ``r2_global``:
    R² around one global mean as SeqSNN computes it (to compare with numbers produced by the reference code).

    Model space -> original units is the per-variable affine map of the dataset's ``metainfo``
    (``target_offset``, ``target_scale``). Only per-(step, variable) sums are kept, so memory does not grow with
    the test set; since the map is affine per variable, every squared error and deviation scales by
    ``target_scale[c]²``, which gives all the metrics in either space exactly.
    """

    default_prefix = "ts"

    def __init__(self, space: str = "original", r2_global: bool = False, collect_device: str = "cpu",
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if space not in ("original", "normalized"):
            raise ValueError(f"space must be 'original' or 'normalized', got {space!r}")
        self.space, self.r2_global = space, bool(r2_global)

    def process(self, data_batch: Any, data_samples: Sequence[Dict[str, Any]]) -> None:
        """``data_samples``: one dict per sample with ``pred``, ``target``, ``observed`` ``[H, C]``."""
        pred = torch.stack([s["pred"] for s in data_samples]).double().cpu()
        target = torch.stack([s["target"] for s in data_samples]).double().cpu()
        w = torch.stack([s["observed"] for s in data_samples]).double().cpu()
        err = (pred - target) * w
        self.results.append(dict(count=w.sum(0).numpy(), sum_y=(w * target).sum(0).numpy(),
                                 sum_y2=(w * target ** 2).sum(0).numpy(), sse=(err ** 2).sum(0).numpy(),
                                 sae=err.abs().sum(0).numpy()))

    def compute_metrics(self, results: List[Dict[str, np.ndarray]]) -> Dict[str, float]:
        stats = {k: np.sum([r[k] for r in results], axis=0) for k in results[0]}  # each [H, C]
        count, sum_y, sum_y2, sse, sae = (stats[k] for k in ("count", "sum_y", "sum_y2", "sse", "sae"))
        meta = self.dataset_meta or {}
        if "target_scale" not in meta or "target_offset" not in meta:
            raise RuntimeError("ForecastMetric needs the dataset's metainfo (target_offset, target_scale): "
                               "evaluate it through a runner whose dataloader holds a ForecastDataset")
        scale = np.asarray(meta["target_scale"], dtype=np.float64)
        offset = np.asarray(meta["target_offset"], dtype=np.float64)
        n = count.sum()
        sst = sum_y2 - sum_y ** 2 / np.maximum(count, 1.0)  # per (step, variable), model space
        weight = scale ** 2 if self.space == "original" else np.ones_like(scale)
        unexplained = _ratio((weight * sse).sum(), (weight * sst).sum())
        metrics = dict(mse=sse.sum() / n, r2=1.0 - unexplained, rse=np.sqrt(unexplained),
                       mae=(scale * sae).sum() / n, rmse=np.sqrt((scale ** 2 * sse).sum() / n))
        if self.r2_global:
            a, b = (scale, offset) if self.space == "original" else (np.ones_like(scale), np.zeros_like(offset))
            total = (a * sum_y + b * count).sum()  # sum of targets in the chosen space
            total2 = (a ** 2 * sum_y2 + 2 * a * b * sum_y + b ** 2 * count).sum()
            metrics["r2_global"] = 1.0 - _ratio((weight * sse).sum(), total2 - total ** 2 / n)
        return {k: float(v) for k, v in metrics.items()}


def evaluate_predictions(metric: ForecastMetric, dataset: Any, pred: Any, batch_size: int = 256) -> Dict[str, float]:
    """Score predictions ``[M, H, C]`` (model space, one per sample of ``dataset``, in order) with ``metric``."""
    pred = torch.as_tensor(np.asarray(pred), dtype=torch.float32)
    if pred.shape[0] != len(dataset):
        raise ValueError(f"{pred.shape[0]} predictions for {len(dataset)} samples")
    metric.dataset_meta = dataset.metainfo
    for start in range(0, len(dataset), batch_size):
        samples = []
        for i in range(start, min(start + batch_size, len(dataset))):
            item = dataset[i]["data_samples"]
            samples.append(dict(pred=pred[i], target=item["target"], observed=item["observed"]))
        metric.process(None, samples)
    return metric.evaluate(len(dataset))
