"""Every leaf config runs in its task's registry scope and declares ``SafeCheckpointHook`` in its ``custom_hooks``
(a list in an mmengine config replaces its base's, so a config that sets its own hooks must keep it), each hook's
type resolving in that scope: a ``Runner.from_cfg`` anywhere writes the same safe, atomic checkpoints as
``tools/train.py``."""
from __future__ import annotations

from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import HOOKS

from tasks import registry
from tasks.common import SafeCheckpointHook

from conftest import DETECTION

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
LEAVES = sorted(p for p in CONFIGS.rglob("*.py") if "_base_" not in p.parts)


def _task(path: Path) -> str:
    return path.relative_to(CONFIGS).parts[0]


def _param(path: Path):
    """Detection configs import mmdet (their custom_imports): skipped where it is not installed."""
    return pytest.param(path, marks=pytest.mark.skipif(_task(path) == "det" and not DETECTION,
                                                       reason="mmdet unavailable"))


def test_every_task_has_leaf_configs():
    assert {_task(p) for p in LEAVES} == {"cls", "det", "ts"}


@pytest.mark.parametrize("path", [_param(p) for p in LEAVES], ids=lambda p: str(p.relative_to(CONFIGS)))
def test_config_runs_in_its_scope_and_keeps_the_safe_checkpoint_hook(path):
    cfg = Config.fromfile(str(path))
    assert cfg.default_scope == ("mmdet" if _task(path) == "det" else registry.SCOPE)
    with HOOKS.switch_scope_and_registry(cfg.default_scope) as hooks:  # as the Runner looks the types up
        types = [hooks.get(hook["type"]) for hook in cfg.get("custom_hooks", [])]
    assert types.count(SafeCheckpointHook) == 1, f"{path.name}: custom_hooks {cfg.get('custom_hooks')}"
