"""Model definitions; importing this package registers every variant."""
from .smixer import SMixer

__all__ = ["SMixer"]
