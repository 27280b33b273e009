"""Loading a run's config and preparing its work dir, with one-line errors for a user's mistakes."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Optional, Union

from mmengine.config import Config

__all__ = ["load_config", "make_work_dir"]


def load_config(path: Union[str, Path], options: Optional[Dict[str, Any]] = None) -> Config:
    """Read an mmengine config and apply ``--cfg-options`` overrides.

    An override may add a key inside an existing section (``model.backbone_args.pruning=...``) but not a new
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
        _check_overrides(cfg, options, path)
        cfg.merge_from_dict(options)
    return cfg


# Top-level keys that mmengine's Runner reads itself; any other top-level value that is not a section (a dict or a
# list of dicts) is a variable of the config file, already substituted where the file uses it.
RUNNER_KEYS = ("work_dir", "load_from", "resume", "launcher", "default_scope", "log_level", "experiment_name")


def _check_overrides(cfg: Config, options: Dict[str, Any], path: Path) -> None:
    """Refuse overrides that mmengine would accept and then ignore: an unknown top-level key, and a file
    variable such as ``data_root`` or ``horizon`` (changing it after the file was read changes nothing)."""
    tops = {key.split(".")[0] for key in options}
    unknown = sorted(tops - set(cfg.keys()))
    if unknown:
        raise KeyError(f"--cfg-options: unknown top-level config key(s) {unknown} for {path}; its keys are "
                       f"{sorted(cfg.keys())}")
    variables = sorted(key for key in tops if key not in RUNNER_KEYS and not isinstance(cfg[key], (dict, list)))
    if variables:
        raise KeyError(f"--cfg-options: {variables} of {path} are variables of the config file, already "
                       f"substituted into the sections that use them; override those sections' keys (for example "
                       f"train_dataloader.dataset.data_root=...) or edit the file")


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
