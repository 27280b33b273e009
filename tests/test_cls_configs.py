"""Every classification config builds its full-size model and trains + validates a few iterations on small data in
the dataset's exact on-disk format (backbone shrunk to 32 channels x 1 block so that the suite stays fast)."""
from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import tasks.classification  # noqa: F401
from tasks.registry import MODELS

from test_cls_helpers import (real_cifar, write_cifar, write_cifar10dvs, write_dvs_gesture, write_fmnist,
                              write_imagenet)
from test_nmnist import write_nmnist_tree

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "cls"
FAMILIES = ("spikformerv2", "qkformer", "sdtv3")  # their configs: tests/test_families.py
CONFIGS = sorted(p.name for p in CONFIG_DIR.glob("*.py") if not p.name.startswith(FAMILIES))
SMALL = dict(embed_dim=32, depth=1, num_heads=4)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one intra-op thread avoids thread-pool latency that dominates on a loaded machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cls_data")
    for kind in ("cifar10", "cifar100"):
        images, labels = real_cifar(kind)
        write_cifar(root / kind, kind, (images, labels), (images, labels))
    write_imagenet(root / "imagenet")
    write_dvs_gesture(root / "events", {"train": ["user01_fluorescent", "user02_lab"], "test": ["user24_led"]},
                      events=200)
    write_cifar10dvs(root / "events", classes=("airplane", "truck"), per_class=10, events=100)
    write_fmnist(root / "fashion-mnist", train=8, test=8)
    write_nmnist_tree(root / "nfmnist", per_label=2, labels=tuple(range(10)))
    return root


def _data_root(config: str, root: Path) -> Path:
    for key, folder in (("nfmnist", "nfmnist"), ("cifar100", "cifar100"), ("cifar10dvs", "events"), ("cifar10", "cifar10"),
                        ("in1k", "imagenet"), ("dvs128", "events"), ("fmnist", "fashion-mnist")):
        if key in config:
            return root / folder
    raise AssertionError(f"no test data for {config}")


def test_every_paper_row_has_a_config():
    expected = {f"stmixer-8-{w}{d}_8xb128-300e_in1k.py" for w in (512, 768) for d in ("", "-dstsp")}
    expected |= {f"smixer{d}-t{t}_2xb64-300e_cifar{c}.py" for d in ("", "-dstsp") for t in (1, 4) for c in (10, 100)}
    expected |= {f"smixer{d}-t{t}_1xb16-106e_{s}.py" for d in ("", "-dstsp") for t in (10, 16)
                 for s in ("cifar10dvs", "dvs128")}
    assert expected <= set(CONFIGS)


@pytest.mark.parametrize("name", [c for c in CONFIGS if "fmnist" not in c])
def test_full_size_model_matches_the_name(name):
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    model = MODELS.build(cfg.model).backbone
    dstsp = model.blocks.pruner.cfg if model.blocks.pruner is not None else None
    assert (dstsp is not None) == ("dstsp" in name)
    steps = re.search(r"-t(\d+)_", name)
    assert model.time_steps == (int(steps.group(1)) if steps else 1)
    if dstsp is not None:
        assert dstsp.spatial_ratio == 0.3
        assert int(model.time_steps * (1 - dstsp.temporal_ratio) + 1e-9) == 1  # time pruned to one step
    if "_in1k" in name:
        assert model.img_size == 224 and len(model.blocks) == 8 and model.head.out_features == 1000
    elif "cifar100" in name:
        assert model.head.out_features == 100 and model.img_size == 32
    if "dvs" in name:
        assert model.in_chans == 2 and model.img_size == 48
        assert cfg.train_dataloader.dataset.time_steps == model.time_steps


@pytest.mark.parametrize("name", CONFIGS)
def test_config_trains_and_validates(name, data_root, tmp_path):
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    pruning = cfg.model.backbone_args.get("pruning") or {}
    cfg.model.backbone_args.update(SMALL, depth=2 if pruning.get("type") == "STATA" else 1)  # STATA: >= 2 blocks
    root = str(_data_root(name, data_root))
    for loader, count in (("train_dataloader", 4), ("val_dataloader", 2), ("test_dataloader", 2)):
        cfg[loader].dataset.update(data_root=root, indices=count)
        cfg[loader].update(batch_size=2, num_workers=0)
    cfg.train_cfg.max_epochs = 1
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = f"{Path(name).stem}_{uuid.uuid4().hex[:8]}"
    runner = Runner.from_cfg(cfg)
    runner.train()  # 2 iterations, then the validation at the end of the epoch
    assert runner.iter == 2 and (tmp_path / "epoch_1.pth").is_file()
    top1 = runner.message_hub.get_scalar("val/accuracy/top1").current()
    assert 0 <= top1 <= 100 and runner.message_hub.get_scalar("val/accuracy/top5").current() >= top1
