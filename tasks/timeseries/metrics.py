"""Forecasting metrics: R² (paper Eq. 15), RSE (Eq. 16), MAE, RMSE, and the mmengine metric that reports them.

For predictions ``P`` and targets ``Y`` of shape ``[M, H, C]`` (samples, horizon steps, variables) and the
per-(step, variable) mean over samples ``Ybar[h, c] = mean_m Y[m, h, c]``:

    R²  = 1 - sum (Y - P)² / sum (Y - Ybar)²                  (Eq. 15)
    RSE = sqrt(sum (Y - P)²) / sqrt(sum (Y - Ybar)²)          (Eq. 16, with squared norms: see the docs)

so that R² = 1 - RSE². Both are NaN when the targets do not vary (zero denominator). SeqSNN's ``r2`` (sklearn on
the flattened arrays) uses one global mean instead of ``Ybar[h, c]``; ``mean="global"`` reproduces it. With an
``observed`` mask, sums and means run over observed entries only (unobserved targets may be NaN).

Nothing is scored silently wrong: NaN or infinite predictions (a diverged model), NaN or infinite observed
targets, boolean or text arrays, an empty set and a set without any observed target raise a ``ValueError`` /
``TypeError`` that says so.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from tasks.registry import METRICS

__all__ = ["r2_score", "rse", "ForecastMetric", "evaluate_predictions", "R2_MEANS"]

R2_MEANS = ("per_step", "global")


def _array(name: str, values: Any) -> np.ndarray:
    """``values`` (array-like or tensor) as float64; booleans, text and ``None`` are refused."""
    if values is None:
        raise TypeError(f"{name} are None; pass an [M, H, C] array or tensor")
    array = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}; pass float (or integer) values")
    return array.astype(np.float64)


def _mask(observed: Any, shape: tuple) -> np.ndarray:
    """``observed`` as 0/1 float64 weights of ``shape`` (all ones when ``None``)."""
    if observed is None:
        return np.ones(shape)
    w = np.asarray(observed.detach().cpu() if isinstance(observed, torch.Tensor) else observed)
    if w.shape != shape:
        raise ValueError(f"observed mask must be {shape}, got {w.shape}")
    if w.dtype != bool and not np.isin(w, (0, 1)).all():
        raise ValueError("observed must be a boolean mask (True = scored) or 0/1 values; got other values")
    return w.astype(np.float64)


def _prepare(pred: Any, target: Any, observed: Any) -> tuple:
    """Checked ``[M, H, C]`` predictions, targets (0 where unobserved) and 0/1 weights."""
    p, y = _array("predictions", pred), _array("targets", target)
    if p.shape != y.shape or p.ndim != 3:
        raise ValueError(f"predictions and targets must both be [M, H, C], got {p.shape} and {y.shape}")
    if p.shape[0] == 0:
        raise ValueError("no samples to score (M = 0); the evaluation set is empty")
    w = _mask(observed, y.shape)
    _check_finite(p, y, w > 0)
    if not w.any():
        raise ValueError("no target is observed (observed is all False); there is nothing to score")
    return p, np.where(w > 0, y, 0.0), w


def _check_finite(pred: np.ndarray, target: np.ndarray, observed: np.ndarray) -> None:
    """Predictions must be finite everywhere, targets wherever ``observed`` (bool, their shape) is True."""
    bad = int((~np.isfinite(pred)).sum())
    if bad:
        raise ValueError(f"{bad} of the predictions are NaN or inf (the model diverged?); lower the learning rate "
                         f"or score an earlier checkpoint")
    bad = int((~np.isfinite(target) & observed).sum())
    if bad:
        raise ValueError(f"{bad} observed targets are NaN or inf; mark missing targets observed=False")


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
        pred, target, observed = (torch.stack([_sample_entry(s, key) for s in data_samples]).cpu()
                                  for key in ("pred", "target", "observed"))
        if not pred.shape == target.shape == observed.shape:
            raise ValueError(f"ForecastMetric: pred {tuple(pred.shape[1:])}, target {tuple(target.shape[1:])} and "
                             f"observed {tuple(observed.shape[1:])} of a sample must share one [H, C] shape")
        pred, target, w = pred.double(), target.double(), observed.double()
        _check_finite(pred.numpy(), target.numpy(), observed.numpy() != 0)
        target = torch.where(w > 0, target, torch.zeros_like(target))  # unobserved targets may be NaN
        err = (pred - target) * w
        self.results.append(dict(count=w.sum(0).numpy(), sum_y=(w * target).sum(0).numpy(),
                                 sum_y2=(w * target ** 2).sum(0).numpy(), sse=(err ** 2).sum(0).numpy(),
                                 sae=err.abs().sum(0).numpy()))

    def compute_metrics(self, results: List[Dict[str, np.ndarray]]) -> Dict[str, float]:
        if not results:
            raise ValueError("ForecastMetric got no samples; the evaluation dataloader is empty")
        stats = {k: np.sum([r[k] for r in results], axis=0) for k in results[0]}  # each [H, C]
        count, sum_y, sum_y2, sse, sae = (stats[k] for k in ("count", "sum_y", "sum_y2", "sse", "sae"))
        meta = self.dataset_meta or {}
        if "target_scale" not in meta or "target_offset" not in meta:
            raise RuntimeError("ForecastMetric needs the dataset's metainfo (target_offset, target_scale): "
                               "evaluate it through a runner whose dataloader holds a ForecastDataset")
        scale = np.asarray(meta["target_scale"], dtype=np.float64)
        offset = np.asarray(meta["target_offset"], dtype=np.float64)
        if scale.shape != (count.shape[-1],) or offset.shape != scale.shape:
            raise ValueError(f"ForecastMetric: the dataset's metainfo has {scale.size} series, the predictions "
                             f"{count.shape[-1]}; evaluate with the dataset the model was built for")
        n = count.sum()
        if n == 0:
            raise ValueError("ForecastMetric: no target of the evaluation set is observed; there is nothing to score")
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


def _sample_entry(sample: Any, key: str) -> torch.Tensor:
    """``sample[key]`` of one data sample, which must be a tensor."""
    if not isinstance(sample, dict) or not isinstance(sample.get(key), torch.Tensor):
        keys = sorted(sample) if isinstance(sample, dict) else type(sample).__name__
        raise ValueError(f"ForecastMetric: each data sample must be a dict of 'pred', 'target' and 'observed' "
                         f"[H, C] tensors (Forecaster's predict mode), got {keys}")
    return sample[key]


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
