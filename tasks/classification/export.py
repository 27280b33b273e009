"""A trained classification checkpoint -> the zoo's hub format (loadable with ``zoo.load(folder)``): the engine of
``tools/export.py``.

Writes ``model.safetensors`` + ``config.json`` (architecture, constructor arguments, a pretrained config describing
the data the model was trained on, and the measured metrics) + ``README.md`` (a model card). The checkpoint is read
with ``torch.load(weights_only=True)``; only the backbone's weights are exported.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional

import torch
from mmengine.config import Config
from mmengine.runner import Runner

import zoo

__all__ = ["export_checkpoint", "backbone_from_checkpoint", "describe_data", "evaluate", "model_card"]

_DATASETS = {"CIFAR10": "cifar10", "CIFAR100": "cifar100", "FashionMNIST": "fashion-mnist",
             "ImageFolder": "imagenet-1k", "DVS128Gesture": "dvs128-gesture", "CIFAR10DVS": "cifar10-dvs"}


def export_checkpoint(cfg: Config, config_path: Path, checkpoint: Path, out: Path,
                      metrics: Optional[Dict[str, Any]] = None, evaluate_now: bool = False) -> Optional[Dict[str, Any]]:
    """Export the backbone of ``checkpoint`` (a run of ``cfg``, read from ``config_path``) to the folder ``out``.

    ``metrics`` are recorded as given; ``evaluate_now`` measures them instead with the config's test set (in
    ``out/eval``). Returns the recorded metrics.
    """
    if not checkpoint.is_file():
        raise FileNotFoundError(f"checkpoint not found: {checkpoint}")
    model = backbone_from_checkpoint(cfg, checkpoint)
    describe_data(cfg, model)
    if evaluate_now:
        metrics = evaluate(cfg, checkpoint, out / "eval")
    card = model_card(out.name, model, cfg, config_path, checkpoint, metrics)
    zoo.save_pretrained(model, out, metrics=metrics, model_card=card)
    return metrics


def backbone_from_checkpoint(cfg: Config, checkpoint: Path) -> torch.nn.Module:
    """The zoo model of ``cfg.model`` with the backbone weights of an mmengine checkpoint (strictly)."""
    model_cfg = cfg.model
    if model_cfg.get("type") != "SpikingClassifier":
        raise ValueError(f"export handles SpikingClassifier configs, got model type {model_cfg.get('type')!r}")
    backbone = zoo.create(model_cfg.backbone, **(model_cfg.get("backbone_args") or {}))
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    weights = state.get("state_dict", state)
    prefix = "backbone."
    backbone_state = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
    if not backbone_state:
        raise ValueError(f"{checkpoint} holds no 'backbone.*' weights: is it a SpikingClassifier checkpoint?")
    try:
        missing, unexpected = backbone.load_state_dict(backbone_state, strict=False)
    except RuntimeError as err:  # shape mismatches
        raise ValueError(f"{checkpoint} does not match the config's model: {str(err).splitlines()[1].strip()}") \
            from None
    if missing or unexpected:
        raise ValueError(f"{checkpoint} does not match the config's model: missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]}")
    return backbone.eval()


def describe_data(cfg: Config, model: torch.nn.Module) -> None:
    """Make ``model.pretrained_cfg`` describe what the model was trained on (input, normalisation, dataset)."""
    pre = cfg.model.get("data_preprocessor") or {}
    info = model.pretrained_cfg
    info.num_classes = int(model.head.out_features)
    info.input_size = (model.in_chans, model.img_size, model.img_size)
    info.time_steps = model.time_steps
    if pre.get("mean") is not None:
        info.mean = tuple(round(v / 255.0, 4) for v in pre["mean"])
        info.std = tuple(round(v / 255.0, 4) for v in pre["std"])
    else:
        info.mean, info.std = (0.0,) * model.in_chans, (1.0,) * model.in_chans
    dataset_type = cfg.test_dataloader.dataset.get("type", "")
    info.dataset = _DATASETS.get(dataset_type, dataset_type)
    info.hf_hub_id = None
    info.paper_params_m = info.paper_top1 = None  # those are the paper's numbers for the registered variant
    info.notes = "exported from an mmengine checkpoint by tools/export.py"


def evaluate(cfg: Config, checkpoint: Path, work_dir: Path) -> Dict[str, float]:
    """Top-1/top-5 of ``checkpoint`` on the config's test set (an mmengine test run in ``work_dir``)."""
    cfg.load_from, cfg.resume, cfg.work_dir = str(checkpoint), False, str(work_dir)
    cfg.launcher = "none"
    return {k: float(v) for k, v in Runner.from_cfg(cfg).test().items()}


def model_card(name: str, model: torch.nn.Module, cfg: Config, config_path: Path, checkpoint: Path,
               metrics: Optional[Dict[str, Any]]) -> str:
    """The README.md of the exported folder."""
    info = model.pretrained_cfg
    params = sum(p.numel() for p in model.parameters())
    pruning = model.init_args.get("dstsp") or model.init_args.get("pruning")
    optimizer = cfg.get("optim_wrapper", {}).get("optimizer", {})
    lines = [
        "---", "library_name: smixer-zoo", "tags: [spiking-neural-network, snn, smixer, dstsp, image-classification]",
        f"datasets: [{info.dataset}]", "---", "",
        f"# {name}", "",
        f"SMixer (Spiking-token Mixer) classifier, zoo variant `{model.variant}`, trained with "
        f"`{config_path.as_posix()}`. Pruning: {json.dumps(pruning) if pruning else 'none'}.", "",
        "| | |", "|---|---|",
        f"| parameters | {params / 1e6:.3f} M |",
        f"| input | {info.input_size} x T = {info.time_steps} |",
        f"| classes | {info.num_classes} |",
        f"| dataset | {info.dataset} |",
        f"| neuron | {json.dumps(model.init_args['neuron'])} |",
        f"| optimiser | {optimizer.get('type', '?')} lr {optimizer.get('lr', '?')} |",
        f"| epochs | {cfg.get('train_cfg', {}).get('max_epochs', '?')} |",
        f"| checkpoint | `{checkpoint.name}` |", "",
        "## Measured metrics", "",
    ]
    if metrics:
        lines += ["| metric | value |", "|---|---:|"] + [f"| {k} | {v:.2f} |" if isinstance(v, float) else
                                                      f"| {k} | {v} |" for k, v in metrics.items()]
    else:
        lines.append("Not evaluated at export time.")
    lines += ["", "## Usage", "", "```python", "import zoo", "", f"model = zoo.load('{name}')  # this folder",
              f"logits = model(images)  # images [B, {info.input_size[0]}, {info.input_size[1]}, {info.input_size[2]}],"
              f" normalised with mean {info.mean} and std {info.std}", "```", "",
              "Paper: Dynamic Spatial-Temporal Spiking Pruning for the Spiking-token Mixer (DSTSP).", ""]
    return "\n".join(lines)
