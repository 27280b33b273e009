"""Object detection with SpikeYOLO + Spiking-token Mixer stages and DSTSP (paper §4.3, appendix E.3), on mmdet.

Importing this package registers in the project's registries (scope ``tasks``, ``tasks/registry.py``):
``SpikingDetector``, ``SpikeYOLOBackbone``, ``SpikingPAN`` and ``SpikeYOLOHead`` (MODELS), ``CheckedCocoDataset`` (DATASETS) and
``InsideTaskAlignedAssigner`` (TASK_UTILS). Detection configs stay in mmdet's scope and name these with the
prefix, ``type='tasks.SpikeYOLOBackbone'``; they import the package with
``custom_imports = dict(imports=['tasks.detection'], allow_failed_imports=False)``.
"""
from tasks.registry import DATASETS, MODELS, TASK_UTILS

from .assigner import InsideTaskAlignedAssigner
from .backbone import SMixerStage, SpikeYOLOBackbone
from .dataset import CheckedCocoDataset
from .detector import SpikingDetector
from .head import SpikeYOLOHead
from .layers import fuse_reparam
from .neck import SpikingPAN

MODELS.register_module(module=SpikingDetector)
MODELS.register_module(module=SpikeYOLOBackbone)
MODELS.register_module(module=SpikingPAN)
MODELS.register_module(module=SpikeYOLOHead)
DATASETS.register_module(module=CheckedCocoDataset)
TASK_UTILS.register_module(module=InsideTaskAlignedAssigner)

__all__ = ["SpikingDetector", "SpikeYOLOBackbone", "SMixerStage", "SpikingPAN", "SpikeYOLOHead", "CheckedCocoDataset",
           "InsideTaskAlignedAssigner", "fuse_reparam"]
