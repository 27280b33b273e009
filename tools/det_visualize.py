#!/usr/bin/env python
"""Draw a detector's predictions next to the ground truth on its test images (one PNG, one panel per image).

    python tools/det_visualize.py CONFIG CHECKPOINT --out docs/img/det_overfit.png [--score-thr 0.3] [--max-images 4]

Ground-truth boxes are dashed white, predictions solid with "class score".
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from mmengine.config import Config  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import load_checkpoint  # noqa: E402
from tasks.common.cli import run_command  # noqa: E402


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--score-thr", type=float, default=0.3)
    parser.add_argument("--max-images", type=int, default=4)
    args = parser.parse_args(argv)
    for path, what in ((args.config, "config file"), (args.checkpoint, "checkpoint")):
        if not Path(path).is_file():
            raise SystemExit(f"{what} not found: {path}")

    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get("default_scope", "mmdet"))
    from mmdet.registry import DATASETS, MODELS

    model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location="cpu", logger="silent")
    model.eval()
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    classes = dataset.metainfo["classes"]
    count = min(len(dataset), args.max_images)
    cols = min(count, 2)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 4.5 * rows), squeeze=False)
    colors = plt.get_cmap("tab10")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= count:
            continue
        info = dataset.get_data_info(i)
        with torch.no_grad():
            pred = model.test_step(pseudo_collate([dataset[i]]))[0].pred_instances
        ax.imshow(cv2.imread(info["img_path"])[:, :, ::-1])
        for inst in info["instances"]:
            x1, y1, x2, y2 = inst["bbox"]
            ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec="white", lw=1.5, ls="--"))
        keep = pred.scores >= args.score_thr
        for (x1, y1, x2, y2), label, score in zip(pred.bboxes[keep].tolist(), pred.labels[keep].tolist(),
                                                  pred.scores[keep].tolist()):
            ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=colors(label % 10), lw=2))
            ax.text(x1, y1, f"{classes[label]} {score:.2f}", color="white", fontsize=8, va="bottom",
                    bbox=dict(facecolor=colors(label % 10), alpha=0.8, pad=1, lw=0))
        ax.set_title(f"{Path(info['img_path']).name}: {len(info['instances'])} boxes, {int(keep.sum())} predicted "
                     f"(score >= {args.score_thr})", fontsize=9)
    fig.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=72)
    Image.open(out).convert("RGB").quantize(colors=256).save(out, optimize=True)  # a palette PNG: ~4x smaller
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    run_command(main)
