#!/usr/bin/env python
"""Small-scale reproduction of the paper's pruning ablations on the real Fashion-MNIST, on a CPU.

    python tools/ablate.py                                   # all three studies, default settings
    python tools/ablate.py --studies table6 --epochs 1 --train-subset 4000 --test-subset 2000   # a quick check

Studies (each row is one training run of the main job's small SMixer, configs/cls/smixer{,-dstsp}-t2_*_fmnist.py with
the options given here; the logic is in ``research.experiments.ablation``):

- ``table6``: the (P_s, P_t) grid of Table 6: (0, 0), (0.4, 0), (0.6, 0), (0, 0.5), (0, 0.75), (0.2, 0.5),
  (0.3, 0.75), at T = 4 as in the paper (P_t = 0.75 keeps 1 of 4 steps).
- ``strategy``: which tokens are pruned (Fig. 7): LP (low spike intensity, the method), RP (random), HP (high), at
  P_s = 0.3, P_t = 0.75.
- ``stage``: when and where DSTSP acts (Table 8): B/AS (training and inference, after the stem), B/IS (temporal
  pruning inside the stem), T/AS (training only), I/AS (inference only). Stages T and I need a token mixer that
  also serves unpruned tokens, so all four rows use ``mixer_weight='crop'`` (the full N x N matrix cropped at the
  kept tokens).

Writes ``<out-dir>/ablation.json`` and ``<out-dir>/ablation.md``: the tables plus, for each ordering the paper
reports, whether it holds here. A row whose run finished before (same config) is reused, so an interrupted
study can be continued by running the same command again.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import torch

from research.experiments.ablation import STUDIES, run_ablation
from research.experiments.runs import check_data
from research.experiments.settings import DefaultsFormatter, add_settings_arguments
from tasks.common.cli import run_command

ROOT = Path(__file__).resolve().parents[1]  # the checkout: its configs and the default output folder
CONFIG_DIR = ROOT / "configs" / "cls"


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=DefaultsFormatter)
    parser.add_argument("--studies", nargs="+", choices=STUDIES, default=list(STUDIES))
    add_settings_arguments(parser, CONFIG_DIR, time_steps=4, epochs=2, time_budget_min=0.0)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "work_dirs/ablation")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Dict[str, Any]]:
    args = parse_args(argv)
    check_data(args.data_root)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = {k: v for k, v in vars(args).items() if k not in ("studies", "out_dir")}
    command = "python tools/ablate.py " + " ".join(argv if argv is not None else sys.argv[1:])
    return run_ablation(args.studies, settings, args.out_dir, command.strip(), config_dir=CONFIG_DIR)


if __name__ == "__main__":
    run_command(main)
