"""tasks.classification.export (tools/export.py): an mmengine checkpoint of a SpikingClassifier -> a zoo hub folder
that zoo.load reads."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest
import torch
from huggingface_hub import metadata_load

import zoo
from tasks.classification.export import export_checkpoint, sample_accuracy
from tasks.common.config import load_config
from tasks.registry import MODELS
from test_cls_helpers import ROOT, write_fmnist
from zoo.publish import check_folder

CONFIG = ROOT / "configs" / "cls" / "smixer-dstsp-t2_1xb64-3e_fmnist.py"
SAMPLES = ROOT / "data" / "samples" / "fashion-mnist-test-1000"
TINY = dict(embed_dim=32, depth=1, num_heads=4)


def tiny_config(**options):
    return load_config(CONFIG, {**{f"model.backbone_args.{k}": v for k, v in TINY.items()}, **options})


@pytest.fixture()
def trained(tmp_path):
    """A SpikingClassifier checkpoint in mmengine's layout (state_dict + meta), with trained-looking BN stats."""
    torch.manual_seed(0)
    model = MODELS.build(dict(type="SpikingClassifier", backbone="smixer-cifar10-dstsp",
                              backbone_args=dict(num_classes=10, img_size=28, in_chans=1, embed_dim=32, depth=1,
                                                 num_heads=4, time_steps=2,
                                                 dstsp=dict(spatial_ratio=0.3, temporal_ratio=0.5,
                                                            temporal_placement="IS"))))
    model.train()
    model.backbone(torch.randn(8, 1, 28, 28))  # move the BN running statistics away from their init
    path = tmp_path / "epoch_1.pth"
    torch.save({"meta": {"epoch": 1, "iter": 10}, "state_dict": model.state_dict()}, path)
    return model.eval(), path


def test_export_command_with_metrics_file(tmp_path, trained):
    model, checkpoint = trained
    metrics = tmp_path / "test.json"
    metrics.write_text(json.dumps({"accuracy/top1": 88.5, "accuracy/top5": 99.6}))
    out = tmp_path / "smixer-fmnist-dstsp"
    options = [f"model.backbone_args.{k}={v}" for k, v in TINY.items()]
    args = [str(CONFIG), str(checkpoint), str(out), "--metrics", str(metrics), "--trained-by",
            "python tools/train.py my config.py", "--cfg-options", *options]
    done = subprocess.run([sys.executable, "tools/export.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = zoo.load(out)
    x = torch.randn(4, 1, 28, 28)
    assert torch.equal(loaded.eval()(x), model.backbone(x))
    config = json.loads((out / "config.json").read_text())
    assert config["metrics"] == {"accuracy/top1": 88.5, "accuracy/top5": 99.6}
    assert config["pretrained_cfg"]["dataset"] == "fashion-mnist"
    assert config["pretrained_cfg"]["input_size"] == [1, 28, 28] and config["pretrained_cfg"]["paper_top1"] is None
    card = (out / "README.md").read_text()
    assert "| accuracy/top1 | 88.50 |" in card and "zoo.load" in card and "spatial_ratio" in card
    assert f"written by: `python tools/export.py {shlex.join(args)}`" in card
    assert "trained by: `python tools/train.py my config.py`" in card
    assert "| trained | 10 iterations = 640 images" in card
    meta = metadata_load(out / "README.md")
    assert meta["library_name"] == "smixer-zoo" and meta["license"] == "apache-2.0" and "dstsp" in meta["tags"]
    assert meta["datasets"] == ["zalando-datasets/fashion_mnist"]
    assert [m["value"] for m in meta["model-index"][0]["results"][0]["metrics"]] == [88.5, 99.6]
    assert check_folder(out).metrics == config["metrics"]  # ready to publish


def test_export_evaluates_on_the_test_set_and_the_shipped_subset(tmp_path, trained):
    model, checkpoint = trained
    data = write_fmnist(tmp_path / "fmnist", train=8, test=8)
    out = tmp_path / "exported"
    cfg = tiny_config(**{"test_dataloader.dataset.data_root": str(data), "test_dataloader.num_workers": 0})
    returned = export_checkpoint(cfg, CONFIG, checkpoint, out, evaluate_now=True, samples=SAMPLES)
    metrics = json.loads((out / "config.json").read_text())["metrics"]
    assert set(metrics) == {"accuracy/top1", "accuracy/top5", "fashion-mnist-test-1000/accuracy/top1"}
    assert 0 <= metrics["accuracy/top1"] <= 100 and returned == metrics
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors"]  # no eval logs
    loaded = zoo.load(out)
    assert sample_accuracy(loaded, SAMPLES) == (metrics["fashion-mnist-test-1000/accuracy/top1"], 1000)
    card = (out / "README.md").read_text()
    assert "the config's test split (8 images), mmengine test run" in card
    assert "`" + SAMPLES.as_posix() + "` (the first 1000 test images)" in card
    splits = [r["dataset"]["split"] for r in metadata_load(out / "README.md")["model-index"][0]["results"]]
    assert splits == ["test", "test[:1000]"]
    assert check_folder(out).metrics == metrics


def test_export_rejects_a_mismatched_checkpoint(tmp_path, trained):
    _, checkpoint = trained
    with pytest.raises(ValueError, match="does not match"):  # full-size config, tiny weights
        export_checkpoint(load_config(CONFIG), CONFIG, checkpoint, tmp_path / "x")
    torch.save({"state_dict": {"head.weight": torch.zeros(1)}}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="no 'backbone"):
        export_checkpoint(tiny_config(), CONFIG, tmp_path / "other.pth", tmp_path / "y")
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        export_checkpoint(tiny_config(), CONFIG, tmp_path / "missing.pth", tmp_path / "z")
    assert not any((tmp_path / name).exists() for name in "xyz")
