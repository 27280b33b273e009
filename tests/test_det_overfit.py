"""The whole detection loop learns: overfitting the 4 real photos (17 boxes, 6 classes) reaches COCO mAP@50 >= 0.7
and mAP >= 0.6 on them, measured by mmdet's CocoMetric (pycocotools) after NMS, at the end of `tools/train.py`.

The thresholds hold on any CPU with margin. Every run measured (3 seeds x 1 and 2 threads on Intel, seed 0 on AMD;
table in docs/detection.md) ends with person, bus, car, chair and sofa found (mAP@50 >= 0.833, mAP >= 0.825); the one
bottle, 19 px wide inside a person's box, is found or not depending on the seed and the CPU's rounding, so the
check does not ride on it. Early in training it is not reached yet (mAP@50 0.145-0.656 after 50 of the
300 iterations in those runs)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "configs/det/spikeyolo-tiny-smixer_1xb4-300it_photos.py"


def test_overfit_real_photos_reaches_map50(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")  # see tests/test_det_configs.py
    proc = subprocess.run([sys.executable, "tools/train.py", CONFIG, "--work-dir", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=1800, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (scalars,) = tmp_path.glob("*/vis_data/scalars.json")
    records = [json.loads(line) for line in scalars.read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    assert losses[-1] < 0.2 * losses[0], losses
    (metrics,) = [r for r in records if "coco/bbox_mAP_50" in r]  # one evaluation, after the last iteration
    assert metrics["coco/bbox_mAP_50"] >= 0.7, metrics
    assert metrics["coco/bbox_mAP"] >= 0.6, metrics
