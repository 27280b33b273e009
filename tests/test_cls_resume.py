"""Killing training with SIGKILL mid-epoch and resuming gives the weights of an uninterrupted run; torchrun works
with 2 CPU processes on gloo."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import torch

from test_cls_helpers import ROOT, write_fmnist

BASE = ROOT / "configs" / "cls" / "smixer-dstsp-t2_1xb64-3e_fmnist.py"


def write_config(path: Path, data_root: Path, train: int, batch: int, epochs: int, **extra: str) -> Path:
    """A tiny Fashion-MNIST run with every source of randomness on: crop/flip augmentation in a worker process,
    mixup/cutmix, and DSTSP with random pruning (RP)."""
    lines = [
        f"_base_ = [{str(BASE)!r}]",
        "model = dict(backbone_args=dict(embed_dim=32, depth=1, num_heads=4, time_steps=2,",
        "             dstsp=dict(spatial_ratio=0.3, temporal_ratio=0.5, strategy='RP')),",
        "             batch_augment=dict(mixup_alpha=0.5, cutmix_alpha=0.5, prob=1.0))",
        f"train_dataloader = dict(batch_size={batch}, num_workers=1, dataset=dict(data_root={str(data_root)!r},"
        f" indices={train}))",
        f"val_dataloader = dict(batch_size=16, num_workers=0, dataset=dict(data_root={str(data_root)!r}, indices=16))",
        "test_dataloader = val_dataloader",
        f"train_cfg = dict(max_epochs={epochs})",
    ] + [f"{k} = {v}" for k, v in extra.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def train_command(config: Path, work_dir: Path, *extra: str) -> list:
    return [sys.executable, "tools/train.py", str(config), "--work-dir", str(work_dir), *extra]


ENV = dict(os.environ, OMP_NUM_THREADS="1")  # tiny models: thread-pool latency would dominate on a busy machine


def state(checkpoint: Path) -> dict:
    return torch.load(checkpoint, map_location="cpu", weights_only=True)


def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(tmp_path):
    data = write_fmnist(tmp_path / "fmnist", train=48, test=16)
    config = write_config(tmp_path / "tiny.py", data, train=48, batch=8, epochs=2,
                          default_hooks="dict(checkpoint=dict(by_epoch=False, interval=2, max_keep_ckpts=-1), "
                                        "logger=dict(interval=1))")
    # 6 iterations per epoch; checkpoints every 2 iterations
    reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"
    subprocess.run(train_command(config, reference), cwd=ROOT, check=True, capture_output=True, timeout=300, env=ENV)
    proc = subprocess.Popen(train_command(config, interrupted), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=ENV)
    deadline, marker = time.time() + 240, interrupted / "last_checkpoint"  # written once a checkpoint is complete
    while not (marker.is_file() and marker.read_text().strip().endswith("iter_8.pth")):  # 2nd batch of epoch 2
        assert proc.poll() is None and time.time() < deadline, "training ended before the checkpoint appeared"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert not (interrupted / "iter_12.pth").exists(), "the run finished before it could be killed"
    resumed_from = Path((interrupted / "last_checkpoint").read_text().strip()).name
    assert resumed_from in ("iter_8.pth", "iter_10.pth")  # mid-epoch
    done = subprocess.run(train_command(config, interrupted, "--resume"), cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=ENV)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"resumed epoch: 1, iter: {resumed_from[5:-4]}" in (done.stdout + done.stderr)
    a, b = state(reference / "iter_12.pth"), state(interrupted / "iter_12.pth")
    assert a["meta"]["iter"] == b["meta"]["iter"] == 12
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), f"{key} differs after resuming"
    exp_a, exp_b = a["optimizer"]["state"], b["optimizer"]["state"]
    assert all(torch.equal(exp_a[k]["exp_avg"], exp_b[k]["exp_avg"]) for k in exp_a)
    # and the interruption was real: the weights at the kill point differ from the final ones
    early = state(interrupted / resumed_from)["state_dict"]
    assert any(not torch.equal(v, a["state_dict"][k]) for k, v in early.items() if v.is_floating_point())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# mmengine's pytorch launcher calls torch.cuda.set_device unconditionally, which a CPU build of torch rejects;
# with the process group initialised first, mmengine skips its own initialisation. (To move into tools/train.py.)
LAUNCHER = """
import torch.distributed as dist
from tasks.common.cli import run_command
from tasks.common.runs import train_main
dist.init_process_group(backend="gloo")
run_command(train_main)
"""


def test_torchrun_two_cpu_processes_gloo(tmp_path):
    data = write_fmnist(tmp_path / "fmnist", train=32, test=16)
    config = write_config(tmp_path / "tiny_dist.py", data, train=32, batch=4, epochs=1,
                          default_hooks="dict(logger=dict(interval=1))")
    work_dir = tmp_path / "dist"
    launcher = tmp_path / "cpu_train.py"
    launcher.write_text(LAUNCHER)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}",
               str(launcher), str(config), "--launcher", "pytorch", "--work-dir", str(work_dir)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240, env=ENV)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    assert "Distributed training: True" in log and "'backend': 'gloo'" in log
    checkpoint = state(work_dir / "epoch_1.pth")
    assert checkpoint["meta"]["iter"] == 4  # 32 samples / (2 processes x batch 4)
    assert (work_dir / "curve.jsonl").is_file()


def test_time_budget_on_the_cpu_clock_stops_training_after_the_iteration_that_spends_it(tmp_path):
    from tasks.common.engine import training_clock

    assert training_clock("cpu") is time.process_time and training_clock("wall") is time.perf_counter
    data = write_fmnist(tmp_path / "fmnist", train=48, test=16)
    config = write_config(tmp_path / "tiny.py", data, train=48, batch=8, epochs=3,
                          train_cfg="dict(max_epochs=3, time_budget_s=1e-9, budget_clock='cpu')")
    proc = subprocess.run(train_command(config, tmp_path / "run"), cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=ENV)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "training time budget of 0 s reached after 1 iterations (epoch 1, batch 1 of 6)" in proc.stdout + proc.stderr
    bad = write_config(tmp_path / "bad.py", data, train=48, batch=8, epochs=1,
                       train_cfg="dict(max_epochs=1, budget_clock='gpu')")
    proc = subprocess.run(train_command(bad, tmp_path / "bad"), cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=ENV)
    assert proc.returncode == 1 and "budget_clock must be one of ['cpu', 'wall'], got 'gpu'" in proc.stderr
