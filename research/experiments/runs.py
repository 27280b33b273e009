"""One run of a Fashion-MNIST config: train it and test its last checkpoint with :mod:`tasks.common.runs` (what
``tools/train.py`` and ``tools/test.py`` run), each in a process of its own (``python -m tasks.common.runs``, with its
own thread settings and memory), then measure its costs on real images."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from mmengine.config import Config

from tasks.classification.datasets.fashion_mnist import find_fashion_mnist

from .measure import load_trained_model, measure_costs

__all__ = ["check_data", "run_step", "read_curve", "last_checkpoint", "run_variant"]


def check_data(data_root: Optional[str]) -> None:
    """Print where Fashion-MNIST is; if it is missing, print the error (with the ``apt-get`` command), exit 2."""
    try:
        print(f"Fashion-MNIST: {find_fashion_mnist(data_root)}", flush=True)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def run_step(step: str, args: List[str], log: Path, threads: int = 0) -> None:
    """Run ``tasks.common.runs`` ``step`` (``train`` or ``test``, the command line of ``tools/<step>.py``) in a new
    Python process with ``threads`` intra-op threads (0: torch's default); echo its progress, keep its output in
    ``log``."""
    command = [sys.executable, "-m", "tasks.common.runs", step, *args]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads)) if threads else None
    with open(log, "w") as f:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        for line in proc.stdout:
            f.write(line)
            if " - INFO - Epoch(" in line or "time budget of" in line or "Error" in line:
                print("   ", line.rstrip()[line.find("Epoch("):] if "Epoch(" in line else line.rstrip(), flush=True)
        if proc.wait():
            raise RuntimeError(f"{' '.join(command)} failed (exit {proc.returncode}); see {log}")


def read_curve(work_dir: Path) -> List[Dict[str, float]]:
    """The validation records (``curve.jsonl`` of the TrainingCurveHook) of a run."""
    path = work_dir / "curve.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def last_checkpoint(work_dir: Path) -> Path:
    marker = work_dir / "last_checkpoint"
    if not marker.is_file():
        raise FileNotFoundError(f"training wrote no checkpoint to {work_dir}")
    return Path(marker.read_text().strip())


def run_variant(name: str, cfg: Config, out_dir: Path, threads: int = 0) -> Dict[str, Any]:
    """Train, test and measure one config in ``<out_dir>/<name>``; returns the row of the results table.

    Training throughput is trained samples over training time (data loading and steps; evaluation excluded).
    """
    work_dir = out_dir / name
    work_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("curve.jsonl", "last_checkpoint"):
        (work_dir / stale).unlink(missing_ok=True)
    config_path = work_dir / "config.py"
    cfg.dump(str(config_path))
    print(f"== {name}: training ({config_path})", flush=True)
    start = time.time()
    run_step("train", [str(config_path), "--work-dir", str(work_dir)], work_dir / "train.log", threads)
    wall = time.time() - start
    curve = read_curve(work_dir)
    if not curve:
        raise RuntimeError(f"{work_dir} has no validation records (curve.jsonl); see {work_dir / 'train.log'}")
    checkpoint = last_checkpoint(work_dir)
    print(f"== {name}: testing {checkpoint.name}", flush=True)
    metrics_path = work_dir / "test_metrics.json"
    run_step("test", [str(config_path), str(checkpoint), "--work-dir", str(work_dir), "--out", str(metrics_path)],
             work_dir / "test.log", threads)
    metrics = json.loads(metrics_path.read_text())
    train_time = curve[-1]["train_time_s"]
    iters = curve[-1]["iter"]
    model = load_trained_model(cfg, checkpoint)
    costs = measure_costs(cfg, model, cfg.train_dataloader.batch_size)
    return dict(variant=name, top1=metrics["accuracy/top1"], top5=metrics["accuracy/top5"],
                epochs_done=curve[-1]["epoch"], iterations=iters, train_time_s=train_time,
                throughput=iters * cfg.train_dataloader.batch_size / train_time, wall_time_s=wall,
                budget_hit=train_time >= (cfg.train_cfg.get("time_budget_s") or float("inf")),
                backbone_args=cfg.model.backbone_args.to_dict(), curve=curve, checkpoint=str(checkpoint), **costs)
