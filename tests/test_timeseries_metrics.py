"""R² (Eq. 15), RSE (Eq. 16), MAE, RMSE and the mmengine ForecastMetric, against hand-computed values."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tasks.timeseries import ForecastMetric, r2_score, rse

# M = 2 samples, H = 1 step, C = 2 variables.
Y = np.array([[[1.0, 2.0]], [[3.0, 6.0]]])
P = np.array([[[1.5, 2.0]], [[2.0, 5.0]]])
# per-(step, variable) means over samples: [2, 4]; SST = 1 + 1 + 4 + 4 = 10; SSE = 0.25 + 0 + 1 + 1 = 2.25
# global mean 3: SST_global = 4 + 1 + 0 + 9 = 14


def test_r2_and_rse_hand_computed():
    assert r2_score(P, Y) == pytest.approx(1 - 2.25 / 10)
    assert rse(P, Y) == pytest.approx(math.sqrt(2.25) / math.sqrt(10))
    assert r2_score(P, Y, mean="global") == pytest.approx(1 - 2.25 / 14)
    assert r2_score(P, Y) == pytest.approx(1 - rse(P, Y) ** 2)


def test_masked_entries_are_left_out_of_sums_and_means():
    Y3 = np.concatenate([Y, [[[100.0, 4.0]]]])  # a third sample whose first variable was not recorded
    P3 = np.concatenate([P, [[[0.0, 4.5]]]])
    observed = np.ones_like(Y3)
    observed[2, 0, 0] = 0
    # variable 0: mean 2 over samples 0, 1; variable 1: mean 4 over all three; SST = 1 + 1 + 4 + 4 + 0 = 10
    # SSE = 0.25 + 1 + 0 + 1 + 0.25 = 2.5
    assert r2_score(P3, Y3, observed) == pytest.approx(1 - 2.5 / 10)
    assert rse(P3, Y3, observed) == pytest.approx(math.sqrt(2.5 / 10))


def test_perfect_and_mean_forecasts_and_bad_shapes():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(50, 3, 4))
    assert r2_score(y, y) == 1.0 and rse(y, y) == 0.0
    mean = np.broadcast_to(y.mean(0), y.shape)
    assert r2_score(mean, y) == pytest.approx(0.0, abs=1e-12) and rse(mean, y) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"must both be \[M, H, C\]"):
        r2_score(y[:, 0], y[:, 0])
    with pytest.raises(ValueError, match="mean must be one of"):
        r2_score(y, y, mean="median")


def _run_metric(metric, pred, target, observed, offset, scale, batch=7):
    metric.dataset_meta = dict(target_offset=offset, target_scale=scale)
    for start in range(0, len(pred), batch):
        metric.process(None, [dict(pred=torch.as_tensor(p), target=torch.as_tensor(t), observed=torch.as_tensor(o))
                              for p, t, o in zip(pred[start:start + batch], target[start:start + batch],
                                                 observed[start:start + batch])])
    return metric.evaluate(len(pred))


def test_forecast_metric_equals_the_formulas_in_both_spaces():
    rng = np.random.default_rng(1)
    target = rng.normal(size=(40, 3, 5)).astype(np.float32)
    pred = (target + rng.normal(scale=0.5, size=target.shape)).astype(np.float32)
    observed = rng.random(target.shape) > 0.1
    offset, scale = rng.uniform(-50, 50, 5), rng.uniform(0.5, 20, 5)
    orig_p, orig_y = pred * scale + offset, target * scale + offset
    res = _run_metric(ForecastMetric(r2_global=True), pred, target, observed, offset, scale)
    assert res["ts/r2"] == pytest.approx(r2_score(orig_p, orig_y, observed), rel=1e-9)
    assert res["ts/rse"] == pytest.approx(rse(orig_p, orig_y, observed), rel=1e-9)
    assert res["ts/r2_global"] == pytest.approx(r2_score(orig_p, orig_y, observed, mean="global"), rel=1e-7)
    err = (orig_p - orig_y)[observed]
    assert res["ts/mae"] == pytest.approx(np.abs(err).mean(), rel=1e-6)
    assert res["ts/rmse"] == pytest.approx(np.sqrt((err ** 2).mean()), rel=1e-6)
    assert res["ts/mse"] == pytest.approx((((pred - target) ** 2)[observed]).mean(), rel=1e-6)
    norm = _run_metric(ForecastMetric(space="normalized"), pred, target, observed, offset, scale)
    assert norm["ts/r2"] == pytest.approx(r2_score(pred, target, observed), rel=1e-9)
    assert norm["ts/rse"] == pytest.approx(rse(pred, target, observed), rel=1e-9)
    assert norm["ts/r2"] != pytest.approx(res["ts/r2"], rel=1e-3)  # per-variable scales weigh the variables
    assert norm["ts/mae"] == pytest.approx(res["ts/mae"])  # MAE and RMSE are always in original units
    assert "ts/r2_global" not in norm


def test_forecast_metric_needs_metainfo_and_a_known_space():
    metric = ForecastMetric()
    metric.process(None, [dict(pred=torch.zeros(2, 2), target=torch.ones(2, 2), observed=torch.ones(2, 2))])
    with pytest.raises(RuntimeError, match="needs the dataset's metainfo"):
        metric.evaluate(1)
    with pytest.raises(ValueError, match="space must be"):
        ForecastMetric(space="log")


def test_constant_targets_give_nan_not_infinity():
    y = np.zeros((4, 2, 3))  # e.g. solar output over a night
    assert math.isnan(r2_score(y + 1, y)) and math.isnan(rse(y + 1, y))
    res = _run_metric(ForecastMetric(r2_global=True), (y + 1).astype(np.float32), y.astype(np.float32),
                      np.ones_like(y, bool), np.zeros(3), np.ones(3))
    assert math.isnan(res["ts/r2"]) and math.isnan(res["ts/r2_global"]) and res["ts/mse"] == pytest.approx(1.0)
