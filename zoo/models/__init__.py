"""Model definitions; importing this package registers every variant."""
from .smixer import SMixer
from .spikformer_v2 import SpikformerV2
from .qkformer import QKFormer
from .sdtv3 import SDTV3

__all__ = ["SMixer", "SpikformerV2", "QKFormer", "SDTV3"]
