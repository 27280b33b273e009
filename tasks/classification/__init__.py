"""Image and event-stream classification with zoo models on mmengine (paper §4.1).

Importing this package registers, in the project's registries (scope ``tasks``, ``tasks/registry.py``): the
datasets (``ImageFolder``, ``CIFAR10``, ``CIFAR100``, ``FashionMNIST``, ``DVS128Gesture``, ``CIFAR10DVS``), the
transforms, ``SpikingClassifier`` and ``ClsDataPreprocessor`` and the ``Accuracy`` metric; it imports
``tasks.common``, which registers the training engine (``ResumableEpochBasedTrainLoop``, ``ResumableSampler``,
...). Configs (``default_scope = 'tasks'``) pull it in with
``custom_imports = dict(imports=['tasks.classification'], allow_failed_imports=False)``.
"""
import tasks.common  # noqa: F401  (the training engine and SafeCheckpointHook)

from . import datasets, transforms  # noqa: F401
from .batch_augment import MixupCutmix, one_hot_smooth
from .metrics import Accuracy
from .model import ClsDataPreprocessor, SpikingClassifier

__all__ = ["SpikingClassifier", "ClsDataPreprocessor", "Accuracy", "MixupCutmix", "one_hot_smooth"]
