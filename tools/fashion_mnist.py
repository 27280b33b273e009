#!/usr/bin/env python
"""The main job: SMixer with and without DSTSP on the real Fashion-MNIST (60k/10k) on a CPU, end to end.

    python tools/fashion_mnist.py                       # DSTSP vs dense, 6.5 minutes of training each
    python tools/fashion_mnist.py --variants dstsp      # the pruned model only
    python tools/fashion_mnist.py --variants dense dense-t1 dstsp dstsp-t4 --clock cpu --threads 1 --num-workers 0
    python tools/fashion_mnist.py --epochs 1 --train-subset 6000 --test-subset 2000   # a quick check

Every variant (``dstsp``: configs/cls/smixer-dstsp-t2_1xb64-3e_fmnist.py, ``dense``:
configs/cls/smixer-t2_1xb64-2136it_fmnist.py, and the others of ``research.experiments.settings.CONFIGS``) trains
for the same time: with ``--epochs auto`` (the default) its schedule is as long as its measured training speed fits
into the time budget. For each one it writes the config with the options given here applied (the configs hold every
default) to ``<out-dir>/<variant>/config.py``, trains it as ``tools/train.py`` does (``python -m tasks.common.runs
train``, a process of its own; the loop stops early if the training-time budget runs out), evaluates the last
checkpoint as ``tools/test.py`` does on the test set, and measures on real test images: parameters, bytes autograd
saves for backward per training batch (saved-tensor hooks), and the theoretical energy per image of paper
appendix B (``zoo.ops.op_report``, eval mode). Training throughput is trained samples over training time (data
loading and steps; evaluation excluded). The logic is in ``research.experiments``.

Writes ``<out-dir>/results.json``, ``<out-dir>/results.md`` and the training-curve figure (``--figure``), and
prints the table. Exit status 2 with the ``apt-get`` command when the dataset is missing.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import torch

from research.experiments.mainjob import VARIANTS, merge_results, run_main_job
from research.experiments.runs import check_data
from research.experiments.settings import CONFIGS, DefaultsFormatter, add_dstsp_arguments, add_settings_arguments
from tasks.common.cli import run_command

ROOT = Path(__file__).resolve().parents[1]  # the checkout: its configs and the default output folder
CONFIG_DIR = ROOT / "configs" / "cls"


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=DefaultsFormatter)
    parser.add_argument("--variants", nargs="+", choices=sorted(CONFIGS), default=list(VARIANTS))
    add_settings_arguments(parser, CONFIG_DIR, epochs="auto")
    add_dstsp_arguments(parser, CONFIG_DIR)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "work_dirs/fashion_mnist")
    parser.add_argument("--merge", type=Path, nargs="+", default=None, metavar="RUN_DIR",
                        help="no training: merge the results of earlier runs (their --out-dir) into one table and "
                             "figure in --out-dir")
    parser.add_argument("--figure", type=Path, default=None,
                        help="training-curve PNG (default: <out-dir>/curve.png; the docs use "
                             "docs/img/cls_fmnist_curve.png)")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
    args = parse_args(argv)
    if args.merge:
        return merge_results(args.merge, args.out_dir, args.figure)
    check_data(args.data_root)
    if args.threads:
        torch.set_num_threads(args.threads)  # this tool's own measurements; the runs get OMP_NUM_THREADS
    settings = {k: v for k, v in vars(args).items() if k not in ("variants", "out_dir", "figure", "merge")}
    return run_main_job(settings, args.variants, args.out_dir, args.figure, config_dir=CONFIG_DIR)


if __name__ == "__main__":
    run_command(main)
