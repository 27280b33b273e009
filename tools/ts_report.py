#!/usr/bin/env python
"""Test-split table (trained models + persistence + seasonal naive) and a forecast-vs-truth plot for one series.

    python tools/ts_report.py configs/ts/realdata/*_caiso_load_h24.py --periods 24 168 \\
        --channel "CAISO Total" --png docs/img/ts_caiso_load_h24.png --json work_dirs/ts_caiso_load_h24.json

Each config's best checkpoint (``best_ts_mse_epoch_*.pth``, kept by the CheckpointHook) is read from
``<work-root>/<config name>``. All configs must share one dataset (same file, window, horizon, split): the
baselines and the plot use the first config's test split. Metrics are the config's ``test_evaluator`` (R² and RSE
in original units, MAE, RMSE) plus R² in normalised units (every series weighted alike).

Every option and checkpoint is checked before anything is written; the JSON and PNG files are written whole or
not at all. A mistake ends with one ``error:`` line and exit status 1 (``--debug`` shows the traceback).
"""
from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import DATASETS, METRICS, MODELS  # noqa: E402
from mmengine.runner import load_checkpoint  # noqa: E402

import tasks.timeseries as ts  # noqa: E402
from tasks.common import run_command  # noqa: E402
from tasks.common.checkpoint import check_state_dict_matches  # noqa: E402
from tasks.common.config import load_config  # noqa: E402
from zoo.fileio import write_atomic  # noqa: E402

NAMES = {"transformer": "Transformer (ANN)", "spikformer": "Spikformer", "smixer": "SMixer",
         "smixer_dstsp": "SMixer + DSTSP"}


def best_checkpoint(work_dir: Path) -> Path:
    found = sorted(work_dir.glob("best_ts_mse_epoch_*.pth"))
    if len(found) != 1:
        raise FileNotFoundError(f"expected one best_ts_mse_epoch_*.pth in {work_dir}, found {len(found)}: train the "
                                f"config first, or pass --work-root with the folder that holds its work dir")
    return found[0]


def load_model(cfg: Config, work_dir: Path) -> "ts.Forecaster":
    """The config's model with the weights of its best checkpoint (refused if the checkpoint does not fit)."""
    model = MODELS.build(cfg.model)
    checkpoint = best_checkpoint(work_dir)
    check_state_dict_matches(model, checkpoint)
    load_checkpoint(model, str(checkpoint), map_location="cpu", strict=True, logger="silent")
    return model


def check_plot_options(dataset: ts.ForecastDataset, channel: Optional[str], samples: Optional[List[int]]) -> None:
    """``--channel`` must name a series of the dataset and ``--samples`` be test samples."""
    if channel is not None and channel not in dataset.columns:
        raise ValueError(f"--channel {channel!r} is not a series of {dataset.file}; choose one of "
                         f"{list(dataset.columns)}")
    bad = [i for i in samples or () if not 0 <= i < len(dataset)]
    if bad:
        raise ValueError(f"--samples {bad} out of range: the test split has {len(dataset)} samples "
                         f"(0 to {len(dataset) - 1})")


def score(cfg: Config, dataset: ts.ForecastDataset, pred: np.ndarray) -> Dict[str, float]:
    """The config's test metrics plus ``r2_normalized``."""
    metrics = ts.evaluate_predictions(METRICS.build(cfg.test_evaluator), dataset, pred)
    normalized = ts.evaluate_predictions(ts.ForecastMetric(space="normalized"), dataset, pred)
    return {**{k.split("/")[-1]: v for k, v in metrics.items()}, "r2_normalized": normalized["ts/r2"]}


def model_name(config: Path) -> str:
    stem = config.stem.rsplit("_h", 1)[0]
    return next((NAMES[k] for k in sorted(NAMES, key=len, reverse=True) if stem.startswith(k + "_")), stem)


def markdown(rows: Dict[str, Dict[str, float]]) -> str:
    lines = ["| model | R² ↑ | RSE ↓ | R² (normalised units) ↑ | MAE ↓ | RMSE ↓ |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, m in rows.items():
        lines.append(f"| {name} | {m['r2']:.3f} | {m['rse']:.3f} | {m['r2_normalized']:.3f} | {m['mae']:.4g} | "
                     f"{m['rmse']:.4g} |")
    return "\n".join(lines)


def plot(path: Path, dataset: ts.ForecastDataset, forecasts: Dict[str, np.ndarray], channel: str,
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


def main(argv: List[str] | None = None) -> Dict[str, Dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+", type=Path)
    parser.add_argument("--work-root", type=Path, default=Path("work_dirs"))
    parser.add_argument("--periods", type=int, nargs="*", default=[], help="seasonal-naive periods (steps, >= 1)")
    parser.add_argument("--channel", help="series to plot (default: the first)")
    parser.add_argument("--samples", type=int, nargs="*", help="test samples to plot (default: 3 spread out)")
    parser.add_argument("--png", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override keys of every config")
    args = parser.parse_args(argv)

    rows: Dict[str, Dict[str, float]] = {}
    forecasts: Dict[str, np.ndarray] = {}
    dataset = None
    if args.png and args.png.suffix.lower() != ".png":
        raise ValueError(f"--png {args.png}: the plot is written as PNG; give a file name ending in .png")
    if any(p < 1 for p in args.periods):
        raise ValueError(f"--periods {args.periods}: seasonal-naive periods are steps, each >= 1")
    for config in args.configs:
        cfg = load_config(config, args.cfg_options)
        test_set = DATASETS.build(cfg.test_dataloader.dataset)
        if dataset is None:
            dataset = test_set
            check_plot_options(dataset, args.channel, args.samples)
        elif (test_set.file, test_set.window, test_set.horizon, len(test_set)) != (
                dataset.file, dataset.window, dataset.horizon, len(dataset)):
            raise ValueError(f"{config} does not share the first config's test split (file, window, horizon); "
                             f"report configs of one dataset and horizon together")
        model = load_model(cfg, args.work_root / config.stem)
        name = model_name(config)
        forecasts[name] = ts.predict(model, dataset)
        rows[name] = score(cfg, dataset, forecasts[name])
    naive = {"persistence": ts.persistence_forecast(dataset)}
    naive.update({f"seasonal naive ({p} steps)": ts.seasonal_naive_forecast(dataset, p) for p in args.periods})
    for name, pred in naive.items():
        rows[name] = score(cfg, dataset, pred)
    forecasts.update(naive)

    print(markdown(rows))
    if args.json:
        write_atomic(args.json, json.dumps(rows, indent=2).encode())
    if args.png:
        samples = args.samples or [len(dataset) // 6, len(dataset) // 2, 5 * len(dataset) // 6]
        plot(args.png, dataset, forecasts, args.channel or dataset.columns[0], samples)
    return rows


if __name__ == "__main__":
    run_command(main)
