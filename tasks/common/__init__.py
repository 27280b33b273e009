"""What every task's mmengine run shares: the resumable training engine, safe and atomic checkpoints, config
loading, the command-line error handling and CPU multi-process training.

Importing it registers ``ResumableEpochBasedTrainLoop`` (LOOPS), ``ResumableSampler`` (DATA_SAMPLERS),
``CpuCompatibleDDP`` (MODEL_WRAPPERS), ``TrainingCurveHook`` and ``SafeCheckpointHook`` (HOOKS) in the project's
registries (scope ``tasks``, ``tasks/registry.py``, which import this package on their first look-up) and the
``atomic_local`` file backend in mmengine.
"""
from .checkpoint import SafeCheckpointHook
from .cli import run_command
from .distributed import init_cpu_process_group
from .engine import CpuCompatibleDDP, ResumableEpochBasedTrainLoop, ResumableSampler, TrainingCurveHook

__all__ = ["SafeCheckpointHook", "init_cpu_process_group", "run_command", "ResumableEpochBasedTrainLoop",
           "ResumableSampler", "CpuCompatibleDDP", "TrainingCurveHook"]
