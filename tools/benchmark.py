#!/usr/bin/env python
"""Training-cost benchmark of pruning settings, and the neuron benchmark against SpikingJelly.

    python tools/benchmark.py train --model smixer-cifar10 --settings none 0.3,0.75 DSTSP:spatial_ratio=0.3 --out D
    python tools/benchmark.py neuron --out DIR

``train``: each setting (``none``; ``P_s,P_t[,key=value...]`` for DSTSP; ``<Pruner>[:key=value,...]`` for any
registered pruner, with ``placement`` / ``mixer_weight`` / ``stem_layer`` going to the model) is measured in a fresh
process: training and inference throughput, bytes saved for backward, peak memory, the pruner's share of the
training step, the kept token-steps and the op-count ideal speed-up (``research/benchmark.py``).
Writes ``results.json``, ``results.md`` and ``results.png`` to ``--out``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

import torch

from research import benchmark, neuron_benchmark
from tasks.common.cli import run_command

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"  # the checkout's sample images


def device_name(device: str, threads: int = 0) -> str:
    """The device in words; ``threads``: the intra-op threads the measurements ran with (0: torch's default)."""
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return f"{os.cpu_count()} CPU cores, torch {torch.__version__}, {threads or torch.get_num_threads()} threads"


def cmd_train(args: argparse.Namespace) -> None:
    settings = [benchmark.parse_setting(s) for s in args.settings]
    overrides = {k: benchmark.literal(v) for k, v in (kv.split("=", 1) for kv in args.override)}
    if args.time_steps:
        overrides["time_steps"] = args.time_steps
    base = dict(model=args.model, batch=args.batch, steps=args.steps, warmup=args.warmup, device=args.device,
                seed=args.seed, threads=args.threads, clock=args.clock, overrides=overrides)
    results = benchmark.run_settings(settings, dict(base, samples=str(args.samples)))
    meta = dict(base, device_name=device_name(args.device, args.threads), command=" ".join(sys.argv))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    table = benchmark.markdown(results, meta)
    (out / "results.md").write_text(table)
    benchmark.plot(results, out / "results.png", f"{args.model}, batch {args.batch}, {meta['device_name']}")
    print(table)


def cmd_neuron(args: argparse.Namespace) -> None:
    rows = neuron_benchmark.compare_lif(tuple(int(v) for v in args.shape.split(",")), args.repeats, args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = neuron_benchmark.markdown(rows, args.shape, device_name(args.device), args.repeats)
    (out / "neuron.json").write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows}, indent=2))
    (out / "neuron.md").write_text(table)
    print(table)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="training cost of pruning settings")
    train.add_argument("--model", default="smixer-cifar10")
    train.add_argument("--settings", nargs="+", default=["none", "0.3,0.75"],
                       help="none | P_s,P_t[,key=value...] (DSTSP) | Pruner[:key=value,...]")
    train.add_argument("--override", nargs="*", default=[], help="model constructor overrides, key=value")
    train.add_argument("--time-steps", type=int, default=0, help="override the variant's T (0: keep)")
    train.add_argument("--batch", type=int, default=32)
    train.add_argument("--samples", type=Path, default=SAMPLES,
                       help="folder of the sample images (fashion-mnist/, cifar10/, imagenet/) the batch is made of")
    train.add_argument("--steps", type=int, default=10)
    train.add_argument("--warmup", type=int, default=3)
    train.add_argument("--threads", type=int, default=0)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                       help="time steps in elapsed or CPU seconds (cpu with --threads 1: robust to other jobs)")
    train.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    train.add_argument("--out", default="work_dirs/benchmark")
    train.set_defaults(func=cmd_train)
    neu = sub.add_parser("neuron", help="multi-step LIF vs SpikingJelly")
    neu.add_argument("--shape", default="4,32,64,384")
    neu.add_argument("--repeats", type=int, default=40)
    neu.add_argument("--device", default="cpu")
    neu.add_argument("--out", default="work_dirs/benchmark")
    neu.set_defaults(func=cmd_neuron)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    run_command(main)
