"""A trained classification checkpoint -> the zoo's hub format (loadable with ``zoo.load(folder)``): the engine of
``tools/export.py``.

Writes ``model.safetensors`` + ``config.json`` (architecture, constructor arguments, a pretrained config describing
the data the model was trained on, and the measured metrics) + ``README.md`` (a model card with the Hub's front
matter: license, library, tags, datasets, metrics and a ``model-index`` of the measured results; then the data, the
recipe, the provenance and the exact export command). The checkpoint is read with ``torch.load(weights_only=True)``;
only the backbone's weights are exported.

Metrics are measured, never typed in: ``accuracy/top1`` and ``accuracy/top5`` on the config's test set (an mmengine
test run), and ``<folder>/accuracy/top1`` on a small shipped test subset in idx format (e.g.
``data/samples/fashion-mnist-test-1000``), measured on the exported model as a user runs it: pixels / 255
normalised with its pretrained config. ``tests/test_weights.py`` reproduces the latter from the shipped folders.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
import torch
from huggingface_hub import EvalResult, ModelCardData
from mmengine.config import Config
from mmengine.runner import Runner

import zoo
from zoo.publish import LIBRARY_NAME, LICENSE, provenance

from .datasets.fashion_mnist import read_idx

__all__ = ["export_checkpoint", "backbone_from_checkpoint", "describe_data", "evaluate", "sample_accuracy",
           "sample_metric", "event_sample_accuracy", "Measured", "model_card", "SAMPLE_FILES"]

SAMPLE_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")  # a shipped idx test subset
_DATASETS = {"CIFAR10": "cifar10", "CIFAR100": "cifar100", "FashionMNIST": "fashion-mnist",
             "ImageFolder": "imagenet-1k", "DVS128Gesture": "dvs128-gesture", "CIFAR10DVS": "cifar10-dvs",
             "NFashionMNIST": "nfmnist", "NMNIST": "nmnist"}
# zoo dataset name -> (Hugging Face dataset id, display name) for the card's front matter
_HUB_DATASETS = {"fashion-mnist": ("zalando-datasets/fashion_mnist", "Fashion-MNIST"),
                 "cifar10": ("uoft-cs/cifar10", "CIFAR-10"), "cifar100": ("uoft-cs/cifar100", "CIFAR-100"),
                 "imagenet-1k": ("ILSVRC/imagenet-1k", "ImageNet-1k"),
                 "nfmnist": ("nfmnist", "N-Fashion-MNIST (simulated saccades)")}


@dataclass
class Measured:
    """Metrics measured on one test set, and that set as the card names it."""

    metrics: Dict[str, float]
    split: str  # the model-index split (datasets' syntax): "test", or "test[:1000]" for the first 1000 test images
    description: str  # where and how it was measured, in words


def export_checkpoint(cfg: Config, config_path: Path, checkpoint: Path, out: Path,
                      metrics: Optional[Dict[str, Any]] = None, evaluate_now: bool = False,
                      samples: Optional[Path] = None, command: Optional[str] = None,
                      trained_by: Optional[str] = None) -> Dict[str, Any]:
    """Export the backbone of ``checkpoint`` (a run of ``cfg``, read from ``config_path``) to the folder ``out``.

    ``metrics`` are recorded as given; ``evaluate_now`` measures them instead with the config's test set;
    ``samples`` (a folder of :data:`SAMPLE_FILES`: the first images of the test split) adds the top-1 on them.
    ``command`` (the export command) and ``trained_by`` (the training command) go into the card. Returns the
    recorded metrics.
    """
    if not checkpoint.is_file():
        raise FileNotFoundError(f"checkpoint not found: {checkpoint}")
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model = backbone_from_checkpoint(cfg, checkpoint, state)
    describe_data(cfg, model)
    results: List[Measured] = []
    if evaluate_now:
        measured, images = evaluate(cfg, checkpoint)
        results.append(Measured(measured, "test", f"the config's test split ({images} images), mmengine test run"))
    elif metrics:
        results.append(Measured(dict(metrics), "test", "the config's test split, metrics given to the export"))
    if samples is not None:
        key, value, images = sample_metric(model, samples)
        where = (f"`{samples.as_posix()}` (the first {images} test recordings), each framed as tools/predict.py "
                 f"frames it" if (samples / "NMNIST").is_dir() else
                 f"`{samples.as_posix()}` (the first {images} test images), the exported model on pixels / 255 "
                 f"normalised with its pretrained_cfg")
        results.append(Measured({key: value}, f"test[:{images}]", where))
    recorded = {k: v for result in results for k, v in result.metrics.items()}
    card = model_card(out.name, model, cfg, config_path, checkpoint, state.get("meta") or {}, results, command,
                      trained_by)
    zoo.save_pretrained(model, out, metrics=recorded or None, model_card=card)
    return recorded


def backbone_from_checkpoint(cfg: Config, checkpoint: Path, state: Optional[Mapping[str, Any]] = None
                             ) -> torch.nn.Module:
    """The zoo model of ``cfg.model`` with the backbone weights of an mmengine checkpoint (strictly); ``state`` is
    the checkpoint already read, if it was."""
    model_cfg = cfg.model
    if model_cfg.get("type") != "SpikingClassifier":
        raise ValueError(f"export handles SpikingClassifier configs, got model type {model_cfg.get('type')!r}")
    backbone = zoo.create(model_cfg.backbone, **(model_cfg.get("backbone_args") or {}))
    if state is None:
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
    dataset = cfg.test_dataloader.dataset
    info.dataset = _DATASETS.get(dataset.get("type", ""), dataset.get("type", ""))
    if model.in_chans == 2:  # event frames: how the recordings were binned into them
        info.event_binning = dataset.get("binning", "event_count")
    info.hf_hub_id = None
    info.paper_params_m = info.paper_top1 = None  # those are the paper's numbers for the registered variant
    info.notes = "exported from an mmengine checkpoint by tools/export.py" + (
        "; N-Fashion-MNIST is simulated saccade events, not a recording (docs/events.md)"
        if info.dataset == "nfmnist" else "")


def evaluate(cfg: Config, checkpoint: Path) -> Tuple[Dict[str, float], int]:
    """Top-1/top-5 (%) of ``checkpoint`` on the config's test set (an mmengine test run in a temporary work dir)
    and the number of test images."""
    with tempfile.TemporaryDirectory(prefix="export-eval-") as work_dir:
        cfg.load_from, cfg.resume, cfg.work_dir, cfg.launcher = str(checkpoint), False, work_dir, "none"
        runner = Runner.from_cfg(cfg)
        metrics = runner.test()
        return {k: round(float(v), 2) for k, v in metrics.items()}, len(runner.test_dataloader.dataset)


def sample_accuracy(model: torch.nn.Module, folder: Path, batch_size: int = 250) -> Tuple[float, int]:
    """Top-1 (%) of a zoo classifier on the idx test files :data:`SAMPLE_FILES` in ``folder``, fed as a user feeds
    it (pixels / 255, normalised with its ``pretrained_cfg``), and the number of images; or, for a folder in
    N-MNIST's layout (``<folder>/NMNIST/Test/<label>/<id>.bin``), on those recordings (:func:`event_sample_accuracy`).
    """
    if (folder / "NMNIST").is_dir():
        return event_sample_accuracy(model, folder)
    images_path, labels_path = (folder / name for name in SAMPLE_FILES)
    for path in (images_path, labels_path):
        if not path.is_file():
            raise FileNotFoundError(f"{folder} has no {path.name}; a test subset folder holds {list(SAMPLE_FILES)}")
    images, labels = read_idx(images_path, 3), read_idx(labels_path, 1)
    info = model.pretrained_cfg
    mean = torch.tensor(info.mean).view(1, -1, 1, 1)
    std = torch.tensor(info.std).view(1, -1, 1, 1)
    correct = 0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = torch.from_numpy(images[start:start + batch_size].astype(np.float32) / 255.0)[:, None]
            logits = model((batch - mean) / std)
            correct += int((logits.argmax(1) == torch.from_numpy(labels[start:start + batch_size].astype(np.int64)))
                           .sum())
    return round(100.0 * correct / len(labels), 2), len(labels)


def event_sample_accuracy(model: torch.nn.Module, folder: Path) -> Tuple[float, int]:
    """Top-1 (%) of an event classifier on the recordings ``<folder>/NMNIST/Test/<label>/*.bin`` (the label is the
    folder's), each framed as ``tools/predict.py`` frames it (:func:`tasks.classification.predict.event_frames`, the
    binning of the model's ``pretrained_cfg``), and the number of recordings."""
    from .event_files import read_event_file
    from .predict import event_frames

    files = sorted((folder / "NMNIST" / "Test").glob("*/*.bin"))
    if not files:
        raise FileNotFoundError(f"{folder} holds no recordings NMNIST/Test/<label>/<id>.bin")
    cfg, correct = model.pretrained_cfg, 0
    model.eval()
    with torch.no_grad():
        for path in files:
            frames, _ = event_frames(read_event_file(path), cfg.time_steps, cfg.input_size[1], cfg.event_binning)
            correct += int(model(torch.from_numpy(frames).float()[None]).argmax(1).item() == int(path.parent.name))
    return round(100.0 * correct / len(files), 2), len(files)


def sample_metric(model: torch.nn.Module, folder: Path) -> Tuple[str, float, int]:
    """``(<folder name>/accuracy/top1, top-1 %, images)``: the subset metric as ``config.json`` records it."""
    top1, images = sample_accuracy(model, folder)
    return f"{folder.name}/accuracy/top1", top1, images


_EVENT_DATA = [
    "## The data, and real sensors", "",
    "Trained on N-Fashion-MNIST (simulated saccades): Fashion-MNIST's images turned into events by simulating "
    "N-MNIST's protocol (three 105 ms saccades of a 34 x 34 DVS pixel array, an ESIM / v2e pixel model; "
    "docs/events.md). No camera recorded these events. A recording is binned into T frames of equal duration over "
    "its whole length, of the centred square of its sensor, downsampled to the input size: a real recording should "
    "show one object filling most of that square for about 315 ms of sensor or object motion. A larger sensor "
    "(DVS128, DAVIS346, 640 x 480) is downsampled by a large factor, a longer recording stretches each bin, and "
    "real sensors add noise and motion this simulation does not have: expect lower accuracy than measured here, and "
    "fine-tune on recordings of your own sensor.", ""]


def _hub_dataset(dataset: str) -> Tuple[str, str]:
    """(Hub dataset id, display name) of a zoo dataset name."""
    return _HUB_DATASETS.get(dataset, (dataset, dataset))


def _front_matter(name: str, model: torch.nn.Module, results: List[Measured]) -> str:
    """The card's YAML front matter (what the Hub indexes), with one ``model-index`` metric per recorded one."""
    hub_id, dataset = _hub_dataset(model.pretrained_cfg.dataset)
    pruner = (model.init_args.get("pruning") or {}).get("type")
    evals = [EvalResult(task_type="image-classification", dataset_type=hub_id, dataset_name=dataset,
                        dataset_split=result.split, metric_type="accuracy", metric_name=key, metric_value=value)
             for result in results for key, value in result.metrics.items()]
    data = ModelCardData(license=LICENSE, library_name=LIBRARY_NAME, pipeline_tag="image-classification",
                         tags=["spiking-neural-network", "snn", "smixer", "image-classification"]
                         + ([pruner.lower()] if pruner else []),
                         datasets=[hub_id], metrics=["accuracy"], model_name=name, eval_results=evals or None)
    return f"---\n{data.to_yaml()}\n---\n"


def _recipe(cfg: Config, meta: Mapping[str, Any]) -> List[str]:
    """Table rows of the training recipe, read from the config, and of the training done, read from the
    checkpoint."""
    optimizer = cfg.get("optim_wrapper", {}).get("optimizer", {})
    loader = cfg.train_dataloader
    pipeline = [t.get("type") for t in loader.dataset.get("pipeline", []) if t.get("type") != "PackClsInputs"]
    schedule = ", ".join(f"{s.get('type')} epochs {s.get('begin', 0)}-{s.get('end', '?')}"
                         for s in cfg.get("param_scheduler") or [])
    train_cfg = cfg.get("train_cfg", {})
    budget = train_cfg.get("time_budget_s")
    subset = loader.dataset.get("indices")
    rows = [("train data", f"{loader.dataset.get('type')} train split"
                           + (f", its first {subset} images" if isinstance(subset, int) else "")),
            ("optimiser", f"{optimizer.get('type', '?')} lr {optimizer.get('lr', '?')}, weight decay "
                          f"{optimizer.get('weight_decay', '?')}"),
            ("batch size", loader.batch_size), ("schedule", schedule or "constant"),
            ("label smoothing", cfg.model.get("label_smoothing", 0.0)),
            ("augmentation", ", ".join(pipeline) or "none"),
            ("training-time budget", f"{budget:.0f} s ({train_cfg.get('budget_clock', 'wall')} clock)" if budget
             else "none"),
            ("seed", cfg.get("randomness", {}).get("seed", "?"))]
    if "iter" in meta:
        rows.append(("trained", f"{meta['iter']} iterations = {meta['iter'] * loader.batch_size} images "
                                f"(checkpoint of epoch {meta.get('epoch', '?')})"))
    return [f"| {k} | {v} |" for k, v in rows]


def model_card(name: str, model: torch.nn.Module, cfg: Config, config_path: Path, checkpoint: Path,
               meta: Mapping[str, Any], results: List[Measured], command: Optional[str] = None,
               trained_by: Optional[str] = None) -> str:
    """The README.md of the exported folder: Hub front matter, then the model, data, recipe, metrics, provenance
    and usage."""
    info = model.pretrained_cfg
    params = sum(p.numel() for p in model.parameters())
    pruning = model.init_args.get("pruning")
    lines = [
        f"# {name}", "",
        f"SMixer (Spiking-token Mixer) classifier, zoo variant `{model.variant}`. "
        f"Pruning: {json.dumps(pruning) if pruning else 'none'}.", "",
        "| | |", "|---|---|",
        f"| parameters | {params / 1e6:.3f} M |",
        f"| input | {info.input_size} x T = {info.time_steps} |",
        f"| classes | {info.num_classes} |",
        f"| dataset | {info.dataset} |",
        f"| neuron | {json.dumps(model.init_args['neuron'])} |", "",
        *(_EVENT_DATA if info.dataset == "nfmnist" else []),
        "## Training recipe", "", "| | |", "|---|---|", *_recipe(cfg, meta), "",
        "## Measured metrics", "",
    ]
    if results:
        lines += ["| test set | metric | value |", "|---|---|---:|"]
        lines += [f"| {r.description} | {k} | {v:.2f} |" if isinstance(v, float) else f"| {r.description} | {k} | {v} |"
                  for r in results for k, v in r.metrics.items()]
    else:
        lines.append("Not evaluated at export time.")
    lines += ["", *provenance(config_path, checkpoint, trained_by, command)]
    shape = f"[B, {info.input_size[0]}, {info.input_size[1]}, {info.input_size[2]}]"
    feed = (f"frames [B, {info.time_steps}, {shape[4:]}: ON / OFF event counts ({info.event_binning} bins)"
            if info.input_size[0] == 2 else f"images {shape}, pixels / 255 normalised with mean {info.mean} and std "
                                             f"{info.std}")
    lines += ["", "## Usage", "", "```python", "import zoo", "",
              f"model = zoo.load('{name}')  # " + ("the weights that ship with smixer-zoo, or this folder's path"
                                                     if name == model.variant else "this folder, or its Hub repo id"),
              f"logits = model(x)  # {feed}", "```", "",
              *([f"A recording: `python tools/predict.py {name} RECORDING` (N-MNIST .bin, AEDAT4, EVT2/3, .es, "
                 f"npy/npz/csv).", ""] if info.input_size[0] == 2 else []),
              "Paper: Dynamic Spatial-Temporal Spiking Pruning for the Spiking-token Mixer (DSTSP).", ""]
    return _front_matter(name, model, results) + "\n" + "\n".join(lines)
