#!/usr/bin/env python
"""Evaluate a checkpoint with the config's test dataloader and metrics.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--cfg-options k=v ...] [--out metrics.json]

A checkpoint that is unreadable or does not fit the config's model is refused with one ``error:`` line.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmengine.config import DictAction  # noqa: E402

from tasks.common import run_command  # noqa: E402
from tasks.common.runs import evaluate  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Test a checkpoint")
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--work-dir")
    parser.add_argument("--out", help="write the metrics as JSON to this file")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    parser.add_argument("--launcher", choices=["none", "pytorch"], default="none")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    metrics = evaluate(args.config, args.checkpoint, args.work_dir, args.cfg_options, args.launcher, args.out)
    print(json.dumps(metrics, indent=2, default=float))
    return metrics


if __name__ == "__main__":
    run_command(main)
