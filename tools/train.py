#!/usr/bin/env python
"""Train any task from an mmengine config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CHECKPOINT]] [--cfg-options k=v ...]
    torchrun --nproc_per_node=2 tools/train.py CONFIG --launcher pytorch

``--resume`` alone resumes from the newest checkpoint in the work dir; with a path, from that checkpoint.
Checkpoints load under torch's safe loading and are written atomically: every config's runtime declares
``SafeCheckpointHook`` (tasks/common/checkpoint.py). With ``--resume`` an unreadable newest checkpoint (a run
killed while writing it) is skipped for the one before.
A mistake (missing file, unknown config key, foreign checkpoint) prints one ``error:`` line; ``--debug`` shows
the traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmengine.config import DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from tasks.common import run_command  # noqa: E402  (also registers the engine and SafeCheckpointHook)
from tasks.common.runs import train, train_config  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train a model from an mmengine config")
    parser.add_argument("config", help="config file path")
    parser.add_argument("--work-dir", help="where logs and checkpoints go (default: work_dirs/<config name>)")
    parser.add_argument("--resume", nargs="?", const="auto", default=None,
                        help="resume from the newest checkpoint in the work dir, or from the given checkpoint")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config keys, key=value")
    parser.add_argument("--launcher", choices=["none", "pytorch"], default="none", help="job launcher")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> Runner:
    args = parse_args(argv)
    return train(train_config(args.config, args.work_dir, args.resume, args.cfg_options, args.launcher))


if __name__ == "__main__":
    run_command(main)
