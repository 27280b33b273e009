"""Token and time-step pruning: the pruner interface, the registry and the pruners.

Adding a pruning method is one module here: a :class:`Pruner` subclass decorated with :func:`register_pruner`,
imported below. Every model with a pruned encoder then takes it as ``pruning=dict(type=<class name>, ...)``
(``zoo.create(name, pruning=...)``); where it runs is the model's ``placement`` (:mod:`zoo.encoder`).
"""
from .base import Pruned, Pruner, kept_count
from .registry import build, list_pruners, register_pruner
from .dstsp import DSTSP, DSTSPConfig, DSTSPShorthand  # registers DSTSP
from .tp_spikformer import TPSpikformer  # registers TPSpikformer
from .stata import STATA  # registers STATA

__all__ = ["Pruner", "Pruned", "kept_count", "register_pruner", "build", "list_pruners", "DSTSP", "DSTSPConfig",
           "DSTSPShorthand", "TPSpikformer", "STATA"]
