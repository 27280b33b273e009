"""The project brief's two commands, as the README gives them: `python tools/train.py configs/det/spikeyolo_smixer.py`
(the SpikeYOLO-hybrid with SMixer stages on COCO) and `zoo.load("stmixer-8-768-dstsp")` (weights that must come from
somewhere: the error says where)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

import zoo

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_gives_both_commands():
    assert "python tools/train.py configs/det/spikeyolo_smixer.py" in README
    assert 'zoo.load("stmixer-8-768-dstsp")' in README


def test_train_command_reaches_the_coco_data(tmp_path):
    """Run where no COCO is: the config builds the paper's hybrid (SMixer stages 3 and 4) and stops at the data,
    with one line naming what is missing and the layout it expects."""
    pytest.importorskip("mmdet")
    cfg = Config.fromfile(ROOT / "configs/det/spikeyolo_smixer.py")
    assert cfg.model.backbone.stage_types == ("allconv", "allconv", "smixer", "smixer")
    assert cfg.train_dataloader.dataset.ann_file.endswith("instances_train2017.json")
    done = subprocess.run([sys.executable, str(ROOT / "tools/train.py"), str(ROOT / "configs/det/spikeyolo_smixer.py"),
                           "--work-dir", str(tmp_path / "work")], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 1, done.stderr[-2000:]
    assert last.startswith("error: COCO annotation file not found: data/coco/annotations/instances_train2017.json")


def test_load_names_where_the_weights_come_from():
    with pytest.raises(FileNotFoundError) as err:
        zoo.load("stmixer-8-768-dstsp")
    message = str(err.value)
    assert "\n" not in message and "tools/convert.py CHECKPOINT out/stmixer-8-768 --from stmixer" in message
    assert "Hub repo id" in message and "pruning={'type': 'DSTSP', 'spatial_ratio': 0.3}" in message
