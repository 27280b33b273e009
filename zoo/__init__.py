"""smixer-zoo: Spiking-token Mixer (SMixer) models with token / time-step pruning (DSTSP)."""
from .hub import load, save_pretrained
from .neurons import ILIF, LIF
from .pruning import DSTSP, DSTSPConfig, Pruner, list_pruners, register_pruner
from .registry import PretrainedCfg, create, get_pretrained_cfg, list_models, register_model
from . import models  # noqa: F401  (registers the variants)
from .convert import to_mixer

__version__ = "0.1.0"
__all__ = ["create", "list_models", "load", "save_pretrained", "register_model", "get_pretrained_cfg",
           "PretrainedCfg", "LIF", "ILIF", "DSTSP", "DSTSPConfig", "Pruner", "list_pruners", "register_pruner",
           "to_mixer"]
