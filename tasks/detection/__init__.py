"""Object detection with SpikeYOLO + Spiking-token Mixer stages and DSTSP (paper §4.3, appendix E.3), on mmdet.

Importing this package registers in mmdet's registries: ``SpikeYOLOBackbone``, ``SpikingPAN`` and
``SpikeYOLOHead`` (MODELS), ``CheckedCocoDataset`` (DATASETS) and ``InsideTaskAlignedAssigner`` (TASK_UTILS).
Configs pull it in with ``custom_imports = dict(imports=['tasks.detection'], allow_failed_imports=False)``.
"""
from mmdet.registry import DATASETS, MODELS, TASK_UTILS

from .assigner import InsideTaskAlignedAssigner
from .backbone import SMixerStage, SpikeYOLOBackbone
from .dataset import CheckedCocoDataset
from .head import SpikeYOLOHead
from .layers import fuse_reparam
from .neck import SpikingPAN

for _module in (SpikeYOLOBackbone, SpikingPAN, SpikeYOLOHead):
    MODELS.register_module(module=_module)
DATASETS.register_module(module=CheckedCocoDataset)
TASK_UTILS.register_module(module=InsideTaskAlignedAssigner)

__all__ = ["SpikeYOLOBackbone", "SMixerStage", "SpikingPAN", "SpikeYOLOHead", "CheckedCocoDataset",
           "InsideTaskAlignedAssigner", "fuse_reparam"]
