"""The project's mmengine registry scope, ``tasks``: one child of each of mmengine's root registries.

The task packages register their classes here, never in mmengine's root registries, so that a generic name
(``CIFAR10``, ``Accuracy``, ``RandomCrop``, ``ImageFolder``, ``Forecaster``) cannot collide with another package
that registers the same name there. How a config's names are found (docs/architecture.md, "Configs"):

- Classification and forecasting configs set ``default_scope = 'tasks'``: a name is looked up here first, then in
  mmengine's root registries (``DefaultSampler``, ``AdamW``); another package's is reached with its prefix
  (``mmcv.RandomFlip``). A config with ``default_scope = None`` or another scope gets the root's classes; it
  reaches the project's with the prefix ``tasks.``. One exception: mmengine's Runner looks ``model_wrapper_cfg``'s
  type up in the root registry itself, so that one is always prefixed (``tasks.CpuCompatibleDDP``).
- Detection configs stay in mmdet's scope (its datasets, losses, assigners, metric) and name the project's parts
  with the prefix, ``type='tasks.SpikeYOLOBackbone'``: the prefix resolves through the root registry to the node of
  scope ``tasks`` without switching the default scope, so what those parts build inside still comes from mmdet.
  Registries of scope ``tasks`` below mmdet's as well would make the scope ambiguous: mmengine finds a scope by a
  depth-first search from the root, so which of two such nodes it finds would depend on the order of imports.

The scope is named after this package and this module is ``tasks/registry.py`` because mmengine finds a scope's
registries by importing ``<scope>.registry`` (on every build in a default scope, and for a ``scope.X`` name, as
``mmdet.registry``); for a scope without one it logs a warning in every run.

Building through these registries directly (in a tool or a test) builds in this scope whatever default scope is
current, as if the config said ``_scope_='tasks'``, nested builds included (a model's data preprocessor, a
dataset's pipeline). mmengine's root registries build in the default scope the process set last (its last Runner
or ``init_default_scope``).

The registries that ``tasks.common`` fills (the training engine, ``SafeCheckpointHook``) import it on their first
look-up (``locations``). The task packages are not locations: each needs its own optional dependencies (mmcv,
pandas, mmdet), so each task's configs import their package (``custom_imports`` in ``_base_/default_runtime.py``).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import DefaultScope, Registry

__all__ = ["SCOPE", "RUNNERS", "RUNNER_CONSTRUCTORS", "LOOPS", "HOOKS", "DATASETS", "DATA_SAMPLERS", "TRANSFORMS",
           "MODELS", "MODEL_WRAPPERS", "WEIGHT_INITIALIZERS", "OPTIMIZERS", "OPTIM_WRAPPERS",
           "OPTIM_WRAPPER_CONSTRUCTORS", "PARAM_SCHEDULERS", "METRICS", "EVALUATOR", "TASK_UTILS", "VISUALIZERS",
           "VISBACKENDS", "LOG_PROCESSORS"]

SCOPE = "tasks"
ENGINE = ["tasks.common"]  # registers the training engine and SafeCheckpointHook


def _in_scope(build_func: Callable[..., Any]) -> Callable[..., Any]:
    """``build_func`` run with this scope as the default scope (see the module docstring)."""

    def build(*args: Any, **kwargs: Any) -> Any:
        with DefaultScope.overwrite_default_scope(SCOPE):
            return build_func(*args, **kwargs)

    return build


def _child(parent: Registry, locations: Sequence[str] = ()) -> Registry:
    """The registry of this scope below ``parent``, with its name and build function."""
    return Registry(parent.name, build_func=_in_scope(parent.build_func), parent=parent, scope=SCOPE,
                    locations=list(locations))


RUNNERS = _child(MMENGINE_RUNNERS)
RUNNER_CONSTRUCTORS = _child(MMENGINE_RUNNER_CONSTRUCTORS)
LOOPS = _child(MMENGINE_LOOPS, ENGINE)
HOOKS = _child(MMENGINE_HOOKS, ENGINE)
DATASETS = _child(MMENGINE_DATASETS)
DATA_SAMPLERS = _child(MMENGINE_DATA_SAMPLERS, ENGINE)
TRANSFORMS = _child(MMENGINE_TRANSFORMS)
MODELS = _child(MMENGINE_MODELS)
MODEL_WRAPPERS = _child(MMENGINE_MODEL_WRAPPERS, ENGINE)
WEIGHT_INITIALIZERS = _child(MMENGINE_WEIGHT_INITIALIZERS)
OPTIMIZERS = _child(MMENGINE_OPTIMIZERS)
OPTIM_WRAPPERS = _child(MMENGINE_OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child(MMENGINE_PARAM_SCHEDULERS)
METRICS = _child(MMENGINE_METRICS)
EVALUATOR = _child(MMENGINE_EVALUATOR)
TASK_UTILS = _child(MMENGINE_TASK_UTILS)
VISUALIZERS = _child(MMENGINE_VISUALIZERS)
VISBACKENDS = _child(MMENGINE_VISBACKENDS)
LOG_PROCESSORS = _child(MMENGINE_LOG_PROCESSORS)
