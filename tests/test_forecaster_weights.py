"""Forecaster checkpoint folders (tasks/timeseries/export.py): the shipped forecasters load offline, reproduce the
test metrics of their cards on the real series in data/timeseries, and forecast a user's file in its units without
the training file; the export writes what loads back, and bad folders are refused in one line."""
from __future__ import annotations

import contextlib
import fnmatch
import importlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from huggingface_hub import metadata_load
from setuptools.config.setupcfg import read_configuration

import tasks.timeseries  # noqa: F401  (registers the forecasters)
from tasks.common.config import load_config
from tasks.timeseries import ForecastDataset, read_series
from tasks.timeseries.export import (WEIGHTS_DIR, evaluate_forecaster, forecaster_model, list_forecasters,
                                     load_forecaster)
from tasks.timeseries.predict import SeriesForecaster
from zoo.publish import LIBRARY_NAME, LICENSE, check_folder

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = list_forecasters()
DATA = {"caiso": ROOT / "data/timeseries/caiso_hourly_load_2018.csv.xz",
        "appliances": ROOT / "data/timeseries/appliances_energy.csv.xz"}
APPLIANCES_CONFIG = ROOT / "configs/ts/realdata/smixer-h24_1xb64-20e_appliances.py"


def _data_file(name: str) -> Path:
    return DATA["caiso" if "caiso" in name else "appliances"]


def test_the_forecasters_ship():
    assert SHIPPED == ["smixer-appliances-h24", "smixer-caiso-load-h24", "smixer-dstsp-appliances-h24",
                       "smixer-dstsp-caiso-load-h24"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_forecasters_reproduce_their_test_metrics(name, monkeypatch):
    monkeypatch.setattr("zoo.hub.hub_folder", lambda *a, **k: pytest.fail("the Hub was tried"))
    torch.set_num_threads(1)
    model, config = load_forecaster(name)
    measured = evaluate_forecaster(model, config["data"], file=_data_file(name))
    recorded = config["metrics"]
    assert set(measured) == set(recorded)
    assert measured["r2"] == pytest.approx(recorded["r2"], abs=2e-3)
    assert measured["r2_normalized"] == pytest.approx(recorded["r2_normalized"], abs=2e-3)
    for key in ("rse", "mae", "rmse", "mse"):
        assert measured[key] == pytest.approx(recorded[key], rel=5e-3)
    if "caiso" in name:
        assert recorded["r2"] > 0.7  # the weekly seasonal-naive forecast scores 0.776, persistence -0.68
    else:
        assert recorded["r2_normalized"] > 0.5


def test_metrics_can_fail():
    """Re-initialised weights do not reach the card's R²: the check above measures the weights."""
    model, config = load_forecaster("smixer-caiso-load-h24")
    torch.manual_seed(0)
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            module.reset_parameters()
    assert evaluate_forecaster(model, config["data"], file=DATA["caiso"])["r2"] < config["metrics"]["r2"] - 0.2


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_folder_and_card(name):
    folder = WEIGHTS_DIR / name
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert (folder / "model.safetensors").stat().st_size < 1_500_000
    checked = check_folder(folder, forecaster_model)  # tensors match, card metrics == config.json metrics
    assert checked.architecture == "SpikingForecaster"
    config = json.loads((folder / "config.json").read_text())
    assert bool(config["model"]["net"].get("pruning")) == ("dstsp" in name) and "dstsp" not in config["model"]["net"]
    meta = metadata_load(folder / "README.md")
    assert meta["license"] == LICENSE and meta["library_name"] == LIBRARY_NAME
    assert meta["pipeline_tag"] == "time-series-forecasting" and ("dstsp" in meta["tags"]) == ("dstsp" in name)
    card = (folder / "README.md").read_text()
    assert "- trained by: `python tools/train.py configs/ts/realdata/" in card
    assert "- weights and this card written by: `python tools/export.py configs/ts/realdata/" in card
    assert f" {WEIGHTS_DIR.relative_to(ROOT).as_posix()}/{name} " in card


def test_shipped_forecasters_are_package_data():
    patterns = read_configuration(str(ROOT / "setup.cfg"))["options"]["package_data"]["tasks.timeseries"]
    for path in WEIGHTS_DIR.glob("*/*"):
        relative = path.relative_to(WEIGHTS_DIR.parent).as_posix()
        assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative


def test_a_shipped_forecaster_forecasts_a_file_without_the_training_file(tmp_path, monkeypatch):
    """From a folder where the config's training file does not exist, the stored statistics are used: the forecast
    of the rows up to a test window equals that test sample's forecast by the dataset's own map."""
    model, config = load_forecaster("smixer-caiso-load-h24")
    test_set = ForecastDataset(**{**config["data"], "file": str(DATA["caiso"]), "split": "test"})
    end = int(test_set.starts[100]) + test_set.window
    table = read_series(DATA["caiso"], time_column="date")
    frame = pd.DataFrame(table.values[:end], columns=list(table.columns))
    frame.insert(0, "date", table.index[:end])
    frame = frame[["date", "CAISO Total", "VEA", "SDGE", "SCE", "PGE"]]  # columns are read by name
    frame.to_csv(tmp_path / "load.csv", index=False)
    monkeypatch.chdir(tmp_path)
    forecast = SeriesForecaster.from_pretrained("smixer-caiso-load-h24")(tmp_path / "load.csv")
    assert forecast.scaler == "the training split's statistics stored with the weights"
    with torch.no_grad():
        expected = test_set.to_original_units(model(test_set[100]["inputs"][None])[0])
    np.testing.assert_allclose(forecast.values, expected, rtol=1e-4)
    assert list(forecast.columns) == ["PGE", "SCE", "SDGE", "VEA", "CAISO Total"]
    truth = table.values[end:end + 24]
    assert np.abs(forecast.values - truth).mean() < 0.1 * np.abs(truth).mean()  # a trained forecast, in MW


def _tool(name: str):
    """The command line of tools/<name>.py as a module (its main runs in this process)."""
    return importlib.import_module(f"tasks.commands.{name}")


def test_predict_tool_runs_a_shipped_forecaster(tmp_path, capsys):
    frame = pd.read_csv(DATA["appliances"]).iloc[:200]
    frame.to_csv(tmp_path / "sensors.csv", index=False)
    summary = _tool("predict").main(["smixer-dstsp-appliances-h24", str(tmp_path / "sensors.csv"), "--out",
                                     str(tmp_path / "out")])
    (entry,) = summary["predictions"]
    assert summary["task"] == "forecasting" and len(pd.read_csv(entry["csv"])) == 24
    assert "24 steps x 28 series" in capsys.readouterr().out
    with pytest.raises(ValueError, match="drop --checkpoint"):
        _tool("predict").main(["smixer-dstsp-appliances-h24", str(tmp_path / "sensors.csv"), "--no-pretrained"])


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A forecaster with random weights saved as an mmengine checkpoint, exported by the tool."""
    tmp = tmp_path_factory.mktemp("export")
    cfg = load_config(APPLIANCES_CONFIG)
    model = tasks.timeseries.Forecaster(**{k: v for k, v in cfg.model.items() if k != "type"})
    torch.save({"state_dict": model.state_dict(), "meta": {"epoch": 3}}, tmp / "epoch_3.pth")
    out = tmp / "folder"
    with contextlib.chdir(ROOT):  # the config names its series file relative to the repository
        _tool("export").main([str(APPLIANCES_CONFIG), str(tmp / "epoch_3.pth"), str(out), "--trained-by", "by hand"])
    return model, out


def test_export_round_trip(exported, monkeypatch):
    model, out = exported
    monkeypatch.chdir(ROOT)
    loaded, config = load_forecaster(out)
    windows = torch.randn(3, 48, 30)
    with torch.no_grad():
        torch.testing.assert_close(loaded(windows), model.eval()(windows))
    assert config["metrics"] == evaluate_forecaster(loaded, config["data"])
    assert config["scaler"]["mode"] == "column_zscore" and len(config["scaler"]["offset"]) == 28
    card = (out / "README.md").read_text()
    assert "| epochs | at most 20, early stopping on the validation MSE; the best checkpoint (epoch 3) |" in card
    assert "- trained by: `by hand`" in card


def test_bad_folders_are_refused(exported, tmp_path):
    _, out = exported
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    (broken / "model.safetensors").write_bytes((out / "model.safetensors").read_bytes()[:1000])
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        load_forecaster(broken)
    config = json.loads((out / "config.json").read_text())
    config["model"]["net"]["embed_dim"] = 64
    (broken / "config.json").write_text(json.dumps(config))
    shutil.copy(out / "model.safetensors", broken / "model.safetensors")
    with pytest.raises(ValueError, match="does not match the model of config.json"):
        load_forecaster(broken)
    (broken / "config.json").write_text(json.dumps({"architecture": "smixer-fmnist", "model_args": {}}))
    with pytest.raises(ValueError, match="is not a forecaster's config"):
        load_forecaster(broken)
    with pytest.raises(FileNotFoundError, match="neither a forecaster folder, a shipped forecaster"):
        load_forecaster("no-such-forecaster")


def test_zoo_load_refuses_a_forecaster_folder(exported):
    import zoo

    with pytest.raises(ValueError, match="holds a time-series-forecasting model, which zoo.load does not build"):
        zoo.load(exported[1])


def test_export_refuses_classifier_options(tmp_path):
    with pytest.raises(ValueError, match="are for classifiers"):
        _tool("export").main([str(APPLIANCES_CONFIG), str(tmp_path / "x.pth"), str(tmp_path / "o"), "--no-eval"])
