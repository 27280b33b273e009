"""N-MNIST's event format and the simulated N-Fashion-MNIST: the reader against bytes packed here by hand from the
format's specification (and against real N-MNIST bytes), its one-line errors, the saccade simulator's properties,
the resumable maker, and a few training steps on a tiny generated set through the registered dataset."""
from __future__ import annotations

import json
import struct
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch

import tasks.classification  # noqa: F401  (registers the datasets)
import zoo
from tasks.classification.datasets.nmnist import NFashionMNIST, encode_nmnist, read_nmnist_file
from tasks.classification.datasets.saccades import (SaccadeParams, dataset_statistics, make_dataset, plot_sample,
                                                    simulate)
from tasks.registry import DATASETS

from test_cls_helpers import write_fmnist

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "cls" / "smixer-t8_1xb64-2e_nfmnist.py"
DURATION = SaccadeParams().duration_us


def pack_event(x: int, y: int, p: int, t: int) -> bytes:
    """One 40-bit event as the N-MNIST readme specifies it: bits 39-32 x, 31-24 y, bit 23 polarity, 22-0 timestamp
    (written independently of the package's writer: one big-endian 64-bit word, its low 5 bytes)."""
    assert 0 <= t < 2 ** 23 and p in (0, 1)
    word = (x << 32) | (y << 24) | (p << 23) | t
    return struct.pack(">Q", word)[3:]


def write_events(path: Path, events) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(pack_event(*e) for e in events))
    return path


# The first 24 events of a real N-MNIST recording (tonic's test file test/test_data/sample_nmnist.bin, from the
# N-MNIST dataset, Orchard et al. 2015, CC BY-SA 4.0), and what tonic.io.read_mnist_file reads from them.
REAL_HEX = ("070f80028e1312000bb71511000bc90a12000f350c09800fb70e09800fbf20068016ea0d0a801cb90b13001cba0e18001e6a"
            "0c1200201a0c1080204f091200205f14108022d610088023bc12120026541412002aa71018002afa0318802aff1512002f19"
            "0c13002fa721168030be11120031c60e12003282")
REAL_X = [7, 19, 21, 10, 12, 14, 32, 13, 11, 14, 12, 12, 9, 20, 16, 18, 20, 16, 3, 21, 12, 33, 17, 14]
REAL_Y = [15, 18, 17, 18, 9, 9, 6, 10, 19, 24, 18, 16, 18, 16, 8, 18, 18, 24, 24, 18, 19, 22, 18, 18]
REAL_P = [1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0]
REAL_T = [654, 2999, 3017, 3893, 4023, 4031, 5866, 7353, 7354, 7786, 8218, 8271, 8287, 8918, 9148, 9812, 10919, 11002,
          11007, 12057, 12199, 12478, 12742, 12930]


def write_nmnist_tree(root: Path, per_label: int = 2, labels=(0, 1, 2), events: int = 60, seed: int = 0) -> Path:
    """A small set in N-MNIST's layout ``root/NMNIST/{Train,Test}/<label>/<id>.bin``, written by :func:`pack_event`."""
    rng = np.random.default_rng(seed)
    for split in ("Train", "Test"):
        for label in labels:
            for i in range(per_label):
                t = np.sort(rng.integers(0, 300_000, events))
                write_events(root / "NMNIST" / split / str(label) / f"{i + 1:05d}.bin",
                             [(int(rng.integers(0, 34)), int(rng.integers(0, 34)), int(rng.integers(0, 2)), int(v))
                              for v in t])
    return root


# -- the reader ------------------------------------------------------------------------------------------------------
def test_reader_reads_hand_packed_events_and_overflow_markers(tmp_path):
    events = [(0, 0, 1, 0), (33, 5, 0, 8191), (7, 33, 1, 2 ** 23 - 1), (5, 240, 0, 0), (1, 2, 1, 100), (3, 4, 0, 9000)]
    path = write_events(tmp_path / "a.bin", events)
    got = read_nmnist_file(path)
    assert got["x"].tolist() == [0, 33, 7, 1, 3] and got["y"].tolist() == [0, 5, 33, 2, 4]
    assert got["p"].tolist() == [1, 0, 1, 1, 0]
    # the marker (y == 240) is dropped and adds 2**13 to every later timestamp
    assert got["t"].tolist() == [0, 8191, 2 ** 23 - 1, 100 + 2 ** 13, 9000 + 2 ** 13]
    assert got.dtype.names == ("x", "y", "p", "t")


def test_reader_matches_tonic_on_real_nmnist_bytes(tmp_path):
    import tonic.io

    path = tmp_path / "real.bin"
    path.write_bytes(bytes.fromhex(REAL_HEX))
    got = read_nmnist_file(path)
    assert (got["x"].tolist(), got["y"].tolist(), got["p"].tolist(), got["t"].tolist()) == (REAL_X, REAL_Y, REAL_P,
                                                                                              REAL_T)
    theirs = tonic.io.read_mnist_file(str(path), dtype=np.dtype([("x", int), ("y", int), ("t", int), ("p", int)]))
    for field in "xypt":
        np.testing.assert_array_equal(got[field], theirs[field])
    # and the package's writer writes those bytes back
    assert encode_nmnist(got) == bytes.fromhex(REAL_HEX)


def test_truncated_file_and_foreign_sensor_are_one_line_errors(tmp_path):
    path = tmp_path / "cut.bin"
    path.write_bytes(bytes.fromhex(REAL_HEX)[:-2])
    with pytest.raises(ValueError, match="truncated") as err:
        read_nmnist_file(path)
    assert str(path) in str(err.value) and "118 bytes" in str(err.value) and "\n" not in str(err.value)
    big = write_events(tmp_path / "big.bin", [(1, 1, 1, 5), (100, 20, 0, 9)])
    with pytest.raises(ValueError, match="outside the 34 x 34 sensor") as err:
        read_nmnist_file(big)
    assert str(big) in str(err.value) and "\n" not in str(err.value)
    assert len(read_nmnist_file(big, sensor_size=(240, 180))) == 2  # N-Caltech101-size sensor


def test_writer_refuses_what_the_format_cannot_hold():
    events = np.zeros(1, dtype=[("x", np.int64), ("y", np.int64), ("p", np.int64), ("t", np.int64)])
    events["t"] = 2 ** 23
    with pytest.raises(ValueError, match="23 bits"):
        encode_nmnist(events)


# -- the dataset on files in N-MNIST's layout ------------------------------------------------------------------------
def test_nmnist_dataset_reads_the_layout_and_names_misplaced_files(tmp_path):
    root = write_nmnist_tree(tmp_path / "n")
    ds = DATASETS.build(dict(type="NMNIST", data_root=str(root), split="test", time_steps=4, size=32,
                             cache_dir=False))
    assert len(ds) == 6 and sorted(set(ds.get_labels().tolist())) == [0, 1, 2]
    frames = ds.get_data_info(0)["img"]
    assert frames.shape == (4, 2, 32, 32) and frames.sum() in (59, 60)  # tonic's time bins omit the last event
    # the same files, binned by event count at full resolution, keep every event
    full = DATASETS.build(dict(type="NMNIST", data_root=str(root), split="train", time_steps=3, size=34,
                               binning="event_count", cache_dir=False))
    assert full.get_data_info(1)["img"].sum() == 60

    stray = write_events(root / "NMNIST" / "Train" / "00009.bin", [(1, 1, 1, 1)])
    with pytest.raises(ValueError, match="belong in NMNIST") as err:
        DATASETS.build(dict(type="NMNIST", data_root=str(root), cache_dir=False))
    assert str(stray) in str(err.value) and "\n" not in str(err.value)
    stray.unlink()
    wrong = write_events(root / "NMNIST" / "Test" / "cat" / "00001.bin", [(1, 1, 1, 1)])
    with pytest.raises(ValueError, match="no label") as err:
        DATASETS.build(dict(type="NMNIST", data_root=str(root), split="test", cache_dir=False))
    assert str(wrong) in str(err.value)
    wrong.unlink()
    (root / "NMNIST" / "Test" / "1" / "00001.bin").write_bytes(b"\x01\x02\x03")
    ds = DATASETS.build(dict(type="NMNIST", data_root=str(root), split="test", cache_dir=False, lazy_init=True))
    ds.full_init()
    with pytest.raises(ValueError, match="truncated"):
        [ds.get_data_info(i) for i in range(len(ds))]
    with pytest.raises(FileNotFoundError, match="expected layout"):
        DATASETS.build(dict(type="NMNIST", data_root=str(tmp_path / "nothing")))


# -- the simulator ---------------------------------------------------------------------------------------------------
def square(size: int = 20, at: int = 4) -> np.ndarray:
    image = np.zeros((28, 28), dtype=np.uint8)
    image[at:at + size, at:at + size] = 255
    return image


def test_simulator_is_deterministic_and_stays_in_the_sensor():
    images = np.stack([square(), square(10, 9), 255 - square(12, 8)])
    first, again = simulate(images, seed=3), simulate(images, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], simulate(images[:1], seed=4)[0])
    # an image's events do not depend on the batch it was simulated in
    assert np.array_equal(simulate(images[1:2], seed=3, first_index=1)[0], first[1])
    for events in first:
        assert len(events) > 200
        assert events["x"].min() >= 0 and events["x"].max() < 34 and events["y"].min() >= 0 and events["y"].max() < 34
        assert set(np.unique(events["p"]).tolist()) == {0, 1}
        assert events["t"].min() >= 0 and events["t"].max() < DURATION <= 320_000
        assert (np.diff(events["t"]) >= 0).all() and events["t"].dtype.kind == "i"


def test_events_lie_on_moving_edges_and_a_blank_image_gives_only_noise():
    events = simulate(square()[None], seed=0)[0]
    counts = np.zeros((34, 34))
    np.add.at(counts, (events["y"], events["x"]), 1)
    # the square spans image pixels 4..23, i.e. sensor 3.5..22.5 plus the 0..7 px excursion: pixels 12..21 stay
    # inside it all the time, pixels beyond 31 stay outside; both see only background noise
    inside, edges = counts[13:21, 13:21], counts[4:31, 4:31]
    assert inside.mean() < 0.5 and counts[:, 32:].mean() < 0.5
    assert edges.sum() > 0.9 * len(events) and len(events) > 1000
    # the first saccade moves the image down: the square's lower edge brightens (ON), its upper edge darkens (OFF)
    first = events[events["t"] < 50_000]
    assert first[first["y"] > 22]["p"].mean() > 0.9 and first[(first["y"] < 8) & (first["y"] > 2)]["p"].mean() < 0.1
    blank = simulate(np.zeros((4, 28, 28), dtype=np.uint8), seed=0)
    noise = 34 * 34 * DURATION * 1e-6 * (SaccadeParams().leak_hz + SaccadeParams().shot_hz)
    for events in blank:
        assert 0.5 * noise < len(events) < 1.6 * noise  # leak and shot noise only (about 145 events)
        pixel_counts = np.bincount(events["y"] * 34 + events["x"])
        assert pixel_counts.max() <= 4


# -- making the set ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def made(tmp_path_factory):
    base = tmp_path_factory.mktemp("nfmnist")
    source = write_fmnist(base / "fashion-mnist", train=20, test=12)
    info = make_dataset(base / "nfmnist", data_root=str(source), seed=0, workers=1, limit=20, progress=False)
    return base / "nfmnist", source, info


def test_make_dataset_writes_the_nmnist_layout_and_says_it_is_simulated(made):
    root, _, info = made
    assert info["samples"] == {"train": 20, "test": 12} and info["simulated"] is True
    assert info["name"] == "N-Fashion-MNIST (simulated saccades)"
    stored = json.loads((root / "dataset.json").read_text())
    assert stored["seed"] == 0 and stored["params"]["c_on"] == 0.2 and "code_version" in stored
    assert "Simulated, not recorded" in (root / "README.md").read_text()
    train = sorted(p.relative_to(root).as_posix() for p in (root / "NMNIST" / "Train").glob("*/*.bin"))
    assert len(train) == 20 and any(p.endswith("/00001.bin") for p in train)
    assert all(p.startswith("NMNIST/Train/") and p.split("/")[2].isdigit() for p in train)
    stats = dataset_statistics(root, "test")
    assert stats["samples"] == 12 and 0.3 < stats["on_fraction"] < 0.7 and len(stats["events_per_saccade"]) == 3
    assert stats["events_mean"] > 500 and 300 < stats["duration_ms"] < 316


def test_make_dataset_resumes_and_refuses_other_settings(made, tmp_path):
    root, source, _ = made
    again = make_dataset(root, data_root=str(source), seed=0, workers=1, limit=20, progress=False)
    assert again.get("cached") is True  # complete: nothing made
    # two workers write the same bytes as one (each image has its own generator)
    copy = tmp_path / "copy"
    make_dataset(copy, data_root=str(source), seed=0, workers=2, limit=20, progress=False)
    files = sorted(p.relative_to(root) for p in root.rglob("*.bin"))
    assert files == sorted(p.relative_to(copy) for p in copy.rglob("*.bin")) and len(files) == 32
    assert all((root / f).read_bytes() == (copy / f).read_bytes() for f in files)
    # a killed run: a chunk without its marker and one of its files missing is made again, identically
    victim = next((copy / "NMNIST" / "Test").glob("*/*.bin"))
    original = victim.read_bytes()
    victim.unlink()
    (copy / "dataset.json").unlink()
    next((copy / ".progress").glob("test-*.done")).unlink()
    make_dataset(copy, data_root=str(source), seed=0, workers=1, limit=20, progress=False)
    assert victim.read_bytes() == original
    with pytest.raises(ValueError, match="other settings .*seed"):
        make_dataset(copy, data_root=str(source), seed=1, workers=1, limit=20, progress=False)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        make_dataset(tmp_path / "full", data_root=str(source), limit=2, progress=False)


def test_plot_sample_writes_a_png(made, tmp_path):
    root, _, _ = made
    sample = next((root / "NMNIST" / "Test").glob("*/00001.bin"))
    out = plot_sample(sample, tmp_path / "sample.png", time_steps=4)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- training on it --------------------------------------------------------------------------------------------------
def test_smixer_trains_on_the_generated_set(made):
    root, _, _ = made
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ds = DATASETS.build(dict(type="NFashionMNIST", data_root=str(root), split="train", time_steps=8, size=32,
                                 cache_dir=False, pipeline=[dict(type="PackClsInputs")]))
        assert len(ds) == 20 and ds.classes[0] == "T-shirt/top"
        model = zoo.create("smixer-fmnist", img_size=32, in_chans=2, time_steps=8, num_classes=10)
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
        samples = [ds[i] for i in range(8)]
        frames = torch.stack([s["inputs"] for s in samples]).float()
        labels = torch.tensor([s["data_samples"]["gt_label"] for s in samples])
        assert frames.shape == (8, 8, 2, 32, 32) and frames.sum() > 0
        losses = []
        for _ in range(3):
            loss = torch.nn.functional.cross_entropy(model(frames), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    finally:
        torch.set_num_threads(threads)


def test_leaf_config_trains_two_iterations(made, tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner

    root, _, _ = made
    cfg = Config.fromfile(str(CONFIG))
    assert cfg.train_dataloader.dataset.type == "NFashionMNIST" and cfg.model.backbone == "smixer-nfmnist"
    cfg.model.backbone_args.update(depth=1)
    for loader, count in (("train_dataloader", 4), ("val_dataloader", 2), ("test_dataloader", 2)):
        cfg[loader].dataset.update(data_root=str(root), indices=count, cache_dir=str(tmp_path / "cache"))
        cfg[loader].update(batch_size=2, num_workers=0)
    cfg.train_cfg.max_epochs = 1
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = f"nfmnist_{uuid.uuid4().hex[:8]}"
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2 and (tmp_path / "epoch_1.pth").is_file()
    assert any((tmp_path / "cache").rglob("*.npy"))  # frames cached


def test_default_root_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_ROOT", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="make_nfmnist.py"):
        NFashionMNIST()
