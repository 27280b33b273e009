"""Publish a checkpoint folder on the Hugging Face Hub, after checking that it loads and that its card tells the truth.

:func:`check_folder` refuses, with one line that names the problem, a folder that lacks a file, whose
``model.safetensors`` is unreadable or does not fit the model ``config.json`` builds (every tensor's name and shape),
or whose ``README.md`` lacks a Hub front-matter field or states metrics other than ``config.json``'s.
:func:`publish_folder` then uploads exactly those three files (``create_repo`` + ``upload_folder``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

import yaml
from torch import nn
from huggingface_hub import HfApi, metadata_load
from huggingface_hub.repocard_data import model_index_to_eval_results

from .hub import CONFIG_NAME, WEIGHTS_NAME, load_folder

__all__ = ["check_folder", "publish_folder", "FolderCheck", "provenance", "CARD_NAME", "CARD_FIELDS", "LICENSE",
           "LIBRARY_NAME"]

LICENSE = "apache-2.0"  # the project's licence (setup.cfg), which the weights it trains share
LIBRARY_NAME = "smixer-zoo"
CARD_NAME = "README.md"
CARD_FIELDS = ("license", "library_name", "tags", "datasets", "metrics", "model-index")  # the Hub's front matter


@dataclass
class FolderCheck:
    """What a checked folder holds: the files to upload (name -> bytes), its model and its metrics."""

    folder: Path
    files: Dict[str, int]
    architecture: str
    tensors: int
    metrics: Dict[str, Any]


Loader = Callable[[Path], nn.Module]


def provenance(config: Path, checkpoint: Path, trained_by: Optional[str] = None, command: Optional[str] = None
               ) -> List[str]:
    """A model card's "Provenance" section (markdown lines): the training command, the config and checkpoint the
    weights came from, and the command that wrote the folder."""
    lines = ["## Provenance", ""]
    if trained_by:
        lines.append(f"- trained by: `{trained_by}`")
    lines += [f"- config: `{config.as_posix()}`", f"- checkpoint: `{checkpoint.as_posix()}`"]
    if command:
        lines.append(f"- weights and this card written by: `{command}`")
    return lines


def check_folder(folder: Union[str, Path], load: Loader = load_folder) -> FolderCheck:
    """Check ``folder`` before publishing it; raise ``FileNotFoundError`` / ``ValueError`` naming the problem.

    ``load`` builds the folder's model with its weights, checking each tensor's name and shape, and sets its
    ``variant`` and ``metrics``: :func:`zoo.hub.load_folder` for zoo classifiers (a task passes its own, e.g.
    forecaster folders)."""
    folder = Path(folder)
    missing = [name for name in (WEIGHTS_NAME, CONFIG_NAME, CARD_NAME) if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {missing}; a folder to publish holds {WEIGHTS_NAME}, {CONFIG_NAME} "
                                f"and {CARD_NAME} (tools/export.py writes all three)")
    model = load(folder)  # config.json valid, safetensors readable, every tensor's name and shape matches
    metrics = getattr(model, "metrics", None)
    if not metrics:
        raise ValueError(f"{folder / CONFIG_NAME} records no metrics: export with measured metrics "
                         f"(tools/export.py) before publishing")
    _check_card(folder / CARD_NAME, metrics)
    files = {name: (folder / name).stat().st_size for name in (WEIGHTS_NAME, CONFIG_NAME, CARD_NAME)}
    return FolderCheck(folder, files, model.variant, len(model.state_dict()), dict(metrics))


def _check_card(card: Path, metrics: Dict[str, Any]) -> None:
    """The card's front matter has every field of :data:`CARD_FIELDS`, and its ``model-index`` states exactly the
    metrics of ``config.json``."""
    try:
        meta = metadata_load(card) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{card}: the front matter is not valid YAML: {' '.join(str(err).split())}") from None
    absent = [k for k in CARD_FIELDS if not meta.get(k)]
    if absent:
        raise ValueError(f"{card}: front matter lacks {absent} (the Hub's model card fields: {list(CARD_FIELDS)})")
    try:
        _, results = model_index_to_eval_results(meta["model-index"])
    except (KeyError, TypeError, IndexError) as err:
        raise ValueError(f"{card}: model-index is malformed ({type(err).__name__}: {err}); a result needs task, "
                         f"dataset and metrics with type and value") from None
    stated = {r.metric_name or r.metric_type: r.metric_value for r in results}
    if stated != metrics:
        raise ValueError(f"{card}: model-index states {json.dumps(stated, sort_keys=True)} but {CONFIG_NAME} records "
                         f"{json.dumps(metrics, sort_keys=True)}; re-export the folder so that both hold the measured "
                         f"metrics")


def _check_repo_id(repo_id: str) -> None:
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        raise ValueError(f"invalid Hub repo id {repo_id!r}: {str(err).splitlines()[0]}") from None
    if repo_id.count("/") != 1:
        raise ValueError(f"invalid Hub repo id {repo_id!r}: give it as 'org/name' (or 'user/name')")


def publish_folder(folder: Union[str, Path], repo_id: str, private: bool = False, dry_run: bool = False,
                   load: Loader = load_folder) -> FolderCheck:
    """Check ``folder`` and, unless ``dry_run``, upload its three files to the Hub model repository ``repo_id``
    (created if needed; ``private`` only applies to a new one); ``load`` as for :func:`check_folder`. Returns the
    check."""
    _check_repo_id(repo_id)
    checked = check_folder(folder, load)
    if not dry_run:
        api = HfApi()
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        api.upload_folder(repo_id=repo_id, repo_type="model", folder_path=checked.folder,
                          allow_patterns=sorted(checked.files),
                          commit_message=f"Upload {checked.architecture} weights (smixer-zoo)")
    return checked
