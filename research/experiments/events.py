"""Equal-time study on N-Fashion-MNIST (simulated saccades): where DSTSP's temporal pruning pays on event data.

Every study variant is the dense event config (``configs/cls/smixer-t8_1xb64-2e_nfmnist.py``, zoo variant
``smixer-nfmnist``) with a few keys replaced (:data:`STUDY`): fewer, longer time bins (the honest "fewer steps"
baseline for events), DSTSP after and inside the stem with and without spatial pruning, the same kept-step count
chosen at random, evenly spaced or first-k (``step_choice``: controls that isolate what SIV selection buys), and
TP-Spikformer. Each run trains for the same budget on the same clock (``--clock cpu``: CPU seconds of a one-thread
training process, robust to other jobs), its cosine schedule fitted to its measured speed, then is tested on the 10k
test recordings (:func:`research.experiments.runs.run_variant`). Rows of several runs (seeds, two processes) are
merged by :func:`summarize` into one table and figure (docs/events.md).
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from mmengine.config import Config

from .measure import auto_epochs, machine
from .runs import run_variant
from .settings import SETTINGS, TRAIN_SIZE, set_schedule

__all__ = ["BASE_CONFIG", "STUDY", "study_config", "run_study", "summarize", "markdown", "plot_study"]

BASE_CONFIG = "smixer-t8_1xb64-2e_nfmnist.py"
_LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


def _steps(t: int) -> Dict[str, Any]:
    """``t`` time bins of the same 315 ms (longer bins for smaller ``t``), in the model and the data."""
    return {"model.backbone_args.time_steps": t, **{f"{loader}.dataset.time_steps": t for loader in _LOADERS}}


def _dstsp(placement: str, spatial: float = 0.0, choice: str = "siv", order: str = "siv") -> Dict[str, Any]:
    pruning = dict(type="DSTSP", temporal_ratio=0.5, spatial_ratio=spatial, placement=placement)
    if choice != "siv":
        pruning["step_choice"] = choice
    if order != "siv":
        pruning["order"] = order
    return {"model.backbone_args.pruning": pruning}


# name -> (what it is, the keys it replaces in BASE_CONFIG)
STUDY: Dict[str, Tuple[str, Dict[str, Any]]] = {
    "dense-t8": ("dense, 8 bins of 39 ms", {}),
    "dense-t4": ("dense, 4 bins of 79 ms", _steps(4)),
    "dense-t2": ("dense, 2 bins of 158 ms", _steps(2)),
    "dstsp-as": ("DSTSP T 8 -> 4 by SIV after the stem", _dstsp("after_stem")),
    "dstsp-as-s": ("DSTSP T 8 -> 4 after the stem, P_s 0.3", _dstsp("after_stem", 0.3)),
    "dstsp-is": ("DSTSP T 8 -> 4 by SIV inside the stem (smixer-nfmnist-dstsp)", _dstsp("in_stem")),
    "dstsp-is-s": ("DSTSP T 8 -> 4 inside the stem, P_s 0.3", _dstsp("in_stem", 0.3)),
    "dstsp-is-t": ("DSTSP T 8 -> 4 by SIV inside the stem, kept steps in time order", _dstsp("in_stem",
                                                                                           order="original")),
    "random-is": ("4 of 8 steps at random, inside the stem (control)", _dstsp("in_stem", choice="random")),
    "uniform-is": ("4 of 8 steps evenly spaced, inside the stem (control)", _dstsp("in_stem", choice="uniform")),
    "first-is": ("the first 4 of 8 steps, inside the stem (control)", _dstsp("in_stem", choice="first")),
    "ssa-t8": ("spiking self-attention instead of the token mixer (Spikformer's), 8 bins",
               {"model.backbone_args.mixer": "ssa"}),
    "tp": ("TP-Spikformer, keep 0.7 of the tokens per block, 8 bins",
           {"model.backbone_args.pruning": dict(type="TPSpikformer", keep_ratio=0.7, mixer_weight="crop")}),
}
_APPLIED = ("seed", "num_workers", "data_root", "time_budget_min", "clock", "train_subset", "test_subset")


def study_config(variant: str, settings: Mapping[str, Any], *, config_dir: Path,
                 epochs: Optional[float] = None) -> Config:
    """The config of study ``variant``: :data:`BASE_CONFIG` from ``config_dir`` with the variant's keys and the given
    ``settings`` (:data:`research.experiments.settings.SETTINGS` names; ``None``: the config's) applied."""
    if variant not in STUDY:
        raise ValueError(f"unknown study variant {variant!r}; choose from {sorted(STUDY)}")
    path = Path(config_dir) / BASE_CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (config_dir is the repository's configs/cls)")
    cfg = Config.fromfile(str(path))
    cfg.merge_from_dict(STUDY[variant][1])
    for name in _APPLIED:
        if settings.get(name) is not None:
            SETTINGS[name].set(cfg, settings[name])
    set_schedule(cfg, epochs)
    return cfg


def run_study(variants: Sequence[str], settings: Mapping[str, Any], out_dir: Path, *,
              config_dir: Path) -> List[Dict[str, Any]]:
    """Train, test and measure each study variant for the time budget of ``settings`` (its schedule fitted to its
    measured speed on the budget's clock), in ``<out_dir>/<variant>-s<seed>``; write ``results.json``."""
    if not settings.get("time_budget_min"):
        raise ValueError("the equal-time study needs a time budget (--time-budget-min)")
    threads = settings.get("threads") or 0
    if threads:
        torch.set_num_threads(threads)  # the speed probe runs here, as the training process will
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for variant in variants:
        probe = study_config(variant, settings, config_dir=config_dir, epochs=1)
        epochs = auto_epochs(probe, probe.train_cfg.time_budget_s, settings.get("train_subset") or TRAIN_SIZE)
        cfg = study_config(variant, settings, config_dir=config_dir, epochs=epochs)
        row = run_variant(f"{variant}-s{cfg.randomness.seed}", cfg, out_dir, threads)
        rows.append(dict(row, variant=variant, run=row["variant"], seed=cfg.randomness.seed,
                         description=STUDY[variant][0], schedule_epochs=epochs))
        record = dict(settings=dict(settings), machine=machine(), rows=rows)
        (out_dir / "results.json").write_text(json.dumps(record, indent=2, default=str))  # after every run
    return rows


def summarize(run_dirs: Sequence[Path], out_dir: Path, title: str) -> List[Dict[str, Any]]:
    """One table (``results.md``, ``results.json``) and one figure (``accuracy.png``) from the ``results.json`` of
    several study runs with the same budget and clock; rows of the same variant (seeds) are averaged."""
    records = []
    for run in run_dirs:
        path = Path(run) / "results.json"
        if not path.is_file():
            raise FileNotFoundError(f"no results.json in {run} (an equal-time study --out-dir)")
        records.append(json.loads(path.read_text()))
    keys = ("time_budget_min", "clock", "train_subset", "test_subset")
    budgets = {tuple(r["settings"].get(k) for k in keys) for r in records}
    if len(budgets) > 1:
        raise ValueError(f"runs {[str(r) for r in run_dirs]} used different budgets or clocks {sorted(budgets)}")
    rows = [row for record in records for row in record["rows"]]
    groups: Dict[str, List[Dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["variant"], []).append(row)
    summary = [dict(variant=name, description=STUDY[name][0] if name in STUDY else "",
                    seeds=[r["seed"] for r in runs], top1=[r["top1"] for r in runs],
                    top1_mean=statistics.mean(r["top1"] for r in runs),
                    epochs=statistics.mean(r["throughput"] * r["train_time_s"] for r in runs) / TRAIN_SIZE,
                    train_min=statistics.mean(r["train_time_s"] for r in runs) / 60,
                    throughput=statistics.mean(r["throughput"] for r in runs),
                    curves=[r["curve"] for r in runs])
               for name, runs in groups.items()]
    summary.sort(key=lambda s: -s["top1_mean"])
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.md").write_text(markdown(summary))
    (out_dir / "results.json").write_text(json.dumps(dict(settings=records[0]["settings"], runs=[str(r) for r in
                                                                                                run_dirs],
                                                          machines=[r["machine"] for r in records], rows=rows,
                                                          summary=summary), indent=2, default=str))
    plot_study(summary, out_dir / "accuracy.png", title)
    print(markdown(summary))
    return summary


def markdown(summary: Sequence[Mapping[str, Any]]) -> str:
    lines = ["| variant | what | test top-1 (%), mean | each seed | epochs trained | training (CPU min) | "
             "training samples/s |", "|---|---|---:|---|---:|---:|---:|"]
    for s in summary:
        each = " / ".join(f"{t:.2f}" for t in s["top1"])
        lines.append(f"| {s['variant']} | {s['description']} | {s['top1_mean']:.2f} | {each} | {s['epochs']:.2f} | "
                     f"{s['train_min']:.1f} | {s['throughput']:.0f} |")
    return "\n".join(lines) + "\n"


def plot_study(summary: Sequence[Mapping[str, Any]], path: Path, title: str) -> None:
    """Left: test top-1 over training minutes (every run's validation curve); right: final test top-1 per variant
    (bars: mean over seeds, dots: each seed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (curves, bars) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw=dict(width_ratios=(1, 1.2)))
    colours = plt.get_cmap("tab20")
    for i, s in enumerate(summary):
        for j, curve in enumerate(s["curves"]):
            curves.plot([c["train_time_s"] / 60 for c in curve], [c["accuracy/top1"] for c in curve], marker="o",
                        color=colours(i), label=s["variant"] if j == 0 else None)
    curves.set_xlabel("training time (CPU min, one thread)")
    curves.set_ylabel("test top-1 (%)")
    curves.grid(alpha=0.3)
    curves.legend(fontsize=7)
    names = [s["variant"] for s in summary][::-1]
    means = [s["top1_mean"] for s in summary][::-1]
    bars.barh(names, means, color=[colours(len(summary) - 1 - i) for i in range(len(summary))])
    for y, s in enumerate(summary[::-1]):
        bars.plot(s["top1"], [y] * len(s["top1"]), "k.", markersize=6)
        bars.text(s["top1_mean"] + 0.1, y, f"{s['top1_mean']:.2f}", va="center", fontsize=8)
    low = min(min(s["top1"]) for s in summary)
    bars.set_xlim(max(0.0, low - 3), max(max(s["top1"]) for s in summary) + 2)
    bars.set_xlabel("test top-1 (%) at the end of the budget")
    bars.grid(axis="x", alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
