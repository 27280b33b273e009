"""The Fashion-MNIST main job and ablations (research.experiments): the configs as the single source of
the settings, the command-line settings applied to them, tables, orderings, figure."""
from __future__ import annotations

import argparse
import subprocess
import sys
from functools import partial

import pytest
from mmengine.config import Config

from research.experiments import ablation, mainjob, runs, settings
from test_cls_helpers import ROOT

CONFIG_DIR = ROOT / "configs" / "cls"


def test_the_configs_hold_the_main_job_settings():
    """What `make demo` trains, read from the configs (the tool applies only the options given to it)."""
    values = settings.config_values(CONFIG_DIR)
    assert {k: values[k] for k in ("embed_dim", "depth", "num_heads", "time_steps", "batch_size", "lr",
                                   "weight_decay", "warmup_epochs", "label_smoothing", "augment", "num_workers",
                                   "seed", "spatial_ratio", "temporal_ratio", "placement", "time_budget_min",
                                   "clock")} == dict(
        embed_dim=64, depth=2, num_heads=8, time_steps=2, batch_size=64, lr=2e-3, weight_decay=0.05,
        warmup_epochs=0.5, label_smoothing=0.1, augment="flip", num_workers=1, seed=0, spatial_ratio=0.3,
        temporal_ratio=0.5, placement="IS", time_budget_min=6.5, clock="wall")
    assert values["train_subset"] is None and values["test_subset"] is None and values["data_root"] is None
    dstsp = Config.fromfile(str(settings.config_path("dstsp", CONFIG_DIR)))
    assert dstsp.train_cfg.max_epochs == 3 and "stop_at_iter" not in dstsp.train_cfg  # 3 epochs
    dense = Config.fromfile(str(settings.config_path("dense", CONFIG_DIR)))
    assert dense.train_cfg.max_epochs == 3 and dense.train_cfg.stop_at_iter == 2136  # round(2.28 x (60000 // 64))
    # the tool with no options writes the configs unchanged, apart from the schedule length it measures
    unchanged = settings.build_config("dstsp", dict(lr=None, augment=None), config_dir=CONFIG_DIR)
    assert unchanged.pretty_text == dstsp.pretty_text


def test_build_config_applies_the_settings():
    given = dict(lr=3e-3, train_subset=1000, augment="flip", time_steps=3, time_budget_min=2, embed_dim=48,
                 spatial_ratio=0.4, batch_size=None)
    cfg = settings.build_config("dstsp", given, epochs=4, config_dir=CONFIG_DIR)
    backbone = cfg.model.backbone_args
    assert (backbone.embed_dim, backbone.depth, backbone.time_steps) == (48, 2, 3)
    assert backbone.dstsp.to_dict() == dict(spatial_ratio=0.4, temporal_ratio=0.5, temporal_placement="IS")
    assert cfg.optim_wrapper.optimizer.lr == 3e-3 and cfg.train_cfg.max_epochs == 4
    assert "stop_at_iter" not in cfg.train_cfg
    assert cfg.train_cfg.time_budget_s == 120 and cfg.train_dataloader.dataset.indices == 1000
    assert "indices" not in cfg.val_dataloader.dataset
    assert [t["type"] for t in cfg.train_dataloader.dataset.pipeline] == ["mmcv.RandomFlip", "PackClsInputs"]
    warmup, cosine = cfg.param_scheduler
    assert warmup["end"] == cosine["begin"] == 0.5 and cosine["end"] == 4 and cosine["T_max"] == 3.5
    assert cosine["eta_min_ratio"] == 1e-3  # the minimum follows the learning rate
    given.update(augment="crop_flip", time_budget_min=0, warmup_epochs=2.0)
    dense = settings.build_config("dense", given, epochs=2.5, config_dir=CONFIG_DIR)
    assert dense.train_cfg.max_epochs == 3 and dense.train_cfg.stop_at_iter == 38  # 2.5 x (1000 // 64) = 37.5
    assert dense.param_scheduler[0]["end"] == 1.25 and dense.param_scheduler[1]["end"] == 2.5  # warm-up <= half
    assert [t["type"] for t in dense.train_dataloader.dataset.pipeline] == ["RandomCrop", "mmcv.RandomFlip",
                                                                           "PackClsInputs"]
    assert "dstsp" not in dense.model.backbone_args
    assert dense.train_cfg.get("time_budget_s") is None  # the same settings for every variant
    build = partial(settings.build_config, config_dir=CONFIG_DIR)
    assert build("dense", dict(time_budget_min=3), 1).train_cfg.time_budget_s == 180
    assert build("dstsp", dict(time_budget_min=0), 1).train_cfg.time_budget_s is None
    assert build("dstsp", dict(clock="cpu"), 1).train_cfg.budget_clock == "cpu"
    # the DSTSP settings change the variants with DSTSP only; every variant holds the common ones
    t1, t4 = (build(v, dict(spatial_ratio=0.2, lr=1e-3), 1) for v in ("dense-t1", "dstsp-t4"))
    assert "dstsp" not in t1.model.backbone_args and t1.model.backbone_args.time_steps == 1
    assert t4.model.backbone_args.dstsp.to_dict() == dict(spatial_ratio=0.2, temporal_ratio=0.75,
                                                          temporal_placement="IS")
    assert t4.model.backbone_args.time_steps == 4 and t1.optim_wrapper.optimizer.lr == t4.optim_wrapper.optimizer.lr
    with pytest.raises(ValueError, match="unknown variant 'nope'"):
        build("nope", {})


def test_ablation_rows_replace_the_dstsp_options():
    given = dict(time_steps=4, epochs=2, time_budget_min=0.0)
    cfg = ablation.row_config(dict(spatial_ratio=0.3, temporal_ratio=0.75, strategy="RP"), given,
                              config_dir=CONFIG_DIR)
    assert cfg.model.backbone_args.dstsp.to_dict() == dict(spatial_ratio=0.3, temporal_ratio=0.75, strategy="RP")
    assert cfg.model.backbone_args.time_steps == 4 and cfg.train_cfg.time_budget_s is None
    assert cfg.param_scheduler[1]["end"] == 2.0 and cfg.train_cfg.max_epochs == 2
    assert "dstsp" not in ablation.row_config(None, given, config_dir=CONFIG_DIR).model.backbone_args


def test_command_line_settings():
    parser = argparse.ArgumentParser()
    settings.add_settings_arguments(parser, CONFIG_DIR, epochs="auto")
    args = parser.parse_args([])
    assert args.epochs == "auto" and args.threads == 0 and args.lr is None and args.embed_dim is None
    assert parser.parse_args(["--epochs", "3", "--augment", "none"]).epochs == 3
    with pytest.raises(SystemExit):
        parser.parse_args(["--epochs", "1.5"])
    resolved = settings.resolve_settings(vars(args), CONFIG_DIR)
    assert (resolved["lr"], resolved["embed_dim"], resolved["epochs"], resolved["threads"]) == (2e-3, 64, "auto", 0)
    help_text = subprocess.run([sys.executable, "tools/fashion_mnist.py", "--help"], cwd=ROOT, capture_output=True,
                               text=True, timeout=120).stdout
    assert "(default: the config's, 64)" in " ".join(help_text.split()) and "--placement" in help_text


def _row(top1: float, throughput: float = 100.0) -> dict:
    return dict(top1=top1, top5=99.0, throughput=throughput, saved_bytes_per_batch=2 ** 20, energy_mj=1e-3,
                train_time_s=60.0, epochs_done=1, budget_hit=False, variant="x", curve=[
                    dict(train_time_s=30.0, **{"accuracy/top1": top1 - 5}), dict(train_time_s=60.0,
                                                                                  **{"accuracy/top1": top1})])


def test_ablation_orderings_and_table():
    rows = {f"ps{ps:g}_pt{pt:g}": _row(90 - 2 * ps - pt / 10, 100 + 50 * (ps + pt)) for ps, pt in ablation.TABLE6}
    rows.update(strategy_RP=_row(88.0), strategy_HP=_row(86.0))
    rows.update(stage_B_AS=_row(89.0), stage_B_IS=_row(88.5), stage_T_AS=_row(88.8), stage_I_AS=_row(80.0))
    verdicts = ablation.orderings(rows)
    assert len(verdicts) == 7 and all(v.endswith(": holds.") or "holds (" in v for v in verdicts), verdicts
    rows["strategy_HP"] = _row(95.0)
    assert "LP > RP > HP" in ablation.orderings(rows)[4] and "does not hold" in ablation.orderings(rows)[4]
    resolved = dict(settings.config_values(CONFIG_DIR), time_steps=4, epochs=2)
    text = ablation.markdown(rows, ablation.STUDIES, resolved, "python tools/ablate.py")
    assert "| 0.4 / 0 | 89.20 | 80.81 |" in text and "| HP | 95.00 | 78.11 |" in text
    assert "| I / AS | 80.00 | 79.74 |" in text and text.count("\n| ") >= 14
    assert "SMixer 2 x 64, 8 heads, T = 4, I-LIF, 28 x 28 input (49 tokens); 2 epoch(s), batch 64" in text
    names = [name for study in ablation.STUDIES for name, _ in ablation.study_rows(study)]
    assert len(set(names)) == 13  # LP at (0.3, 0.75) is shared with Table 6
    with pytest.raises(ValueError):
        ablation.study_rows("nope")
    with pytest.raises(ValueError, match="give --epochs N"):
        ablation.run_ablation(["table6"], dict(epochs="auto"), ROOT / "work_dirs" / "never", "python tools/ablate.py",
                              config_dir=CONFIG_DIR)


def test_main_job_table_and_figure(tmp_path):
    rows = [dict(_row(88.4, 300.0), variant="dstsp", params=161e3, sops=2e6),
            dict(_row(89.0, 200.0), variant="dense", params=181e3, sops=3e6)]
    table = mainjob.markdown(rows, 128)
    assert "| dstsp | 88.40 | 99.00 | 1 | 1.0 | 300 | 1.0 | 0.0010 | 2.00 | 161k |" in table
    mainjob.plot_curves(rows, tmp_path / "curve.png", "test")
    assert (tmp_path / "curve.png").stat().st_size > 10_000


def test_auto_epochs_needs_a_budget(tmp_path):
    with pytest.raises(ValueError, match="--epochs auto needs a time budget"):
        mainjob.run_main_job(dict(epochs="auto", time_budget_min=0), ["dstsp"], tmp_path, config_dir=CONFIG_DIR)


def test_missing_data_exits_with_the_apt_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("tasks.classification.datasets.fashion_mnist.DEBIAN_DIR", tmp_path / "none")
    monkeypatch.delenv("DATA_ROOT", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        runs.check_data(None)
    assert exit_info.value.code == 2
    assert "apt-get install -y dataset-fashion-mnist" in capsys.readouterr().err


def test_runs_with_equal_settings_merge_into_one_table(tmp_path):
    import json

    settings_ = dict(batch_size=64, lr=2e-3, time_budget_min=3.0)
    for name, rows in (("a", [dict(_row(88.4), variant="dense", params=181e3, sops=3e6)]),
                       ("b", [dict(_row(87.0), variant="ssa-stata", params=160e3, sops=2e6)])):
        (tmp_path / name).mkdir()
        record = dict(settings=dict(settings_, variants=[rows[0]["variant"]], schedule_epochs={}),
                      machine=dict(cores=2), rows=rows)
        (tmp_path / name / "results.json").write_text(json.dumps(record))
    rows = mainjob.merge_results([tmp_path / "a", tmp_path / "b"], tmp_path / "merged")
    assert [r["variant"] for r in rows] == ["dense", "ssa-stata"]
    table = (tmp_path / "merged" / "results.md").read_text()
    assert "| dense | 88.40 |" in table and "| ssa-stata | 87.00 |" in table
    assert (tmp_path / "merged" / "curve.png").stat().st_size > 10_000
    record = json.loads((tmp_path / "b" / "results.json").read_text())
    record["settings"]["lr"] = 1e-3
    (tmp_path / "b" / "results.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match="used different settings"):
        mainjob.merge_results([tmp_path / "a", tmp_path / "b"], tmp_path / "merged")
