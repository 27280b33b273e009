"""COCO dataset that fails early, naming the paths, when the annotation file or images are missing or broken."""
from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import List

from mmdet.datasets import CocoDataset

__all__ = ["CheckedCocoDataset"]

LAYOUT = ("expected the COCO layout <data_root>/annotations/instances_{train,val}2017.json with the images in "
          "<data_root>/train2017/ and <data_root>/val2017/ (see docs/detection.md)")


class CheckedCocoDataset(CocoDataset):
    """mmdet's :class:`CocoDataset` plus checks of the annotation file (present, JSON, COCO keys, every configured
    class among its categories: mmdet would drop an unknown class name silently and shift the labels) and of every
    listed image (local paths only; each image folder is listed once)."""

    def load_data_list(self) -> List[dict]:
        local = not self.backend_args
        if local:
            self._check_annotations()
        data_list = super().load_data_list()
        if local:
            self._check_images(data_list)
        return data_list

    def _check_annotations(self) -> None:
        path = Path(self.ann_file)
        if not path.is_file():
            raise FileNotFoundError(f"COCO annotation file not found: {path}; {LAYOUT}")
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"COCO annotation file {path} is not valid JSON (truncated?): {err}") from None
        keys = data if isinstance(data, dict) else {}
        missing = [key for key in ("images", "annotations", "categories") if key not in keys]
        if missing:
            raise ValueError(f"{path} is not a COCO detection file: no {missing}; {LAYOUT}")
        names = {c.get("name") for c in data["categories"]}
        unknown = [c for c in self.metainfo["classes"] if c not in names]
        if unknown:
            raise ValueError(f"classes {unknown} of the config are not categories of {path} (it has "
                             f"{sorted(names)}); fix metainfo.classes")

    def _check_images(self, data_list: List[dict]) -> None:
        by_folder = defaultdict(list)
        for info in data_list:
            folder, name = os.path.split(info["img_path"])
            by_folder[folder].append(name)
        missing = []
        for folder, names in by_folder.items():
            present = set(os.listdir(folder)) if os.path.isdir(folder) else set()
            missing.extend(os.path.join(folder, n) for n in names if n not in present)
        if missing:
            raise FileNotFoundError(f"{len(missing)} of {len(data_list)} images listed in {self.ann_file} are "
                                    f"missing, e.g. {missing[:3]}; image prefix {self.data_prefix.get('img')!r}; "
                                    f"{LAYOUT}")
