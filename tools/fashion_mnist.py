#!/usr/bin/env python
"""The main job: SMixer with and without DSTSP on the real Fashion-MNIST (60k/10k) on a CPU, end to end.

    python tools/fashion_mnist.py                       # both variants, recommended settings, 15-minute budget
    python tools/fashion_mnist.py --variants dstsp      # the pruned model only
    python tools/fashion_mnist.py --epochs 1 --train-subset 6000 --test-subset 2000   # a quick check

For each variant (``dstsp``: configs/cls/smixer-dstsp_fmnist.py, ``dense``: configs/cls/smixer_fmnist.py) it
writes the run's full config to ``<out-dir>/<variant>/config.py``, trains it with ``tools/train.py`` (the loop
stops early if the training-time budget runs out; by default only the DSTSP model has one, so that both train the
same number of epochs), evaluates the last checkpoint with ``tools/test.py`` on the
test set, and measures on real test images: parameters, bytes autograd saves for backward per training batch
(saved-tensor hooks), and the theoretical energy per image of paper appendix B (``zoo.ops.op_report``, eval mode).
Training throughput is trained samples over training time (data loading and steps; evaluation excluded).

Writes ``<out-dir>/results.json``, ``<out-dir>/results.md`` and the training-curve figure (``--figure``), and
prints the table. Exit status 2 with the ``apt-get`` command when the dataset is missing.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from tasks.common.cli import run_command  # noqa: E402

CONFIGS = {"dstsp": ROOT / "configs/cls/smixer-dstsp_fmnist.py", "dense": ROOT / "configs/cls/smixer_fmnist.py"}
DEFAULTS = dict(embed_dim=64, depth=2, num_heads=8, time_steps=2, spatial_ratio=0.3, temporal_ratio=0.5, epochs="auto",
                batch_size=64, lr=2e-3, weight_decay=0.05, warmup_epochs=0.5, label_smoothing=0.1,
                time_budget_min=15.0, num_workers=1, seed=0, augment="flip", placement="IS")
_CROP = dict(type="RandomCrop", size=28, padding=2)
_FLIP = dict(type="mmcv.RandomFlip", prob=0.5, direction="horizontal")
AUGMENTS = {"crop_flip": [_CROP, _FLIP], "flip": [_FLIP], "none": []}


# ---------------------------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------------------------
def add_settings_arguments(parser: argparse.ArgumentParser, **defaults: Any) -> None:
    """The model / recipe options shared by this tool and tools/ablate.py."""
    d = dict(DEFAULTS, **defaults)
    parser.add_argument("--embed-dim", type=int, default=d["embed_dim"], help="SMixer channels C")
    parser.add_argument("--depth", type=int, default=d["depth"], help="encoder blocks")
    parser.add_argument("--num-heads", type=int, default=d["num_heads"], help="token-mixing heads")
    parser.add_argument("--time-steps", type=int, default=d["time_steps"], help="T (the image is repeated T times)")
    parser.add_argument("--epochs", type=_epochs, default=d["epochs"],
                        help="epochs of the cosine schedule, or 'auto': as many as the measured training speed "
                             "fits into the DSTSP model's time budget (the schedule then ends with the budget)")
    parser.add_argument("--batch-size", type=int, default=d["batch_size"])
    parser.add_argument("--lr", type=float, default=d["lr"], help="AdamW peak learning rate")
    parser.add_argument("--weight-decay", type=float, default=d["weight_decay"])
    parser.add_argument("--warmup-epochs", type=float, default=d["warmup_epochs"])
    parser.add_argument("--label-smoothing", type=float, default=d["label_smoothing"])
    parser.add_argument("--time-budget-min", type=float, default=d["time_budget_min"],
                        help="stop training after this many minutes of training (0: no budget)")
    parser.add_argument("--dense-time-budget-min", type=float, default=0.0,
                        help="budget of the model without DSTSP (0: none, so that both variants train the same "
                             "number of epochs)")
    parser.add_argument("--train-subset", type=int, default=None, help="train on the first N training images")
    parser.add_argument("--test-subset", type=int, default=None, help="evaluate on the first N test images")
    parser.add_argument("--augment", choices=sorted(AUGMENTS), default=d["augment"],
                        help="training augmentation: random crop (2 px padding) + flip, flip only, or none")
    parser.add_argument("--num-workers", type=int, default=d["num_workers"], help="data-loading processes")
    parser.add_argument("--threads", type=int, default=0,
                        help="intra-op threads of the training/test processes (OMP_NUM_THREADS; 0: torch's default, "
                             "one per core). On a machine shared with other jobs, 1 is much faster than 2")
    parser.add_argument("--seed", type=int, default=d["seed"])
    parser.add_argument("--data-root", default=None, help="folder with the idx files (default: DATA_ROOT or "
                                                          "/usr/share/datasets/fashion-mnist)")


def _epochs(value: str) -> Union[int, str]:
    if value == "auto":
        return value
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"epochs must be a positive integer or 'auto', got {value!r}")
    return int(value)


def build_config(base: Path, args: argparse.Namespace, dstsp: Optional[Dict[str, Any]],
                 epochs: Optional[float] = None) -> Config:
    """The repository config ``base`` with the command-line settings applied (what the run's config.py holds).

    ``epochs`` (default ``args.epochs``) may be fractional: the schedule ends there and the run stops at the
    time budget or at the end of the epoch it falls in.
    """
    cfg = Config.fromfile(str(base))
    epochs = float(args.epochs if epochs is None else epochs)
    warmup = min(args.warmup_epochs, epochs / 2)
    backbone = dict(embed_dim=args.embed_dim, depth=args.depth, num_heads=args.num_heads,
                    time_steps=args.time_steps)
    cfg.model.backbone_args.update(backbone)
    cfg.model.backbone_args.dstsp = dstsp  # replaced, not merged with the config's DSTSP options
    cfg.model.label_smoothing = args.label_smoothing
    cfg.optim_wrapper.optimizer.update(lr=args.lr, weight_decay=args.weight_decay)
    cfg.param_scheduler = [
        dict(type="LinearLR", start_factor=0.01, end_factor=1.0, begin=0, end=warmup, by_epoch=True,
             convert_to_iter_based=True),
        dict(type="CosineAnnealingLR", T_max=epochs - warmup, eta_min=args.lr * 1e-3, begin=warmup, end=epochs,
             by_epoch=True, convert_to_iter_based=True),
    ]
    cfg.train_cfg.max_epochs = math.ceil(epochs)
    if epochs != int(epochs):  # the schedule ends mid-epoch: so does training
        cfg.train_cfg.stop_at_iter = round(epochs * ((args.train_subset or 60000) // args.batch_size))
    budget = args.time_budget_min if dstsp else args.dense_time_budget_min
    cfg.train_cfg.time_budget_s = budget * 60 if budget else None
    for loader, subset in (("train_dataloader", args.train_subset), ("val_dataloader", args.test_subset),
                           ("test_dataloader", args.test_subset)):
        dataset = cfg[loader].dataset
        dataset.data_root = args.data_root
        if subset:
            dataset.indices = subset
        cfg[loader].num_workers = args.num_workers
    cfg.train_dataloader.batch_size = args.batch_size
    cfg.train_dataloader.dataset.pipeline = [dict(t) for t in AUGMENTS[args.augment]] + [dict(type="PackClsInputs")]
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    return cfg


# ---------------------------------------------------------------------------------------------------------------
# one run
# ---------------------------------------------------------------------------------------------------------------
def _run(command: List[str], log: Path, threads: int = 0) -> None:
    """Run a tool (``threads`` intra-op threads, 0: default), echo its progress, keep its output in ``log``."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads)) if threads else None
    with open(log, "w") as f:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=env)
        for line in proc.stdout:
            f.write(line)
            if " - INFO - Epoch(" in line or "time budget of" in line or "Error" in line:
                print("   ", line.rstrip()[line.find("Epoch("):] if "Epoch(" in line else line.rstrip(), flush=True)
        if proc.wait():
            raise RuntimeError(f"{' '.join(command)} failed (exit {proc.returncode}); see {log}")


def read_curve(work_dir: Path) -> List[Dict[str, float]]:
    path = work_dir / "curve.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def _last_checkpoint(work_dir: Path) -> Path:
    marker = work_dir / "last_checkpoint"
    if not marker.is_file():
        raise FileNotFoundError(f"training wrote no checkpoint to {work_dir}")
    return Path(marker.read_text().strip())


def load_trained_model(cfg: Config, checkpoint: Optional[Path]) -> torch.nn.Module:
    """The ``SpikingClassifier`` of ``cfg`` with the weights of ``checkpoint`` (safe loading; ``None``: fresh)."""
    from mmengine.registry import MODELS

    import tasks.classification  # noqa: F401

    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"])
    return model.eval()


def real_batch(cfg: Config, model: torch.nn.Module, split: str, size: int) -> Dict[str, torch.Tensor]:
    """``size`` real Fashion-MNIST images of ``split`` through the config's test pipeline and the preprocessor."""
    from mmengine.registry import DATASETS

    dataset_cfg = dict(cfg.test_dataloader.dataset, split=split, indices=size)
    dataset = DATASETS.build(dataset_cfg)
    items = [dataset[i] for i in range(len(dataset))]
    data = dict(inputs=torch.stack([it["inputs"] for it in items]),
                data_samples=dict(gt_label=torch.tensor([it["data_samples"]["gt_label"] for it in items])))
    return model.data_preprocessor(data, False)


def measure_costs(cfg: Config, model: torch.nn.Module, batch_size: int) -> Dict[str, float]:
    """Parameters, bytes saved for backward per training batch, energy / SOPs / MACs per test image."""
    from benchmark import saved_tensor_bytes

    from zoo.ops import op_report

    train = real_batch(cfg, model, "train", batch_size)
    model.train()
    saved = saved_tensor_bytes(lambda: model(train["inputs"], train["data_samples"], mode="loss")["loss"])
    model.eval()
    test = real_batch(cfg, model, "test", 256)
    report = op_report(model.backbone, test["inputs"])
    return dict(params=sum(p.numel() for p in model.parameters()), saved_bytes_per_batch=saved,
                energy_mj=report.energy_mj, sops=report.sops, macs=report.macs)


def measure_speed(cfg: Config, steps: int = 12, warmup: int = 3) -> float:
    """Training samples per second of ``cfg``'s model: median of ``steps`` optimiser steps on a real batch."""
    torch.manual_seed(0)
    model = load_trained_model(cfg, None).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batch_size = cfg.train_dataloader.batch_size
    data = real_batch(cfg, model, "train", batch_size)
    times = []
    for i in range(warmup + steps):
        start = time.perf_counter()
        optimizer.zero_grad()
        model(data["inputs"], data["data_samples"], mode="loss")["loss"].backward()
        optimizer.step()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return batch_size / statistics.median(times)


def auto_epochs(cfg: Config, budget_s: float, train_size: int, margin: float = 0.85) -> float:
    """Epochs that fit in ``budget_s`` at the measured speed, less a margin for data loading and logging."""
    speed = measure_speed(cfg)
    epochs = max(0.5, margin * speed * budget_s / train_size)
    print(f"measured {speed:.0f} samples/s on real batches: {epochs:.2f} epochs of {train_size} images fit in "
          f"{budget_s / 60:.1f} min", flush=True)
    return round(epochs, 2)


def run_variant(name: str, cfg: Config, out_dir: Path, threads: int = 0) -> Dict[str, Any]:
    """Train, test and measure one config; returns the row of the results table."""
    work_dir = out_dir / name
    work_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("curve.jsonl", "last_checkpoint"):
        (work_dir / stale).unlink(missing_ok=True)
    config_path = work_dir / "config.py"
    cfg.dump(str(config_path))
    print(f"== {name}: training ({config_path})", flush=True)
    start = time.time()
    _run([sys.executable, "tools/train.py", str(config_path), "--work-dir", str(work_dir)], work_dir / "train.log",
         threads)
    wall = time.time() - start
    curve = read_curve(work_dir)
    if not curve:
        raise RuntimeError(f"{work_dir} has no validation records (curve.jsonl); see {work_dir / 'train.log'}")
    checkpoint = _last_checkpoint(work_dir)
    print(f"== {name}: testing {checkpoint.name}", flush=True)
    metrics_path = work_dir / "test_metrics.json"
    _run([sys.executable, "tools/test.py", str(config_path), str(checkpoint), "--work-dir", str(work_dir),
          "--out", str(metrics_path)], work_dir / "test.log", threads)
    metrics = json.loads(metrics_path.read_text())
    train_time = curve[-1]["train_time_s"]
    iters = curve[-1]["iter"]
    model = load_trained_model(cfg, checkpoint)
    costs = measure_costs(cfg, model, cfg.train_dataloader.batch_size)
    return dict(variant=name, top1=metrics["accuracy/top1"], top5=metrics["accuracy/top5"],
                epochs_done=curve[-1]["epoch"], iterations=iters, train_time_s=train_time,
                throughput=iters * cfg.train_dataloader.batch_size / train_time, wall_time_s=wall,
                budget_hit=train_time >= (cfg.train_cfg.time_budget_s or float("inf")),
                backbone_args=cfg.model.backbone_args.to_dict(), curve=curve, checkpoint=str(checkpoint), **costs)


# ---------------------------------------------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------------------------------------------
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


def machine() -> Dict[str, Any]:
    cpu = platform.processor()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return dict(cpu=cpu, cores=os.cpu_count(), torch_threads=torch.get_num_threads(), torch=torch.__version__)


def check_data(data_root: Optional[str]) -> None:
    from tasks.classification.datasets.fashion_mnist import find_fashion_mnist

    try:
        print(f"Fashion-MNIST: {find_fashion_mnist(data_root)}", flush=True)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--variants", nargs="+", choices=sorted(CONFIGS), default=["dstsp", "dense"])
    add_settings_arguments(parser)
    parser.add_argument("--spatial-ratio", type=float, default=DEFAULTS["spatial_ratio"], help="DSTSP P_s")
    parser.add_argument("--temporal-ratio", type=float, default=DEFAULTS["temporal_ratio"], help="DSTSP P_t")
    parser.add_argument("--placement", choices=("AS", "IS"), default=DEFAULTS["placement"],
                        help="DSTSP temporal pruning inside the stem (IS: the stem also runs on the kept step only; "
                             "1.5x faster here, where the full-resolution stem dominates) or after it (AS, the "
                             "paper's default)")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "work_dirs/fashion_mnist")
    parser.add_argument("--figure", type=Path, default=None,
                        help="training-curve PNG (default: <out-dir>/curve.png; the docs use "
                             "docs/img/cls_fmnist_curve.png)")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
    args = parse_args(argv)
    check_data(args.data_root)
    if args.threads:
        torch.set_num_threads(args.threads)  # this tool's own measurements; the runs get OMP_NUM_THREADS
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    dstsp = dict(spatial_ratio=args.spatial_ratio, temporal_ratio=args.temporal_ratio,
                 temporal_placement=args.placement)
    epochs = None
    if args.epochs == "auto":  # both variants train the epochs that fit the pruned model into its budget
        if not args.time_budget_min:
            raise SystemExit("--epochs auto needs a time budget (--time-budget-min)")
        epochs = auto_epochs(build_config(CONFIGS["dstsp"], args, dstsp, epochs=1), args.time_budget_min * 60,
                             args.train_subset or 60000)
    for variant in args.variants:
        cfg = build_config(CONFIGS[variant], args, dstsp if variant == "dstsp" else None, epochs)
        rows.append(run_variant(variant, cfg, args.out_dir, args.threads))
    settings = dict({k: v for k, v in vars(args).items() if k not in ("out_dir", "figure")}, schedule_epochs=epochs)
    table = markdown(rows, args.batch_size)
    (args.out_dir / "results.md").write_text(table)
    (args.out_dir / "results.json").write_text(json.dumps(dict(settings=settings, machine=machine(), rows=rows),
                                                          indent=2, default=str))
    figure = args.figure or args.out_dir / "curve.png"
    plot_curves(rows, figure, f"SMixer on Fashion-MNIST, {machine()['cores']} CPU cores")
    print("\n" + table)
    print(f"results: {args.out_dir / 'results.json'}, {args.out_dir / 'results.md'}; curve: {figure}")
    return rows


if __name__ == "__main__":
    run_command(main)
