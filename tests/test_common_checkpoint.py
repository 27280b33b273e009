"""Checkpoint safety shared by every task: atomic writes, and `--resume` skipping a checkpoint that a run killed
while writing left truncated (mmengine's own writer is not atomic; checkpoints from before this project's
writer, or copied by hand, can be)."""
from __future__ import annotations

import os

import pytest
import torch

from tasks.common.checkpoint import AtomicLocalBackend, check_checkpoint, latest_checkpoint


def _save(path, step: int):
    torch.save({"meta": {"iter": step}, "state_dict": {"w": torch.full((4,), float(step))}}, path)
    return path


def test_latest_checkpoint_skips_a_truncated_newest_one(tmp_path):
    _save(tmp_path / "iter_4.pth", 4)
    newest = _save(tmp_path / "iter_8.pth", 8)
    newest.write_bytes(newest.read_bytes()[:300])
    (tmp_path / "last_checkpoint").write_text(str(newest))
    assert latest_checkpoint(tmp_path) == str(tmp_path / "iter_4.pth")
    (tmp_path / "last_checkpoint").write_text("")  # killed while writing the marker itself
    assert latest_checkpoint(tmp_path) == str(tmp_path / "iter_4.pth")
    with pytest.raises(ValueError, match=r"iter_8.pth cannot be read \(truncated, corrupt"):
        check_checkpoint(newest)


def test_latest_checkpoint_of_an_empty_work_dir(tmp_path):
    assert latest_checkpoint(tmp_path) is None


def test_atomic_put_keeps_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    target = _save(tmp_path / "iter_4.pth", 4)
    before = target.read_bytes()

    def fail(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError):
        AtomicLocalBackend().put(b"x" * 100, target)
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["iter_4.pth"]
