"""The weights that ship in the package (zoo/weights/<variant>): they load offline, reproduce the accuracy their
config.json records on the shipped test subset (data/samples/fashion-mnist-test-1000, the real images; for the event
models data/samples/nfmnist-test-100, simulated saccade recordings), and their cards pass the publishing checks.
Needs neither the network nor /usr/share/datasets."""
from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import metadata_load
from setuptools.config.setupcfg import read_configuration

import zoo
from tasks.classification.export import SAMPLE_FILES, sample_accuracy, sample_metric
from tasks.classification.datasets.fashion_mnist import read_idx
from zoo.publish import LIBRARY_NAME, LICENSE, check_folder

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "zoo" / "weights"
SAMPLES = ROOT / "data" / "samples" / "fashion-mnist-test-1000"
EVENT_SAMPLES = ROOT / "data" / "samples" / "nfmnist-test-100"
SHIPPED = sorted(p.name for p in WEIGHTS.iterdir() if p.is_dir())
# variant -> (its test subset, its size, the tolerance in points of top-1: CPU rounding may flip an input or two in a
# spiking network; one of the 100 recordings is 1 point, and 1e-6 relative weight noise flipped one of them in one
# of three draws, at 1 and 2 threads: docs/reliability.md)
SUBSETS = {name: (EVENT_SAMPLES, 100, 2.0) if "nfmnist" in name else (SAMPLES, 1000, 0.3) for name in SHIPPED}


def test_the_fashion_mnist_and_event_models_ship():
    assert SHIPPED == ["smixer-fmnist", "smixer-fmnist-dstsp", "smixer-fmnist-l", "smixer-nfmnist",
                       "smixer-nfmnist-dstsp"]
    assert set(SHIPPED) <= set(zoo.list_models(pretrained=True))


def test_the_test_subset_is_the_first_1000_fashion_mnist_test_images():
    images, labels = read_idx(SAMPLES / SAMPLE_FILES[0], 3), read_idx(SAMPLES / SAMPLE_FILES[1], 1)
    assert images.shape == (1000, 28, 28) and labels.shape == (1000,)
    assert labels[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]  # data/samples/fashion-mnist/fmnist_<i>_<label>.png
    assert sorted(set(labels.tolist())) == list(range(10))
    assert 70 < images.mean() < 80  # real clothes on black, not noise (Fashion-MNIST's mean pixel is 72.9)


@pytest.mark.parametrize("variant", SHIPPED)
def test_shipped_weights_reproduce_their_subset_accuracy(variant, monkeypatch):
    monkeypatch.setattr(zoo.hub, "hub_folder", lambda *a, **k: pytest.fail("the Hub was tried"))
    model = zoo.load(variant)
    folder, size, tolerance = SUBSETS[variant]
    key, measured, images = sample_metric(model, folder)
    recorded = json.loads((WEIGHTS / variant / "config.json").read_text())["metrics"]
    assert key == f"{folder.name}/accuracy/top1" and images == size
    assert measured == pytest.approx(recorded[key], abs=tolerance)
    assert recorded[key] > 50  # trained weights: random ones score about 10 %
    assert recorded["accuracy/top1"] > 50 and recorded["accuracy/top5"] >= recorded["accuracy/top1"]


def test_sample_accuracy_can_fail():
    """An untrained model does not reach the recorded accuracy: the check above measures the weights."""
    random = zoo.create("smixer-fmnist-dstsp").eval()
    random.pretrained_cfg = zoo.load("smixer-fmnist-dstsp").pretrained_cfg
    top1, _ = sample_accuracy(random, SAMPLES)
    recorded = json.loads((WEIGHTS / "smixer-fmnist-dstsp" / "config.json").read_text())["metrics"]
    assert top1 < recorded["fashion-mnist-test-1000/accuracy/top1"] - 10


@pytest.mark.parametrize("variant", [v for v in SHIPPED if "nfmnist" not in v])
def test_shipped_folder_and_card(variant):
    folder = WEIGHTS / variant
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert (folder / "model.safetensors").stat().st_size < 4_000_000
    checked = check_folder(folder)  # shapes match config.json, card fields present, card metrics == config.json's
    assert checked.architecture == variant
    config = json.loads((folder / "config.json").read_text())
    assert config["pretrained_cfg"]["dataset"] == "fashion-mnist"
    assert config["pretrained_cfg"]["input_size"] == [1, 28, 28]
    assert set(config["metrics"]) == {"accuracy/top1", "accuracy/top5", "fashion-mnist-test-1000/accuracy/top1"}
    meta = metadata_load(folder / "README.md")
    assert meta["license"] == LICENSE and meta["library_name"] == LIBRARY_NAME
    assert meta["datasets"] == ["zalando-datasets/fashion_mnist"] and meta["metrics"] == ["accuracy"]
    assert ("dstsp" in meta["tags"]) == variant.endswith("dstsp")
    card = (folder / "README.md").read_text()
    assert "(10000 images), mmengine test run" in card
    assert "`data/samples/fashion-mnist-test-1000` (the first 1000 test images)" in card
    results = {r["dataset"]["split"]: [m["name"] for m in r["metrics"]] for r in meta["model-index"][0]["results"]}
    assert results == {"test": ["accuracy/top1", "accuracy/top5"],
                       "test[:1000]": ["fashion-mnist-test-1000/accuracy/top1"]}
    assert "written by: `python tools/export.py " in card and f" zoo/weights/{variant} " in card
    assert "--samples data/samples/fashion-mnist-test-1000" in card
    assert "trained by: `python tools/fashion_mnist.py" in card and "| optimiser | AdamW" in card


@pytest.mark.parametrize("variant", ["smixer-nfmnist", "smixer-nfmnist-dstsp"])
def test_shipped_event_folder_and_card_say_the_data_is_simulated(variant):
    """The event models' cards say what they were trained on (simulated saccades, not a recording) and what that means
    for real sensors; they frame recordings by time, as their data was binned, and are the study's rows."""
    folder = WEIGHTS / variant
    assert check_folder(folder).architecture == variant
    config = json.loads((folder / "config.json").read_text())
    assert config["pretrained_cfg"]["dataset"] == "nfmnist" and config["pretrained_cfg"]["event_binning"] == "time"
    assert config["pretrained_cfg"]["input_size"] == [2, 32, 32]
    assert config["pretrained_cfg"]["time_steps"] == (2 if variant == "smixer-nfmnist" else 8)
    assert set(config["metrics"]) == {"accuracy/top1", "accuracy/top5", "nfmnist-test-100/accuracy/top1"}
    meta = metadata_load(folder / "README.md")
    assert meta["datasets"] == ["nfmnist"] and ("dstsp" in meta["tags"]) == variant.endswith("dstsp")
    card = (folder / "README.md").read_text()
    assert "N-Fashion-MNIST (simulated saccades)" in card and "No camera recorded these events" in card
    assert "real sensors" in card and "trained by: `python tools/event_study.py" in card
    assert "--samples data/samples/nfmnist-test-100" in card


def test_the_shipped_weights_stay_small():
    """A few MB in all ship with the package; larger weights belong on the Hub."""
    assert sum(p.stat().st_size for p in WEIGHTS.glob("*/*")) < 7_000_000


def test_shipped_weights_are_package_data():
    patterns = read_configuration(str(ROOT / "setup.cfg"))["options"]["package_data"]["zoo"]
    for path in WEIGHTS.glob("*/*"):
        relative = path.relative_to(ROOT / "zoo").as_posix()
        assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative


def test_shipped_weights_load_offline_in_a_fresh_process(tmp_path):
    code = "import zoo; m = zoo.load('smixer-fmnist-dstsp'); print(m.metrics['accuracy/top1'])"
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(tmp_path), HF_HOME=str(tmp_path), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    recorded = json.loads((WEIGHTS / "smixer-fmnist-dstsp" / "config.json").read_text())["metrics"]
    assert float(proc.stdout) == recorded["accuracy/top1"]
