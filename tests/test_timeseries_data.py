"""Readers, missing values, calendar features, windows, splits and normalisation of the forecasting task."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from tasks.timeseries import ForecastDataset, read_series
from tasks.timeseries.preprocess import calendar_features, fill_missing, observed_mask
from tasks.timeseries.scaling import Scaler
from tasks.timeseries.windows import split_ranges
from test_timeseries_helpers import REPO, speeds, write_traffic_h5, write_txt

SHARED = REPO.parent / "shared" / "data" / "timeseries"
APPLIANCES = REPO / "data" / "timeseries" / "appliances_energy.csv.xz"
CAISO = REPO / "data" / "timeseries" / "caiso_hourly_load_2018.csv.xz"


# ---------------------------------------------------------------------------------------------------- readers
def test_metr_la_h5_is_read_with_its_timestamps_and_sensor_columns(tmp_path):
    values = speeds(300, 207)
    path = write_traffic_h5(tmp_path / "metr-la.h5", values, key="df")
    table = read_series(path, expected_columns=207)
    assert table.shape == (300, 207)
    np.testing.assert_array_equal(table.values, values)
    assert table.columns[:2] == ("773869", "773870")
    assert table.index[0] == pd.Timestamp("2012-03-01 00:00")
    assert table.index[1] - table.index[0] == pd.Timedelta("5min")
    with pytest.raises(ValueError, match=r"metr-la.h5 has 207 series columns, expected 325"):
        read_series(path, expected_columns=325)


def test_pems_bay_h5_under_key_speed(tmp_path):
    path = write_traffic_h5(tmp_path / "pems-bay.h5", speeds(50, 325), key="speed", start="2017-01-01")
    table = read_series(path, expected_columns=325)
    assert table.shape == (50, 325) and table.index[0] == pd.Timestamp("2017-01-01")
    both = tmp_path / "two.h5"
    write_traffic_h5(both, speeds(20, 3), key="df")
    write_traffic_h5(both, speeds(20, 3), key="speed")
    with pytest.raises(ValueError, match="pass key="):
        read_series(both)
    assert read_series(both, key="speed").shape == (20, 3)


def test_h5_without_time_index_is_rejected(tmp_path):
    path = tmp_path / "bad.h5"
    pd.DataFrame(np.ones((10, 3))).to_hdf(path, key="df")
    with pytest.raises(ValueError, match="expected a DatetimeIndex"):
        read_series(path)


def test_txt_benchmarks_read_as_plain_matrices_and_ragged_files_fail(tmp_path):
    values = np.round(np.random.default_rng(0).uniform(0, 30, (40, 137)), 4)
    table = read_series(write_txt(tmp_path / "solar_AL.txt", values), expected_columns=137)
    np.testing.assert_allclose(table.values, values)
    assert table.index is None and table.columns[0] == "0"
    ragged = tmp_path / "electricity.txt"
    ragged.write_text("1,2,3\n4,5,6\n7,8\n")
    with pytest.raises(ValueError, match="line 3 has 2 comma-separated fields, the first line has 3"):
        read_series(ragged)
    header = tmp_path / "header.txt"
    header.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="non-numeric field"):
        read_series(header)


def test_generic_csv_detects_time_and_numeric_columns(tmp_path):
    frame = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=6, freq="h").astype(str),
                          "site": list("abcdef"), "load": np.arange(6.0), "temp": np.linspace(1, 2, 6)})
    path = tmp_path / "table.csv.gz"
    frame.to_csv(path, index=False)
    table = read_series(path)
    assert table.columns == ("load", "temp") and table.index[1] == pd.Timestamp("2020-01-01 01:00")
    np.testing.assert_array_equal(table.values[:, 0], np.arange(6.0))
    assert read_series(path, columns=["temp"]).columns == ("temp",)
    with pytest.raises(ValueError, match=r"columns \['nope'\] not found"):
        read_series(path, columns=["nope"])
    parquet = tmp_path / "table.parquet"
    frame.to_parquet(parquet)
    np.testing.assert_array_equal(read_series(parquet).values, table.values)


def test_tables_without_numbers_or_with_unknown_suffix_fail_clearly(tmp_path):
    words = tmp_path / "words.csv"
    pd.DataFrame({"a": ["x", "y", "z"], "b": ["u", "v", "w"]}).to_csv(words, index=False)
    with pytest.raises(ValueError, match="has no numeric columns"):
        read_series(words)
    odd = tmp_path / "series.xlsx"
    odd.write_text("1")
    with pytest.raises(ValueError, match="cannot tell the format"):
        read_series(odd)
    with pytest.raises(FileNotFoundError, match="series file not found"):
        read_series(tmp_path / "missing.csv")


def test_real_series_load_and_match_the_shared_originals():
    appliances = read_series(APPLIANCES, time_column="date", expected_columns=28)
    assert appliances.shape == (19735, 28) and appliances.columns[:2] == ("Appliances", "lights")
    assert (np.diff(appliances.index.values) == np.timedelta64(10, "m")).all()
    caiso = read_series(CAISO, time_column="date")
    assert caiso.columns == ("PGE", "SCE", "SDGE", "VEA", "CAISO Total") and caiso.shape == (8736, 5)
    assert not np.isnan(appliances.values).any() and not np.isnan(caiso.values).any()
    original = SHARED / "minute_energy_appliance.csv.xz"
    if not original.is_file():
        pytest.skip("shared data folder not present")
    assert hashlib.sha256(APPLIANCES.read_bytes()).hexdigest() == hashlib.sha256(original.read_bytes()).hexdigest()
    raw = pd.read_csv(SHARED / "hourly1418CA_2018.csv")
    np.testing.assert_allclose(caiso.values, raw[list(caiso.columns)].to_numpy(), rtol=1e-12)


# ------------------------------------------------------------------------------------ missing values, calendar
def test_zeros_as_missing_are_filled_forward_and_masked():
    values = np.array([[0.0, 1.0], [2.0, np.nan], [0.0, 3.0], [5.0, 0.0]])
    observed = observed_mask(values, zero_is_missing=True)
    np.testing.assert_array_equal(observed, [[0, 1], [1, 0], [0, 1], [1, 0]])
    np.testing.assert_array_equal(fill_missing(values, observed, "ffill"), [[2, 1], [2, 1], [2, 3], [5, 3]])
    np.testing.assert_array_equal(fill_missing(values, observed, "linear"), [[2, 1], [2, 2], [3.5, 3], [5, 3]])
    np.testing.assert_array_equal(fill_missing(values, observed, "zero"), [[0, 1], [2, 0], [0, 3], [5, 0]])
    assert observed_mask(values, zero_is_missing=False).sum() == 7  # only the NaN is missing
    with pytest.raises(ValueError, match="4 missing values and fill='none'"):
        fill_missing(values, observed_mask(np.where(values == 0, np.nan, values), False), "none")
    with pytest.raises(ValueError, match=r"columns \['b'\] have no observed value"):
        fill_missing(np.array([[1.0, 0.0], [2.0, 0.0]]), np.array([[1, 0], [1, 0]], bool), "ffill", ("a", "b"))


def test_calendar_features_are_the_reference_encoding():
    feats = calendar_features(pd.DatetimeIndex(["2012-03-01 00:05", "2012-12-31 23:59"]))
    # 2012-03-01 is a Thursday (day of week 3), day of year 61; 2012-12-31 is a Monday, day 366 (leap year)
    np.testing.assert_allclose(feats[0], [5 / 59 - 0.5, -0.5, 3 / 6 - 0.5, -0.5, 60 / 365 - 0.5])
    np.testing.assert_allclose(feats[1], [0.5, 0.5, -0.5, 30 / 30 - 0.5, 365 / 365 - 0.5])
    some = calendar_features(pd.DatetimeIndex(["2012-03-01 00:05"]), ("hour_of_day", "day_of_week"))
    np.testing.assert_allclose(some, feats[:1, 1:3])
    with pytest.raises(ValueError, match="calendar features must be some of"):
        calendar_features(pd.DatetimeIndex(["2012-03-01"]), ("week_of_year",))


# --------------------------------------------------------------------------------------------- windows, splits
def test_split_sizes_follow_the_reference_arithmetic():
    ranges = split_ranges(34272, 12, 6, 0.7, 0.1)  # METR-LA, horizon 6: total = 34272 - 12 - 6 + 1 = 34255
    assert (ranges["train"].start, ranges["train"].length) == (0, 23978)  # int(34255 * 0.7)
    assert (ranges["valid"].start, ranges["valid"].length) == (23978, 6852)
    assert (ranges["test"].start, ranges["test"].length) == (30830, 3425)  # int(34255 * 0.1)
    ranges = split_ranges(26304, 168, 96, 0.6, 0.2)  # Electricity, horizon 96: total 26041
    assert [ranges[k].length for k in ("train", "valid", "test")] == [15624, 5209, 5208]
    no_valid = split_ranges(100, 10, 1, 0.8, 0.2)
    assert no_valid["valid"] == no_valid["test"]
    with pytest.raises(ValueError, match="give no window"):
        split_ranges(10, 8, 4, 0.7, 0.1)


def test_windows_are_consecutive_rows_with_calendar_features(tmp_path):
    values = speeds(400, 7, zero_fraction=0.0)
    path = write_traffic_h5(tmp_path / "metr-la.h5", values)
    kw = dict(file=str(path), window=12, horizon=6, train_ratio=0.7, test_ratio=0.1, normalize="column_max")
    test = ForecastDataset(split="test", **kw)
    train = ForecastDataset(split="train", **kw)
    total = 400 - 12 - 6 + 1
    assert len(train) == int(total * 0.7) and len(test) == int(total * 0.1)
    item = test[3]
    start = test.ranges["test"].start + 3
    scale = np.abs(values[: int(total * 0.7) + 17]).max(0)  # column max over the training rows
    np.testing.assert_allclose(item["inputs"][:, :7].numpy(), values[start:start + 12] / scale, rtol=1e-6)
    np.testing.assert_allclose(item["inputs"][:, 7:].numpy(), calendar_features(test.index[start:start + 12]),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(item["data_samples"]["target"].numpy(), values[start + 12:start + 18] / scale,
                               rtol=1e-6)
    assert item["data_samples"]["observed"].all() and item["inputs"].shape == (12, 12)
    with pytest.raises(IndexError, match="out of range"):
        test[len(test)]
    hourly = ForecastDataset(split="test", calendar=["hour_of_day", "day_of_week"], **kw)
    assert hourly.num_inputs == 9
    np.testing.assert_allclose(hourly[3]["inputs"][:, 7:].numpy(), item["inputs"][:, 8:10].numpy())
    thinned = ForecastDataset(split="train", stride=4, **kw)
    assert len(thinned) == -(-len(train) // 4)
    np.testing.assert_array_equal(thinned[2]["inputs"], train[8]["inputs"])


def test_normalisation_modes_training_fit_and_reference_whole_series(tmp_path):
    values = np.random.default_rng(1).uniform(1, 100, (300, 4))
    values[-30:] *= 10  # the test period has larger values: a whole-series fit sees them, a training fit does not
    path = write_txt(tmp_path / "solar_AL.txt", values)
    values = read_series(path).values
    kw = dict(file=str(path), window=24, horizon=6, train_ratio=0.6, test_ratio=0.2, split="test")
    fit_rows = int((300 - 24 - 6 + 1) * 0.6) + 24 + 6 - 1
    cases = {"global_max": (0.0, values[:fit_rows].max()), "column_max": (0.0, np.abs(values[:fit_rows]).max(0)),
             "zscore": (values[:fit_rows].mean(), values[:fit_rows].std() + np.finfo(float).eps),
             "column_zscore": (values[:fit_rows].mean(0), values[:fit_rows].std(0)), "none": (0.0, 1.0)}
    for mode, (offset, scale) in cases.items():
        ds = ForecastDataset(normalize=mode, **kw)
        np.testing.assert_allclose(ds.targets, (values - offset) / scale, rtol=1e-5, atol=1e-6, err_msg=mode)
        back = ds.to_original_units(ds[0]["data_samples"]["target"])
        row = ds.first_target_rows()[0]
        np.testing.assert_allclose(back, values[row:row + 6], rtol=1e-5)
    reference = ForecastDataset(normalize="column_max", fit_on="all", **kw)  # SeqSNN: raw / max |column|
    np.testing.assert_allclose(reference.targets, values / np.abs(values).max(0), rtol=1e-6)
    raw = ForecastDataset(normalize="column_max", normalize_targets=False, **kw)  # SeqSNN's raw_label=True
    np.testing.assert_allclose(raw.targets, values, rtol=1e-6)
    assert (raw.metainfo["target_scale"] == 1).all() and (raw.metainfo["target_offset"] == 0).all()
    with pytest.raises(ValueError, match="unknown normalisation"):
        Scaler("minmax")


def test_traffic_zeros_are_not_scored_and_do_not_enter_statistics(tmp_path):
    values = speeds(300, 5, zero_fraction=0.1, seed=3)
    path = write_traffic_h5(tmp_path / "metr-la.h5", values)
    ds = ForecastDataset(str(path), 12, 6, "train", normalize="column_zscore", zero_is_missing=True)
    fit = values[: len(ds) + 17]
    expected_mean = np.array([fit[fit[:, c] != 0, c].mean() for c in range(5)])
    np.testing.assert_allclose(ds.scaler.offset, expected_mean)
    row = int(np.argwhere(values[20:250, 0] == 0)[0, 0]) + 20  # a missing reading of sensor 0
    i = row - 12  # the training sample whose first target is that row
    assert not ds[i]["data_samples"]["observed"][0, 0]
    assert ds.inputs[row, 0] == ds.inputs[row - 1, 0] or values[row - 1, 0] == 0  # carried forward
    assert ds.observed.sum() == (values != 0).sum()


def test_bad_arguments_and_empty_splits_are_reported(tmp_path):
    path = write_txt(tmp_path / "electricity.txt", np.ones((30, 2)))
    with pytest.raises(ValueError, match="split must be one of"):
        ForecastDataset(str(path), 4, 2, split="val")
    with pytest.raises(ValueError, match="split 'test' of .* is empty"):
        ForecastDataset(str(path), 20, 5, split="test", train_ratio=0.9, test_ratio=0.05)
    with pytest.raises(ValueError, match="calendar features need timestamps"):
        ForecastDataset(str(path), 4, 2, calendar=True)
    with pytest.raises(ValueError, match="has 30 rows; at least 40"):
        ForecastDataset(str(path), 32, 8)
