"""The equal-time event study (research/experiments/events.py, tools/event_study.py): every variant's config builds
the model it says, with the data binned as the model counts its steps."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import tasks.classification  # noqa: F401  (registers SpikingClassifier)
from research.experiments.events import STUDY, study_config
from tasks.registry import MODELS

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "cls"
SETTINGS = dict(seed=3, time_budget_min=2.5, clock="cpu", num_workers=0)


@pytest.mark.parametrize("variant", sorted(STUDY))
def test_study_variant_builds_what_it_says(variant):
    cfg = study_config(variant, SETTINGS, config_dir=CONFIG_DIR, epochs=0.5)
    model = MODELS.build(cfg.model).backbone
    steps = {cfg[loader].dataset.time_steps for loader in ("train_dataloader", "val_dataloader", "test_dataloader")}
    assert steps == {model.time_steps} and cfg.randomness.seed == 3 and cfg.train_cfg.time_budget_s == 150
    assert cfg.train_cfg.budget_clock == "cpu" and cfg.train_cfg.stop_at_iter == 468  # half an epoch of 60k / 64
    pruners = [type(p).__name__ for p in model.pruners]
    if variant.startswith("dense") or variant == "ssa-t8":
        assert not pruners and model.time_steps == int(variant[-1])
    elif variant == "tp":
        assert pruners == ["TPSpikformer"]
    else:
        pruner = model.pruners[0]
        assert pruners == ["DSTSP"] and pruner.cfg.temporal_ratio == 0.5
        assert model.blocks.placement.in_stem == ("-is" in variant)
        assert pruner.cfg.order == ("original" if variant == "dstsp-is-t" else "siv")
        assert (pruner.cfg.spatial_ratio == 0.3) == variant.endswith("-s")
        assert pruner.cfg.step_choice == {"random": "random", "uniform": "uniform", "first": "first"}.get(
            variant.split("-")[0], "siv")
    x = torch.rand(2, model.time_steps, 2, 32, 32).round()
    assert model.eval()(x).shape == (2, 10)


def test_unknown_variant_is_refused_in_one_line():
    with pytest.raises(ValueError, match="unknown study variant 'dense-t3'; choose from"):
        study_config("dense-t3", SETTINGS, config_dir=CONFIG_DIR)


def test_analyses_read_the_first_test_recordings_in_fashion_mnist_order(tmp_path):
    """``research.analysis.inputs.nfmnist_recordings``: the first N test recordings by id (= Fashion-MNIST's test
    order, whatever label folder holds them), binned by time into the model's steps, with their labels."""
    from research.analysis.inputs import nfmnist_recordings
    from test_nmnist import write_nmnist_tree

    root = write_nmnist_tree(tmp_path / "nfmnist", per_label=3, labels=(4, 2, 7))  # ids 1..3 in each label folder
    frames, labels = nfmnist_recordings(4, time_steps=5, data_root=str(root))
    assert frames.shape == (4, 5, 2, 32, 32) and frames.dtype == torch.float32 and frames.sum() > 0
    assert sorted(labels.tolist()[:3]) == [2, 4, 7] and labels[3] in (2, 4, 7)  # the three files named 00001.bin first
    with pytest.raises(ValueError, match="number of recordings must be >= 1"):
        nfmnist_recordings(0, time_steps=5, data_root=str(root))
