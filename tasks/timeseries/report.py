"""Test-split report of trained forecasters (the engine of ``tools/ts_report.py``): each config's best checkpoint
scored with its ``test_evaluator`` next to persistence and seasonal-naive baselines, and a forecast-vs-truth plot.

All configs must share one dataset (same file, window, horizon, split): the baselines and the plot use the first
config's test split. Metrics: the config's test metrics (R² and RSE in original units, MAE, RMSE) plus R² in
normalised units (every series weighted alike). Every option and checkpoint is checked before anything is written;
the JSON and PNG files are written whole or not at all.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from tasks.common.checkpoint import check_state_dict_matches
from tasks.common.config import load_config
from tasks.registry import DATASETS, METRICS, MODELS
from zoo.fileio import write_atomic

from .baselines import persistence_forecast, seasonal_naive_forecast
from .dataset import ForecastDataset
from .metrics import ForecastMetric, evaluate_predictions
from .model import Forecaster, predict_dataset

__all__ = ["NAMES", "forecast_report", "best_checkpoint", "load_model", "check_plot_options", "score", "model_name",
           "markdown", "plot"]

NAMES = {"transformer": "Transformer (ANN)", "spikformer": "Spikformer", "smixer": "SMixer",
         "smixer_dstsp": "SMixer + DSTSP"}


def forecast_report(configs: Sequence[Path], work_root: Path = Path("work_dirs"), periods: Sequence[int] = (),
                    channel: Optional[str] = None, samples: Optional[List[int]] = None, png: Optional[Path] = None,
                    json_path: Optional[Path] = None,
                    cfg_options: Optional[Dict[str, Any]] = None) -> Dict[str, Dict[str, float]]:
    """Score each config's best checkpoint (in ``<work_root>/<config name>``) and the baselines on the test split.

    ``periods``: seasonal-naive periods (steps); ``cfg_options``: overrides of every config. Writes the rows to
    ``json_path`` and the plot of ``channel`` (default: the first series) at ``samples`` (default: 3 spread out) to
    ``png`` when given. Returns the rows, by model name.
    """
    if png and png.suffix.lower() != ".png":
        raise ValueError(f"--png {png}: the plot is written as PNG; give a file name ending in .png")
    if any(p < 1 for p in periods):
        raise ValueError(f"--periods {list(periods)}: seasonal-naive periods are steps, each >= 1")
    rows: Dict[str, Dict[str, float]] = {}
    forecasts: Dict[str, np.ndarray] = {}
    dataset = None
    for config in configs:
        cfg = load_config(config, cfg_options)
        test_set = DATASETS.build(cfg.test_dataloader.dataset)
        if dataset is None:
            dataset = test_set
            check_plot_options(dataset, channel, samples)
        elif (test_set.file, test_set.window, test_set.horizon, len(test_set)) != (
                dataset.file, dataset.window, dataset.horizon, len(dataset)):
            raise ValueError(f"{config} does not share the first config's test split (file, window, horizon); "
                             f"report configs of one dataset and horizon together")
        model = load_model(cfg, work_root / config.stem)
        name = model_name(config)
        forecasts[name] = predict_dataset(model, dataset)
        rows[name] = score(cfg, dataset, forecasts[name])
    naive = {"persistence": persistence_forecast(dataset)}
    naive.update({f"seasonal naive ({p} steps)": seasonal_naive_forecast(dataset, p) for p in periods})
    for name, pred in naive.items():
        rows[name] = score(cfg, dataset, pred)
    forecasts.update(naive)
    if json_path:
        write_atomic(json_path, json.dumps(rows, indent=2).encode())
    if png:
        samples = samples or [len(dataset) // 6, len(dataset) // 2, 5 * len(dataset) // 6]
        plot(png, dataset, forecasts, channel or dataset.columns[0], samples)
    return rows


def best_checkpoint(work_dir: Path) -> Path:
    found = sorted(work_dir.glob("best_ts_mse_epoch_*.pth"))
    if len(found) != 1:
        raise FileNotFoundError(f"expected one best_ts_mse_epoch_*.pth in {work_dir}, found {len(found)}: train the "
                                f"config first, or pass --work-root with the folder that holds its work dir")
    return found[0]


def load_model(cfg: Config, work_dir: Path) -> Forecaster:
    """The config's model with the weights of its best checkpoint (refused if the checkpoint does not fit)."""
    model = MODELS.build(cfg.model)
    checkpoint = best_checkpoint(work_dir)
    check_state_dict_matches(model, checkpoint)
    load_checkpoint(model, str(checkpoint), map_location="cpu", strict=True, logger="silent")
    return model


def check_plot_options(dataset: ForecastDataset, channel: Optional[str], samples: Optional[List[int]]) -> None:
    """``--channel`` must name a series of the dataset and ``--samples`` be test samples."""
    if channel is not None and channel not in dataset.columns:
        raise ValueError(f"--channel {channel!r} is not a series of {dataset.file}; choose one of "
                         f"{list(dataset.columns)}")
    bad = [i for i in samples or () if not 0 <= i < len(dataset)]
    if bad:
        raise ValueError(f"--samples {bad} out of range: the test split has {len(dataset)} samples "
                         f"(0 to {len(dataset) - 1})")


def score(cfg: Config, dataset: ForecastDataset, pred: np.ndarray) -> Dict[str, float]:
    """The config's test metrics plus ``r2_normalized``."""
    metrics = evaluate_predictions(METRICS.build(cfg.test_evaluator), dataset, pred)
    normalized = evaluate_predictions(ForecastMetric(space="normalized"), dataset, pred)
    return {**{k.split("/")[-1]: v for k, v in metrics.items()}, "r2_normalized": normalized["ts/r2"]}


def model_name(config: Path) -> str:
    """The table's name of the model of a config file (``smixer_dstsp_caiso_load_h24.py`` or
    ``smixer-dstsp-h24_1xb64-300e_metr-la.py``: ``SMixer + DSTSP``; another name: its part before ``_h<horizon>``)."""
    stem = config.stem.replace("-", "_")
    return next((NAMES[k] for k in sorted(NAMES, key=len, reverse=True) if stem.startswith(k + "_")),
                config.stem.rsplit("_h", 1)[0])


def markdown(rows: Dict[str, Dict[str, float]]) -> str:
    lines = ["| model | R² ↑ | RSE ↓ | R² (normalised units) ↑ | MAE ↓ | RMSE ↓ |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, m in rows.items():
        lines.append(f"| {name} | {m['r2']:.3f} | {m['rse']:.3f} | {m['r2_normalized']:.3f} | {m['mae']:.4g} | "
                     f"{m['rmse']:.4g} |")
    return "\n".join(lines)


def plot(path: Path, dataset: ForecastDataset, forecasts: Dict[str, np.ndarray], channel: str,
         samples: Sequence[int]) -> None:
    """Truth and each forecast (original units) of ``channel`` for a few test samples, one panel each."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = dataset.columns.index(channel)
    fig, axes = plt.subplots(len(samples), 1, figsize=(10, 2.6 * len(samples)), squeeze=False)
    first = dataset.first_target_rows()
    for ax, i in zip(axes[:, 0], samples):
        row = int(first[i])
        hist = np.arange(row - dataset.window, row)
        fut = np.arange(row, row + dataset.horizon)
        truth = dataset.to_original_units(dataset.targets[row - dataset.window:row + dataset.horizon])[:, c]
        ax.plot(np.concatenate([hist, fut]), truth, color="black", lw=1.6, label="truth")
        ax.axvline(row - 0.5, color="grey", ls=":", lw=1)
        for name, pred in forecasts.items():
            ax.plot(fut, dataset.to_original_units(pred[i])[:, c], lw=1.2, label=name,
                    ls="--" if name in ("persistence",) or name.startswith("seasonal") else "-")
        when = dataset.index[row] if dataset.index is not None else f"row {row}"
        ax.set_title(f"{channel}: test sample {i}, forecast from {when}", fontsize=9)
        ax.set_xlabel("time step (row of the series)", fontsize=8)
    axes[0, 0].legend(fontsize=7, ncol=4, loc="upper left")
    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=110)
    plt.close(fig)
    write_atomic(path, image.getvalue())
