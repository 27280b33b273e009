#!/usr/bin/env python
"""Equal-time study on N-Fashion-MNIST (simulated saccades): dense at 8, 4 and 2 time bins, DSTSP after / inside the
stem with and without spatial pruning, kept steps chosen at random / evenly spaced / first-k, TP-Spikformer.

    python tools/event_study.py --variants dense-t8 dstsp-is --time-budget-min 4 --clock cpu --threads 1 \\
        --num-workers 0 --seed 0 --out-dir work_dirs/events/a
    python tools/event_study.py --summarize work_dirs/events/a work_dirs/events/b --out-dir docs/benchmarks/events

Each variant (``research.experiments.events.STUDY``) is configs/cls/smixer-t8_1xb64-2e_nfmnist.py with a few keys
replaced; it trains for the budget on the given clock (its cosine schedule fitted to its measured speed), is tested
on the 10k test recordings and measured; ``results.json`` is written after every run. ``--summarize`` merges runs
(seeds, parallel processes) into one table (``results.md``) and figure (``accuracy.png``). Make the data first:
``python tools/make_nfmnist.py --out data/nfmnist``. The logic is in ``research.experiments.events``.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from research.experiments.events import STUDY, run_study, summarize
from tasks.common.cli import run_command

ROOT = Path(__file__).resolve().parents[1]  # the checkout: its configs and the default output folder
TITLE = "N-Fashion-MNIST (simulated saccades), SMixer 2 x 32, equal training time"


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", choices=sorted(STUDY), default=sorted(STUDY))
    parser.add_argument("--time-budget-min", type=float, default=4.0, help="training time of every variant")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="training time counted as CPU time of the training process, or wall-clock")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads of each run (0: torch's default)")
    parser.add_argument("--num-workers", type=int, default=0, help="data-loading processes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-root", default=None, help="folder holding NMNIST/ (default: $DATA_ROOT/nfmnist, "
                                                          "else data/nfmnist)")
    parser.add_argument("--train-subset", type=int, default=None,
                        help="train on the first N recordings (a smoke test: N-MNIST's layout lists them by class, so a "
                             "subset holds the first classes only)")
    parser.add_argument("--test-subset", type=int, default=None, help="evaluate on the first N test recordings (idem)")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "work_dirs/events")
    parser.add_argument("--summarize", type=Path, nargs="+", default=None, metavar="RUN_DIR",
                        help="no training: merge the results of earlier runs (their --out-dir) into --out-dir")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
    args = parse_args(argv)
    if args.summarize:
        return summarize(args.summarize, args.out_dir, TITLE)
    settings = {k: v for k, v in vars(args).items() if k not in ("variants", "out_dir", "summarize")}
    return run_study(args.variants, settings, args.out_dir, config_dir=ROOT / "configs" / "cls")


if __name__ == "__main__":
    run_command(main)
