"""Classify image files and event-camera recordings with a zoo classifier: ``ImagePredictor``, ``EventPredictor``.

    predictor = create_predictor("smixer-cifar10")          # a variant, a folder (zoo.save_pretrained) or a Hub id
    predictions = predictor(["cat.png", "dog.jpg"], topk=5)  # one ClsPrediction per file

:func:`create_predictor` picks the predictor from the model's pretrained config: a model whose input has 2 channels
(the ON / OFF polarities) classifies event recordings, one with 1 or 3 channels images. Each input is prepared as
the model's test data were:

- images (anything PIL decodes: PNG, JPEG, ...; any size and colour mode) are converted to the model's channels
  (grey ``L`` or ``RGB``; 16-bit images scaled to 8 bits; alpha dropped), their shorter side resized to the input
  size (bicubic) and centre-cropped to a square (mmcv's ``Resize`` + ``CenterCrop``, the ImageNet test pipeline of
  ``configs/cls/_base_/datasets/imagenet.py``; the identity for CIFAR's 32 x 32 and Fashion-MNIST's 28 x 28 images),
  then normalised as the configs' ``ClsDataPreprocessor`` does, ``(x - 255 mean) / (255 std)``;
- recordings (:mod:`tasks.classification.event_files`) are cut to the centred square of the sensor (the training
  sensors, 128 x 128, were square), binned into T frames of equal event count and scaled to the input size by
  :func:`tasks.classification.datasets.events.bin_events`, as the DVS datasets bin theirs (``[T, 2, size, size]``
  ON / OFF counts, fed as they are).

Class names are those the repository knows for the model's dataset (CIFAR-10, Fashion-MNIST, DVS128 Gesture);
any other dataset's classes are ``class_<i>``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmcv.transforms import CenterCrop, Compose, Resize
from torch import Tensor, nn

import zoo
from tasks.common.images import IMAGE_SUFFIXES, decode_image
from zoo.registry import PretrainedCfg, is_model

from .datasets import CIFAR10DVS, DVS128Gesture, FashionMNIST, NFashionMNIST, bin_events
from .event_files import EVENT_SUFFIXES, EventRecording, Size, read_event_file

__all__ = ["ClsPredictor", "ImagePredictor", "EventPredictor", "ClsPrediction", "ClassScore", "create_predictor",
           "load_classifier", "class_names", "read_image", "resize_and_crop", "centre_square", "event_frames",
           "format_table",
           "IMAGE_SUFFIXES"]

BINNING = "event_count"  # how the DVS dataset configs bin their recordings (EventFrameDataset's default)
# Class names by pretrained_cfg.dataset (the registered variants' names and tools/export.py's).
_CLASS_NAMES = {"cifar10": CIFAR10DVS.CLASSES, "cifar10dvs": CIFAR10DVS.CLASSES, "cifar10-dvs": CIFAR10DVS.CLASSES,
                "fashion-mnist": FashionMNIST.CLASSES, "nfmnist": NFashionMNIST.CLASSES,
                "dvs128": DVS128Gesture.CLASSES, "dvs128-gesture": DVS128Gesture.CLASSES}


@dataclass(frozen=True)
class ClassScore:
    index: int
    name: str
    score: float


@dataclass
class ClsPrediction:
    """The top-k classes of one input file (softmax probabilities) and what was read from it."""

    input: str
    topk: List[ClassScore]
    details: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def class_names(cfg: PretrainedCfg) -> Tuple[str, ...]:
    """The ``num_classes`` names of the model's classes: its dataset's, else ``class_<i>``."""
    names = _CLASS_NAMES.get(cfg.dataset, ())
    return tuple(names) if len(names) == cfg.num_classes else tuple(f"class_{i}" for i in range(cfg.num_classes))


def load_classifier(name_or_path: Union[str, Path], pretrained: bool = True) -> Tuple[nn.Module, str]:
    """``zoo.load(name_or_path, pretrained)`` in eval mode and a description of its weights."""
    name = str(name_or_path)
    model = zoo.load(name, pretrained=pretrained)
    if Path(name).is_dir():
        weights = f"folder {name}"
    elif not pretrained and is_model(name):
        weights = "random (not pretrained)"
    else:
        weights = f"pretrained {name}"
    return model.eval(), weights


class ClsPredictor(ABC):
    """A zoo classifier and its input pipeline: ``predictor(files, topk)`` -> one :class:`ClsPrediction` each.

    Subclasses say which files they read (``suffixes``), for models of which input ``channels``, and turn a file
    into the model's input (:meth:`preprocess`).
    """

    kind = ""
    suffixes: Tuple[str, ...] = ()
    channels: Tuple[int, ...] = ()

    def __init__(self, model: nn.Module, weights: str = "") -> None:
        self.cfg: PretrainedCfg = model.pretrained_cfg
        self.name = getattr(model, "variant", type(model).__name__)
        if self.cfg.input_size[0] not in self.channels:
            raise ValueError(f"{self.name} takes {self.cfg.input_size[0]}-channel input; {type(self).__name__} feeds "
                             f"{self.kind} to models of {' or '.join(map(str, self.channels))} channels "
                             f"(create_predictor picks the predictor)")
        self.model = model.eval()
        self.weights = weights
        self.classes = class_names(self.cfg)

    @classmethod
    def from_pretrained(cls, name_or_path: Union[str, Path], pretrained: bool = True) -> "ClsPredictor":
        return cls(*load_classifier(name_or_path, pretrained))

    @abstractmethod
    def preprocess(self, path: Path) -> Tuple[Tensor, Dict[str, Any]]:
        """One file -> the model's input for one sample (no batch dim) and what to report about the file."""

    def check_input(self, path: Path) -> None:
        """Raise a one-line error unless ``path`` is an existing file of a type this predictor reads."""
        if not path.is_file():
            raise FileNotFoundError(f"input not found: {path}")
        suffix = path.suffix.lower()
        if suffix in self.suffixes:
            return
        other = "an event recording" if suffix in EVENT_SUFFIXES else "an image" if suffix in IMAGE_SUFFIXES else ""
        if other:
            raise ValueError(f"{path} is {other}, and {self.name} classifies {self.kind} ({', '.join(self.suffixes)})")
        raise ValueError(f"{path}: unknown input type {suffix or '(no extension)'!r}; {self.name} classifies "
                         f"{self.kind} ({', '.join(self.suffixes)})")

    @torch.no_grad()
    def __call__(self, files: Sequence[Union[str, Path]], topk: int = 5) -> List[ClsPrediction]:
        """Classify each file; all are checked before the first is classified."""
        if isinstance(topk, bool) or not isinstance(topk, int) or topk < 1:
            raise ValueError(f"topk must be a positive integer, got {topk!r}")
        paths = [Path(f) for f in files]
        for path in paths:
            self.check_input(path)
        return [self._predict(path, min(topk, len(self.classes))) for path in paths]

    def _predict(self, path: Path, k: int) -> ClsPrediction:
        inputs, details = self.preprocess(path)
        probs = self.model(inputs.unsqueeze(0)).softmax(-1)[0]  # [num_classes]
        scores, indices = probs.topk(k)
        topk = [ClassScore(int(i), self.classes[int(i)], round(float(s), 6)) for s, i in zip(scores, indices)]
        return ClsPrediction(str(path), topk, details)


# ---------------------------------------------------------------------------------------------------------- images
def read_image(path: Path, channels: int) -> Tuple[np.ndarray, Dict[str, Any]]:
    """Decode ``path`` -> ``[H, W, channels]`` uint8 (grey for 1 channel, RGB for 3) and its original size and mode
    (:func:`tasks.common.images.decode_image`)."""
    array, info = decode_image(path, "L" if channels == 1 else "RGB")
    return np.ascontiguousarray(array.reshape(*array.shape[:2], channels)), info


def resize_and_crop(image: np.ndarray, size: int) -> np.ndarray:
    """``[H, W, C]`` -> ``[size, size, C]``: shorter side to ``size`` (bicubic, aspect ratio kept), centre crop."""
    pipeline = Compose([Resize(scale=(size, 1 << 16), keep_ratio=True, interpolation="bicubic"),
                        CenterCrop(crop_size=size)])
    out = pipeline(dict(img=image))["img"]
    return out.reshape(size, size, image.shape[2])  # cv2 drops the channel axis of one-channel images


class ImagePredictor(ClsPredictor):
    """Classifies image files (see the module docstring for the preparation)."""

    kind = "images"
    suffixes = IMAGE_SUFFIXES
    channels = (1, 3)  # grey or RGB

    def preprocess(self, path: Path) -> Tuple[Tensor, Dict[str, Any]]:
        """An image file -> ``[C, H, W]`` float32, normalised."""
        channels, size = self.cfg.input_size[0], self.cfg.input_size[1]
        image, details = read_image(path, channels)
        pixels = torch.from_numpy(resize_and_crop(image, size)).permute(2, 0, 1).float()  # [C, H, W], 0..255
        mean = torch.tensor(self.cfg.mean).view(-1, 1, 1) * 255
        std = torch.tensor(self.cfg.std).view(-1, 1, 1) * 255
        return (pixels - mean) / std, details


# ---------------------------------------------------------------------------------------------------------- events
def centre_square(recording: EventRecording) -> Tuple[np.ndarray, int, Tuple[int, int]]:
    """The events inside the sensor's centred square of side ``min(width, height)``, in its coordinates, the side
    and the square's corner ``(x0, y0)`` on the sensor."""
    width, height = recording.sensor_size
    side = min(width, height)
    x0, y0 = (width - side) // 2, (height - side) // 2
    x, y = recording.events["x"], recording.events["y"]
    inside = recording.events[(x >= x0) & (x < x0 + side) & (y >= y0) & (y < y0 + side)].copy()
    inside["x"] -= x0
    inside["y"] -= y0
    return inside, side, (x0, y0)


def event_frames(recording: EventRecording, time_steps: int, size: int, binning: str = BINNING
                 ) -> Tuple[np.ndarray, Dict[str, Any]]:
    """A recording -> frames ``[time_steps, 2, size, size]`` int16 (ON / OFF counts) of its centred square, and how
    many events went in. ``binning``: frames of equal event counts (``event_count``, the remainder left out) or of
    equal durations over the whole recording (``time``), as the model's training data was binned. Raises if there are
    fewer events than frames, or if a count overflows int16."""
    events, side, corner = centre_square(recording)
    if len(events) < time_steps:
        raise ValueError(f"{recording.path}: {len(events)} events in the model's view (the centred {side} x {side} "
                         f"square of the sensor), fewer than its {time_steps} frames; nothing to classify")
    frames = bin_events(events, (side, side, 2), time_steps, size, binning)
    binned = int(frames.sum(dtype=np.int64))
    expected = len(events) // time_steps * time_steps if binning == "event_count" else binned
    if binned != expected or int(frames.max()) >= np.iinfo(np.int16).max:
        raise ValueError(f"{recording.path}: {expected} events in {time_steps} frames of {size} x {size} overflow the "
                         f"int16 counts of the binning; classify a shorter part of the recording")
    return frames, dict(view=dict(x0=corner[0], y0=corner[1], side=side), events_in_view=len(events),
                        events_binned=binned, binning=binning)


class EventPredictor(ClsPredictor):
    """Classifies event-camera recordings (formats: :mod:`tasks.classification.event_files`). ``sensor_size``
    ``(width, height)`` replaces the size a file records or the one inferred for it."""

    kind = "event recordings"
    suffixes = EVENT_SUFFIXES
    channels = (2,)  # OFF, ON

    def __init__(self, model: nn.Module, weights: str = "", sensor_size: Optional[Size] = None) -> None:
        super().__init__(model, weights)
        self.sensor_size = sensor_size

    @classmethod
    def from_pretrained(cls, name_or_path: Union[str, Path], pretrained: bool = True,
                        sensor_size: Optional[Size] = None) -> "EventPredictor":
        return cls(*load_classifier(name_or_path, pretrained), sensor_size=sensor_size)

    def preprocess(self, path: Path) -> Tuple[Tensor, Dict[str, Any]]:
        """A recording -> frames ``[T, 2, size, size]`` float32."""
        recording = read_event_file(path, self.sensor_size)
        frames, binned = event_frames(recording, self.cfg.time_steps, self.cfg.input_size[1], self.cfg.event_binning)
        return torch.from_numpy(frames).float(), {**recording.summary(), **binned}


def create_predictor(name_or_path: Union[str, Path], pretrained: bool = True,
                     sensor_size: Optional[Size] = None) -> ClsPredictor:
    """The predictor for a zoo classifier (a registered variant, a folder or a Hub repo id): an
    :class:`EventPredictor` if its input has 2 channels (ON / OFF), an :class:`ImagePredictor` otherwise."""
    model, weights = load_classifier(name_or_path, pretrained)
    if model.pretrained_cfg.input_size[0] == 2:
        return EventPredictor(model, weights, sensor_size)
    if sensor_size is not None:
        raise ValueError(f"{name_or_path} classifies images; a sensor size applies to event recordings only")
    return ImagePredictor(model, weights)


def format_table(predictions: Sequence[ClsPrediction]) -> str:
    """The top-k of each prediction as a text table, one block per input."""
    lines = []
    for prediction in predictions:
        width = max(len("class"), *(len(c.name) for c in prediction.topk))
        lines += [prediction.input, f"  rank  index  {'class':<{width}}  score"]
        lines += [f"  {rank:>4}  {c.index:>5}  {c.name:<{width}}  {c.score:.4f}"
                  for rank, c in enumerate(prediction.topk, 1)]
    return "\n".join(lines)
