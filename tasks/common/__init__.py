"""What every task's mmengine run shares."""
from .checkpoint import SafeCheckpointHook

__all__ = ["SafeCheckpointHook"]
