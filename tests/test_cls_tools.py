"""The Fashion-MNIST main-job driver and the ablation driver: configuration, tables, orderings, figure."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import ablate  # noqa: E402
import fashion_mnist  # noqa: E402


def test_build_config_applies_the_settings():
    args = fashion_mnist.parse_args(["--epochs", "4", "--lr", "3e-3", "--train-subset", "1000", "--augment", "flip",
                                     "--time-steps", "3", "--time-budget-min", "2", "--embed-dim", "48"])
    cfg = fashion_mnist.build_config(fashion_mnist.CONFIGS["dstsp"], args, dict(spatial_ratio=0.3,
                                                                                temporal_ratio=0.5))
    backbone = cfg.model.backbone_args
    assert (backbone.embed_dim, backbone.time_steps, backbone.dstsp["spatial_ratio"]) == (48, 3, 0.3)
    assert backbone.dstsp.to_dict() == dict(spatial_ratio=0.3, temporal_ratio=0.5)  # not merged with the config's
    assert fashion_mnist.parse_args([]).placement == "IS"
    assert cfg.optim_wrapper.optimizer.lr == 3e-3 and cfg.train_cfg.max_epochs == 4
    assert cfg.train_cfg.time_budget_s == 120 and cfg.train_dataloader.dataset.indices == 1000
    assert [t["type"] for t in cfg.train_dataloader.dataset.pipeline] == ["mmcv.RandomFlip", "PackClsInputs"]
    warmup, cosine = cfg.param_scheduler
    assert warmup["end"] == cosine["begin"] == 0.5 and cosine["end"] == 4
    args.augment = "crop_flip"
    dense = fashion_mnist.build_config(fashion_mnist.CONFIGS["dense"], args, None, epochs=2.5)
    assert dense.train_cfg.max_epochs == 3 and dense.train_cfg.stop_at_iter == 38  # 2.5 x (1000 // 64) = 37.5
    assert dense.param_scheduler[1]["end"] == 2.5
    assert [t["type"] for t in dense.train_dataloader.dataset.pipeline] == ["RandomCrop", "mmcv.RandomFlip",
                                                                           "PackClsInputs"]
    assert dense.model.backbone_args.dstsp is None and "indices" not in dense.val_dataloader.dataset
    assert fashion_mnist.parse_args([]).epochs == "auto"
    with pytest.raises(SystemExit):
        fashion_mnist.parse_args(["--epochs", "1.5"])
    assert dense.train_cfg.time_budget_s is None  # same epochs as the pruned model unless asked otherwise


def _row(top1: float, throughput: float = 100.0) -> dict:
    return dict(top1=top1, top5=99.0, throughput=throughput, saved_bytes_per_batch=2 ** 20, energy_mj=1e-3,
                train_time_s=60.0, epochs_done=1, budget_hit=False, variant="x", curve=[
                    dict(train_time_s=30.0, **{"accuracy/top1": top1 - 5}), dict(train_time_s=60.0,
                                                                                  **{"accuracy/top1": top1})])


def test_ablation_orderings_and_table():
    rows = {f"ps{ps:g}_pt{pt:g}": _row(90 - 2 * ps - pt / 10, 100 + 50 * (ps + pt)) for ps, pt in ablate.TABLE6}
    rows.update(strategy_RP=_row(88.0), strategy_HP=_row(86.0))
    rows.update(stage_B_AS=_row(89.0), stage_B_IS=_row(88.5), stage_T_AS=_row(88.8), stage_I_AS=_row(80.0))
    verdicts = ablate.orderings(rows)
    assert len(verdicts) == 7 and all(v.endswith(": holds.") or "holds (" in v for v in verdicts), verdicts
    rows["strategy_HP"] = _row(95.0)
    assert "LP > RP > HP" in ablate.orderings(rows)[4] and "does not hold" in ablate.orderings(rows)[4]
    args = ablate.parse_args([])
    text = ablate.markdown(rows, ["table6", "strategy", "stage"], args, "python tools/ablate.py")
    assert "| 0.4 / 0 | 89.20 | 80.81 |" in text and "| HP | 95.00 | 78.11 |" in text
    assert "| I / AS | 80.00 | 79.74 |" in text and text.count("\n| ") >= 14
    names = [name for study in ("table6", "strategy", "stage") for name, _ in ablate.study_rows(study)]
    assert len(set(names)) == 13  # LP at (0.3, 0.75) is shared with Table 6
    with pytest.raises(ValueError):
        ablate.study_rows("nope")


def test_main_job_table_and_figure(tmp_path):
    rows = [dict(_row(88.4, 300.0), variant="dstsp", params=161e3, sops=2e6),
            dict(_row(89.0, 200.0), variant="dense", params=181e3, sops=3e6)]
    table = fashion_mnist.markdown(rows, 128)
    assert "| dstsp | 88.40 | 99.00 | 1 | 1.0 | 300 | 1.0 | 0.0010 | 2.00 | 161k |" in table
    fashion_mnist.plot_curves(rows, tmp_path / "curve.png", "test")
    assert (tmp_path / "curve.png").stat().st_size > 10_000


def test_missing_data_exits_with_the_apt_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("tasks.classification.datasets.fashion_mnist.DEBIAN_DIR", tmp_path / "none")
    monkeypatch.delenv("DATA_ROOT", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        fashion_mnist.check_data(None)
    assert exit_info.value.code == 2
    assert "apt-get install -y dataset-fashion-mnist" in capsys.readouterr().err
