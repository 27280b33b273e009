"""Detection training killed with SIGKILL, once between checkpoints and once in the middle of writing one, then
resumed with `tools/train.py --resume`, ends with the weights and optimiser state of an uninterrupted run."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, OMP_NUM_THREADS="1")  # see tests/test_det_configs.py

# 16 iterations of the overfit model on the 4 real photos at 160 px, a checkpoint every 4, no evaluation.
CONFIG = """
_base_ = [{base!r}]
img_scale = (160, 160)
max_iters = 16
model = dict(backbone=dict(train_size=160), bbox_head=dict(prior_image_size=160))
pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(dataset=dict(pipeline=pipeline))
train_cfg = dict(max_iters=max_iters, val_interval=1000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.1, by_epoch=False, begin=4, end=max_iters),
]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=4, max_keep_ckpts=-1))
"""

# Runs what tools/train.py runs (tasks.common.runs.train_main), but SIGKILLs the process while the second checkpoint
# is being written: the bytes are in the temporary file, not yet renamed to iter_8.pth.
KILL_WHILE_SAVING = """
import os, signal
from tasks.common.cli import run_command
from tasks.common.runs import train_main
real_fsync, calls = os.fsync, []
def fsync(fd):
    calls.append(fd)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    real_fsync(fd)
os.fsync = fsync
run_command(train_main)
"""


def _train(config: Path, work_dir: Path, *extra: str, launcher: Path | None = None) -> subprocess.Popen:
    script = str(launcher) if launcher else "tools/train.py"
    return subprocess.Popen([sys.executable, script, str(config), "--work-dir", str(work_dir), *extra], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)


def _finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-4000:]
    return out


def _kill_after(proc: subprocess.Popen, work_dir: Path, checkpoint: str) -> None:
    deadline, marker = time.time() + 300, work_dir / "last_checkpoint"  # written once a checkpoint is complete
    while not (marker.is_file() and marker.read_text().strip().endswith(checkpoint)):
        assert proc.poll() is None and time.time() < deadline, "training ended before the checkpoint appeared"
        time.sleep(0.01)
    proc.kill()
    proc.wait()


def _state(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def _assert_same_final_state(reference: Path, resumed: Path) -> None:
    a, b = _state(reference / "iter_16.pth"), _state(resumed / "iter_16.pth")
    assert a["meta"]["iter"] == b["meta"]["iter"] == 16
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), f"{key} differs after resuming"
    momentum_a, momentum_b = a["optimizer"]["state"], b["optimizer"]["state"]
    assert momentum_a.keys() == momentum_b.keys()
    assert all(torch.equal(momentum_a[k]["momentum_buffer"], momentum_b[k]["momentum_buffer"]) for k in momentum_a)


def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path):
    config = tmp_path / "tiny_det.py"
    config.write_text(CONFIG.format(base=str(ROOT / "configs/det/spikeyolo-tiny-smixer_1xb4-300it_photos.py")))
    launcher = tmp_path / "kill_while_saving.py"
    launcher.write_text(KILL_WHILE_SAVING)
    reference, between, saving = tmp_path / "reference", tmp_path / "between", tmp_path / "saving"
    runs = [_train(config, reference), _train(config, between)]
    _kill_after(runs[1], between, "iter_8.pth")
    _finish(runs[0])
    assert not (between / "iter_16.pth").exists(), "the run finished before it could be killed"

    killed = _train(config, saving, launcher=launcher)
    killed.communicate(timeout=600)
    assert killed.returncode == -signal.SIGKILL
    assert sorted(p.name for p in saving.glob("*.pth")) == ["iter_4.pth"]  # no half-written iter_8.pth
    assert (saving / "last_checkpoint").read_text().strip().endswith("iter_4.pth")

    for work_dir, start in ((between, 8), (saving, 4)):
        out = _finish(_train(config, work_dir, "--resume"))
        assert f"resumed epoch: 0, iter: {start}" in out, out[-3000:]
        _assert_same_final_state(reference, work_dir)
    early = _state(between / "iter_8.pth")["state_dict"]  # and the interruption was real
    final = _state(reference / "iter_16.pth")["state_dict"]
    assert any(not torch.equal(v, final[k]) for k, v in early.items() if v.is_floating_point())
