"""What every task's mmengine run shares."""
from .checkpoint import SafeCheckpointHook
from .cli import run_command
from .distributed import init_cpu_process_group

__all__ = ["SafeCheckpointHook", "init_cpu_process_group", "run_command"]
