import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_train_benchmark_writes_table_plot_and_sane_numbers(tmp_path):
    cmd = [sys.executable, "tools/benchmark.py", "train", "--model", "smixer-cifar10", "--settings", "0.3,0.75",
           "0.3,0.75,temporal_placement=IS", "DSTSP:spatial_ratio=0.5,placement=dict(start=1),mixer_weight=crop",
           "--override", "embed_dim=32", "depth=2", "num_heads=4", "--batch", "4", "--steps", "2", "--warmup", "1",
           "--device", "cpu", "--out", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((tmp_path / "results.json").read_text())
    base, pruned, in_stem, generic = data["results"]  # the unpruned baseline is added automatically, first
    assert base["setting"] == "none" and base["model_args"] == {"pruning": None}
    assert pruned["model_args"] == {"dstsp": {"spatial_ratio": 0.3, "temporal_ratio": 0.75}}
    assert base["speedup"] == 1.0 and pruned["ideal_speedup"] > 1.1 and pruned["infer_throughput"] > 0
    assert pruned["ideal_speedup"] == base["forward_macs_per_sample"] / pruned["forward_macs_per_sample"]
    assert 0 < pruned["saved_ratio"] < 0.8  # pruned steps/tokens are not saved for backward
    assert base["pruner_share"] == 0 and 0 < pruned["pruner_share"] < 0.5
    # kept token-steps: T = 4 -> 1 and 64 -> 44 tokens in both blocks
    assert base["kept_fraction"] == 1.0 and pruned["kept_fraction"] == (1 * 44) / (4 * 64)
    # in-stem pruning is timed through the pruner's forward hooks too, and leaves less of the stem to run
    assert in_stem["model_args"]["dstsp"]["temporal_placement"] == "IS" and 0 < in_stem["pruner_share"] < 0.5
    assert in_stem["ideal_speedup"] > pruned["ideal_speedup"]
    assert base["params"] - pruned["params"] == 2 * 4 * (64 ** 2 - 44 ** 2)
    # any registered pruner, placed by the model: block 0 sees all 4 x 64, block 1 the 4 x 32 kept
    assert generic["model_args"] == {"placement": {"start": 1}, "mixer_weight": "crop",
                                     "pruning": {"type": "DSTSP", "spatial_ratio": 0.5}}
    assert generic["kept_fraction"] == (1 + 0.5) / 2 and generic["params"] == base["params"]
    table = (tmp_path / "results.md").read_text()
    assert "| 0.3,0.75 | 17.2% |" in table and "| none | 100.0% |" in table
    assert (tmp_path / "results.png").read_bytes()[:4] == b"\x89PNG"


def test_settings_are_parsed_or_refused_by_name():
    from research.benchmark import Setting, parse_setting

    assert parse_setting("none") == parse_setting("0,0") == Setting("none")
    assert parse_setting("DSTSP").model_args == {"pruning": {"type": "DSTSP"}}
    with pytest.raises(ValueError, match="'Nope' is not a registered pruner"):
        parse_setting("Nope:keep=1")
    with pytest.raises(ValueError, match="options must be key=value pairs"):
        parse_setting("DSTSP:0.3")
    with pytest.raises(ValueError, match="DSTSP settings are P_s,P_t"):
        parse_setting("0.3,x")


def test_neuron_benchmark_runs(tmp_path):
    pytest.importorskip("spikingjelly")
    cmd = [sys.executable, "tools/benchmark.py", "neuron", "--shape", "4,8,64", "--repeats", "3", "--out",
           str(tmp_path)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads((tmp_path / "neuron.json").read_text())["rows"]
    assert [r["surrogate"] for r in rows] == ["sigmoid", "atan"] and all(r["zoo_ms"] > 0 for r in rows)
