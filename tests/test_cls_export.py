"""tools/export.py: an mmengine checkpoint of a SpikingClassifier -> a zoo hub folder that zoo.load reads."""
from __future__ import annotations

import json
import runpy
import sys

import pytest
import torch
from mmengine.registry import MODELS

import tasks.classification  # noqa: F401
import zoo

from test_cls_helpers import ROOT, write_fmnist

CONFIG = ROOT / "configs" / "cls" / "smixer-dstsp_fmnist.py"
TINY = ["model.backbone_args.embed_dim=32", "model.backbone_args.depth=1", "model.backbone_args.num_heads=4"]


def export(*argv: str) -> None:
    old = sys.argv
    sys.argv = ["tools/export.py", *argv]
    try:
        runpy.run_path(str(ROOT / "tools" / "export.py"), run_name="__main__")
    finally:
        sys.argv = old


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


def test_export_with_metrics_file(tmp_path, trained):
    model, checkpoint = trained
    metrics = tmp_path / "test.json"
    metrics.write_text(json.dumps({"accuracy/top1": 88.5, "accuracy/top5": 99.6}))
    out = tmp_path / "smixer-fmnist-dstsp"
    export(str(CONFIG), str(checkpoint), str(out), "--metrics", str(metrics), "--cfg-options", *TINY)
    loaded = zoo.load(out)
    x = torch.randn(4, 1, 28, 28)
    assert torch.equal(loaded.eval()(x), model.backbone(x))
    config = json.loads((out / "config.json").read_text())
    assert config["metrics"] == {"accuracy/top1": 88.5, "accuracy/top5": 99.6}
    assert config["pretrained_cfg"]["dataset"] == "fashion-mnist"
    assert config["pretrained_cfg"]["input_size"] == [1, 28, 28] and config["pretrained_cfg"]["paper_top1"] is None
    card = (out / "README.md").read_text()
    assert "| accuracy/top1 | 88.50 |" in card and "zoo.load" in card and "spatial_ratio" in card


def test_export_evaluates_on_the_test_set(tmp_path, trained, monkeypatch):
    _, checkpoint = trained
    data = write_fmnist(tmp_path / "fmnist", train=8, test=8)
    out = tmp_path / "exported"
    export(str(CONFIG), str(checkpoint), str(out), "--cfg-options", *TINY,
           f"test_dataloader.dataset.data_root={data}", "test_dataloader.num_workers=0")
    metrics = json.loads((out / "config.json").read_text())["metrics"]
    assert set(metrics) == {"accuracy/top1", "accuracy/top5"} and 0 <= metrics["accuracy/top1"] <= 100


def test_export_rejects_a_mismatched_checkpoint(tmp_path, trained):
    _, checkpoint = trained
    with pytest.raises(SystemExit, match="does not match"):
        export(str(CONFIG), str(checkpoint), str(tmp_path / "x"), "--no-eval")  # full-size config, tiny weights
    torch.save({"state_dict": {"head.weight": torch.zeros(1)}}, tmp_path / "other.pth")
    with pytest.raises(SystemExit, match="no 'backbone"):
        export(str(CONFIG), str(tmp_path / "other.pth"), str(tmp_path / "y"), "--no-eval")
