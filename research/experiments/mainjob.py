"""The main job: the Fashion-MNIST SMixer with and without DSTSP, trained, tested and measured; its table and
training-curve figure."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .measure import auto_epochs, machine
from .runs import run_variant
from .settings import TRAIN_SIZE, build_config, resolve_settings

__all__ = ["VARIANTS", "run_main_job", "schedule_epochs", "merge_results", "markdown", "plot_curves"]

VARIANTS = ("dstsp", "dense")


def run_main_job(settings: Mapping[str, Any], variants: Sequence[str], out_dir: Path,
                 figure: Optional[Path] = None, *, config_dir: Path) -> List[Dict[str, Any]]:
    """Train, test and measure ``variants`` (their configs in ``config_dir``, the repository's configs/cls); write
    ``results.{json,md}`` to ``out_dir`` and the curve figure (default ``<out_dir>/curve.png``); print the table.
    Returns the rows.

    ``settings``: the command-line settings (``None``: the config's value, see :mod:`.settings`), with ``epochs``
    an integer or ``'auto'``: for each variant, as many as its measured training speed fits into the time budget
    (every variant has the same budget, so they are compared at equal training time). ``settings['threads']`` sets
    the runs' intra-op threads.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, schedules = [], {}
    for variant in variants:
        schedules[variant] = schedule_epochs(variant, settings, config_dir=config_dir)
        rows.append(run_variant(variant, build_config(variant, settings, schedules[variant], config_dir=config_dir),
                                out_dir, settings.get("threads") or 0))
    resolved = resolve_settings(settings, config_dir)
    table = markdown(rows, resolved["batch_size"])
    (out_dir / "results.md").write_text(table)
    record = dict(settings=dict(resolved, variants=list(variants), schedule_epochs=schedules), machine=machine(),
                  rows=rows)
    (out_dir / "results.json").write_text(json.dumps(record, indent=2, default=str))
    figure = figure or out_dir / "curve.png"
    plot_curves(rows, figure, f"SMixer on Fashion-MNIST, {machine()['cores']} CPU cores")
    print("\n" + table)
    print(f"results: {out_dir / 'results.json'}, {out_dir / 'results.md'}; curve: {figure}")
    return rows


def merge_results(run_dirs: Sequence[Path], out_dir: Path, figure: Optional[Path] = None) -> List[Dict[str, Any]]:
    """One table and one figure from several runs of the main job (their ``results.json``, e.g. variants trained in
    two processes with the same settings); refuses runs whose settings differ other than in their variants."""
    records = []
    for run in run_dirs:
        path = Path(run) / "results.json"
        if not path.is_file():
            raise FileNotFoundError(f"no results.json in {run} (a tools/fashion_mnist.py --out-dir)")
        records.append(json.loads(path.read_text()))
    common = [{k: v for k, v in r["settings"].items() if k not in ("variants", "schedule_epochs") and v is not None}
              for r in records]  # an option a run did not know is an option it left unset
    if any(c != common[0] for c in common[1:]):
        raise ValueError(f"runs {[str(r) for r in run_dirs]} used different settings; merge only equal ones")
    rows = [row for record in records for row in record["rows"]]
    out_dir.mkdir(parents=True, exist_ok=True)
    table = markdown(rows, common[0]["batch_size"])
    (out_dir / "results.md").write_text(table)
    (out_dir / "results.json").write_text(json.dumps(dict(settings=common[0], runs=[str(r) for r in run_dirs],
                                                          machines=[r["machine"] for r in records], rows=rows),
                                                     indent=2, default=str))
    plot_curves(rows, figure or out_dir / "curve.png", f"Fashion-MNIST at equal training time, "
                                                       f"{records[0]['machine']['cores']} CPU cores")
    print(table)
    return rows


def schedule_epochs(variant: str, settings: Mapping[str, Any], *, config_dir: Path) -> float:
    """The schedule length of ``variant``: ``settings['epochs']``, or with ``'auto'`` the epochs its measured
    training speed fits into its time budget (counted on the budget's clock)."""
    if settings["epochs"] != "auto":
        return settings["epochs"]
    probe = build_config(variant, settings, epochs=1, config_dir=config_dir)
    budget_s = probe.train_cfg.get("time_budget_s")
    if not budget_s:
        raise ValueError("--epochs auto needs a time budget (--time-budget-min)")
    return auto_epochs(probe, budget_s, settings.get("train_subset") or TRAIN_SIZE)


def markdown(rows: Sequence[Dict[str, Any]], batch_size: int) -> str:
    mb = 1024 ** 2
    lines = [f"| variant | test top-1 (%) | top-5 (%) | epochs | training time (min) | training throughput "
             f"(samples/s) | saved for backward (MB per batch of {batch_size}) | energy (mJ/image) | "
             f"SOPs (M/image) | parameters |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['top1']:.2f} | {r['top5']:.2f} | {r['epochs_done']}"
                     f"{' (budget)' if r['budget_hit'] else ''} | {r['train_time_s'] / 60:.1f} | "
                     f"{r['throughput']:.0f} | {r['saved_bytes_per_batch'] / mb:.1f} | {r['energy_mj']:.4f} | "
                     f"{r['sops'] / 1e6:.2f} | {r['params'] / 1e3:.0f}k |")
    return "\n".join(lines) + "\n"


def plot_curves(rows: Sequence[Dict[str, Any]], path: Path, title: str) -> None:
    """Test top-1 over training minutes, one line per row, with the 88% goal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for r in rows:
        minutes = [c["train_time_s"] / 60 for c in r["curve"]]
        accuracy = [c["accuracy/top1"] for c in r["curve"]]
        ax.plot(minutes, accuracy, marker="o", label=f"{r['variant']} ({r['top1']:.2f}%)")
    ax.axhline(88.0, color="grey", linestyle="--", linewidth=1, label="goal 88%")
    ax.set_xlabel("training time (min)")
    ax.set_ylabel("test top-1 accuracy (%)")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=max(0.0, min(min(c["accuracy/top1"] for c in r["curve"]) for r in rows) - 5))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
