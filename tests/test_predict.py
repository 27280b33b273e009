"""Inference on files (tools/predict.py and the predictors of tasks/*/predict.py), checked on real data: the real
sample images, the real event recordings of data/samples/events (DAVIS346 AEDAT 4, Prophesee EVT 2 / EVT 3), the
real CAISO load series and detection photos. What reaches the model is checked against hand computations (pixels
normalised as the training preprocessor does, events counted in the centred square, forecast windows as the
training dataset builds them); bad input gets one clear line."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import zoo
from conftest import DETECTION
from tasks.classification.datasets import DVS128Gesture, FashionMNIST
from tasks.classification.event_files import read_event_file
from tasks.classification.predict import (EventPredictor, ImagePredictor, centre_square, create_predictor,
                                          event_frames, format_table)
from tasks.common.config import load_config

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
EVENTS = SAMPLES / "events"
CAISO = ROOT / "data" / "timeseries" / "caiso_hourly_load_2018.csv.xz"
TS_CONFIG = ROOT / "configs" / "ts" / "realdata" / "smixer-h24_1xb64-20e_caiso-load.py"
DET_CONFIG = ROOT / "configs" / "det" / "spikeyolo-tiny-smixer_1xb4-300it_photos.py"
PHOTO = ROOT / "data" / "detection" / "images" / "2011_000003.jpg"


def _tool():
    """tools/predict.py's command line as a module (its main runs in this process)."""
    from tasks.commands import predict

    return predict


def _small(name: str, **kwargs) -> torch.nn.Module:
    """A narrow build of a registered variant (its pretrained config kept), random weights."""
    torch.manual_seed(0)
    return zoo.create(name, embed_dim=32, depth=1, num_heads=4, **kwargs).eval()


def one_line(error, match, fn, *args, **kwargs):
    with pytest.raises(error, match=match) as info:
        fn(*args, **kwargs)
    assert "\n" not in str(info.value), str(info.value)
    return info.value


# ------------------------------------------------------------------------------------------------------ images
def test_image_is_normalised_as_the_training_preprocessor():
    """A real 32 x 32 CIFAR-10 test image: no resize, (x - 255 mean) / (255 std) with CIFAR's statistics (the
    ClsDataPreprocessor of configs/cls/_base_/models/smixer_cifar.py: mean [125.307, 122.961, 113.8575])."""
    path = SAMPLES / "cifar10" / "cifar10_00_3.png"
    predictor = ImagePredictor(_small("smixer-cifar10"))
    inputs, details = predictor.preprocess(path)
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64).transpose(2, 0, 1)
    mean = np.array([125.307, 122.961, 113.8575]).reshape(3, 1, 1)
    std = np.array([62.985, 62.0925, 66.708]).reshape(3, 1, 1)
    np.testing.assert_allclose(inputs.numpy(), (pixels - mean) / std, atol=2e-5)
    assert details == {"image_size": [32, 32], "image_mode": "RGB"}


def test_image_of_another_size_and_mode_is_converted_resized_and_cropped(tmp_path):
    rng = np.random.default_rng(0)
    wide = rng.integers(0, 256, (32, 64, 3), dtype=np.uint8)  # shorter side already 32: only the centre crop
    Image.fromarray(wide).convert("RGBA").save(tmp_path / "wide.png")
    predictor = ImagePredictor(_small("smixer-cifar10"))
    inputs, details = predictor.preprocess(tmp_path / "wide.png")
    assert details["image_mode"] == "RGBA" and details["image_size"] == [64, 32]
    pixels = inputs.numpy() * np.array(predictor.cfg.std).reshape(3, 1, 1) * 255 + \
        np.array(predictor.cfg.mean).reshape(3, 1, 1) * 255
    np.testing.assert_allclose(pixels, wide[:, 16:48].transpose(2, 0, 1), atol=1e-3)

    # a 16-bit grey PNG of 100 x 60 for a grey 28 x 28 model: 8 bits = value >> 8; a constant stays constant
    Image.fromarray(np.full((60, 100), 0xABCD, np.uint16)).save(tmp_path / "grey16.png")
    grey = ImagePredictor(_small("smixer-fmnist"))
    inputs, _ = grey.preprocess(tmp_path / "grey16.png")
    assert inputs.shape == (1, 28, 28)
    np.testing.assert_allclose(inputs.numpy(), (0xAB - 0.2860 * 255) / (0.3530 * 255), atol=1e-5)

    # colour to grey: ITU-R 601-2 luma, as PIL's "L" (within one grey level)
    colour = rng.integers(0, 256, (28, 28, 3), dtype=np.uint8)
    Image.fromarray(colour).save(tmp_path / "colour.jpg", quality=100, subsampling=0)
    decoded = np.asarray(Image.open(tmp_path / "colour.jpg").convert("RGB"), dtype=np.float64)
    luma = decoded @ np.array([0.299, 0.587, 0.114])
    inputs, _ = grey.preprocess(tmp_path / "colour.jpg")
    assert np.abs(inputs[0].numpy() * 0.3530 * 255 + 0.2860 * 255 - luma).max() <= 1.0


def test_image_predictor_reports_topk_with_class_names():
    files = sorted((SAMPLES / "fashion-mnist").glob("*.png"))
    predictor = ImagePredictor(_small("smixer-fmnist"), "random")
    predictions = predictor(files[:2], topk=10)
    assert [p.input for p in predictions] == [str(f) for f in files[:2]]
    for prediction in predictions:
        scores = [c.score for c in prediction.topk]
        assert sorted(scores, reverse=True) == scores and abs(sum(scores) - 1) < 1e-4
        assert sorted(c.index for c in prediction.topk) == list(range(10))
        assert all(c.name == FashionMNIST.CLASSES[c.index] for c in prediction.topk)
    table = format_table(predictions).splitlines()
    assert table[0] == str(files[0]) and table[1].split() == ["rank", "index", "class", "score"]
    assert len(table) == 2 * (2 + 10)
    (cifar100,) = ImagePredictor(_small("smixer-cifar100"))(files[:1], topk=3)
    assert all(c.name == f"class_{c.index}" for c in cifar100.topk)  # no CIFAR-100 names in the repository


def test_a_saved_folder_predicts_as_the_model_it_was_saved_from(tmp_path):
    model = _small("smixer-cifar10")
    zoo.save_pretrained(model, tmp_path / "folder")
    image = SAMPLES / "cifar10" / "cifar10_05_6.png"
    predictor = create_predictor(tmp_path / "folder")
    assert isinstance(predictor, ImagePredictor) and predictor.weights == f"folder {tmp_path / 'folder'}"
    assert predictor([image])[0].topk == ImagePredictor(model)([image])[0].topk
    assert isinstance(create_predictor("smixer-dvs128", pretrained=False), EventPredictor)
    one_line(ValueError, r"smixer-dvs128 takes 2-channel input; ImagePredictor feeds images to models of 1 or 3 "
                         r"channels", ImagePredictor, _small("smixer-dvs128"))
    one_line(ValueError, r"classifies images; a sensor size applies to event recordings only", create_predictor,
             tmp_path / "folder", sensor_size=(640, 480))


@pytest.mark.parametrize("name, content, error, match", [
    ("missing.png", None, FileNotFoundError, r"input not found: .*missing.png"),
    ("notes.txt", b"hello", ValueError, r"unknown input type '.txt'; smixer-cifar10 classifies images"),
    ("rec.aedat4", b"x", ValueError, r"rec.aedat4 is an event recording, and smixer-cifar10 classifies images"),
    ("garbage.png", b"\x89PNG not really", ValueError, r"garbage.png: not an image PIL can decode"),
    ("cut.jpg", "truncated", ValueError, r"cut.jpg: cannot decode the image \(.*\); the file is truncated"),
])
def test_bad_image_inputs(tmp_path, name, content, error, match):
    path = tmp_path / name
    if content == "truncated":
        data = (SAMPLES / "imagenet" / "imagenet_00_243.jpg").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif content is not None:
        path.write_bytes(content)
    predictor = ImagePredictor(_small("smixer-cifar10"))
    one_line(error, match, predictor, [SAMPLES / "cifar10" / "cifar10_00_3.png", path])


# ------------------------------------------------------------------------------------------------------ events
def test_real_recordings_are_read_as_independent_decoders_read_them():
    """AEDAT 4 against tonic's reader, EVT 2 / EVT 3 against expelliarmus (Prophesee decoders)."""
    import expelliarmus
    from tonic.io import read_aedat4

    davis = read_event_file(EVENTS / "davis346_slice.aedat4")
    assert (davis.sensor_size, davis.sensor_source, len(davis.events)) == ((346, 260), "file header", 20000)
    reference = read_aedat4(str(EVENTS / "davis346_slice.aedat4"))
    for field in "xytp":
        np.testing.assert_array_equal(davis.events[field], reference[field].astype(np.int64))
    for name, size, source in (("evt2", (640, 480), "inferred: VGA"), ("evt3", (1280, 720), "file header")):
        recording = read_event_file(EVENTS / f"{name}_slice.raw")
        reference = expelliarmus.Wizard(encoding=name).read(EVENTS / f"{name}_slice.raw")
        assert recording.sensor_size == size and recording.sensor_source.startswith(source)
        assert len(recording.events) == len(reference) > 10000
        for field in "xyp":  # the two EVT 3 decoders disagree on some time-high carries, never on x, y, p
            np.testing.assert_array_equal(recording.events[field], reference[field].astype(np.int64))


def test_frames_hold_the_events_of_the_centred_square():
    """DAVIS346 (346 x 260): the centred 260 x 260 square starts at x = 43; equal-count frames of 48 x 48 hold its
    events, the remainder of the division by T left out, each event at (x - 43, y) * 48 / 260."""
    recording = read_event_file(EVENTS / "davis346_slice.aedat4")
    x, y, p = (recording.events[f] for f in "xyp")
    inside = (x >= 43) & (x < 303)
    n = int(inside.sum())
    assert 0 < n < len(x)
    frames, details = event_frames(recording, 16, 48)
    assert frames.shape == (16, 2, 48, 48)
    assert details == {"view": {"x0": 43, "y0": 0, "side": 260}, "events_in_view": n, "events_binned": n // 16 * 16,
                       "binning": "event_count"}
    np.testing.assert_array_equal(frames.reshape(16, -1).sum(1), n // 16)
    kept_x, kept_y, kept_p = x[inside][: n // 16 * 16], y[inside][: n // 16 * 16], p[inside][: n // 16 * 16]
    expected = np.zeros((2, 48, 48), np.int64)
    np.add.at(expected, (kept_p, kept_y * 48 // 260, (kept_x - 43) * 48 // 260), 1)
    np.testing.assert_array_equal(frames.sum(0), expected)


def test_tables_and_event_streams_hold_the_same_events(tmp_path):
    """The real DAVIS346 events written as .npy, .npz, .csv (columns shuffled, polarity -1/1) and .es."""
    import faery

    events = read_event_file(EVENTS / "davis346_slice.aedat4").events[:3000]
    structured = np.zeros(len(events), [("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])
    for name in "txyp":
        structured[name] = events[name]
    np.save(tmp_path / "a.npy", structured)
    np.savez(tmp_path / "b.npz", **{name: events[name] for name in "xytp"})
    table = pd.DataFrame({"p": events["p"] * 2 - 1, "t": events["t"], "y": events["y"], "x": events["x"]})
    table.to_csv(tmp_path / "c.csv", index=False)
    raw = np.zeros(len(events), faery.EVENTS_DTYPE)
    raw["x"], raw["y"], raw["on"] = events["x"], events["y"], events["p"] == 1
    raw["t"] = events["t"] - events["t"][0]  # .es files store time from 0 (an absolute t0 becomes ~10^13 bytes)
    faery.events_stream_from_array(raw, (346, 260)).to_file(tmp_path / "d.es")
    for name in ("a.npy", "b.npz", "c.csv", "d.es"):
        recording = read_event_file(tmp_path / name)
        assert recording.sensor_size == (346, 260), name
        assert recording.sensor_source.startswith("file header" if name == "d.es" else "inferred: DAVIS346"), name
        for field in "xyp":
            np.testing.assert_array_equal(recording.events[field], events[field], err_msg=f"{name} {field}")
        start = events["t"][0] if name == "d.es" else 0
        np.testing.assert_array_equal(recording.events["t"], events["t"] - start, err_msg=name)
    assert read_event_file(tmp_path / "a.npy", sensor_size=(640, 480)).sensor_source == "given"


def _events_table(**columns) -> np.ndarray:
    table = np.zeros(40, [("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])
    table["t"] = np.arange(40)
    for name, values in columns.items():
        table[name] = values
    return table


@pytest.mark.parametrize("name, write, match", [
    ("missing.aedat4", None, r"input not found: .*missing.aedat4"),
    ("rec.dvs", b"\x00" * 8, r"rec.dvs: unknown input type '.dvs'; smixer-dvs128 classifies event recordings "
                             r"\(.aedat4, .raw"),
    ("cut.bin", b"\x00" * 8, r"cut.bin is 8 bytes, not a multiple of 5 \(N-MNIST events are 5 bytes\): truncated"),
    ("broken.aedat4", b"#!AER-DAT4.0\r\n garbage", r"broken.aedat4: cannot read it as AEDAT 4 \(.*\); the file is"),
    ("renamed.aedat4", "evt3", r"renamed.aedat4: cannot read it as AEDAT 4"),
    ("columns.npy", np.zeros((40, 4)), r"columns.npy: events must be a structured array \[N\] with fields x, y, t, p"),
    ("fields.npy", np.zeros(4, [("x", int), ("y", int), ("ts", int), ("pol", int)]), r"fields x, y, t, p, got"),
    ("pickled.npy", np.array([{"x": 1}], dtype=object), r"pickled.npy: cannot read it as a numpy array of events"),
    ("keys.npz", {"x": np.zeros(3), "y": np.zeros(3)}, r"keys.npz: a .npz of events holds arrays x, y, t, p"),
    ("header.csv", "x,y,t\n1,2,3\n", r"header.csv: the header line must name the columns x, y, t, p; it lacks \['p'\]"),
    ("text.csv", "x,y,t,p\n1,2,3,on\n", r"text.csv: cannot read it as a CSV table of events \(could not convert"),
    ("fraction.csv", "x,y,t,p\n1.5,2,3,1\n", r"fraction.csv: field x holds NaN, inf or fractions"),
    ("polarity.npy", _events_table(p=2), r"polarity.npy: polarities \[2\] are not OFF/ON"),
    ("unsorted.npy", _events_table(t=np.arange(40)[::-1]), r"unsorted.npy: timestamps decrease at event 1; sort"),
    ("huge.npy", _events_table(x=5000), r"huge.npy: events reach x 5000, y 0, beyond every known sensor"),
    ("few.npy", _events_table()[:10], r"few.npy: 10 events in the model's view .* fewer than its 16 frames"),
])
def test_bad_event_inputs(tmp_path, name, write, match):
    path = tmp_path / name
    if isinstance(write, bytes):
        path.write_bytes(write)
    elif isinstance(write, str) and write == "evt3":
        path.write_bytes((EVENTS / "evt3_slice.raw").read_bytes())
    elif isinstance(write, str):
        path.write_text(write)
    elif isinstance(write, dict):
        np.savez(path, **write)
    elif write is not None:
        np.save(path, write)
    predictor = EventPredictor(_small("smixer-dvs128"))
    one_line((ValueError, FileNotFoundError), match, predictor, [path])


def test_bad_sensor_sizes_and_reader_errors(tmp_path):
    one_line(FileNotFoundError, r"event recording not found: .*none.raw", read_event_file, tmp_path / "none.raw")
    (tmp_path / "rec.dvs").write_bytes(b"\x00")
    one_line(ValueError, r"rec.dvs: unknown event file type '.dvs'; known: .aedat4, .raw, .dat, .es, .npy",
             read_event_file, tmp_path / "rec.dvs")
    one_line(ValueError, r"sensor_size must be \(width, height\) in pixels, got \(640, 0\)", read_event_file,
             EVENTS / "evt2_slice.raw", (640, 0))
    predictor = EventPredictor(_small("smixer-dvs128"), sensor_size=(320, 320))
    one_line(ValueError, r"evt2_slice.raw: event coordinates x 0..635, y \d+..479 exceed the 320 x 320 sensor",
             predictor, [EVENTS / "evt2_slice.raw"])


def test_event_predictor_classifies_each_recording():
    predictor = EventPredictor(_small("smixer-dvs128"))
    files = sorted(EVENTS.glob("*_slice.*"))
    predictions = predictor(files, topk=3)
    for prediction, path in zip(predictions, files):
        recording = read_event_file(path)
        in_view = len(centre_square(recording)[0])
        assert prediction.details["num_events"] == len(recording.events)
        assert prediction.details["events_binned"] == in_view // 16 * 16
        assert [c.name for c in prediction.topk] == [DVS128Gesture.CLASSES[c.index] for c in prediction.topk]
        assert len(prediction.topk) == 3


def test_nmnist_recordings_are_framed_as_the_event_model_was_trained():
    """N-MNIST .bin files (here the shipped N-Fashion-MNIST test subset, simulated saccades) are read as 34 x 34
    recordings and binned by time, as the dataset binned the model's training data; the same frames as the dataset's
    (both through bin_events), and Fashion-MNIST's class names."""
    from tasks.classification.datasets import NFashionMNIST

    files = sorted((SAMPLES / "nfmnist-test-100" / "NMNIST" / "Test").glob("*/*.bin"))[:3]
    predictor = create_predictor("smixer-nfmnist", pretrained=False)
    assert isinstance(predictor, EventPredictor) and predictor.cfg.event_binning == "time"
    for prediction, path in zip(predictor(files, topk=2), files):
        assert prediction.details["format"] == "N-MNIST binary" and prediction.details["sensor_size"] == [34, 34]
        assert prediction.details["binning"] == "time"
        assert all(c.name == NFashionMNIST.CLASSES[c.index] for c in prediction.topk)
    dataset = NFashionMNIST(data_root=str(SAMPLES / "nfmnist-test-100"), split="test",
                            time_steps=predictor.cfg.time_steps, cache_dir=False)
    frames, _ = predictor.preprocess(files[0])
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    info = next(i for i in infos if files[0].as_posix().endswith(i["event_path"]))
    assert torch.equal(frames, torch.from_numpy(info["img"]).float())


# ---------------------------------------------------------------------------------------------------- forecasts
def _ts_config(train_file: Path = CAISO):
    import tasks.timeseries  # noqa: F401

    cfg = load_config(TS_CONFIG)
    cfg.train_dataloader.dataset.file = str(train_file)
    cfg.test_dataloader.dataset.file = str(CAISO)
    return cfg


def _history(tmp_path: Path, rows: int, name: str = "history.csv") -> Path:
    from tasks.timeseries import read_series

    table = read_series(CAISO, time_column="date")
    frame = pd.DataFrame(table.values[:rows], columns=list(table.columns))
    frame.insert(0, "date", table.index[:rows])
    frame.to_csv(tmp_path / name, index=False)
    return tmp_path / name


def test_forecast_is_the_training_window_forecast_in_original_units(tmp_path):
    """The file's last 168 rows are test sample i of the config's dataset: same input window (training
    statistics, calendar features), forecast mapped back with the dataset's own map, the real next timestamps."""
    from tasks.timeseries import ForecastDataset, read_series
    from tasks.timeseries.predict import SeriesForecaster

    cfg = _ts_config()
    torch.manual_seed(0)
    forecaster = SeriesForecaster.from_config(cfg)
    test_set = ForecastDataset(**{k: v for k, v in cfg.test_dataloader.dataset.items() if k != "type"})
    i = 10
    end = int(test_set.starts[i]) + 168
    forecast = forecaster(_history(tmp_path, end))
    with torch.no_grad():
        expected = test_set.to_original_units(forecaster.model(test_set[i]["inputs"][None])[0])
    np.testing.assert_allclose(forecast.values, expected, rtol=1e-5)
    assert forecast.scaler.startswith("the training split of") and forecast.details["calendar"] == [
        "hour_of_day", "day_of_week"]
    truth = read_series(CAISO, time_column="date")
    assert list(forecast.time) == list(truth.index[end:end + 24])
    written = pd.read_csv(forecast.write_csv(tmp_path / "forecast.csv"))
    assert list(written.columns) == ["date", "PGE", "SCE", "SDGE", "VEA", "CAISO Total"] and len(written) == 24
    assert written["date"].iloc[0] == str(truth.index[end]) and written["date"].iloc[-1] == str(truth.index[end + 23])
    np.testing.assert_allclose(written.iloc[:, 1:].to_numpy(), forecast.values, rtol=1e-12)
    assert forecast.plot(tmp_path / "forecast.png").stat().st_size > 10000


def test_without_the_training_file_the_scaler_is_fitted_on_the_input(tmp_path):
    from tasks.timeseries.predict import SeriesForecaster
    from tasks.timeseries.preprocess import calendar_features

    forecaster = SeriesForecaster.from_config(_ts_config(tmp_path / "elsewhere.csv"))
    history = _history(tmp_path, 400)
    forecast = forecaster(history)
    assert forecast.scaler.startswith("fitted on the 400 rows of the input (column_zscore)")
    frame = pd.read_csv(history, parse_dates=["date"])
    values = frame.iloc[:, 1:].to_numpy()
    mean, std = values.mean(0), values.std(0)
    window = np.concatenate([(values[-168:] - mean) / std,
                             calendar_features(pd.DatetimeIndex(frame["date"][-168:]),
                                               ("hour_of_day", "day_of_week"))], axis=1)
    with torch.no_grad():
        pred = forecaster.model(torch.tensor(window[None], dtype=torch.float32))[0].numpy()
    np.testing.assert_allclose(forecast.values, pred * std + mean, rtol=1e-5)


def test_a_series_without_timestamps_is_forecast_by_row_number(tmp_path):
    """Solar-Energy's format (header-less comma-separated numbers, 137 series, no calendar inputs), filled with the
    real CAISO loads; its benchmark file is absent, so the scaler is fitted on the input."""
    from tasks.timeseries import read_series
    from tasks.timeseries.predict import SeriesForecaster

    forecaster = SeriesForecaster.from_config(load_config(ROOT / "configs/ts/smixer-h6_1xb64-300e_solar.py"))
    loads = np.tile(read_series(CAISO, time_column="date").values[:200], 28)[:, :137]
    np.savetxt(tmp_path / "solar.txt", loads, delimiter=",")
    forecast = forecaster(tmp_path / "solar.txt")
    frame = forecast.frame()
    assert frame.shape == (6, 138) and list(frame["step"]) == list(range(200, 206))
    assert forecast.time is None and forecast.scaler.startswith("fitted on the 200 rows of the input")
    assert np.isfinite(forecast.values).all()


def test_bad_series_inputs(tmp_path):
    from tasks.timeseries.predict import SeriesForecaster

    forecaster = SeriesForecaster.from_config(_ts_config())
    one_line(ValueError, r"short.csv has 100 rows; the model reads a window of the last 168 rows: give at least 168",
             forecaster, _history(tmp_path, 100, "short.csv"))
    frame = pd.read_csv(_history(tmp_path, 200)).iloc[:, :4]
    frame.to_csv(tmp_path / "three.csv", index=False)
    one_line(ValueError, r"three.csv has 3 series columns \['PGE', 'SCE', 'SDGE'\], the model forecasts 5",
             forecaster, tmp_path / "three.csv")
    one_line(FileNotFoundError, r"series file not found", forecaster, tmp_path / "none.csv")


# ---------------------------------------------------------------------------------------------------- detection
needs_mmdet = pytest.mark.skipif(not DETECTION, reason="mmdet / mmcv.ops unavailable")


@pytest.fixture(scope="module")
def detector():
    import tasks.detection  # noqa: F401
    from tasks.detection.predict import DetPredictor

    torch.manual_seed(0)
    return DetPredictor.from_config(DET_CONFIG)


@needs_mmdet
def test_detector_boxes_lie_in_the_image(detector, tmp_path):
    assert detector.classes == ("person", "bottle", "bus", "car", "chair", "sofa")
    (result,) = detector([PHOTO], score_thr=0.0)
    width, height = Image.open(PHOTO).size
    assert result.image_size == (width, height) and result.detections
    boxes = np.array([d.bbox for d in result.detections])
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= width).all() and (boxes[:, 3] <= height).all()
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    scores = [d.score for d in result.detections]
    assert scores == sorted(scores, reverse=True) and all(d.name == detector.classes[d.label]
                                                          for d in result.detections)
    drawn = Image.open(result.draw(tmp_path / "boxes.png"))
    assert drawn.size == (width, height)
    assert np.abs(np.asarray(drawn, np.int16) - np.asarray(Image.open(PHOTO), np.int16)).max() > 0
    (tmp_path / "notes.txt").write_text("x")
    one_line(ValueError, r"notes.txt: unknown input type '.txt'; the detector reads images", detector,
             [PHOTO, tmp_path / "notes.txt"])


@needs_mmdet
def test_detector_takes_weights_and_class_names_from_the_checkpoint(detector, tmp_path):
    from tasks.detection.predict import DetPredictor

    names = ["a", "b", "c", "d", "e", "f"]
    torch.save({"meta": {"dataset_meta": {"classes": names}}, "state_dict": detector.model.state_dict()},
               tmp_path / "ckpt.pth")
    loaded = DetPredictor.from_config(DET_CONFIG, tmp_path / "ckpt.pth")
    assert loaded.classes == tuple(names) and loaded.weights == f"checkpoint {tmp_path / 'ckpt.pth'}"
    for name, tensor in detector.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], tensor), name
    torch.save({"meta": {}, "state_dict": {"backbone.x": torch.zeros(1)}}, tmp_path / "foreign.pth")
    one_line(ValueError, r"foreign.pth does not fit the config's model", DetPredictor.from_config, DET_CONFIG,
             tmp_path / "foreign.pth")


# ------------------------------------------------------------------------------------------------------- the tool
def test_tool_classifies_and_writes_json(tmp_path, capsys):
    tool = _tool()
    files = [str(p) for p in sorted((SAMPLES / "fashion-mnist").glob("*.png"))[:3]]
    summary = tool.main(["smixer-fmnist", *files, "--no-pretrained", "--topk", "2", "--out", str(tmp_path)])
    written = json.loads((tmp_path / "predictions.json").read_text())
    assert written == summary and written["task"] == "image classification"
    assert [p["input"] for p in written["predictions"]] == files
    assert all(len(p["topk"]) == 2 for p in written["predictions"])
    out = capsys.readouterr().out
    assert "smixer-fmnist, weights: random (not pretrained)" in out and files[0] in out


def test_tool_forecasts_to_csv_and_png(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # the config names its training file relative to the repository
    history = _history(tmp_path, 300, "load.csv")
    summary = _tool().main([str(TS_CONFIG), str(history), "--no-pretrained", "--out", str(tmp_path / "out")])
    (entry,) = summary["predictions"]
    csv = pd.read_csv(entry["csv"])
    assert entry["csv"] == str(tmp_path / "out" / "load_forecast.csv") and len(csv) == 24
    assert csv["date"].iloc[0] == "2018-01-13 12:00:00"  # row 300 of the hourly series from 2018-01-01 00:00
    assert Image.open(entry["png"]).format == "PNG"
    assert "24 steps x 5 series" in capsys.readouterr().out


@pytest.mark.parametrize("argv, match", [
    (["configs/ts/realdata/smixer-h24_1xb64-20e_caiso-load.py", "x.csv"], r"is a config: give its weights with "
                                                                          r"--checkpoint"),
    (["configs/cls/smixer-t2_1xb64-2136it_fmnist.py", "x.png", "--no-pretrained"],
     r"is a classification config: export"),
    (["smixer-fmnist", "x.png", "--checkpoint", "c.pth"], r"--checkpoint is for config files"),
    (["smixer-dvs128", "x.raw", "--no-pretrained", "--sensor-size", "640"], r"--sensor-size must be WIDTHxHEIGHT"),
    (["smixer-fmnist", "x.png", "--no-pretrained", "--checkpoint", "c.pth"], r"exclude each other"),
])
def test_tool_refuses_contradictory_options(argv, match, monkeypatch):
    monkeypatch.chdir(ROOT)
    one_line(ValueError, match, _tool().main, argv)


def test_tool_names_outputs_after_inputs_and_refuses_clashes():
    tool = _tool()
    assert tool.output_name("data/load.csv.xz") == "load" and tool.output_name("a.b.png") == "a.b"
    one_line(ValueError, r"a/x.csv and b/x.csv would write the same output files \(x_\*\)", tool.check_names,
             ["a/x.csv", "b/x.csv"])


def test_tool_prints_one_error_line_and_exits_1(capsys):
    from tasks.common.cli import run_command

    with pytest.raises(SystemExit) as exit_info:
        run_command(_tool().main, ["smixer-nope", "x.png"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: 'smixer-nope' is neither a folder, a registered model") and err.count("\n") == 1
