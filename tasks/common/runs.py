"""Training and testing a config: what `tools/train.py` and `tools/test.py` run, callable from Python too.

    runner = train(train_config("configs/cls/smixer-t2_1xb64-2136it_fmnist.py", work_dir="work_dirs/x"))
    metrics = evaluate("configs/cls/smixer-t2_1xb64-2136it_fmnist.py", "work_dirs/x/epoch_3.pth")
    train_main(["CONFIG", "--work-dir", "DIR", "--resume"])  # tools/train.py's command line (tools/test.py's:
                                                              # evaluate_main)
    python -m tasks.common.runs train CONFIG --work-dir DIR    # the same in a process of its own, no checkout needed

Both check what mmengine would otherwise accept and get wrong: the work dir must be writable, a checkpoint to
resume or test must be readable and fit the config's model (mmengine loads a foreign one partially, with
warnings), and `resume="auto"` takes the newest readable checkpoint of the work dir.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from zoo.fileio import write_atomic

from .checkpoint import check_state_dict_matches, latest_checkpoint
from .cli import run_command
from .config import load_config, make_work_dir
from .distributed import init_cpu_process_group

__all__ = ["train_config", "train", "evaluate", "train_parser", "evaluate_parser", "train_main", "evaluate_main"]

PathLike = Union[str, Path]


def train_config(config: PathLike, work_dir: Optional[PathLike] = None, resume: Optional[str] = None,
                 cfg_options: Optional[Dict[str, Any]] = None, launcher: str = "none") -> Config:
    """The config of a training run: overrides applied, work dir set (default ``work_dirs/<config name>``), and
    ``resume`` = ``"auto"`` (newest readable checkpoint of the work dir), a checkpoint path, or ``None``."""
    cfg = load_config(config, cfg_options)
    cfg.launcher = launcher
    cfg.work_dir = str(work_dir or cfg.get("work_dir") or Path("work_dirs") / Path(config).stem)
    if resume == "auto":
        cfg.resume, cfg.load_from = True, latest_checkpoint(cfg.work_dir)
    elif resume:
        if not Path(resume).is_file():
            raise FileNotFoundError(f"checkpoint to resume from not found: {resume}")
        cfg.resume, cfg.load_from = True, str(resume)
    return cfg


def train(cfg: Config) -> Runner:
    """Train the run ``cfg`` describes (:func:`train_config`) and return its runner."""
    make_work_dir(cfg.work_dir)
    init_cpu_process_group(cfg)
    runner = Runner.from_cfg(cfg)
    if cfg.resume and cfg.load_from:
        check_state_dict_matches(runner.model, cfg.load_from)
    runner.train()
    return runner


def evaluate(config: PathLike, checkpoint: PathLike, work_dir: Optional[PathLike] = None,
             cfg_options: Optional[Dict[str, Any]] = None, launcher: str = "none",
             out: Optional[PathLike] = None) -> Dict[str, float]:
    """Evaluate ``checkpoint`` with the config's test dataloader and metrics; the metrics, also written as JSON to
    ``out`` if given."""
    cfg = load_config(config, cfg_options)
    cfg.launcher = launcher
    cfg.work_dir = str(work_dir or cfg.get("work_dir") or Path("work_dirs") / Path(config).stem)
    cfg.load_from, cfg.resume = str(checkpoint), False
    make_work_dir(cfg.work_dir)
    init_cpu_process_group(cfg)
    runner = Runner.from_cfg(cfg)
    check_state_dict_matches(runner.model, checkpoint)
    metrics = runner.test()
    if out:
        write_atomic(out, json.dumps(metrics, indent=2, default=float))
    return metrics


# ------------------------------------------------------------------------------------------------- command lines
def train_parser() -> argparse.ArgumentParser:
    """The command line of ``tools/train.py`` (``python -m tasks.common.runs train``)."""
    parser = argparse.ArgumentParser(description="Train a model from an mmengine config")
    parser.add_argument("config", help="config file path")
    parser.add_argument("--work-dir", help="where logs and checkpoints go (default: work_dirs/<config name>)")
    parser.add_argument("--resume", nargs="?", const="auto", default=None,
                        help="resume from the newest checkpoint in the work dir, or from the given checkpoint")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config keys, key=value")
    parser.add_argument("--launcher", choices=["none", "pytorch"], default="none", help="job launcher")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)
    return parser


def evaluate_parser() -> argparse.ArgumentParser:
    """The command line of ``tools/test.py`` (``python -m tasks.common.runs test``)."""
    parser = argparse.ArgumentParser(description="Test a checkpoint")
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--work-dir")
    parser.add_argument("--out", help="write the metrics as JSON to this file")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    parser.add_argument("--launcher", choices=["none", "pytorch"], default="none")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)
    return parser


def train_main(argv: Optional[Sequence[str]] = None) -> Runner:
    """``tools/train.py``: train the config a command line names; returns the runner."""
    args = train_parser().parse_args(argv)
    return train(train_config(args.config, args.work_dir, args.resume, args.cfg_options, args.launcher))


def evaluate_main(argv: Optional[Sequence[str]] = None) -> Dict[str, float]:
    """``tools/test.py``: evaluate the checkpoint a command line names, print the metrics as JSON, return them."""
    args = evaluate_parser().parse_args(argv)
    metrics = evaluate(args.config, args.checkpoint, args.work_dir, args.cfg_options, args.launcher, args.out)
    print(json.dumps(metrics, indent=2, default=float))
    return metrics


COMMANDS = {"train": train_main, "test": evaluate_main}

if __name__ == "__main__":  # python -m tasks.common.runs {train,test} ARGS...: one line per failure, as the tools
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: python -m tasks.common.runs {{{','.join(COMMANDS)}}} ARGS...")
    run_command(COMMANDS[sys.argv[1]], sys.argv[2:])
