"""The project's registry scope (tasks/registry.py): a config of this project gets the project's ``CIFAR10``,
``Accuracy`` and ``RandomCrop`` even when another package has registered classes of those names in mmengine's root
registries (as other OpenMMLab packages may), and a config of another package still gets the root's."""
from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Dict, Iterator

import pytest
from mmengine.config import Config
from mmengine.registry import DATASETS, METRICS, TRANSFORMS, DefaultScope, Registry
from mmengine.runner import Runner

import tasks.classification  # noqa: F401  (registers the task's classes)
from tasks import registry
from tasks.classification import Accuracy, SpikingClassifier
from tasks.classification.datasets.cifar import CIFAR10
from tasks.classification.transforms import RandomCrop
from tasks.common import SafeCheckpointHook

from conftest import DETECTION
from test_cls_helpers import ROOT, real_cifar, write_cifar

FOREIGN = {"CIFAR10": DATASETS, "Accuracy": METRICS, "RandomCrop": TRANSFORMS}


class _Foreign:
    """Stands for another package's class: accepts any arguments."""

    def __init__(self, **kwargs) -> None:
        self.kwargs = kwargs


@pytest.fixture
def foreign() -> Iterator[Dict[str, type]]:
    """Classes named ``CIFAR10``, ``Accuracy``, ``RandomCrop`` in mmengine's root registries, removed afterwards."""
    classes = {name: type(name, (_Foreign,), {}) for name in FOREIGN}
    for name, root in FOREIGN.items():
        root.register_module(module=classes[name])
    yield classes
    for name, root in FOREIGN.items():
        del root.module_dict[name]


@pytest.fixture
def no_default_scope(monkeypatch) -> None:
    """The state of a fresh process: no default scope set yet by a Runner or ``init_default_scope``."""
    monkeypatch.setattr(DefaultScope, "_instance_dict", OrderedDict())


def test_a_classification_config_gets_the_projects_classes(foreign, tmp_path):
    write_cifar(tmp_path / "cifar10", "cifar10", real_cifar("cifar10"), real_cifar("cifar10"))
    cfg = Config.fromfile(ROOT / "configs" / "cls" / "smixer-t4_2xb64-300e_cifar10.py")
    assert cfg.default_scope == registry.SCOPE
    cfg.model.backbone_args.update(embed_dim=32, depth=1, num_heads=4)
    cfg.train_dataloader.dataset.update(data_root=str(tmp_path / "cifar10"), indices=2)
    cfg.train_dataloader.dataset.pipeline.insert(0, dict(type="RandomCrop", size=32, padding=4))
    cfg.train_dataloader.num_workers = 0
    cfg.work_dir, cfg.experiment_name = str(tmp_path / "work"), f"scope_{uuid.uuid4().hex[:8]}"
    runner = Runner.from_cfg(cfg)
    dataset = runner.build_dataloader(cfg.train_dataloader).dataset
    evaluator = runner.build_evaluator(cfg.val_evaluator)
    assert type(dataset) is CIFAR10 and type(dataset.pipeline.transforms[0]) is RandomCrop
    assert type(evaluator.metrics[0]) is Accuracy and type(runner.model) is SpikingClassifier
    assert any(type(hook) is SafeCheckpointHook for hook in runner.hooks)


def test_a_foreign_config_gets_the_root_classes(foreign, no_default_scope):
    """A config of another package: ``default_scope = None``, or mmengine's, the Runner's default."""
    for scope in (None, "mmengine"):
        with DefaultScope.overwrite_default_scope(scope):
            for name, root in FOREIGN.items():
                assert type(root.build(dict(type=name))) is foreign[name]
    assert type(METRICS.build(dict(type="tasks.Accuracy"))) is Accuracy  # the project's, by its prefix


def test_the_projects_registries_build_in_its_scope(foreign, no_default_scope):
    """``MODELS.build`` of tasks/registry.py gives the project's classes whatever default scope is current."""
    for scope in (None, "mmengine"):
        with DefaultScope.overwrite_default_scope(scope):
            assert type(registry.METRICS.build(dict(type="Accuracy"))) is Accuracy
            assert type(registry.TRANSFORMS.build(dict(type="RandomCrop", size=2))) is RandomCrop


@pytest.mark.parametrize("name", [n for n in registry.__all__ if n != "SCOPE"])
def test_one_node_of_the_scope_per_registry_tree(name):
    """Each registry of the scope hangs below the root registry of its name, and is the one the scope finds."""
    child: Registry = getattr(registry, name)
    root = child.parent
    assert child.scope == registry.SCOPE and root.parent is None and child.name == root.name
    with root.switch_scope_and_registry(registry.SCOPE) as found:
        assert found is child


@pytest.mark.skipif(not DETECTION, reason="mmdet unavailable")
def test_detection_configs_reach_the_projects_parts_by_its_prefix():
    """Detection configs stay in mmdet's scope; ``tasks.X`` reaches the project's parts from mmdet's registries."""
    from mmdet.registry import DATASETS as MMDET_DATASETS
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS

    import tasks.detection as det

    for mmdet_registry, name, cls in ((MMDET_MODELS, "SpikeYOLOBackbone", det.SpikeYOLOBackbone),
                                      (MMDET_MODELS, "SpikingPAN", det.SpikingPAN),
                                      (MMDET_MODELS, "SpikeYOLOHead", det.SpikeYOLOHead),
                                      (MMDET_DATASETS, "CheckedCocoDataset", det.CheckedCocoDataset),
                                      (MMDET_TASK_UTILS, "InsideTaskAlignedAssigner", det.InsideTaskAlignedAssigner)):
        assert mmdet_registry.get(f"{registry.SCOPE}.{name}") is cls and name not in mmdet_registry.module_dict
