#!/usr/bin/env python
"""The main job: SMixer with and without DSTSP on the real Fashion-MNIST (60k/10k) on a CPU, end to end.

    python tools/fashion_mnist.py                       # DSTSP vs dense, 6.5 minutes of training each
    python tools/fashion_mnist.py --variants dstsp      # the pruned model only
    python tools/fashion_mnist.py --variants dense dense-t1 dstsp dstsp-t4 --clock cpu --threads 1 --num-workers 0
    python tools/fashion_mnist.py --epochs 1 --train-subset 6000 --test-subset 2000   # a quick check

Every variant (``dstsp``: configs/cls/smixer-dstsp_fmnist.py, ``dense``: configs/cls/smixer_fmnist.py, and the
others of ``tasks.classification.experiments.settings.CONFIGS``) trains for the same time: with ``--epochs auto``
(the default) its schedule is as long as its measured training speed fits into the time budget. For each one it
writes the config with the options given here applied (the configs hold every default) to
``<out-dir>/<variant>/config.py``, trains it with ``tools/train.py`` (the loop stops early if the training-time
budget runs out), evaluates the last checkpoint with ``tools/test.py`` on the test set, and measures on real test
images: parameters, bytes
autograd saves for backward per training batch (saved-tensor hooks), and the theoretical energy per image of paper
appendix B (``zoo.ops.op_report``, eval mode). Training throughput is trained samples over training time (data
loading and steps; evaluation excluded). The logic is in ``tasks.classification.experiments``.

Writes ``<out-dir>/results.json``, ``<out-dir>/results.md`` and the training-curve figure (``--figure``), and
prints the table. Exit status 2 with the ``apt-get`` command when the dataset is missing.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from tasks.classification.experiments.mainjob import VARIANTS, merge_results, run_main_job  # noqa: E402
from tasks.classification.experiments.settings import CONFIGS  # noqa: E402
from tasks.classification.experiments.runs import check_data  # noqa: E402
from tasks.classification.experiments.settings import (DefaultsFormatter, add_dstsp_arguments,  # noqa: E402
                                                       add_settings_arguments)
from tasks.common.cli import run_command  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=DefaultsFormatter)
    parser.add_argument("--variants", nargs="+", choices=sorted(CONFIGS), default=list(VARIANTS))
    add_settings_arguments(parser, epochs="auto")
    add_dstsp_arguments(parser)
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
    return run_main_job(settings, args.variants, args.out_dir, args.figure)


if __name__ == "__main__":
    run_command(main)
