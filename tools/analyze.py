#!/usr/bin/env python
"""Analyses of spiking models on real inputs; each writes ``<out-dir>/<analysis>.json`` and a PNG figure.

    python tools/analyze.py siv       --checkpoint work_dirs/analysis/smixer-t2 --num-images 1000
    python tools/analyze.py siv       --model smixer-dvs128 --events /work/shared/data/events/*.raw
    python tools/analyze.py high-low  --checkpoint work_dirs/analysis/smixer-t2 --keeps 0.25 0.5 0.75
    python tools/analyze.py retention --checkpoint work_dirs/analysis/smixer-t2 --num-images 500
    python tools/analyze.py tokens    --checkpoint work_dirs/analysis/smixer-t2 --num-images 4
    python tools/analyze.py sparsity  --checkpoint work_dirs/analysis/smixer-t2 work_dirs/analysis/smixer-dstsp-t2
    python tools/analyze.py jitter    --checkpoint work_dirs/analysis/smixer-t4 work_dirs/analysis/ssa-t4

Models: ``--checkpoint`` takes folders written by ``tools/export.py`` (``config.json`` + ``model.safetensors``);
``--model`` registered variants with random weights (seeded by ``--seed``). Inputs: the first ``--num-images``
Fashion-MNIST images of ``--split``; for a model trained on N-Fashion-MNIST (simulated saccades) its first
``--num-images`` test recordings; or (``siv``, ``tokens``) ``--events`` recordings binned into the model's event
frames. The logic is in ``research.analysis``; docs/analysis.md shows every analysis.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from research.analysis import highlow, jitter, retention, siv, sparsity, tokens
from research.analysis.inputs import fashion_mnist, nfmnist_recordings, normalise, recording_frames
from research.analysis.models import STRATEGIES, load_model, require_token_stream
from research.analysis.report import describe_model, write_report
from tasks.common.cli import run_command

ROOT = Path(__file__).resolve().parents[1]  # the checkout: the default output folder is its work_dirs/analysis
ANALYSES = ("siv", "high-low", "retention", "tokens", "sparsity", "jitter")
TOKEN_ANALYSES = ("high-low", "retention", "tokens", "sparsity")  # read the token stream after the stem
DEFAULT_IMAGES = {"siv": 1000, "high-low": 10000, "retention": 500, "tokens": 4, "sparsity": 10000, "jitter": 2000}
MULTI_MODEL = ("sparsity", "jitter")
WITH_EVENTS = ("siv", "tokens")


def _fraction(value: str) -> float:
    number = float(value)
    if not 0.0 < number <= 1.0:
        raise argparse.ArgumentTypeError(f"a kept fraction is in (0, 1], got {value}")
    return number


def _probability(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"a probability is in [0, 1], got {value}")
    return number


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="analysis", required=True, metavar="ANALYSIS")
    helps = {"siv": "spike intensity per token and step, per layer (Fig. 3)",
             "high-low": "accuracy from only the high- vs only the low-SIV tokens (§3.2)",
             "retention": "RIE and MS-SSIM of LP / HP / RP pruning (appendix C, Fig. 4)",
             "tokens": "pictures of kept and pruned tokens (Figs. 2 and 6)",
             "sparsity": "firing rates and sparsity per layer, dense vs DSTSP (Table 7)",
             "jitter": "accuracy under spike-timing errors, SSA vs token mixer"}
    for name in ANALYSES:
        sub = commands.add_parser(name, help=helps[name], description=helps[name])
        models = sub.add_mutually_exclusive_group(required=True)
        many = "+" if name in MULTI_MODEL else None
        models.add_argument("--checkpoint", type=Path, nargs=many, help="trained model folder(s) (tools/export.py)")
        models.add_argument("--model", nargs=many, help="registered variant(s) with random weights")
        sub.add_argument("--time-steps", type=int, help="override the models' T")
        sub.add_argument("--num-images", type=int, default=DEFAULT_IMAGES[name],
                         help="the first N Fashion-MNIST images of --split")
        sub.add_argument("--split", choices=("test", "train"), default="test")
        sub.add_argument("--data-root", help="folder with the Fashion-MNIST idx files (default: DATA_ROOT or "
                                             "/usr/share/datasets/fashion-mnist), or N-Fashion-MNIST's for an "
                                             "event model trained on it")
        if name in WITH_EVENTS:
            sub.add_argument("--events", type=Path, nargs="+",
                             help="event recordings (AEDAT4, EVT2/EVT3 .raw, ...) instead of images; needs a model "
                                  "with 2-polarity input such as smixer-dvs128")
        if name in ("high-low", "retention"):
            sub.add_argument("--keeps", type=_fraction, nargs="+",
                             default=[0.25, 0.5, 0.75] if name == "high-low" else [0.7, 0.5, 0.3],
                             help="fractions of tokens kept")
            sub.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
        if name == "tokens":
            sub.add_argument("--spatial-ratio", type=float, default=0.3, help="DSTSP P_s")
            sub.add_argument("--temporal-ratio", type=float, default=0.5, help="DSTSP P_t")
        if name == "jitter":
            sub.add_argument("--kinds", nargs="+", choices=sorted(jitter.PERTURBATIONS),
                             default=list(jitter.PERTURBATIONS))
            sub.add_argument("--strengths", type=_probability, nargs="+", default=[0.0, 0.05, 0.1, 0.2, 0.3, 0.5])
        sub.add_argument("--seed", type=int, default=0, help="random weights (--model) and random draws")
        sub.add_argument("--out-dir", type=Path, default=None, help="default: work_dirs/analysis/<analysis>")
        sub.add_argument("--figure", type=Path, default=None, help="PNG path (default: <out-dir>/<analysis>.png)")
    return parser.parse_args(argv)


def _models(args: argparse.Namespace) -> Dict[str, Tuple[nn.Module, Dict[str, Any]]]:
    """``{label: (model, description)}`` for the models the command names (labels: folder or variant names)."""
    overrides = {} if args.time_steps is None else dict(time_steps=args.time_steps)
    trained = args.checkpoint is not None
    sources = args.checkpoint if trained else args.model
    out = {}
    for source in sources if isinstance(sources, list) else [sources]:
        torch.manual_seed(args.seed)
        model = load_model(checkpoint=source, **overrides) if trained else load_model(model=source, **overrides)
        label = Path(source).name if trained else source
        if label in out:
            raise ValueError(f"{source} is named twice")
        out[label] = (model, describe_model(model, str(source) if trained else "random"))
    return out


def _inputs(args: argparse.Namespace, model: nn.Module) -> Tuple[Tensor, Tensor, Tensor, Dict[str, Any]]:
    """``(model inputs, labels, inputs for display, description)``: images or event frames ``[B, T, 2, H, W]``
    (labels ``-1``: the recordings have none)."""
    if getattr(args, "events", None):
        if model.in_chans != 2:
            raise ValueError(f"--events gives 2-polarity frames; {model.variant} takes {model.in_chans}-channel input "
                             f"(use a DVS model such as smixer-dvs128)")
        binning = model.pretrained_cfg.event_binning
        frames = torch.stack([recording_frames(p, model.time_steps, model.img_size, binning) for p in args.events])
        return frames, torch.full((len(frames),), -1), frames, dict(
            events=[str(p) for p in args.events], frames=list(frames.shape[1:]), binning=binning)
    if model.pretrained_cfg.dataset == "nfmnist":
        if args.split != "test":
            raise ValueError("N-Fashion-MNIST models are analysed on the test recordings: drop --split")
        frames, labels = nfmnist_recordings(args.num_images, model.time_steps, args.data_root)
        return frames, labels, frames, dict(dataset="nfmnist (simulated saccades)", split="test",
                                            recordings=len(frames), frames=list(frames.shape[1:]), binning="time")
    images, labels = fashion_mnist(args.split, args.num_images, args.data_root)
    if model.in_chans != 1 or model.img_size != 28:
        raise ValueError(f"Fashion-MNIST images are 1 x 28 x 28; {model.variant} takes {model.in_chans} x "
                         f"{model.img_size} x {model.img_size} (use --events for a DVS model)")
    return normalise(images, model.pretrained_cfg), labels, images, dict(
        dataset="fashion-mnist", split=args.split, images=len(images))


def _one(models: Dict[str, Tuple[nn.Module, Dict[str, Any]]], analysis: str) -> Tuple[str, nn.Module]:
    if len(models) != 1:
        raise ValueError(f"{analysis} looks at one model; got {len(models)}")
    label, (model, _) = next(iter(models.items()))
    return label, model


def run(args: argparse.Namespace, models: Dict[str, Tuple[nn.Module, Dict[str, Any]]]
        ) -> Tuple[Dict[str, Any], Callable[[Path], None], Dict[str, Any]]:
    """Run the analysis on ``models``: ``(result, draw(figure path), inputs description)``."""
    first = next(iter(models.values()))[0]
    name = args.analysis
    if name in TOKEN_ANALYSES:
        for model, _ in models.values():
            require_token_stream(model, name)
    inputs, labels, shown, described = _inputs(args, first)
    if name == "siv":
        label, model = _one(models, name)
        result = siv.siv_analysis(model, inputs)
        return result, lambda p: siv.plot_siv(result, p, f"Spike intensity, {label} on {_what(described)}"), described
    if name == "high-low":
        label, model = _one(models, name)
        result = highlow.high_low(model, inputs, labels, args.keeps, args.strategies, args.seed)
        return result, lambda p: highlow.plot_high_low(result, p, f"{label}, {_what(described)}"), described
    if name == "retention":
        label, model = _one(models, name)
        result = retention.retention(model, inputs, args.keeps, args.strategies, seed=args.seed)
        return result, lambda p: retention.plot_retention(result, p, f"Information retention, {label}, "
                                                                     f"{_what(described)}"), described
    if name == "tokens":
        label, model = _one(models, name)
        result = tokens.kept_tokens(model, inputs, args.spatial_ratio, args.temporal_ratio)
        kind = "recording" if shown.dim() == 5 else "image"
        titles = ([p.name for p in args.events] if getattr(args, "events", None)
                  else [f"test {kind} {i} (class {int(c)})" for i, c in enumerate(labels)])
        return result, lambda p: tokens.plot_tokens(shown, result, p, titles, f"DSTSP P_s {args.spatial_ratio}, P_t "
                                                    f"{args.temporal_ratio} on {label}"), described
    if name == "sparsity":
        rows = sparsity.model_sparsity({k: m for k, (m, _) in models.items()}, inputs, labels)
        return rows, lambda p: sparsity.plot_sparsity(rows, p, f"Firing rates per layer, {_what(described)}"), described
    # jitter
    result = jitter.jitter_sweep({k: m for k, (m, _) in models.items()}, inputs, labels, args.kinds,
                                 args.strengths, args.seed)
    return result, lambda p: jitter.plot_jitter(result, p, f"Spike-timing errors at every neuron, "
                                                           f"{_what(described)}"), described


def _what(described: Dict[str, Any]) -> str:
    if "events" in described:
        return f"{len(described['events'])} event recordings"
    if "recordings" in described:
        return f"{described['recordings']} N-Fashion-MNIST (simulated) test recordings"
    return f"{described['images']} Fashion-MNIST {described['split']} images"


def main(argv: Optional[List[str]] = None) -> Path:
    args = parse_args(argv)
    if args.num_images < 1:
        raise ValueError(f"--num-images must be >= 1, got {args.num_images}")
    out_dir = args.out_dir or ROOT / "work_dirs/analysis" / args.analysis
    figure = args.figure or out_dir / f"{args.analysis}.png"
    models = _models(args)
    result, draw, described = run(args, models)
    figure.parent.mkdir(parents=True, exist_ok=True)
    draw(figure)
    command = "python tools/analyze.py " + " ".join(sys.argv[1:] if argv is None else argv)
    path = write_report(out_dir / f"{args.analysis}.json", args.analysis, result, command=command,
                        models={k: d for k, (_, d) in models.items()}, inputs=described, figure=str(figure))
    print(f"{args.analysis}: {path}, figure {figure}")
    return path


if __name__ == "__main__":
    run_command(main)
