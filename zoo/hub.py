"""Weights on disk and on the Hugging Face Hub: ``model.safetensors`` + ``config.json``. No pickle, ever.

``config.json`` holds ``{"architecture": <registered variant>, "model_args": {...}, "pretrained_cfg": {...}}``
plus any ``metrics`` a training run recorded. The same pair is what ``save_pretrained`` writes, what a Hub
repository holds, what ships in the package (``zoo/weights/<variant>``) and what ``load`` reads from a folder, a
repo id or the local Hub cache.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any, Dict, List, Optional, Union
from urllib.parse import urlparse

from torch import nn

from .encoder import upgrade_saved_args
from .fileio import write_atomic
from .registry import PretrainedCfg, create, get_pretrained_cfg, is_model, shipped_weights

__all__ = ["save_pretrained", "load", "load_folder", "load_weights", "hub_folder", "WEIGHTS_NAME", "CONFIG_NAME"]

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"


def save_pretrained(model: nn.Module, folder: Union[str, Path], metrics: Optional[Dict[str, Any]] = None,
                    model_card: Optional[str] = None) -> Path:
    """Write ``model.safetensors`` + ``config.json`` (+ ``README.md`` if a model card is given) to ``folder``.

    Each file is written next to its final name and renamed into place, so an interrupted save never leaves a
    half-written file under a checkpoint's name.
    """
    from safetensors.torch import save

    variant = getattr(model, "variant", None)
    if variant is None or not hasattr(model, "init_args"):
        raise ValueError("save_pretrained needs a model built by zoo.create or zoo.load (it records its variant)")
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    config = {"architecture": variant, "model_args": model.init_args,
              "pretrained_cfg": model.pretrained_cfg.to_dict()}
    if metrics:
        config["metrics"] = metrics
    files = {WEIGHTS_NAME: save(state, metadata={"format": "pt", "architecture": variant}),
             CONFIG_NAME: json.dumps(config, indent=2).encode()}
    if model_card:
        files["README.md"] = model_card.encode()
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            write_atomic(folder / name, data)
    except OSError as err:
        raise OSError(f"cannot write the checkpoint to {folder}: {err.strerror or err}; choose a writable "
                      f"folder") from None
    return folder


def _read_config(path: Path) -> Dict[str, Any]:
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from None
    if isinstance(config, dict) and config.get("task") not in (None, "image-classification"):
        raise ValueError(f"{path} holds a {config['task']} model, which zoo.load does not build (it builds the zoo's "
                         f"classifiers): run it with tools/predict.py FOLDER (a Hub repo: download it first)")
    if not isinstance(config, dict) or "architecture" not in config or "model_args" not in config:
        raise ValueError(f"{path} is not a smixer-zoo config: it needs 'architecture' and 'model_args'")
    return config


def _pretrained_cfg(saved: Any, path: Path) -> PretrainedCfg:
    fields = set(PretrainedCfg.__dataclass_fields__)
    if not isinstance(saved, dict) or set(saved) - fields:
        unknown = sorted(set(saved) - fields) if isinstance(saved, dict) else type(saved).__name__
        raise ValueError(f"{path}: 'pretrained_cfg' must be a dict of {sorted(fields)}, got {unknown}")
    return PretrainedCfg(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()})


def load_weights(model: nn.Module, path: Path, described: str, map_location: str = "cpu") -> None:
    """Load the safetensors file ``path`` into ``model`` strictly: a one-line ``ValueError`` for an unreadable file
    or any tensor whose name or shape does not match ``model`` (``described``: the model, for that message)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(path), device=map_location)
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(f"{path} is not a readable safetensors file (corrupt or truncated?): {err}") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [k for k in set(expected) & set(state) if expected[k].shape != state[k].shape]
    if missing or unexpected or wrong:
        raise ValueError(f"{path} does not match {described}: missing {missing[:5]}, unexpected {unexpected[:5]}, "
                         f"wrong shape {sorted(wrong)[:5]}")
    model.load_state_dict(state)


def load_folder(folder: Union[str, Path], map_location: str = "cpu", **overrides: Any) -> nn.Module:
    """Build the model described by ``folder/config.json`` and load ``folder/model.safetensors`` strictly."""
    folder = Path(folder)
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder} has no {name}; a smixer-zoo checkpoint folder holds {CONFIG_NAME} "
                                    f"and {WEIGHTS_NAME} (written by zoo.save_pretrained)")
    config = _read_config(folder / CONFIG_NAME)
    if not is_model(config["architecture"]):
        raise ValueError(f"{folder / CONFIG_NAME} names unknown architecture {config['architecture']!r}")
    try:
        model = create(config["architecture"], **{**upgrade_saved_args(config["model_args"]), **overrides})
    except (TypeError, ValueError) as err:
        raise ValueError(f"{folder / CONFIG_NAME}: cannot build {config['architecture']}: {err}") from None
    load_weights(model, folder / WEIGHTS_NAME, f"{config['architecture']} {config['model_args']}", map_location)
    if "pretrained_cfg" in config:  # what the weights were trained on (e.g. a fine-tune's classes and mean/std)
        model.pretrained_cfg = _pretrained_cfg(config["pretrained_cfg"], folder / CONFIG_NAME)
    if "metrics" in config:
        model.metrics = config["metrics"]
    return model


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hub endpoint accepts a TCP connection (assumed yes behind a proxy, which only the client
    knows how to use; no when HF_HUB_OFFLINE is set)."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    url = urlparse(constants.ENDPOINT)
    try:
        with socket.create_connection((url.hostname, url.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def hub_folder(repo_id: str, revision: Optional[str] = None) -> Path:
    """The local folder of the Hub repository ``repo_id``'s ``config.json`` and ``model.safetensors``, downloaded
    or found in the local Hub cache; a one-line error if impossible."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    def download(local_only: bool) -> List[str]:
        return [hf_hub_download(repo_id, name, revision=revision, local_files_only=local_only)
                for name in (CONFIG_NAME, WEIGHTS_NAME)]

    try:
        try:
            paths = download(local_only=True)  # the local cache first: no network needed
        except LocalEntryNotFoundError:
            if not _hub_reachable():  # fail in seconds rather than after the client's retries
                raise
            paths = download(local_only=False)
    except LocalEntryNotFoundError:
        offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")
        hint = ("HF_HUB_OFFLINE is set: download it once online (`huggingface-cli download " + repo_id + "`) or "
                "pass a local folder" if offline else "the Hub could not be reached: check the network, or pass "
                "a local folder written by zoo.save_pretrained")
        raise FileNotFoundError(f"weights {repo_id!r} are not in the local Hugging Face cache; {hint}") from None
    except (RepositoryNotFoundError, HfHubHTTPError) as err:
        raise FileNotFoundError(f"cannot fetch {repo_id!r} from the Hugging Face Hub: {type(err).__name__}; "
                                f"pass pretrained=False for random weights or a local folder") from None
    return Path(paths[0]).parent


def load(name_or_path: Union[str, Path], pretrained: bool = True, revision: Optional[str] = None,
         **overrides: Any) -> nn.Module:
    """Load a model from a local folder, a registered variant name, or a Hub repo id (``org/name``).

    - a folder: ``config.json`` + ``model.safetensors`` (``pretrained`` is ignored);
    - a variant (``"smixer-fmnist-dstsp"``): the weights that ship in the package (``zoo/weights/<variant>``, no
      network), else those of ``pretrained_cfg.hf_hub_id`` (at ``revision``); random weights with
      ``pretrained=False``. ``zoo.list_models(pretrained=True)`` lists the variants that have weights;
    - ``org/name``: a Hub repository in the same format.
    """
    path = Path(name_or_path)
    if path.is_dir():
        return load_folder(path, **overrides)
    if path.is_file():
        raise ValueError(f"{path} is a file; zoo.load reads a folder holding {CONFIG_NAME} and {WEIGHTS_NAME} "
                         f"(tools/export.py turns a training checkpoint into one)")
    name = str(name_or_path)
    if is_model(name):
        if not pretrained:
            return create(name, **overrides)
        shipped = shipped_weights(name)
        if shipped is not None:
            return load_folder(shipped, **overrides)
        repo_id = get_pretrained_cfg(name).hf_hub_id
        if repo_id is None:
            from .official import weights_hint  # official imports this module

            raise FileNotFoundError(f"{name} has no pretrained weights, neither shipped with smixer-zoo nor on the "
                                    f"Hub (zoo.list_models(pretrained=True) lists those with weights): "
                                    f"{weights_hint(name)}; or load a checkpoint folder or a Hub repo id 'org/name'"
                                    f", or pass pretrained=False for random weights")
        return load_folder(hub_folder(repo_id, revision), **overrides)
    if name.count("/") == 1 and not path.exists():
        return load_folder(hub_folder(name, revision), **overrides)
    raise FileNotFoundError(f"{name!r} is neither a folder, a registered model (zoo.list_models()) nor a Hub repo "
                            f"id 'org/name'")
