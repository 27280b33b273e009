"""Export a trained checkpoint to a checkpoint folder: a classifier (``zoo.load(folder)``) or a forecaster.

    python tools/export.py CONFIG CHECKPOINT OUT_FOLDER                      # evaluates on the config's test set
    python tools/export.py CONFIG CHECKPOINT OUT_FOLDER --metrics test.json  # metrics from tools/test.py --out
    python tools/export.py CONFIG CHECKPOINT OUT_FOLDER --no-eval
    python tools/export.py work_dirs/weights/dense/config.py CHECKPOINT zoo/weights/smixer-fmnist \\
        --samples data/samples/fashion-mnist-test-1000 --trained-by "python tools/fashion_mnist.py ..."

Writes ``model.safetensors`` + ``config.json`` (architecture, constructor arguments, a pretrained config describing
the data the model was trained on, and the measured metrics) + ``README.md`` (a model card with Hub front matter,
the recipe, the metrics and this exact command); see ``tasks/classification/export.py``. ``--samples`` adds the
top-1 on a small idx test subset (what tests/test_weights.py reproduces for the weights that ship in zoo/weights).

A forecasting config (``configs/ts``) writes a forecaster folder instead (``tasks/timeseries/export.py``): the
weights, the training split's normalisation statistics and the metrics measured on the config's test split, which
``python tools/predict.py FOLDER SERIES.csv`` runs::

    python tools/export.py configs/ts/realdata/smixer-h24_1xb64-20e_caiso-load.py BEST.pth FOLDER --trained-by "..."
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Optional, Sequence

from mmengine.config import DictAction

from tasks.classification.export import SAMPLE_FILES, export_checkpoint
from tasks.common.config import load_config
from tasks.timeseries.export import export_forecaster


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Export a classifier or forecaster checkpoint to a folder")
    parser.add_argument("config", type=Path)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("out", type=Path, help="output folder")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--metrics", type=Path,
                        help="JSON metrics file (tools/test.py --out) to record instead of evaluating")
    source.add_argument("--no-eval", action="store_true", help="export without test-set metrics")
    parser.add_argument("--samples", type=Path,
                        help=f"also record the top-1 on this idx test subset ({', '.join(SAMPLE_FILES)}: the first "
                             f"images of the test split), e.g. data/samples/fashion-mnist-test-1000, or on event "
                             f"recordings in N-MNIST's layout, e.g. data/samples/nfmnist-test-100")
    parser.add_argument("--trained-by", metavar="COMMAND", help="the command that trained the checkpoint, for the card")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Path:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    command = shlex.join(["python", "tools/export.py", *argv])
    if cfg.model.get("type") == "Forecaster":
        if args.metrics or args.no_eval or args.samples:
            raise ValueError("--metrics, --no-eval and --samples are for classifiers; a forecaster's metrics are "
                             "always measured on its config's test split")
        metrics = export_forecaster(cfg, args.config, args.checkpoint, args.out, command, args.trained_by)
        print(f"exported the forecaster to {args.out} with test metrics {metrics}")
        return args.out
    metrics = json.loads(args.metrics.read_text()) if args.metrics else None
    metrics = export_checkpoint(cfg, args.config, args.checkpoint, args.out, metrics,
                                evaluate_now=not (args.metrics or args.no_eval), samples=args.samples,
                                command=command, trained_by=args.trained_by)
    print(f"exported {cfg.model.backbone} to {args.out}" + (f" with {metrics}" if metrics else ""))
    return args.out

