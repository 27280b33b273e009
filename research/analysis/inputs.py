"""Real inputs of the analyses: Fashion-MNIST images and event-camera recordings binned into event frames.

- :func:`fashion_mnist`: the first ``count`` images of a split, ``uint8`` ``[B, 1, 28, 28]``, and their labels.
- :func:`normalise`: images -> the model's input (``(x / 255 - mean) / std`` with the model's pretrained config).
- :func:`recording_frames`: an event file -> frames ``[T, 2, size, size]`` of event counts, the DVS models' input
  (read and binned as ``tools/predict.py`` does: the centred square of the sensor, the model's binning).
- :func:`nfmnist_recordings`: the first ``count`` test recordings of N-Fashion-MNIST (simulated saccades) as frames
  ``[B, T, 2, 32, 32]`` and their labels.
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

__all__ = ["fashion_mnist", "normalise", "recording_frames", "nfmnist_recordings"]


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


def recording_frames(path: Union[str, Path], time_steps: int, size: int, binning: str = "event_count") -> Tensor:
    """The recording at ``path`` (any format :func:`tasks.classification.event_files.read_event_file` reads) ->
    ``float32`` frames ``[time_steps, 2, size, size]`` of event counts: the centred square of the sensor binned into
    frames of equal event counts or durations (``binning``, the model's ``pretrained_cfg.event_binning``), exactly as
    :class:`tasks.classification.predict.EventPredictor` feeds a model."""
    frames, _ = event_frames(read_event_file(path), time_steps, size, binning)
    return torch.from_numpy(frames.astype(np.float32))


def nfmnist_recordings(count: int, time_steps: int, data_root: Optional[str] = None) -> Tuple[Tensor, Tensor]:
    """The first ``count`` test recordings of N-Fashion-MNIST (simulated saccades; its dataset class, ``data_root``
    ``None``: ``$DATA_ROOT/nfmnist``, else ``data/nfmnist``), in Fashion-MNIST's test order, binned by time into
    ``time_steps`` frames: ``float32`` ``[B, T, 2, 32, 32]`` and labels ``[B]``."""
    from tasks.classification.datasets import NFashionMNIST

    if count < 1:
        raise ValueError(f"the number of recordings must be >= 1, got {count}")
    dataset = NFashionMNIST(data_root, split="test", time_steps=time_steps, serialize_data=False)
    order = sorted(range(len(dataset)), key=lambda i: Path(dataset.data_list[i]["event_path"]).name)[:count]
    infos = [dataset.get_data_info(i) for i in order]  # frames read (or binned and cached) here
    frames = torch.stack([torch.from_numpy(i["img"].astype(np.float32)) for i in infos])
    return frames, torch.tensor([i["gt_label"] for i in infos])
