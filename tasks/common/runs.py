"""Training and testing a config: what `tools/train.py` and `tools/test.py` run, callable from Python too.

Both check what mmengine would otherwise accept and get wrong: the work dir must be writable, a checkpoint to
resume or test must be readable and fit the config's model (mmengine loads a foreign one partially, with
warnings), and `resume="auto"` takes the newest readable checkpoint of the work dir.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional, Union

from mmengine.config import Config
from mmengine.runner import Runner

from zoo.fileio import write_atomic

from .checkpoint import check_state_dict_matches, latest_checkpoint
from .config import load_config, make_work_dir
from .distributed import init_cpu_process_group

__all__ = ["train_config", "train", "evaluate"]

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
