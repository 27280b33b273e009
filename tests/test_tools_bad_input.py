"""Commands in tools/ answer a user's mistake with one `error:` line and a non-zero exit, never a traceback
(``--debug`` shows it), and refuse checkpoints that are unreadable or belong to another model instead of
loading them partially."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import zoo
from test_cls_helpers import ROOT, write_fmnist
from test_cls_resume import write_config

ENV = dict(os.environ, OMP_NUM_THREADS="1")


def run_tool(*args: str, env: dict = ENV) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=env)


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """The command failed with exactly one `error:` line on stderr (after mmengine's log lines) and no traceback."""
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr[-3000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("tools")
    data = write_fmnist(tmp / "fmnist", train=16, test=16)
    return write_config(tmp / "tiny.py", data, train=16, batch=8, epochs=1)


def _foreign_checkpoint(path: Path) -> Path:
    """An mmengine-style checkpoint of another architecture (spiking self-attention instead of the mixer)."""
    other = zoo.create("spikformer-cifar10", embed_dim=32, depth=1, num_heads=4)
    torch.save({"meta": {}, "state_dict": {f"backbone.{k}": v for k, v in other.state_dict().items()}}, path)
    return path


def test_train_missing_config(tmp_path):
    proc = run_tool("tools/train.py", tmp_path / "nope.py")
    assert_one_line_error(proc, "config file not found", "nope.py")


def test_train_config_with_a_syntax_error(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("model = dict(type='SpikingClassifier'\n")
    assert_one_line_error(run_tool("tools/train.py", bad), "cannot be read: SyntaxError")


def test_train_unknown_top_level_override(config, tmp_path):
    proc = run_tool("tools/train.py", config, "--work-dir", tmp_path, "--cfg-options", "train_cfgg.max_epochs=2")
    assert_one_line_error(proc, "unknown top-level config key(s) ['train_cfgg']")


def test_train_unknown_model_option(config, tmp_path):
    proc = run_tool("tools/train.py", config, "--work-dir", tmp_path, "--cfg-options",
                    "model.backbone_args.embed_dimm=16")
    assert_one_line_error(proc, "unknown option(s) ['embed_dimm']")


def test_train_non_writable_work_dir(config, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    proc = run_tool("tools/train.py", config, "--work-dir", blocker / "run")
    assert_one_line_error(proc, "is not writable", "--work-dir")


def test_train_resume_from_a_missing_checkpoint(config, tmp_path):
    proc = run_tool("tools/train.py", config, "--work-dir", tmp_path, "--resume", tmp_path / "iter_9.pth")
    assert_one_line_error(proc, "checkpoint to resume from not found")


def test_train_resume_from_another_architecture(config, tmp_path):
    proc = run_tool("tools/train.py", config, "--work-dir", tmp_path, "--resume",
                    _foreign_checkpoint(tmp_path / "other.pth"))
    assert_one_line_error(proc, "does not fit the config's model", "missing", "unexpected")


@pytest.mark.parametrize("content, fragment", [(b"", "is empty"), (None, "cannot be read (truncated, corrupt"),
                                               (b"PK\x03\x04 not a zip", "cannot be read")])
def test_test_refuses_unreadable_checkpoints(config, tmp_path, content, fragment):
    path = _foreign_checkpoint(tmp_path / "ckpt.pth")
    path.write_bytes(path.read_bytes()[:2000] if content is None else content)
    assert_one_line_error(run_tool("tools/test.py", config, path, "--work-dir", tmp_path), fragment)


def test_test_refuses_a_checkpoint_of_another_architecture(config, tmp_path):
    proc = run_tool("tools/test.py", config, _foreign_checkpoint(tmp_path / "other.pth"), "--work-dir", tmp_path)
    assert_one_line_error(proc, "does not fit the config's model")


def test_test_refuses_a_zoo_weights_file(config, tmp_path):
    folder = zoo.save_pretrained(zoo.create("smixer-cifar10", embed_dim=32, depth=1, num_heads=4), tmp_path / "z")
    proc = run_tool("tools/test.py", config, folder / "model.safetensors", "--work-dir", tmp_path)
    assert_one_line_error(proc, "is not an mmengine training checkpoint", "zoo.load")


def test_missing_data_names_the_folder(tmp_path):
    config = write_config(tmp_path / "tiny.py", tmp_path / "no_data_here", train=16, batch=8, epochs=1)
    proc = run_tool("tools/train.py", config, "--work-dir", tmp_path / "run")
    assert_one_line_error(proc, "no_data_here")


def test_debug_shows_the_traceback(tmp_path):
    proc = run_tool("tools/train.py", tmp_path / "nope.py", "--debug")
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "FileNotFoundError" in proc.stderr
    env = dict(ENV, SMIXER_DEBUG="1")
    assert "Traceback" in run_tool("tools/train.py", tmp_path / "nope.py", env=env).stderr


def test_other_tools_fail_in_one_line(tmp_path):
    missing = tmp_path / "missing.pth"
    proc = run_tool("tools/export.py", ROOT / "configs/cls/smixer-t2_1xb64-2136it_fmnist.py", missing, tmp_path / "out")
    assert proc.returncode != 0 and "not found" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_tool("tools/benchmark.py", "train", "--model", "smixer-cifar", "--out", tmp_path)
    assert_one_line_error(proc, "unknown model 'smixer-cifar'; did you mean")


def test_train_override_of_a_config_file_variable(config, tmp_path):
    """`data_root=...` would be accepted by mmengine and change nothing (the file already substituted it)."""
    config.with_name("vars.py").write_text(f"_base_ = [{str(config)!r}]\nhorizon = 3\n")
    proc = run_tool("tools/train.py", config.with_name("vars.py"), "--work-dir", tmp_path, "--cfg-options",
                    "horizon=5")
    assert_one_line_error(proc, "['horizon']", "are variables of the config file")
