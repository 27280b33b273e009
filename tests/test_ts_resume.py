"""SIGKILL while a forecaster trains -- right after a complete checkpoint mid-epoch, or halfway through writing a
checkpoint -- then ``tools/train.py --resume``: the final weights and optimiser state are bit-identical to those of
an uninterrupted run. The tiny run uses the real CAISO load series and every source of randomness of the
forecasting configs (dropout, shuffled windows, random DSTSP pruning), and the forecasting runtime's own
checkpointing (two kept checkpoints) and early stopping."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import List

import pandas as pd
import pytest
import torch
from mmengine.logging import MessageHub

from tasks.timeseries import ResumableEarlyStoppingHook

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "configs" / "ts" / "realdata" / "smixer-dstsp-h24_1xb64-20e_caiso-load.py"
CAISO = ROOT / "data" / "timeseries" / "caiso_hourly_load_2018.csv.xz"
ENV = dict(os.environ, OMP_NUM_THREADS="1")  # tiny models: thread-pool latency would dominate on a busy machine
FINAL = "iter_22.pth"  # 84 training windows (stride 2) / batch 8 = 11 iterations per epoch, 2 epochs

# Test-only hooks, imported by the interrupted runs through custom_imports. Both die by SIGKILL: no cleanup runs.
KILL_HOOKS = '''
import builtins
import io
import os
import signal

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


class _HalfThenDie:
    """A file opened for writing that writes half of what it is given, then kills the process."""

    def __init__(self, handle):
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()

    def write(self, data):
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        _die()


def _kill_on_next_disk_write():
    """The next bytes written to a file -- through open(..., "wb") as mmengine's file backends do, or by torch.save
    to a path or file -- are half written, then the process is killed."""
    real_open, real_save = builtins.open, torch.save

    def open_(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        return _HalfThenDie(handle) if "b" in mode and ("w" in mode or "x" in mode) else handle

    def save(obj, f, *args, **kwargs):
        if isinstance(f, io.BytesIO):  # serialising in memory, not writing to disk yet
            return real_save(obj, f, *args, **kwargs)
        buffer = io.BytesIO()
        real_save(obj, buffer, *args, **kwargs)
        with open_(f, "wb") if not hasattr(f, "write") else _HalfThenDie(f) as handle:
            handle.write(buffer.getvalue())

    builtins.open, torch.save = open_, save


@HOOKS.register_module()
class KillAfterCheckpoint(Hook):
    priority = "LOWEST"  # after the CheckpointHook has written the checkpoint and last_checkpoint

    def __init__(self, at_iter):
        self.at_iter = at_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at_iter:
            _die()


@HOOKS.register_module()
class KillWhileSaving(Hook):
    def __init__(self, at_iter):
        self.at_iter = at_iter

    def before_save_checkpoint(self, runner, checkpoint):
        if checkpoint["meta"]["iter"] == self.at_iter:
            _kill_on_next_disk_write()
'''


def write_config(folder: Path, max_keep: int, kill_hook: str = "") -> Path:
    """The CAISO SMixer + DSTSP demo shrunk to seconds: 300 real rows, window 16, horizon 4, D 16; checkpoints
    every 4 iterations; ``kill_hook`` (a hook dict) is added to the forecasting runtime's hooks."""
    series = folder / "caiso_300.csv"
    if not series.is_file():
        pd.read_csv(CAISO, nrows=300).to_csv(series, index=False)
    data = f"dict(file={str(series)!r}, window=16, horizon=4)"
    lines = [
        f"_base_ = [{str(BASE)!r}]",
        "model = dict(net=dict(window=16, in_channels=7, out_channels=5, horizon=4, embed_dim=16, num_heads=2,",
        "                      mlp_hidden=32, time_steps=2, pruning=dict(type='DSTSP', strategy='RP')))",
        f"train_dataloader = dict(batch_size=8, dataset={data})",
        f"val_dataloader = dict(batch_size=64, dataset={data})",
        "test_dataloader = val_dataloader",
        "train_cfg = dict(max_epochs=2)",
        f"default_hooks = dict(checkpoint=dict(by_epoch=False, interval=4, max_keep_ckpts={max_keep}),",
        "                     logger=dict(interval=1))",
    ]
    if kill_hook:
        lines += ["custom_imports = dict(imports=['tasks.timeseries', 'tasks.common', 'ts_kill_hooks'])",
                  f"custom_hooks = _base_.custom_hooks + [{kill_hook}]"]
        (folder / "ts_kill_hooks.py").write_text(KILL_HOOKS)
    path = folder / ("tiny_kill.py" if kill_hook else f"tiny_keep{max_keep}.py")
    path.write_text("\n".join(lines) + "\n")
    return path


def train(config: Path, work_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(ENV, PYTHONPATH=os.pathsep.join([str(config.parent), ENV.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "tools/train.py", str(config), "--work-dir", str(work_dir), *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def state(checkpoint: Path) -> dict:
    return torch.load(checkpoint, map_location="cpu", weights_only=True)


def assert_same_run(a: dict, b: dict) -> None:
    """Same iteration, weights, Adam moments and early-stopping state."""
    assert a["meta"]["iter"] == b["meta"]["iter"]
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), f"{key} differs after resuming"
    exp_a, exp_b = a["optimizer"]["state"], b["optimizer"]["state"]
    assert exp_a.keys() == exp_b.keys()
    for k in exp_a:
        assert torch.equal(exp_a[k]["exp_avg"], exp_b[k]["exp_avg"])
        assert torch.equal(exp_a[k]["exp_avg_sq"], exp_b[k]["exp_avg_sq"])
    runtime_a, runtime_b = a["message_hub"]["runtime_info"], b["message_hub"]["runtime_info"]
    assert runtime_a["early_stopping"] == runtime_b["early_stopping"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """The final checkpoint of the uninterrupted run (how many checkpoints are kept does not change training)."""
    folder = tmp_path_factory.mktemp("ts_reference")
    done = train(write_config(folder, max_keep=-1), folder / "run")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return state(folder / "run" / FINAL)


def kill_and_resume(folder: Path, max_keep: int, kill_hook: str) -> List[str]:
    """Train until ``kill_hook`` kills the process, then resume with ``--resume``; returns the names of the files
    the killed run left in its work dir."""
    work_dir = folder / "run"
    killed = train(write_config(folder, max_keep, kill_hook), work_dir)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:] + killed.stderr[-3000:]
    left = sorted(p.name for p in work_dir.iterdir())
    resumed_from = Path((work_dir / "last_checkpoint").read_text().strip()).name
    assert (work_dir / resumed_from).is_file()
    done = train(write_config(folder, max_keep), work_dir, "--resume")
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert f"resumed epoch: 1, iter: {resumed_from[5:-4]}" in log  # mid-epoch 2 (iterations 12..22)
    return left


def test_sigkill_after_a_mid_epoch_checkpoint_then_resume_matches_uninterrupted_run(reference, tmp_path):
    left = kill_and_resume(tmp_path, -1, "dict(type='KillAfterCheckpoint', at_iter=16)")
    assert FINAL not in left and "iter_16.pth" in left
    assert_same_run(reference, state(tmp_path / "run" / FINAL))
    early = state(tmp_path / "run" / "iter_16.pth")["state_dict"]  # the interruption was real
    assert any(not torch.equal(v, reference["state_dict"][k]) for k, v in early.items() if v.is_floating_point())


def test_sigkill_while_writing_a_checkpoint_then_resume_matches_uninterrupted_run(reference, tmp_path):
    """Killed halfway through writing iteration 20's checkpoint, with the configs' two kept checkpoints: mmengine
    has already deleted iteration 12's, iteration 16's is intact and resumed from."""
    left = kill_and_resume(tmp_path, 2, "dict(type='KillWhileSaving', at_iter=20)")
    assert "iter_16.pth" in left and "iter_12.pth" not in left
    assert any("iter_20" in name for name in left)  # the partly written checkpoint (or its temporary file)
    assert_same_run(reference, state(tmp_path / "run" / FINAL))


def test_early_stopping_state_survives_a_resume():
    """The patience count lives in the message hub, which checkpoints save and --resume restores."""

    class Runner:
        def __init__(self, hub: MessageHub) -> None:
            self.message_hub, self.logger = hub, logging.getLogger(__name__)
            self.train_loop = type("Loop", (), {"stop_training": False})()

    first = Runner(MessageHub.get_instance("ts_resume_first"))
    hook = ResumableEarlyStoppingHook(monitor="ts/mse", rule="less", patience=3, min_delta=0.0)
    hook.before_train(first)
    for mse in (1.0, 0.5, 0.7, 0.6):  # best 0.5, then two validations without improvement
        hook.after_val_epoch(first, {"ts/mse": mse})
    resumed = Runner(MessageHub.get_instance("ts_resume_second"))
    resumed.message_hub.load_state_dict(first.message_hub.state_dict())
    restored = ResumableEarlyStoppingHook(monitor="ts/mse", rule="less", patience=3, min_delta=0.0)
    restored.before_train(resumed)
    assert (restored.best_score, restored.wait_count) == (0.5, 2)
    restored.after_val_epoch(resumed, {"ts/mse": 0.9})
    assert resumed.train_loop.stop_training  # the third stalled validation, as in the uninterrupted run
