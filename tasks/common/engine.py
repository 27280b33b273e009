"""Training-loop pieces for exact resumption, time budgets and CPU multi-process training.

- :class:`ResumableEpochBasedTrainLoop`: mmengine's epoch loop, plus
  (1) exact mid-epoch resumption: a run resumed from an iteration checkpoint skips the batches the interrupted
  epoch already trained (mmengine's own loop restarts the epoch), tells the dataset its epoch and seed so that
  per-sample augmentation is a function of ``(seed, epoch, index)``, and reseeds torch's global generator
  before every iteration from ``(seed, iteration, rank)`` so model-side randomness (mixup/cutmix, random
  pruning) is the same after a resume;
  (2) an optional budget of training time (validation excluded; wall-clock or CPU time), after which training
  stops;
  (3) the cumulative training time in the message hub (``train_time_s``), saved in checkpoints.
- :class:`ResumableSampler`: mmengine's ``DefaultSampler`` that can skip the samples already consumed.
- :class:`CpuCompatibleDDP`: mmengine's DDP wrapper that drops ``device_ids`` for CPU modules (mmengine always
  passes the local rank, which torch rejects for CPU modules), so ``torchrun`` + gloo works on CPUs.
- :class:`TrainingCurveHook`: appends one JSON line per validation (epoch, iteration, training time, metrics).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional

import torch
from mmengine.dataset import DefaultSampler
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import MMDistributedDataParallel
from mmengine.runner import EpochBasedTrainLoop

from tasks.registry import DATA_SAMPLERS, HOOKS, LOOPS, MODEL_WRAPPERS

from .seeding import sample_seed

__all__ = ["ResumableEpochBasedTrainLoop", "ResumableSampler", "CpuCompatibleDDP", "TrainingCurveHook",
           "CLOCKS", "training_clock"]

CLOCKS: Dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


def training_clock(name: str) -> Callable[[], float]:
    """The clock that counts training time: ``'wall'`` (elapsed seconds) or ``'cpu'`` (this process's CPU seconds)."""
    if name not in CLOCKS:
        raise ValueError(f"budget_clock must be one of {sorted(CLOCKS)}, got {name!r}")
    return CLOCKS[name]


@DATA_SAMPLERS.register_module()
class ResumableSampler(DefaultSampler):
    """``DefaultSampler`` whose next iteration can start ``n`` samples into this rank's order (:meth:`skip`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._skip = 0

    def skip(self, samples: int) -> None:
        """Drop the first ``samples`` indices of the next iteration only."""
        self._skip = int(samples)

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())[self._skip:]
        self._skip = 0
        return iter(indices)


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """Epoch-based training that resumes exactly mid-epoch and can stop on a time budget (module docstring).

    Args (besides mmengine's): ``time_budget_s``: stop training once this many seconds of training (data
    loading + steps, no validation) have passed, after finishing the current iteration; ``None`` = no budget.
    ``budget_clock``: how training time is counted (the budget and ``train_time_s``): ``'wall'`` (elapsed time) or
    ``'cpu'`` (CPU time of the training process, all its threads: what equal-time comparisons on a shared machine
    should use, run with one thread and ``num_workers=0`` so that data loading is counted too).
    ``stop_at_iter``: stop after this many iterations, even mid-epoch (for schedules that end mid-epoch).
    ``reseed_every_iter``: reseed torch's generator before each iteration (needed for exact resumption).
    """

    def __init__(self, runner: Any, dataloader: Any, max_epochs: int, val_begin: int = 1, val_interval: int = 1,
                 dynamic_intervals: Any = None, time_budget_s: Optional[float] = None,
                 stop_at_iter: Optional[int] = None, reseed_every_iter: bool = True,
                 budget_clock: str = "wall") -> None:
        super().__init__(runner, dataloader, max_epochs, val_begin, val_interval, dynamic_intervals)
        if self.dataloader.persistent_workers:
            raise ValueError("ResumableEpochBasedTrainLoop needs persistent_workers=False: persistent workers keep "
                             "the dataset's epoch of their first epoch, which breaks per-epoch augmentation seeds")
        if time_budget_s is not None and time_budget_s <= 0:
            raise ValueError(f"time_budget_s must be positive or None, got {time_budget_s}")
        self.time_budget_s, self.stop_at_iter, self.reseed_every_iter = time_budget_s, stop_at_iter, reseed_every_iter
        self.clock = training_clock(budget_clock)
        self.budget_exhausted = False

    @property
    def train_time_s(self) -> float:
        return float(self.runner.message_hub.get_info("train_time_s", 0.0))

    def _batches_done(self) -> int:
        """Batches of the current epoch already trained (> 0 only right after a mid-epoch resume)."""
        hub = self.runner.message_hub
        if hub.get_info("loop_epoch") == self._epoch and hub.get_info("epoch_start_iter") is not None:
            return max(0, self._iter - int(hub.get_info("epoch_start_iter")))
        hub.update_info("loop_epoch", self._epoch)
        hub.update_info("epoch_start_iter", self._iter)
        return 0

    def run_epoch(self) -> None:
        self.runner.call_hook("before_train_epoch")
        self.runner.model.train()
        dataset = self.dataloader.dataset
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(self._epoch, self.runner.seed)
        done = self._batches_done()
        if done:
            sampler = self.dataloader.sampler
            if not isinstance(sampler, ResumableSampler):
                raise TypeError(f"resuming mid-epoch needs sampler=dict(type='ResumableSampler'), got "
                                f"{type(sampler).__name__}")
            sampler.skip(done * self.dataloader.batch_size)
        start = self.clock()
        elapsed_before = self.train_time_s
        for idx, data_batch in enumerate(self.dataloader, start=done):
            self.run_iter(idx, data_batch)
            elapsed = elapsed_before + self.clock() - start
            self.runner.message_hub.update_info("train_time_s", elapsed)
            if self.time_budget_s is not None and elapsed >= self.time_budget_s:
                self.budget_exhausted = self.stop_training = True
                self.runner.logger.info(f"training time budget of {self.time_budget_s:.0f} s reached after "
                                        f"{self._iter} iterations (epoch {self._epoch + 1}, batch {idx + 1} of "
                                        f"{len(self.dataloader)})")
                break
            if self.stop_at_iter is not None and self._iter >= self.stop_at_iter:
                self.stop_training = True
                break
        self.runner.call_hook("after_train_epoch")
        self._epoch += 1

    def run_iter(self, idx: int, data_batch: Any) -> None:
        if self.reseed_every_iter:
            torch.manual_seed(sample_seed(self.runner.seed, self._iter, get_rank()))
        super().run_iter(idx, data_batch)


@MODEL_WRAPPERS.register_module()
class CpuCompatibleDDP(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that works for CPU modules too (``device_ids`` dropped when on CPU)."""

    def __init__(self, module: torch.nn.Module, device_ids: Optional[list] = None, **kwargs: Any) -> None:
        on_cpu = all(p.device.type == "cpu" for p in module.parameters())
        super().__init__(module=module, device_ids=None if on_cpu else device_ids, **kwargs)


@HOOKS.register_module()
class TrainingCurveHook(Hook):
    """Append ``{"epoch", "iter", "train_time_s", <metrics>}`` as one JSON line to ``<work_dir>/<filename>`` after
    every validation (rank 0 only)."""

    priority = "LOW"

    def __init__(self, filename: str = "curve.jsonl") -> None:
        self.filename = filename

    def after_val_epoch(self, runner: Any, metrics: Optional[Dict[str, float]] = None) -> None:
        if get_rank() != 0 or not metrics:
            return
        record = dict(epoch=runner.epoch, iter=runner.iter,
                      train_time_s=float(runner.message_hub.get_info("train_time_s", 0.0)),
                      **{k: float(v) for k, v in metrics.items()})
        with open(Path(runner.work_dir) / self.filename, "a") as f:
            f.write(json.dumps(record) + "\n")
