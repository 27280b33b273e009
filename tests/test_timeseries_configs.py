"""Every forecasting config builds its model and dataset; each model type trains, early-stops and tests."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Tuple

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import tasks.timeseries  # noqa: F401  (registers the task's classes)
from tasks.common import runs
from tasks.registry import DATASETS, MODELS
from tasks.timeseries import config_grid as ts_configs
from tasks.timeseries import report as ts_report
from test_timeseries_helpers import BENCHMARKS, REPO, write_benchmark


CONFIGS = REPO / "configs" / "ts"
LEAVES = sorted(CONFIGS.glob("*.py"))
REAL = sorted((CONFIGS / "realdata").glob("*.py"))
NAME = re.compile(r"(?P<model>[a-z-]+)-h(?P<horizon>\d+)_1xb(?P<batch>\d+)-(?P<epochs>\d+)e_(?P<dataset>[a-z-]+)\.py")
TINY_NET = dict(embed_dim=32, depth=1, num_heads=4, mlp_hidden=64)
ROWS = {"metr_la": 400, "pems_bay": 400, "solar": 320, "electricity": 320}  # enough for window 168 + horizon 96


@pytest.fixture(scope="module")
def benchmark_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("benchmarks")
    return {name: write_benchmark(folder, name, rows) for name, rows in ROWS.items()}


def _parse(path: Path) -> Tuple[str, int, str]:
    """``smixer-dstsp-h24_1xb64-300e_metr-la.py`` -> (``smixer_dstsp``, 24, ``metr_la``): the names of its bases."""
    match = NAME.fullmatch(path.name)
    assert match, f"{path.name} does not follow <model>-h<horizon>_1xb<batch>-<epochs>e_<dataset>.py"
    return match["model"].replace("-", "_"), int(match["horizon"]), match["dataset"].replace("-", "_")


def _with_file(cfg: Config, file: Path) -> Config:
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        cfg[loader]["dataset"]["file"] = str(file)
    return cfg


def test_the_64_table_4_configs_and_the_real_data_demos_are_generated_and_current():
    assert len(LEAVES) == 64 and len(REAL) == 8
    assert set(LEAVES) | set(REAL) == set(ts_configs.expected_files(CONFIGS))
    assert ts_configs.stale_files(CONFIGS) == []
    grid = {_parse(p) for p in LEAVES}
    assert grid == {(m, h, d) for m in ts_configs.MODELS for h in (6, 24, 48, 96) for d in ts_configs.DATASETS}


@pytest.mark.parametrize("path", LEAVES, ids=lambda p: p.stem)
def test_every_config_builds_its_model_and_dataset(path, benchmark_files):
    _, horizon, name = _parse(path)
    cfg = _with_file(Config.fromfile(str(path)), benchmark_files[name])
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()  # the full-size network (D 256, FFN 1024)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    item = dataset[0]
    net = model.net
    assert (net.window, net.in_channels, net.out_channels, net.horizon) == (
        dataset.window, dataset.num_inputs, dataset.num_series, horizon)
    assert item["inputs"].shape == (dataset.window, dataset.num_inputs)
    assert item["data_samples"]["target"].shape == (horizon, BENCHMARKS[name][1])
    with torch.no_grad():
        out = model(torch.stack([item["inputs"], dataset[1]["inputs"]]), mode="tensor")
    assert out.shape == (2, horizon, BENCHMARKS[name][1]) and torch.isfinite(out).all()
    assert net.head.out_features == horizon * BENCHMARKS[name][1]
    if "smixer" in path.name or "spikformer" in path.name:
        assert len(net.blocks) == 2 and net.blocks[0].mlp.fc1.linear.out_features == 1024
        assert net.encoder.time_steps == 4 and (net.blocks.pruner is not None) == ("dstsp" in path.name)
    assert cfg.optim_wrapper.optimizer == dict(type="Adam", lr=1e-4) and cfg.train_dataloader.batch_size == 64
    assert f"_1xb{cfg.train_dataloader.batch_size}-{cfg.train_cfg.max_epochs}e_" in path.name
    assert cfg.custom_hooks[0]["patience"] == 30 and cfg.default_hooks.checkpoint.save_best == "ts/mse"


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_real_data_configs_build(path):
    cfg = Config.fromfile(str(path))
    assert f"_1xb{cfg.train_dataloader.batch_size}-{cfg.train_cfg.max_epochs}e_" in path.name
    model = MODELS.build(cfg.model)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = torch.stack([dataset[i]["inputs"] for i in range(2)])
    assert model(batch).shape == (2, 24, dataset.num_series)


@pytest.mark.parametrize("model_name", ts_configs.MODELS)
def test_each_model_type_trains_keeps_its_best_checkpoint_and_tests(model_name, benchmark_files, tmp_path):
    config = CONFIGS / ts_configs.leaf_name(model_name, "metr_la", 6, "adam_cosine")
    work_dir = tmp_path / config.stem
    file = benchmark_files["metr_la"]
    options = {f"{loader}.dataset.file": str(file) for loader in ("train_dataloader", "val_dataloader",
                                                                    "test_dataloader")}
    options.update({f"model.net.{k}": v for k, v in TINY_NET.items()})
    options.update({"train_cfg.max_epochs": 2, "default_hooks.logger.interval": 1})
    runner = runs.train(runs.train_config(config, work_dir, cfg_options=options))
    assert runner.train_loop.epoch == 2
    best = sorted(work_dir.glob("best_ts_mse_epoch_*.pth"))
    assert len(best) == 1
    out = tmp_path / "metrics.json"
    metrics = runs.evaluate(config, best[0], work_dir, cfg_options=options, out=out)
    assert set(metrics) == {"ts/mse", "ts/r2", "ts/rse", "ts/mae", "ts/rmse", "ts/r2_global"}
    assert json.loads(out.read_text())["ts/rse"] == pytest.approx(metrics["ts/rse"])
    assert metrics["ts/r2"] == pytest.approx(1 - metrics["ts/rse"] ** 2)  # Eq. 15 and 16 share their SST
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values())
    # the report (direct inference + evaluate_predictions) reproduces the test run's numbers
    rows = ts_report.forecast_report([config], tmp_path, [288], png=tmp_path / "plot.png", cfg_options=options)
    name = ts_report.model_name(config)
    for key in ("r2", "rse", "mae", "rmse", "mse", "r2_global"):
        assert rows[name][key] == pytest.approx(metrics[f"ts/{key}"], rel=1e-5, abs=1e-7)
    assert set(rows) == {name, "persistence", "seasonal naive (288 steps)"}
    assert (tmp_path / "plot.png").stat().st_size > 10_000


def test_early_stopping_ends_training_when_the_validation_loss_stalls(benchmark_files, tmp_path):
    """``min_delta`` larger than any change: the second validation counts as no improvement (patience 1)."""
    file = benchmark_files["solar"]
    options = {f"{loader}.dataset.file": str(file) for loader in ("train_dataloader", "val_dataloader",
                                                                    "test_dataloader")}
    options.update({f"model.net.{k}": v for k, v in TINY_NET.items()})
    options.update({"train_cfg.max_epochs": 5, "train_dataloader.batch_size": 16})
    config = CONFIGS / ts_configs.leaf_name("transformer", "solar", 6, "adam_cosine")
    cfg = runs.train_config(config, tmp_path, cfg_options=options)
    cfg.custom_hooks[0].update(patience=1, min_delta=1e9, strict=True)  # strict: 'ts/mse' must be reported
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.train_loop.epoch == 2 and runner.train_loop.stop_training
