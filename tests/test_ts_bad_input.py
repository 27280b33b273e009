"""Bad input to the forecasting task gives one clear error that names the problem and what to do: never a
traceback from deep inside torch / pandas / PyTables / pyarrow, never a silently wrong answer, never a
half-written output file. Files are written by the tests in the real on-disk formats (and cut from the real CAISO
series where the content matters)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from tasks.registry import DATASETS, MODELS
from tasks.timeseries import (ForecastDataset, ForecastMetric, Forecaster, SpikingForecaster, TransformerForecaster,
                              masked_mse, r2_score, read_series, rse)
from tasks.timeseries.report import forecast_report
from test_timeseries_helpers import REPO, speeds, write_traffic_h5, write_txt

CAISO = REPO / "data" / "timeseries" / "caiso_hourly_load_2018.csv.xz"
SHARED = REPO.parent / "shared" / "data" / "timeseries"
REPORT_CONFIG = REPO / "configs" / "ts" / "realdata" / "transformer-h24_1xb64-20e_caiso-load.py"


def table(rows: int = 60) -> pd.DataFrame:
    """``date`` (hourly) and two series ``a``, ``b``."""
    return pd.DataFrame({"date": pd.date_range("2020-01-01", periods=rows, freq="h"), "a": np.arange(rows, dtype=float),
                         "b": np.sqrt(np.arange(rows, dtype=float))})


def write(path: Path, content: Any) -> Path:
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    return path


# ------------------------------------------------------------------------------------------------------ files
def test_missing_file_and_a_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="series file not found: .*nope.csv"):
        ForecastDataset(str(tmp_path / "nope.csv"), window=4, horizon=2)
    with pytest.raises(IsADirectoryError, match="is a directory; file= must name a series file"):
        read_series(tmp_path)
    with pytest.raises(TypeError, match="series file must be a path, got NoneType None; set file="):
        ForecastDataset(None, window=4, horizon=2)


@pytest.mark.parametrize("name, message", [
    ("empty.csv", "empty.csv is empty; expected a CSV table with a header line"),
    ("empty.txt", "empty.txt is empty; expected comma-separated numbers"),
    ("empty.h5", "cannot open .*empty.h5 as HDF5: the file is empty, truncated or not an HDF5 file"),
    ("empty.parquet", "cannot read .*empty.parquet as parquet \\(Parquet file size is 0 bytes\\)"),
])
def test_empty_files(tmp_path, name, message):
    with pytest.raises(ValueError, match=message):
        read_series(write(tmp_path / name, b""))


def _truncated(tmp_path: Path, kind: str) -> Path:
    """Each format cut off in the middle, as a crash or an interrupted download leaves it."""
    if kind == "csv":
        text = table().to_csv(index=False)
        return write(tmp_path / "cut.csv", text[: len(text) // 2 - 3])
    if kind == "csv.xz":
        data = CAISO.read_bytes()  # the real series
        return write(tmp_path / "caiso.csv.xz", data[: len(data) // 2])
    if kind == "txt":
        return write(tmp_path / "solar_AL.txt", "1.5,2,3\n4,5,6\n7,8")
    full = tmp_path / f"full.{kind}"
    if kind == "h5":
        write_traffic_h5(full, speeds(50, 3))
    else:
        table().to_parquet(full)
    data = full.read_bytes()
    return write(tmp_path / f"cut.{kind}", data[: len(data) // 2])


@pytest.mark.parametrize("kind, message", [
    ("csv", "the last line is incomplete .*: the file was truncated; re-create it"),
    ("csv.xz", "Compressed file ended .*; the file is truncated or not compressed as its name says"),
    ("txt", "line 3 has 2 comma-separated fields, the first line has 3 .*a short last line means a truncated"),
    ("h5", "as HDF5: the file is empty, truncated or not an HDF5 file; re-download it"),
    ("parquet", "as parquet \\(Parquet magic bytes not found .*\\); the file is empty, truncated or not a parquet"),
])
def test_truncated_files(tmp_path, kind, message):
    with pytest.raises(ValueError, match=message):
        read_series(_truncated(tmp_path, kind))


def test_files_in_another_format_than_their_name_says(tmp_path):
    table().to_parquet(tmp_path / "data.parquet")
    with pytest.raises(ValueError, match="data.csv is not a text CSV file \\(binary content\\).* pass fmt="):
        read_series(write(tmp_path / "data.csv", (tmp_path / "data.parquet").read_bytes()))
    with pytest.raises(ValueError, match="data.parquet is not a text file .*the txt format is comma-separated"):
        read_series(tmp_path / "data.parquet", fmt="txt")
    with pytest.raises(ValueError, match="cannot open .*data.h5 as HDF5"):
        read_series(write(tmp_path / "data.h5", table().to_csv(index=False)))
    np.savez(tmp_path / "data.npz", values=np.ones((10, 2)))
    with pytest.raises(ValueError, match="cannot tell the format of .*data.npz.* or pass fmt= one of"):
        read_series(tmp_path / "data.npz")


def test_h5_files_with_the_wrong_key_or_no_pandas_table(tmp_path):
    path = write_traffic_h5(tmp_path / "metr-la.h5", speeds(50, 3), key="df")
    with pytest.raises(ValueError, match="has no table under key 'speed'; its keys are \\['df'\\]: pass key="):
        read_series(path, key="speed")
    with h5py.File(tmp_path / "raw.h5", "w") as f:
        f["speeds"] = np.ones((50, 3))
    with pytest.raises(ValueError, match="raw.h5 holds no pandas table .*DataFrame.to_hdf"):
        read_series(tmp_path / "raw.h5")
    with pytest.raises(ValueError, match="key='df' applies to h5 files only, and this is a csv file"):
        read_series(write(tmp_path / "a.csv", table().to_csv(index=False)), key="df")


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_text_in_a_numeric_column_is_refused_not_read_as_missing(tmp_path, suffix):
    frame = table(6).assign(a=["1", "2", "n/a?", "4", "5", "6"])
    path = tmp_path / f"data.{suffix}"
    frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path)
    with pytest.raises(ValueError, match="column 'a' holds text at data row 2 \\('n/a\\?'; 1 row\\(s\\) in all\\); "
                                         "fix them \\(an empty field means missing\\), or list the series"):
        read_series(path)


def test_infinite_values_are_refused(tmp_path):
    path = write(tmp_path / "inf.csv", "a,b\n1,2\n3,inf\n4,5\n")
    with pytest.raises(ValueError, match="column 'b' holds inf at data row 1 .*or with empty fields / NaN to mark"):
        read_series(path)


def test_bad_and_unordered_timestamps(tmp_path):
    bad = write(tmp_path / "bad.csv", "date,a\n2020-01-01,1\nnot a date,2\n2020-01-03,3\n")
    with pytest.raises(ValueError, match="time column 'date' holds 'not a date' at data row 1, not a timestamp"):
        read_series(bad, time_column="date")
    swapped = write(tmp_path / "swapped.csv", "date,a\n2020-01-01,1\n2020-01-03,2\n2020-01-02,3\n")
    with pytest.raises(ValueError, match="data row 2 \\(2020-01-02 00:00:00\\) does not come after row 1 .*sort the"):
        read_series(swapped)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data folder not present")
def test_real_tables_in_the_wrong_layout(tmp_path):
    """A long table (one row per car park and time) and a weather file with a station line above the header."""
    with pytest.raises(ValueError, match="timestamps must increase row by row.*must be pivoted to one column"):
        read_series(SHARED / "hourly_parking.csv")
    with pytest.raises(ValueError, match="the first line is not the header .*remove the lines above the header"):
        read_series(SHARED / "723170TYA.CSV")


def test_a_series_shorter_than_one_window(tmp_path):
    path = write_txt(tmp_path / "electricity.txt", np.ones((30, 2)))
    with pytest.raises(ValueError, match="has 30 rows; at least 40 are needed for window 32 \\+ horizon 8: shorten"):
        ForecastDataset(str(path), window=32, horizon=8, calendar=False)


# ------------------------------------------------------------------------------------------ options, configs
@pytest.mark.parametrize("options, error, message", [
    (dict(horizon=0), ValueError, "ForecastDataset: horizon must be >= 1, got 0"),
    (dict(window=0), ValueError, "ForecastDataset: window must be >= 1, got 0"),
    (dict(window="12"), TypeError, "ForecastDataset: window must be a positive integer, got str '12'"),
    (dict(window=4.5), TypeError, "ForecastDataset: window must be a positive integer, got float 4.5"),
    (dict(window=500), ValueError, "has 300 rows; at least 504 are needed for window 500 \\+ horizon 4"),
    (dict(train_ratio=1.5), ValueError, "train_ratio = 1.5 is out of range; it must lie strictly between 0 and 1"),
    (dict(test_ratio=0), ValueError, "test_ratio = 0 is out of range"),
    (dict(train_ratio=0.8, test_ratio=0.3), ValueError, "train_ratio \\+ test_ratio = 0.8 \\+ 0.3 > 1; lower one"),
    (dict(stride=0), ValueError, "ForecastDataset: stride must be >= 1, got 0"),
    (dict(windw=12), TypeError, "unknown option\\(s\\) 'windw' \\(did you mean 'window'\\?\\); valid options"),
    (dict(split="val"), ValueError, "split must be one of \\('train', 'valid', 'test'\\), got 'val'"),
    (dict(calendar=["hour"]), ValueError, "calendar features must be some of"),
])
def test_dataset_options_from_a_config(tmp_path, options, error, message):
    """Built through the registry, as a config does (mmengine prefixes the class and file)."""
    path = tmp_path / "caiso.csv"
    if not path.is_file():
        pd.read_csv(CAISO, nrows=300).to_csv(path, index=False)
    cfg = {**dict(type="ForecastDataset", file=str(path), window=24, horizon=4), **options}
    with pytest.raises(error, match=message):
        DATASETS.build(cfg)


def test_one_series_name_may_be_given_as_a_string(tmp_path):
    path = write(tmp_path / "a.csv", table().to_csv(index=False))
    dataset = ForecastDataset(str(path), window=4, horizon=2, columns="b", calendar="hour_of_day")
    assert dataset.columns == ("b",) and dataset.num_inputs == 2
    with pytest.raises(ValueError, match="'date' is the time column, not a series; leave it out of columns="):
        ForecastDataset(str(path), window=4, horizon=2, columns=["date", "a"])
    with pytest.raises(TypeError, match="ForecastDataset index must be an integer, got float"):
        dataset[1.0]


def test_a_validation_split_that_does_not_fit_the_model_is_refused_before_training(tmp_path):
    """Without the check the mismatch would surface at the first validation, after a whole epoch of training."""
    cfg = Config.fromfile(str(REPORT_CONFIG))
    cfg.merge_from_dict({"val_dataloader.dataset.horizon": 12, "work_dir": str(tmp_path)})
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match="val_dataloader.dataset \\(window 168, 7 inputs, 5 series, horizon 12\\) "
                                         "does not fit model.net \\(.*horizon 24\\); set the same window and"):
        runner.train()
    assert runner.iter == 0 and not list(tmp_path.glob("*.pth"))


# ------------------------------------------------------------------------------------------------- tensors
NET = dict(window=12, in_channels=7, out_channels=5, horizon=3, embed_dim=16, depth=1, num_heads=2, mlp_hidden=32)
NETS = {"smixer": lambda: SpikingForecaster(**NET), "spikformer": lambda: SpikingForecaster(**NET, mixer="ssa"),
        "transformer": lambda: TransformerForecaster(**NET)}
X = torch.randn(2, 12, 7)


@pytest.mark.parametrize("inputs, error, message", [
    (X[0], ValueError, "expects windows \\[B, 12, 7\\] \\(window, series \\+ calendar features\\), got \\(12, 7\\)"),
    (X[..., :6], ValueError, "expects windows \\[B, 12, 7\\] .*got \\(2, 12, 6\\)"),
    (X.long(), TypeError, "expects torch.float32 windows \\(the dtype of its weights\\), got torch.int64; convert"),
    (X > 0, TypeError, "got torch.bool; convert them with x.to\\(torch.float32\\)"),
    (X.double(), TypeError, "got torch.float64"),
    (X.index_fill(1, torch.tensor([3]), float("nan")), ValueError, "the windows hold 14 NaN or inf values; fill"),
    (X.index_fill(2, torch.tensor([0]), float("inf")), ValueError, "the windows hold 24 NaN or inf values"),
    (X[:0], ValueError, "got an empty batch \\[0, 12, 7\\]; the dataset or sampler produced no sample"),
    (X.numpy(), TypeError, "expects a torch.Tensor of windows, got ndarray; convert it with torch.as_tensor"),
], ids=["rank2", "channels", "int", "bool", "float64", "nan", "inf", "batch0", "numpy"])
@pytest.mark.parametrize("net", NETS)
def test_forecasters_refuse_bad_windows(net, inputs, error, message):
    model = NETS[net]().eval()
    with pytest.raises(error, match=message), torch.no_grad():
        model(inputs)


@pytest.mark.parametrize("options, error, message", [
    (dict(horizon=0), ValueError, "horizon must be >= 1, got 0"),
    (dict(horizon=2.5), TypeError, "horizon must be a positive integer, got float 2.5"),
    (dict(num_heads=3), ValueError, "embed_dim 16 is not divisible by num_heads 3; choose num_heads among"),
])
@pytest.mark.parametrize("cls", [SpikingForecaster, TransformerForecaster])
def test_forecaster_arguments(cls, options, error, message):
    with pytest.raises(error, match=f"{cls.__name__}: {message}"):
        cls(**{**NET, **options})


def test_a_misspelt_network_option_in_a_config():
    with pytest.raises(TypeError, match="SpikingForecaster.*unexpected keyword argument 'embed_dims'"):
        MODELS.build(dict(type="Forecaster", net=dict(type="SpikingForecaster", **NET, embed_dims=32)))


def test_forecaster_refuses_bad_targets_and_masks():
    model = Forecaster(TransformerForecaster(**NET))
    target = torch.randn(2, 3, 5)
    with pytest.raises(TypeError, match="targets must be a floating-point tensor, got torch.int64"):
        model(X, dict(target=target.long()), mode="loss")
    with pytest.raises(ValueError, match="the targets hold 10 NaN or inf values; fill missing targets and mark"):
        model(X, dict(target=target.index_fill(1, torch.tensor([0]), float("nan"))), mode="loss")
    with pytest.raises(TypeError, match="observed must be a bool mask of the targets' shape \\(2, 3, 5\\)"):
        model(X, dict(target=target, observed=torch.ones(2, 3, 5)), mode="predict")
    with pytest.raises(ValueError, match="targets \\(2, 3, 4\\) do not match predictions \\(2, 3, 1\\)"):
        masked_mse(torch.zeros(2, 3, 1), torch.zeros(2, 3, 4))  # would broadcast silently


# ------------------------------------------------------------------------------------------------- metrics
P, Y = np.random.default_rng(0).random((2, 4, 3, 2))


@pytest.mark.parametrize("metric", [r2_score, rse])
@pytest.mark.parametrize("pred, target, observed, error, message", [
    (P[0], Y[0], None, ValueError, "must both be \\[M, H, C\\], got \\(3, 2\\) and \\(3, 2\\)"),
    (P[:, :2], Y, None, ValueError, "must both be \\[M, H, C\\], got \\(4, 2, 2\\) and \\(4, 3, 2\\)"),
    (P[:0], Y[:0], None, ValueError, "no samples to score \\(M = 0\\); the evaluation set is empty"),
    (np.where(P > 0.9, np.nan, P), Y, None, ValueError, "of the predictions are NaN or inf \\(the model diverged"),
    (P, np.where(Y > 0.9, np.inf, Y), None, ValueError, "observed targets are NaN or inf; mark missing targets"),
    (P > 0.5, Y, None, TypeError, "predictions must hold real numbers, got dtype bool"),
    (P, Y.astype(str), None, TypeError, "targets must hold real numbers, got dtype <U"),
    (None, Y, None, TypeError, "predictions are None"),
    (P, Y, np.full(Y.shape, 0.5), ValueError, "observed must be a boolean mask \\(True = scored\\) or 0/1 values"),
    (P, Y, np.zeros(Y.shape, bool), ValueError, "no target is observed \\(observed is all False\\)"),
], ids=["rank2", "shapes", "empty", "nan-pred", "inf-target", "bool", "text", "none", "weights", "none-observed"])
def test_metrics_refuse_bad_arrays(metric, pred, target, observed, error, message):
    with pytest.raises(error, match=message):
        metric(pred, target, observed)


def test_missing_targets_under_the_mask_do_not_poison_the_score():
    observed = Y < 0.8
    assert r2_score(P, np.where(observed, Y, np.nan), observed) == r2_score(P, Y, observed)


def _metric(samples: list, series: int = 2) -> ForecastMetric:
    metric = ForecastMetric()
    metric.dataset_meta = dict(target_offset=np.zeros(series), target_scale=np.ones(series))
    if samples:
        metric.process(None, samples)
    return metric


def _samples(pred: np.ndarray, target: np.ndarray, observed: np.ndarray | None = None) -> list:
    observed = np.ones(target.shape, bool) if observed is None else observed
    return [dict(pred=torch.as_tensor(p), target=torch.as_tensor(t), observed=torch.as_tensor(o))
            for p, t, o in zip(pred, target, observed)]


@pytest.mark.parametrize("make, message", [
    (lambda: _metric(_samples(P, Y[..., :1])), "pred \\(3, 2\\), target \\(3, 1\\) and observed \\(3, 1\\) of a "
                                                "sample must share one \\[H, C\\] shape"),
    (lambda: _metric(_samples(P * np.nan, Y)), "24 of the predictions are NaN or inf"),
    (lambda: _metric([dict(pred=torch.zeros(3, 2))]), "each data sample must be a dict of 'pred', 'target' and "
                                                      "'observed' \\[H, C\\] tensors .*got \\['pred'\\]"),
    (lambda: _metric([]).evaluate(1), "ForecastMetric got no samples; the evaluation dataloader is empty"),
    (lambda: _metric(_samples(P, Y, np.zeros(Y.shape, bool))).evaluate(4), "no target of the evaluation set is "
                                                                           "observed"),
    (lambda: _metric(_samples(P, Y), series=3).evaluate(4), "the dataset's metainfo has 3 series, the predictions 2"),
], ids=["shapes", "nan", "keys", "empty", "unobserved", "metainfo"])
def test_forecast_metric_refuses_bad_samples(make: Callable[[], Any], message: str):
    with pytest.raises(ValueError, match=message):
        make()


# --------------------------------------------------------------------------------------------------- tools
def _report(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "tools/ts_report.py", str(REPORT_CONFIG), *args], cwd=REPO, text=True,
                          capture_output=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))


def test_ts_report_without_a_trained_checkpoint_is_one_error_line(tmp_path):
    done = _report("--work-root", str(tmp_path), "--json", str(tmp_path / "rows.json"))
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert len(errors) == 1 and "found 0: train the config first" in errors[0], done.stderr[-3000:]
    assert not (tmp_path / "rows.json").exists()


def _checkpoint(tmp_path: Path, content: bytes | dict) -> Path:
    path = tmp_path / REPORT_CONFIG.stem / "best_ts_mse_epoch_3.pth"
    path.parent.mkdir(parents=True)
    torch.save(content, path) if isinstance(content, dict) else path.write_bytes(content)
    return path


@pytest.mark.parametrize("options, checkpoint, error, message", [
    (dict(channel="PG&E"), None, ValueError, "--channel 'PG&E' is not a series of .*; choose one of \\['PGE'"),
    (dict(samples=[0, 5000]), None, ValueError, "--samples \\[5000\\] out of range: the test split has"),
    (dict(png=Path("plot.jpg")), None, ValueError, "the plot is written as PNG; give a file name ending in .png"),
    (dict(periods=[24, 0]), None, ValueError, "--periods \\[24, 0\\]: seasonal-naive periods are steps, each >= 1"),
    ({}, b"PK\x03\x04 not a checkpoint", ValueError, "cannot be read \\(truncated, corrupt"),
    ({}, "foreign", ValueError, "does not fit the config's model"),
], ids=["channel", "samples", "png", "periods", "corrupt-checkpoint", "foreign-checkpoint"])
def test_ts_report_options_and_checkpoints(tmp_path, options, checkpoint, error, message):
    if checkpoint == "foreign":  # the same config's model, another width
        other = TransformerForecaster(window=168, in_channels=7, out_channels=5, horizon=24, embed_dim=16,
                                      num_heads=2, mlp_hidden=32)
        checkpoint = dict(meta={}, state_dict={f"net.{k}": v for k, v in other.state_dict().items()})
    if checkpoint is not None:
        _checkpoint(tmp_path, checkpoint)
    out = tmp_path / "rows.json"
    with pytest.raises(error, match=message):
        forecast_report([REPORT_CONFIG], tmp_path, json_path=out, **options)
    assert not out.exists()  # nothing written
