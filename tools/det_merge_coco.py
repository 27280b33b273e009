#!/usr/bin/env python
"""Merge COCO-format detection sets into one (images copied, ids remapped, only used categories kept).

    python tools/det_merge_coco.py OUT_DIR SET_DIR:ANNOTATION_JSON [SET_DIR:ANNOTATION_JSON ...]

Each image's ``file_name`` is resolved relative to its set's folder and copied to ``OUT_DIR/images/``; the merged
annotation file is ``OUT_DIR/annotations.json``. Categories are merged by name (numbered 1.. in order of first
use); categories without boxes are dropped. Image and annotation ids are renumbered from 1. A box ``area`` that
is not smaller than its image (some tools write the image area there) is replaced by the box's ``w * h``.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Dict, List, Tuple

from tasks.common.cli import run_command


def load_set(spec: str) -> Tuple[Path, dict]:
    folder, _, ann = spec.partition(":")
    ann_path = Path(folder) / ann
    if not ann or not ann_path.is_file():
        raise SystemExit(f"annotation file not found: {ann_path} (give SET_DIR:ANNOTATION_JSON)")
    data = json.loads(ann_path.read_text())
    for key in ("images", "annotations", "categories"):
        if key not in data:
            raise SystemExit(f"{ann_path} is not COCO detection format: missing '{key}'")
    return Path(folder), data


def merge(sets: List[Tuple[Path, dict]], out_dir: Path) -> dict:
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    images, annotations, categories = [], [], []
    category_ids: Dict[str, int] = {}
    for folder, data in sets:
        names = {c["id"]: c["name"] for c in data["categories"]}
        image_ids: Dict[int, dict] = {}
        for img in data["images"]:
            src = folder / img["file_name"]
            if not src.is_file():
                raise SystemExit(f"image listed in the annotations is missing: {src}")
            if src.name in {i["file_name"] for i in images}:
                raise SystemExit(f"two sets contain an image named {src.name}")
            new = dict(id=len(images) + 1, file_name=src.name, width=img["width"], height=img["height"])
            shutil.copyfile(src, out_dir / "images" / src.name)
            images.append(new)
            image_ids[img["id"]] = new
        for ann in data["annotations"]:
            name = names[ann["category_id"]]
            if name not in category_ids:
                category_ids[name] = len(category_ids) + 1
                categories.append(dict(id=category_ids[name], name=name))
            img = image_ids[ann["image_id"]]
            x, y, w, h = (float(v) for v in ann["bbox"])
            area = float(ann.get("area", w * h))
            if area >= img["width"] * img["height"]:
                area = w * h
            annotations.append(dict(id=len(annotations) + 1, image_id=img["id"], category_id=category_ids[name],
                                    bbox=[x, y, w, h], area=area, iscrowd=int(ann.get("iscrowd", 0))))
    return dict(images=images, annotations=annotations, categories=categories)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("sets", nargs="+", help="SET_DIR:ANNOTATION_JSON (file_name paths are relative to SET_DIR)")
    args = parser.parse_args(argv)
    out = Path(args.out_dir)
    merged = merge([load_set(s) for s in args.sets], out)
    (out / "annotations.json").write_text(json.dumps(merged, indent=1))
    print(f"{len(merged['images'])} images, {len(merged['annotations'])} boxes, "
          f"categories {[c['name'] for c in merged['categories']]} -> {out / 'annotations.json'}")
    return merged


if __name__ == "__main__":
    run_command(main)
