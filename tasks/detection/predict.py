"""Detect objects in image files with a detector of ``configs/det``: ``DetPredictor``.

    predictor = DetPredictor.from_config("configs/det/spikeyolo-tiny-smixer_1xb4-300it_photos.py", "iter_300.pth")
    results = predictor(["street.jpg"], score_thr=0.3)    # one DetResult per image
    results[0].to_dict(); results[0].draw("street_det.png")

The detector is the config's model with the weights of an mmengine training checkpoint (``None``: random weights).
Each image is decoded (any format and colour mode PIL reads; grey and 16-bit images become 8-bit colour, alpha is
dropped) into the BGR array mmcv's ``LoadImageFromFile`` gives training, then goes through the config's test
pipeline (resize, pad, pack; annotations are not loaded). Boxes are ``[x1, y1, x2, y2]`` in the original image's
pixels, clipped to the image (a box reaching into the padding is cut at the border; one inside it is dropped). Class
names: the checkpoint's (``meta.dataset_meta.classes``), else the config's test dataset's.
"""
from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from PIL import Image, ImageDraw, ImageFont
from torch import nn

from tasks.common.checkpoint import check_state_dict_matches
from tasks.common.images import IMAGE_SUFFIXES, decode_image
from tasks.common.config import load_config
from zoo.fileio import write_atomic

__all__ = ["DetPredictor", "DetResult", "Detection", "read_bgr", "IMAGE_SUFFIXES"]

PathLike = Union[str, Path]


@dataclass(frozen=True)
class Detection:
    label: int
    name: str
    score: float
    bbox: Tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels of the original image


@dataclass
class DetResult:
    """The detections of one image with score >= ``score_thr``, best first."""

    input: str
    image_size: Tuple[int, int]  # width, height
    score_thr: float
    detections: List[Detection] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def draw(self, path: PathLike) -> Path:
        """The image with each box and its ``class score`` drawn on it, written as PNG to ``path``."""
        from matplotlib import colormaps

        palette = colormaps["tab10"]
        rgb, _ = read_bgr(Path(self.input))
        image = Image.fromarray(np.ascontiguousarray(rgb[..., ::-1]))
        canvas = ImageDraw.Draw(image)
        width = max(2, round(max(self.image_size) / 300))
        font = ImageFont.load_default(size=max(12, round(max(self.image_size) / 40)))
        for det in reversed(self.detections):  # best last: on top
            color = tuple(int(255 * v) for v in palette(det.label % 10)[:3])
            canvas.rectangle(det.bbox, outline=color, width=width)
            label = f"{det.name} {det.score:.2f}"
            left, top, right, bottom = canvas.textbbox((0, 0), label, font=font)
            x, y = det.bbox[0], max(0.0, det.bbox[1] - (bottom - top) - 4)  # above the box, inside the image
            canvas.rectangle((x, y, x + right - left + 4, y + bottom - top + 4), fill=color)
            canvas.text((x + 2 - left, y + 2 - top), label, fill=(255, 255, 255), font=font)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        return write_atomic(path, buffer.getvalue())


def read_bgr(path: Path) -> Tuple[np.ndarray, Tuple[int, int]]:
    """Decode ``path`` -> ``[H, W, 3]`` uint8 BGR (what mmcv's ``LoadImageFromFile`` gives) and ``(width, height)``
    (:func:`tasks.common.images.decode_image`)."""
    rgb, _ = decode_image(path, "RGB")
    return np.ascontiguousarray(rgb[..., ::-1]), (rgb.shape[1], rgb.shape[0])


def _test_pipeline(cfg: Config) -> List[dict]:
    """The config's test pipeline for an image array: annotations not loaded, the image given as an array."""
    from mmdet.utils import get_test_pipeline_cfg

    steps = [dict(step) for step in get_test_pipeline_cfg(cfg) if step["type"] != "LoadAnnotations"]
    if not steps or steps[0]["type"] != "LoadImageFromFile":
        raise ValueError("the config's test pipeline must start with LoadImageFromFile (then resize, pad, pack)")
    steps[0] = dict(type="mmdet.LoadImageFromNDArray")
    return steps


def _classes(cfg: Config, checkpoint_meta: Dict[str, Any]) -> Tuple[str, ...]:
    """Class names: the checkpoint's dataset meta, else the config's test dataset (its metainfo or its type's)."""
    from mmdet.registry import DATASETS

    saved = checkpoint_meta.get("dataset_meta", {}).get("classes")
    if saved:
        return tuple(saved)
    dataset = cfg.test_dataloader.dataset
    return tuple((dataset.get("metainfo") or {}).get("classes") or DATASETS.get(dataset.type).METAINFO["classes"])


class DetPredictor:
    """A detector of ``configs/det`` and its test pipeline: ``predictor(files, score_thr)`` -> one
    :class:`DetResult` per image."""

    suffixes = IMAGE_SUFFIXES

    def __init__(self, model: nn.Module, pipeline: List[dict], classes: Sequence[str], weights: str = "") -> None:
        from mmcv.transforms import Compose

        num_classes = model.bbox_head.num_classes
        if len(classes) != num_classes:
            raise ValueError(f"the detector has {num_classes} classes, its class names {len(classes)}")
        self.model = model.eval()
        self.pipeline = Compose(pipeline)
        self.classes = tuple(classes)
        self.weights = weights

    @classmethod
    def from_config(cls, config: Union[PathLike, Config], checkpoint: Optional[PathLike] = None) -> "DetPredictor":
        """The detector of a config (a path or a loaded ``Config``) with the weights of ``checkpoint`` (``None``:
        random weights)."""
        cfg = config if isinstance(config, Config) else load_config(config)
        init_default_scope(cfg.get("default_scope", "mmdet"))
        from mmdet.registry import MODELS

        if "bbox_head" not in cfg.model:
            raise ValueError(f"{config} is not a detection config: its model has no bbox_head")
        model = MODELS.build(cfg.model)
        meta: Dict[str, Any] = {}
        if checkpoint is not None:
            check_state_dict_matches(model, checkpoint)
            meta = load_checkpoint(model, str(checkpoint), map_location="cpu", strict=True,
                                   logger="silent").get("meta") or {}
        weights = f"checkpoint {checkpoint}" if checkpoint is not None else "random (no checkpoint)"
        return cls(model, _test_pipeline(cfg), _classes(cfg, meta), weights)

    def check_input(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"input not found: {path}")
        if path.suffix.lower() not in self.suffixes:
            raise ValueError(f"{path}: unknown input type {path.suffix or '(no extension)'!r}; the detector reads "
                             f"images ({', '.join(self.suffixes)})")

    @torch.no_grad()
    def __call__(self, files: Sequence[PathLike], score_thr: float = 0.3) -> List[DetResult]:
        """Detect in each image; all are checked before the first is processed."""
        if not 0 <= score_thr <= 1:
            raise ValueError(f"score_thr must lie in [0, 1], got {score_thr}")
        paths = [Path(f) for f in files]
        for path in paths:
            self.check_input(path)
        return [self._detect(path, score_thr) for path in paths]

    def _detect(self, path: Path, score_thr: float) -> DetResult:
        image, size = read_bgr(path)
        data = self.pipeline(dict(img=image, img_id=0))
        batch = dict(inputs=[data["inputs"]], data_samples=[data["data_samples"]])
        pred = self.model.test_step(batch)[0].pred_instances
        boxes = pred.bboxes.clone()  # [K, 4] in original pixels; those reaching into the padding are clipped
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, size[0])
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, size[1])
        keep = (pred.scores >= score_thr) & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        order = pred.scores[keep].argsort(descending=True)
        detections = [Detection(int(label), self.classes[int(label)], round(float(score), 4),
                                tuple(round(float(v), 1) for v in box))
                      for box, label, score in zip(boxes[keep][order], pred.labels[keep][order],
                                                   pred.scores[keep][order])]
        return DetResult(str(path), size, score_thr, detections)
