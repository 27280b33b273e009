"""Multi-process training on CPUs."""
from __future__ import annotations

import torch
from mmengine.config import Config

__all__ = ["init_cpu_process_group"]


def init_cpu_process_group(cfg: Config) -> None:
    """torchrun on CPU: mmengine's pytorch launcher calls torch.cuda.set_device, which a CPU build lacks; a process
    group created here first (gloo unless the config says otherwise) makes mmengine skip its own init."""
    if cfg.launcher == "pytorch" and not torch.cuda.is_available() and not torch.distributed.is_initialized():
        backend = cfg.get("env_cfg", {}).get("dist_cfg", {}).get("backend", "gloo")
        torch.distributed.init_process_group(backend=backend)
