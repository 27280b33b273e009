"""Real inputs of the analyses: Fashion-MNIST images and event-camera recordings binned into event frames.

- :func:`fashion_mnist`: the first ``count`` images of a split, ``uint8`` ``[B, 1, 28, 28]``, and their labels.
- :func:`normalise`: images -> the model's input (``(x / 255 - mean) / std`` with the model's pretrained config).
- :func:`recording_frames`: an event file -> frames ``[T, 2, size, size]`` of event counts, the DVS models' input
  (read and binned as ``tools/predict.py`` does: the centred square of the sensor, equal event counts per frame).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from tasks.classification.datasets.fashion_mnist import FashionMNIST
from tasks.classification.event_files import read_event_file
from tasks.classification.predict import event_frames
from zoo.registry import PretrainedCfg

__all__ = ["fashion_mnist", "normalise", "recording_frames"]


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


def recording_frames(path: Union[str, Path], time_steps: int, size: int) -> Tensor:
    """The recording at ``path`` (any format :func:`tasks.classification.event_files.read_event_file` reads) ->
    ``float32`` frames ``[time_steps, 2, size, size]`` of event counts: the centred square of the sensor binned into
    frames of equal event counts, exactly as :class:`tasks.classification.predict.EventPredictor` feeds a model."""
    frames, _ = event_frames(read_event_file(path), time_steps, size)
    return torch.from_numpy(frames.astype(np.float32))
