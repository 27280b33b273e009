"""Run a model on files: classify images or event recordings, forecast a series, detect objects.

    python tools/predict.py MODEL INPUT... [--out DIR] [--no-pretrained] [--topk 5]
    python tools/predict.py CONFIG.py INPUT... --checkpoint CKPT [--out DIR] [--score-thr 0.3]

MODEL is a zoo classifier: a registered variant (``zoo.list_models()``), a checkpoint folder (``model.safetensors``
+ ``config.json``, see docs/hub.md) or a Hub repo id; ``--no-pretrained`` builds it with random weights. Its
pretrained config decides what it reads: images (1 or 3 input channels) or event recordings (2: ON / OFF). A
forecaster folder, or the name of one that ships (``tasks.timeseries.export.list_forecasters()``), forecasts series
files with its stored weights and normalisation. A forecasting config (``configs/ts``) or a detection config
(``configs/det``) runs with the weights of ``--checkpoint`` (a training checkpoint; ``--no-pretrained`` instead:
random weights).

Writes ``predictions.json`` to ``--out`` (default ``work_dirs/predict``), and per input ``<name>_forecast.csv`` +
``<name>_forecast.png`` (forecasts) or ``<name>_det.png`` (detections); prints a summary. The predictors are
``tasks/classification/predict.py``, ``tasks/timeseries/predict.py`` and ``tasks/detection/predict.py``; this module
is ``tools/predict.py``'s command line (:func:`main`); docs/predict.md has examples.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

from zoo.fileio import write_atomic

_COMPRESSION = (".xz", ".gz", ".bz2", ".zip", ".zst")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="zoo variant, checkpoint folder or Hub repo id; or a configs/ts, configs/det "
                                      "config file")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="images, event recordings or series files")
    parser.add_argument("--checkpoint", help="training checkpoint (.pth) of a config MODEL")
    parser.add_argument("--no-pretrained", action="store_true", help="random weights (for smoke tests)")
    parser.add_argument("--out", type=Path, default=Path("work_dirs/predict"), help="output folder")
    parser.add_argument("--topk", type=int, default=5, help="classes reported per input (classification)")
    parser.add_argument("--score-thr", type=float, default=0.3, help="lowest score of a reported box (detection)")
    parser.add_argument("--sensor-size", metavar="WxH",
                        help="event camera resolution, for recordings that do not record it or record it wrongly")
    return parser.parse_args(argv)


def sensor_size(text: Optional[str]) -> Optional[Tuple[int, int]]:
    """``"640x480"`` -> ``(640, 480)``."""
    if text is None:
        return None
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise ValueError(f"--sensor-size must be WIDTHxHEIGHT in pixels, such as 640x480, got {text!r}")
    return int(width), int(height)


def output_name(path: str) -> str:
    """An input's name without its type suffixes (``load.csv.xz`` -> ``load``), for the files written for it."""
    name = Path(path)
    if name.suffix.lower() in _COMPRESSION:
        name = name.with_suffix("")
    return name.stem


def check_names(inputs: Sequence[str]) -> None:
    """Inputs whose output files would overwrite each other's are refused before anything runs."""
    seen: Dict[str, str] = {}
    for path in inputs:
        other = seen.setdefault(output_name(path), path)
        if other != path:
            raise ValueError(f"{other} and {path} would write the same output files ({output_name(path)}_*); "
                             f"rename one or run them separately")


def classify(args: argparse.Namespace) -> Dict[str, Any]:
    import zoo
    from tasks.classification.predict import EventPredictor, create_predictor, format_table

    if args.checkpoint:
        raise ValueError(f"--checkpoint is for config files; {args.model} is a zoo model (a variant, folder or Hub "
                         f"id): export a training checkpoint with tools/export.py and pass the folder")
    try:
        predictor = create_predictor(args.model, pretrained=not args.no_pretrained,
                                     sensor_size=sensor_size(args.sensor_size))
    except FileNotFoundError as err:
        if args.no_pretrained or not zoo.registry.is_model(args.model):
            raise
        raise FileNotFoundError(f"{err}; --no-pretrained builds {args.model} with random weights") from None
    predictions = predictor(args.inputs, topk=args.topk)
    print(f"{predictor.name}, weights: {predictor.weights}")
    print(format_table(predictions))
    task = "event classification" if isinstance(predictor, EventPredictor) else "image classification"
    return dict(task=task, model=args.model, weights=predictor.weights,
                predictions=[p.to_dict() for p in predictions])


def forecast(args: argparse.Namespace, cfg: Any = None) -> Dict[str, Any]:
    """Forecast each input with a forecasting config (``cfg``) and ``--checkpoint``, or a forecaster folder."""
    import tasks.timeseries  # noqa: F401  (registers the forecasters)
    from tasks.timeseries.predict import SeriesForecaster

    if cfg is None:
        if args.checkpoint or args.no_pretrained:
            raise ValueError(f"{args.model} is a forecaster folder with its weights: drop --checkpoint / "
                             f"--no-pretrained")
        forecaster = SeriesForecaster.from_pretrained(args.model)
    else:
        forecaster = SeriesForecaster.from_config(cfg, args.checkpoint)
    check_names(args.inputs)
    forecasts = [forecaster(path) for path in args.inputs]
    print(f"{args.model}, weights: {forecaster.weights}")
    results = []
    for result in forecasts:
        name = output_name(result.input)
        csv = result.write_csv(args.out / f"{name}_forecast.csv")
        png = result.plot(args.out / f"{name}_forecast.png",
                          title=f"{Path(result.input).name}, {Path(args.model).stem}")
        print(f"{result.input}: {result.horizon} steps x {len(result.columns)} series, scaler: {result.scaler}")
        print(result.frame().to_string(max_rows=8, max_cols=7, float_format=lambda v: f"{v:.6g}"))
        print(f"wrote {csv} and {png}")
        results.append(dict(input=result.input, csv=str(csv), png=str(png), scaler=result.scaler, **result.details))
    return dict(task="forecasting", model=args.model, weights=forecaster.weights, predictions=results)


def detect(args: argparse.Namespace, cfg: Any) -> Dict[str, Any]:
    import tasks.detection  # noqa: F401  (registers the detector's parts)
    from tasks.detection.predict import DetPredictor

    predictor = DetPredictor.from_config(cfg, args.checkpoint)
    check_names(args.inputs)
    results = predictor(args.inputs, score_thr=args.score_thr)
    print(f"{args.model}, weights: {predictor.weights}")
    predictions = []
    for result in results:
        png = result.draw(args.out / f"{output_name(result.input)}_det.png")
        print(f"{result.input}: {len(result.detections)} boxes with score >= {result.score_thr}")
        for det in result.detections:
            print(f"  {det.name:<12} {det.score:.3f}  [{', '.join(f'{v:.1f}' for v in det.bbox)}]")
        print(f"wrote {png}")
        predictions.append(dict(result.to_dict(), png=str(png)))
    return dict(task="detection", model=args.model, weights=predictor.weights, predictions=predictions)


def config_task(cfg: Any, path: str) -> str:
    """``forecast`` or ``detect``: what the config at ``path`` builds."""
    kind = cfg.model.get("type")
    if kind == "Forecaster":
        return "forecast"
    if "bbox_head" in cfg.model:
        return "detect"
    if kind == "SpikingClassifier":
        raise ValueError(f"{path} is a classification config: export its checkpoint to a zoo folder with "
                         f"tools/export.py and pass the folder as MODEL")
    raise ValueError(f"{path}: model type {kind!r} is neither a Forecaster (configs/ts) nor a detector (configs/det)")


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    from tasks.timeseries.export import is_forecaster

    args = parse_args(argv)
    if args.checkpoint and args.no_pretrained:
        raise ValueError("--checkpoint and --no-pretrained exclude each other: weights from the checkpoint, or random")
    if args.model.endswith(".py"):
        from tasks.common.config import load_config

        cfg = load_config(args.model)
        run = dict(forecast=forecast, detect=detect)[config_task(cfg, args.model)]
        if not (args.checkpoint or args.no_pretrained):
            raise ValueError(f"{args.model} is a config: give its weights with --checkpoint (or --no-pretrained for "
                             f"random weights)")
        summary = run(args, cfg)
    elif is_forecaster(args.model):
        summary = forecast(args)
    else:
        summary = classify(args)
    path = write_atomic(args.out / "predictions.json", json.dumps(summary, indent=2, default=str))
    print(f"wrote {path}")
    return summary

