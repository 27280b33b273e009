import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_train_benchmark_writes_table_plot_and_sane_numbers(tmp_path):
    cmd = [sys.executable, "tools/benchmark.py", "train", "--model", "smixer-cifar10", "--settings", "0.3,0.75",
           "0.3,0.75,temporal_placement=IS",
           "--override", "embed_dim=32", "depth=1", "num_heads=4", "--batch", "4", "--steps", "2", "--warmup", "1",
           "--device", "cpu", "--out", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((tmp_path / "results.json").read_text())
    base, pruned, in_stem = data["results"]  # the (0, 0) baseline is added automatically, first
    assert (base["spatial_ratio"], base["temporal_ratio"]) == (0.0, 0.0)
    assert (pruned["spatial_ratio"], pruned["temporal_ratio"]) == (0.3, 0.75)
    assert base["speedup"] == 1.0 and pruned["ideal_speedup"] > 1.1
    assert pruned["ideal_speedup"] == base["forward_macs_per_sample"] / pruned["forward_macs_per_sample"]
    assert 0 < pruned["saved_ratio"] < 0.8  # pruned steps/tokens are not saved for backward
    assert base["dstsp_share"] == 0 and 0 < pruned["dstsp_share"] < 0.5
    # in-stem pruning is timed through the pruner's forward hooks too, and leaves less of the stem to run
    assert in_stem["options"] == {"temporal_placement": "IS"} and 0 < in_stem["dstsp_share"] < 0.5
    assert in_stem["ideal_speedup"] > pruned["ideal_speedup"]
    assert base["params"] - pruned["params"] == 4 * (64 ** 2 - 44 ** 2)
    table = (tmp_path / "results.md").read_text()
    assert "| 0.30 | 0.75 | - |" in table
    assert (tmp_path / "results.png").read_bytes()[:4] == b"\x89PNG"


def test_neuron_benchmark_runs(tmp_path):
    pytest.importorskip("spikingjelly")
    cmd = [sys.executable, "tools/benchmark.py", "neuron", "--shape", "4,8,64", "--repeats", "3", "--out",
           str(tmp_path)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads((tmp_path / "neuron.json").read_text())["rows"]
    assert [r["surrogate"] for r in rows] == ["sigmoid", "atan"] and all(r["zoo_ms"] > 0 for r in rows)
