"""What the Fashion-MNIST runs measure besides accuracy, on real images: training speed, the bytes autograd saves
for backward, the theoretical energy per image (paper appendix B), and the machine they ran on."""
from __future__ import annotations

import os
import platform
import statistics
from pathlib import Path
from typing import Any, Dict, Optional

import torch
from mmengine.config import Config

from tasks.common.engine import training_clock
from tasks.registry import DATASETS, MODELS
from zoo.ops import op_report, saved_tensor_bytes

__all__ = ["load_trained_model", "real_batch", "measure_costs", "measure_speed", "auto_epochs",
           "machine"]


def load_trained_model(cfg: Config, checkpoint: Optional[Path]) -> torch.nn.Module:
    """The ``SpikingClassifier`` of ``cfg`` with the weights of ``checkpoint`` (safe loading; ``None``: fresh)."""
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"])
    return model.eval()


def real_batch(cfg: Config, model: torch.nn.Module, split: str, size: int) -> Dict[str, torch.Tensor]:
    """``size`` real Fashion-MNIST images of ``split`` through the config's test pipeline and the preprocessor."""
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, split=split, indices=size))
    items = [dataset[i] for i in range(len(dataset))]
    data = dict(inputs=torch.stack([it["inputs"] for it in items]),
                data_samples=dict(gt_label=torch.tensor([it["data_samples"]["gt_label"] for it in items])))
    return model.data_preprocessor(data, False)


def measure_costs(cfg: Config, model: torch.nn.Module, batch_size: int) -> Dict[str, float]:
    """Parameters, bytes saved for backward per training batch, energy / SOPs / MACs per test image."""
    train = real_batch(cfg, model, "train", batch_size)
    model.train()
    saved = saved_tensor_bytes(lambda: model(train["inputs"], train["data_samples"], mode="loss")["loss"])
    model.eval()
    test = real_batch(cfg, model, "test", 256)
    report = op_report(model.backbone, test["inputs"])
    return dict(params=sum(p.numel() for p in model.parameters()), saved_bytes_per_batch=saved,
                energy_mj=report.energy_mj, sops=report.sops, macs=report.macs)


def measure_speed(cfg: Config, steps: int = 12, warmup: int = 3) -> float:
    """Training samples per second of ``cfg``'s model: median of ``steps`` optimiser steps on a real batch, timed on
    the clock of the config's time budget (``train_cfg.budget_clock``, wall-clock by default)."""
    torch.manual_seed(0)
    model = load_trained_model(cfg, None).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batch_size = cfg.train_dataloader.batch_size
    data = real_batch(cfg, model, "train", batch_size)
    clock = training_clock(cfg.train_cfg.get("budget_clock", "wall"))  # the clock the run's budget is counted on
    times = []
    for i in range(warmup + steps):
        start = clock()
        optimizer.zero_grad()
        model(data["inputs"], data["data_samples"], mode="loss")["loss"].backward()
        optimizer.step()
        if i >= warmup:
            times.append(clock() - start)
    return batch_size / statistics.median(times)


def auto_epochs(cfg: Config, budget_s: float, train_size: int, margin: float = 0.85) -> float:
    """Epochs that fit in ``budget_s`` at the measured speed, less a margin for data loading and logging."""
    speed = measure_speed(cfg)
    epochs = max(0.05, margin * speed * budget_s / train_size)
    print(f"measured {speed:.0f} samples/s on real batches: {epochs:.2f} epochs of {train_size} images fit in "
          f"{budget_s / 60:.1f} min", flush=True)
    return round(epochs, 2)


def machine() -> Dict[str, Any]:
    """CPU model, cores, torch's intra-op threads and version."""
    cpu = platform.processor()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return dict(cpu=cpu, cores=os.cpu_count(), torch_threads=torch.get_num_threads(), torch=torch.__version__)
