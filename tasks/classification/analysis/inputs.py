"""Real inputs of the analyses: Fashion-MNIST images and event-camera recordings binned into event frames.

- :func:`fashion_mnist`: the first ``count`` images of a split, ``uint8`` ``[B, 1, 28, 28]``, and their labels.
- :func:`normalise`: images -> the model's input (``(x / 255 - mean) / std`` with the model's pretrained config).
- :func:`read_recording`: an event file that ``faery`` decodes (AEDAT4, Prophesee EVT2/EVT3 ``.raw``, ...) ->
  structured events ``x, y, p, t`` and the sensor size.
- :func:`recording_frames`: a recording -> frames ``[T, 2, size, size]`` of event counts, the DVS models' input:
  the centred square of the sensor, binned by ``tasks.classification.datasets.events.bin_events`` (equal event
  counts per frame, downsampled to ``size``), as the DVS128 Gesture / CIFAR10-DVS loaders bin their recordings.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from tasks.classification.datasets.events import bin_events
from tasks.classification.datasets.fashion_mnist import FashionMNIST
from zoo.registry import PretrainedCfg

__all__ = ["fashion_mnist", "normalise", "read_recording", "recording_frames", "EVENT_DTYPE"]

EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("p", np.int8), ("t", np.int64)])


def fashion_mnist(split: str = "test", count: Optional[int] = None,
                  data_root: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """The first ``count`` (``None``: all) images of ``split``: ``uint8`` ``[B, 1, 28, 28]`` and labels ``[B]``."""
    if count is not None and count < 1:
        raise ValueError(f"the number of images must be >= 1, got {count}")
    images, labels = FashionMNIST(data_root, split=split, lazy_init=True).load_arrays()  # [N, 28, 28, 1], [N]
    images, labels = images[:count], labels[:count]
    return torch.tensor(images.transpose(0, 3, 1, 2)), torch.tensor(labels)


def normalise(images: Tensor, cfg: PretrainedCfg) -> Tensor:
    """``uint8`` images ``[B, C, H, W]`` -> ``float32`` ``(x / 255 - mean) / std`` per channel."""
    mean = torch.tensor(cfg.mean, dtype=torch.float32).view(-1, 1, 1)
    std = torch.tensor(cfg.std, dtype=torch.float32).view(-1, 1, 1)
    if images.shape[-3] != mean.shape[0]:
        raise ValueError(f"{images.shape[-3]}-channel images for a model that expects {mean.shape[0]} channels")
    return (images.float() / 255.0 - mean) / std


def read_recording(path: Union[str, Path]) -> Tuple[np.ndarray, Tuple[int, int]]:
    """Events of the file at ``path`` (sorted by time) as :data:`EVENT_DTYPE` ``[N]``, and the sensor
    ``(width, height)``."""
    import faery

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"event recording not found: {path}")
    try:
        stream = faery.events_stream_from_file(str(path))
        width, height = stream.dimensions()
        raw = stream.to_array()
    except Exception as err:  # faery raises several types for files it cannot decode
        raise ValueError(f"{path}: cannot decode events ({' '.join(str(err).split())}); give an AEDAT4, EVT2/EVT3 "
                         f".raw, DAT or CSV event file") from None
    events = np.empty(len(raw), dtype=EVENT_DTYPE)
    for name in ("x", "y", "t"):
        events[name] = raw[name]
    events["p"] = raw["p"]
    return events, (int(width), int(height))


def recording_frames(path: Union[str, Path], time_steps: int, size: int) -> Tensor:
    """The recording at ``path`` -> ``float32`` frames ``[time_steps, 2, size, size]`` of event counts.

    The centred ``side x side`` square of the sensor (``side = min(width, height)``) is kept, so that the
    downsampling to ``size x size`` keeps the aspect ratio; its events are split into ``time_steps`` frames of
    equal event counts.
    """
    events, (width, height) = read_recording(path)
    side = min(width, height)
    x0, y0 = (width - side) // 2, (height - side) // 2
    inside = (events["x"] >= x0) & (events["x"] < x0 + side) & (events["y"] >= y0) & (events["y"] < y0 + side)
    square = events[inside]
    square["x"] -= x0
    square["y"] -= y0
    frames = bin_events(square, (side, side, 2), time_steps, size, binning="event_count")
    return torch.from_numpy(frames.astype(np.float32))
