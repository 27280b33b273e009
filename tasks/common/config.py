"""Loading a run's config and preparing its work dir, with one-line errors for a user's mistakes."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Optional, Union

from mmengine.config import Config

__all__ = ["load_config", "make_work_dir"]


def load_config(path: Union[str, Path], options: Optional[Dict[str, Any]] = None) -> Config:
    """Read an mmengine config and apply ``--cfg-options`` overrides.

    An override may add a key inside an existing section (``model.backbone_args.dstsp=...``) but not a new
    top-level section: a misspelt ``train_cfgg.max_epochs=3`` would otherwise be ignored without a word.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        cfg = Config.fromfile(str(path))
    except (SyntaxError, NameError, ImportError, KeyError, TypeError, ValueError, FileNotFoundError) as err:
        detail = " ".join(str(err).split()) or type(err).__name__
        raise ValueError(f"config {path} cannot be read: {type(err).__name__}: {detail}") from None
    if options:
        unknown = sorted({key.split(".")[0] for key in options} - set(cfg.keys()))
        if unknown:
            raise KeyError(f"--cfg-options: unknown top-level config key(s) {unknown} for {path}; its keys are "
                           f"{sorted(cfg.keys())}")
        cfg.merge_from_dict(options)
    return cfg


def make_work_dir(work_dir: Union[str, Path]) -> Path:
    """Create ``work_dir`` and check that files can be written there, before any training starts."""
    work_dir = Path(work_dir)
    probe = work_dir / f".write-test-{os.getpid()}"
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise PermissionError(f"work dir {work_dir} is not writable ({err.strerror or err}); pass --work-dir "
                              f"with a writable folder") from None
    return work_dir
