"""The command-line settings of the Fashion-MNIST runs and where the main job's configs hold them.

The configs (``smixer-t2_1xb64-2136it_fmnist.py``, ``smixer-dstsp-t2_1xb64-3e_fmnist.py`` and the other variants of
:data:`CONFIGS`, each a few lines on top of those two) are the single source of every value: a setting that is
``None`` (not given on the command line) keeps the config's value, a given one replaces it. :data:`SETTINGS` maps
each setting to its place in the config, so that the same table writes a run's config (:func:`build_config`) and
reads the configs' values (:func:`config_values`, for ``--help`` and reports).

The configs are files of the repository, not of the package: every function that reads them takes the folder that
holds them, ``config_dir`` (the checkout's ``configs/cls``, which the tools pass).
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from functools import lru_cache, reduce
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Union

from mmengine.config import Config

__all__ = ["CONFIGS", "config_path", "TRAIN_SIZE", "AUGMENTS", "Setting", "SETTINGS", "DSTSP_SETTINGS",
           "add_settings_arguments", "add_dstsp_arguments", "DefaultsFormatter", "build_config", "set_schedule",
           "config_values", "resolve_settings"]

# The Fashion-MNIST variants (tools/fashion_mnist.py --variants) and their configs in ``config_dir``: the main job's
# two, and what the equal-time comparison of docs/classification.md adds (each config says what it is).
CONFIGS = {
    "dstsp": "smixer-dstsp-t2_1xb64-3e_fmnist.py",
    "dense": "smixer-t2_1xb64-2136it_fmnist.py",
    "dense-t1": "smixer-t1_1xb64-2136it_fmnist.py",
    "dstsp-t4": "smixer-dstsp-t4_1xb64-3e_fmnist.py",
    "dense-l": "smixer-l-t2_1xb64-2136it_fmnist.py",
    "tp": "smixer-tp-t2_1xb64-2136it_fmnist.py",
    "ssa": "spikformer-t2_1xb64-2136it_fmnist.py",
    "ssa-stata": "spikformer-stata-t2_1xb64-2136it_fmnist.py",
    **{f"{family}{suffix}": f"{family}{suffix}-t1_1xb64-2136it_fmnist.py"
       for family in ("qkformer", "sdtv3", "spikformerv2") for suffix in ("", "-m", "-m-dstsp")},
}
TRAIN_SIZE = 60000  # Fashion-MNIST training images
LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")
_CROP = dict(type="RandomCrop", size=28, padding=2)
_FLIP = dict(type="mmcv.RandomFlip", prob=0.5, direction="horizontal")
_PACK = dict(type="PackClsInputs")
AUGMENTS = {"crop_flip": [_CROP, _FLIP], "flip": [_FLIP], "none": []}


@dataclass(frozen=True)
class Setting:
    """How one command-line setting reads and writes a config."""

    get: Callable[[Config], Any]
    set: Callable[[Config, Any], None]


def _at(path: str) -> Setting:
    """The setting stored at the dotted ``path`` of the config."""
    *parents, leaf = path.split(".")

    def parent(cfg: Config) -> Any:
        return reduce(lambda node, key: node[key], parents, cfg)

    return Setting(lambda cfg: parent(cfg).get(leaf), lambda cfg, value: parent(cfg).__setitem__(leaf, value))


def _in_loaders(path: str, loaders: Sequence[str] = LOADERS) -> Setting:
    """The setting at ``<loader>.<path>``, written to each of ``loaders`` and read from the first."""
    each = [_at(f"{loader}.{path}") for loader in loaders]

    def write(cfg: Config, value: Any) -> None:
        for setting in each:
            setting.set(cfg, value)

    return Setting(each[0].get, write)


def _subset(loaders: Sequence[str]) -> Setting:
    """The first N images of ``loaders``' datasets (0: all)."""
    indices = _in_loaders("dataset.indices", loaders)
    return Setting(indices.get, lambda cfg, count: indices.set(cfg, count or None))


def _get_augment(cfg: Config) -> Optional[str]:
    pipeline = [dict(t) for t in cfg.train_dataloader.dataset.pipeline]
    return next((name for name, ts in AUGMENTS.items() if pipeline == ts + [_PACK]), None)


def _set_augment(cfg: Config, name: str) -> None:
    cfg.train_dataloader.dataset.pipeline = [dict(t) for t in AUGMENTS[name]] + [dict(_PACK)]


def _set_budget(cfg: Config, minutes: float) -> None:
    cfg.train_cfg.time_budget_s = minutes * 60 if minutes else None


_BUDGET = Setting(lambda cfg: (cfg.train_cfg.get("time_budget_s") or 0) / 60, _set_budget)

# Settings that every variant's config holds (the model, the recipe, the data, the training-time budget).
SETTINGS: Dict[str, Setting] = {
    "embed_dim": _at("model.backbone_args.embed_dim"),
    "depth": _at("model.backbone_args.depth"),
    "num_heads": _at("model.backbone_args.num_heads"),
    "time_steps": _at("model.backbone_args.time_steps"),
    "label_smoothing": _at("model.label_smoothing"),
    "lr": _at("optim_wrapper.optimizer.lr"),
    "weight_decay": _at("optim_wrapper.optimizer.weight_decay"),
    "batch_size": _at("train_dataloader.batch_size"),
    "augment": Setting(_get_augment, _set_augment),
    "seed": _at("randomness.seed"),
    "num_workers": _in_loaders("num_workers"),
    "data_root": _in_loaders("dataset.data_root"),
    "train_subset": _subset(LOADERS[:1]),
    "test_subset": _subset(LOADERS[1:]),
    "time_budget_min": _BUDGET,
    "clock": _at("train_cfg.budget_clock"),
}
# The DSTSP options, applied to the variants whose config prunes with DSTSP.
DSTSP_SETTINGS: Dict[str, Setting] = {
    "spatial_ratio": _at("model.backbone_args.dstsp.spatial_ratio"),
    "temporal_ratio": _at("model.backbone_args.dstsp.temporal_ratio"),
    "placement": _at("model.backbone_args.dstsp.temporal_placement"),
}


def set_schedule(cfg: Config, epochs: Optional[float] = None, warmup: Optional[float] = None,
                 train_size: int = TRAIN_SIZE) -> None:
    """Fit the config's warm-up + cosine schedule and its loop to ``epochs`` and ``warmup`` (``None``: the config's).

    ``epochs`` may be fractional: the schedule ends there and training stops at that iteration (counted from
    ``train_size`` images, or the train subset, in full batches); the warm-up is at most half of the schedule.
    """
    linear, cosine = cfg.param_scheduler
    epochs = float(cosine.end if epochs is None else epochs)
    warmup = min(linear.end if warmup is None else warmup, epochs / 2)
    linear.end = cosine.begin = warmup
    cosine.update(T_max=epochs - warmup, end=epochs)
    cfg.train_cfg.max_epochs = math.ceil(epochs)
    if epochs == int(epochs):
        cfg.train_cfg.pop("stop_at_iter", None)
    else:  # the schedule ends mid-epoch: so does training
        images = cfg.train_dataloader.dataset.get("indices") or train_size
        cfg.train_cfg.stop_at_iter = round(epochs * (images // cfg.train_dataloader.batch_size))


def config_path(variant: str, config_dir: Path) -> Path:
    """The config file of ``variant`` (a key of :data:`CONFIGS`) in ``config_dir``."""
    if variant not in CONFIGS:
        raise ValueError(f"unknown variant {variant!r}; choose from {sorted(CONFIGS)}")
    path = Path(config_dir) / CONFIGS[variant]
    if not path.is_file():
        raise FileNotFoundError(f"config of variant {variant!r} not found: {path} (config_dir is the repository's "
                                f"configs/cls)")
    return path


def build_config(variant: str, settings: Mapping[str, Any], epochs: Optional[float] = None, *,
                 config_dir: Path) -> Config:
    """The config of ``variant`` (a key of :data:`CONFIGS`, read from ``config_dir``) with the given settings applied
    (what the run's ``config.py`` holds); settings that are ``None`` or absent keep the config's values, other keys
    are ignored (the DSTSP settings too, for a variant without DSTSP).

    ``epochs`` (``None``: the config's) may be fractional, see :func:`set_schedule`; ``settings['warmup_epochs']``
    sets the warm-up.
    """
    cfg = Config.fromfile(str(config_path(variant, config_dir)))
    dstsp = DSTSP_SETTINGS if cfg.model.backbone_args.get("dstsp") else {}
    for name, setting in {**SETTINGS, **dstsp}.items():
        if settings.get(name) is not None:
            setting.set(cfg, settings[name])
    set_schedule(cfg, epochs, settings.get("warmup_epochs"))
    return cfg


@lru_cache(maxsize=None)
def _config(path: Path) -> Config:
    return Config.fromfile(str(path))


def config_values(config_dir: Path) -> Dict[str, Any]:
    """Every setting as the main job's configs in ``config_dir`` hold it (the DSTSP settings from the DSTSP
    variant's config)."""
    dense = _config(config_path("dense", config_dir).resolve())
    dstsp = _config(config_path("dstsp", config_dir).resolve())
    values = {name: setting.get(dense) for name, setting in SETTINGS.items()}
    values.update({name: setting.get(dstsp) for name, setting in DSTSP_SETTINGS.items()})
    linear, cosine = dense.param_scheduler
    return dict(values, epochs=cosine.end, warmup_epochs=linear.end)


def resolve_settings(settings: Mapping[str, Any], config_dir: Path) -> Dict[str, Any]:
    """``settings`` with each ``None`` setting replaced by the config's value (what the runs use, for reports)."""
    values = config_values(config_dir)
    return {k: values[k] if v is None and k in values else v for k, v in settings.items()}


# ---------------------------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------------------------
class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except ``None`` (the config's value, which the option's help names)."""

    def _get_help_string(self, action: argparse.Action) -> Optional[str]:
        return action.help if action.default is None else super()._get_help_string(action)


def _positive_epochs(value: str) -> Union[int, str]:
    if value == "auto":
        return value
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"epochs must be a positive integer or 'auto', got {value!r}")
    return int(value)


def add_settings_arguments(parser: argparse.ArgumentParser, config_dir: Path, **defaults: Any) -> None:
    """The model / recipe / data options shared by tools/fashion_mnist.py and tools/ablate.py (their help quotes
    the values of the configs in ``config_dir``).

    ``defaults``: the tool's own defaults; every other setting defaults to ``None``, the config's value.
    """
    config = config_values(config_dir)

    def add(flag: str, help: str, **kwargs: Any) -> None:
        name = flag[2:].replace("-", "_")
        if name not in defaults and config.get(name) is not None:
            help += f" (default: the config's, {config[name]})"
        parser.add_argument(flag, default=defaults.get(name), help=help, **kwargs)

    add("--embed-dim", "SMixer channels C", type=int)
    add("--depth", "encoder blocks", type=int)
    add("--num-heads", "token-mixing heads", type=int)
    add("--time-steps", "T (the image is repeated T times)", type=int)
    add("--epochs", "epochs of the cosine schedule, or 'auto': for each variant, as many as its measured training "
                    "speed fits into the time budget (its schedule then ends with the budget)", type=_positive_epochs)
    add("--batch-size", "training batch", type=int)
    add("--lr", "AdamW peak learning rate", type=float)
    add("--weight-decay", "AdamW weight decay", type=float)
    add("--warmup-epochs", "linear warm-up (at most half of the schedule)", type=float)
    add("--label-smoothing", "label smoothing of the loss", type=float)
    add("--time-budget-min", "training time of every variant: each stops after this many minutes of training "
                             "(0: no budget)", type=float)
    add("--clock", "how training time is counted: wall-clock, or CPU time of the training process (fair on a "
                   "shared machine; use with --threads 1 --num-workers 0)", choices=("wall", "cpu"))
    add("--train-subset", "train on the first N training images", type=int)
    add("--test-subset", "evaluate on the first N test images", type=int)
    add("--augment", "training augmentation: random crop (2 px padding) + flip, flip only, or none",
        choices=sorted(AUGMENTS))
    add("--num-workers", "data-loading processes", type=int)
    add("--seed", "random seed of the runs", type=int)
    add("--data-root", "folder with the idx files (default: the config's, DATA_ROOT or "
                       "/usr/share/datasets/fashion-mnist)")
    parser.add_argument("--threads", type=int, default=0,
                        help="intra-op threads of the training/test processes (OMP_NUM_THREADS; 0: torch's default, "
                             "one per core). On a machine shared with other jobs, 1 is much faster than 2")


def add_dstsp_arguments(parser: argparse.ArgumentParser, config_dir: Path) -> None:
    """The DSTSP options of the main job's pruned model (default: the DSTSP config's, in ``config_dir``)."""
    config = config_values(config_dir)
    parser.add_argument("--spatial-ratio", type=float, help=f"DSTSP P_s (default: {config['spatial_ratio']})")
    parser.add_argument("--temporal-ratio", type=float, help=f"DSTSP P_t (default: {config['temporal_ratio']})")
    parser.add_argument("--placement", choices=("AS", "IS"),
                        help="DSTSP temporal pruning inside the stem (IS: the stem also runs on the kept step only; "
                             "1.5x faster here, where the full-resolution stem dominates) or after it (AS, the "
                             f"paper's default) (default: {config['placement']})")
