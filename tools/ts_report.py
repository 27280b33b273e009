#!/usr/bin/env python
"""Test-split table (trained models + persistence + seasonal naive) and a forecast-vs-truth plot for one series.

    python tools/ts_report.py configs/ts/realdata/*_caiso_load_h24.py --periods 24 168 \\
        --channel "CAISO Total" --png docs/img/ts_caiso_load_h24.png --json work_dirs/ts_caiso_load_h24.json

Each config's best checkpoint (``best_ts_mse_epoch_*.pth``, kept by the CheckpointHook) is read from
``<work-root>/<config name>``. All configs must share one dataset (same file, window, horizon, split): the
baselines and the plot use the first config's test split. Metrics are the config's ``test_evaluator`` (R² and RSE
in original units, MAE, RMSE) plus R² in normalised units (every series weighted alike).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import DATASETS, METRICS, MODELS  # noqa: E402
from mmengine.runner import load_checkpoint  # noqa: E402

import tasks.timeseries as ts  # noqa: E402

NAMES = {"transformer": "Transformer (ANN)", "spikformer": "Spikformer", "smixer": "SMixer",
         "smixer_dstsp": "SMixer + DSTSP"}


def best_checkpoint(work_dir: Path) -> Path:
    found = sorted(work_dir.glob("best_ts_mse_epoch_*.pth"))
    if len(found) != 1:
        raise SystemExit(f"expected one best_ts_mse_epoch_*.pth in {work_dir}, found {len(found)}: train first")
    return found[0]


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
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: List[str] | None = None) -> Dict[str, Dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+", type=Path)
    parser.add_argument("--work-root", type=Path, default=Path("work_dirs"))
    parser.add_argument("--periods", type=int, nargs="*", default=[], help="seasonal-naive periods (steps)")
    parser.add_argument("--channel", help="series to plot (default: the first)")
    parser.add_argument("--samples", type=int, nargs="*", help="test samples to plot (default: 3 spread out)")
    parser.add_argument("--png", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override keys of every config")
    args = parser.parse_args(argv)

    rows: Dict[str, Dict[str, float]] = {}
    forecasts: Dict[str, np.ndarray] = {}
    dataset = None
    for config in args.configs:
        cfg = Config.fromfile(str(config))
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        test_set = DATASETS.build(cfg.test_dataloader.dataset)
        if dataset is None:
            dataset = test_set
        elif (test_set.file, test_set.window, test_set.horizon, len(test_set)) != (
                dataset.file, dataset.window, dataset.horizon, len(dataset)):
            raise SystemExit(f"{config} does not share the first config's test split")
        model = MODELS.build(cfg.model)
        load_checkpoint(model, str(best_checkpoint(args.work_root / config.stem)), map_location="cpu", logger="silent")
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
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))
    if args.png:
        samples = args.samples or [len(dataset) // 6, len(dataset) // 2, 5 * len(dataset) // 6]
        plot(args.png, dataset, forecasts, args.channel or dataset.columns[0], samples)
    return rows


if __name__ == "__main__":
    main()
