"""Bad input to the zoo's public API (zoo.create / zoo.load / zoo.save_pretrained, model forward) gets one
clear error that names the problem, raised before anything deep inside torch, and never a silent wrong answer
or a half-written file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import zoo

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(embed_dim=32, depth=1, num_heads=4)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return zoo.create("smixer-cifar10-dstsp", **TINY).eval()


@pytest.mark.parametrize("x, error, match", [
    (torch.randn(3, 32, 32), ValueError, r"expects \[B, 3, 32, 32\] images .* got \(3, 32, 32\)"),
    (torch.randn(2, 1, 32, 32), ValueError, r"got \(2, 1, 32, 32\)"),
    (torch.randn(2, 3, 28, 28), ValueError, r"got \(2, 3, 28, 28\)"),
    (torch.randint(0, 255, (2, 3, 32, 32)), TypeError,
     r"floating-point torch.float32 input .* got torch.int64; .*x.float\(\)"),
    (torch.ones(2, 3, 32, 32, dtype=torch.bool), TypeError, r"got torch.bool"),
    (torch.randn(2, 3, 32, 32).half(), TypeError, r"got torch.float16; use x.to\(torch.float32\)"),
    (torch.full((2, 3, 32, 32), float("nan")), ValueError, r"NaN or inf"),
    (torch.randn(2, 3, 32, 32).index_fill_(0, torch.tensor([1]), float("inf")), ValueError, r"NaN or inf"),
    (torch.randn(0, 3, 32, 32), ValueError, r"empty input \(batch 0"),
    (torch.randn(2, 0, 3, 32, 32), ValueError, r"empty input \(batch 2, time steps 0\)"),
    ([[1.0]], TypeError, r"expects a torch.Tensor, got list"),
])
def test_forward_refuses_bad_tensors(model, x, error, match):
    with pytest.raises(error, match=match):
        model(x)


@pytest.mark.parametrize("name, options, error, match", [
    ("smixer-cifar", {}, KeyError, r"unknown model 'smixer-cifar'; did you mean one of \['smixer-cifar10'"),
    (3, {}, TypeError, r"a model name is a string"),
    ("smixer-cifar10", dict(embed_dims=64), TypeError, r"unknown option\(s\) \['embed_dims'\]; known: .*embed_dim"),
    ("smixer-cifar10", dict(dstsp=dict(spatial_ratio=1.5)), ValueError, r"spatial pruning ratio must be in \[0, 1\)"),
    ("smixer-cifar10", dict(dstsp=dict(spatial_ratios=0.3)), ValueError, r"unknown DSTSP options \['spatial_ratios'\]"),
    ("smixer-cifar10", dict(dstsp=dict(temporal_ratio=0.9)), ValueError, r"keeps 0 of 4 temporal units"),
    ("smixer-cifar10", dict(time_steps=0), ValueError, r"time_steps must be >= 1"),
    ("smixer-cifar10", dict(num_classes=-1), ValueError, r"num_classes must be >= 0"),
    ("smixer-cifar10", dict(neuron="if"), ValueError, r"unknown neuron type 'if'"),
    ("smixer-cifar10", dict(img_size=30), ValueError, r"img_size 30 is not divisible"),
])
def test_create_refuses_bad_names_and_options(name, options, error, match):
    with pytest.raises(error, match=match):
        zoo.create(name, **options)


def test_num_classes_zero_gives_pooled_features():
    model = zoo.create("smixer-cifar10", num_classes=0, **TINY).eval()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 32)


def test_save_pretrained_to_a_non_writable_folder(model, tmp_path):
    target = tmp_path / "file"
    target.write_text("not a folder")
    with pytest.raises(OSError, match=r"cannot write the checkpoint to .*file.*; choose a writable folder"):
        zoo.save_pretrained(model, target / "sub")


def test_save_pretrained_leaves_no_partial_file_when_interrupted(model, tmp_path, monkeypatch):
    """A failure during the write (a full disk, a kill) leaves the previous files, never a truncated one."""
    folder = zoo.save_pretrained(model, tmp_path / "ckpt")
    before = (folder / "model.safetensors").read_bytes()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="No space left on device"):
        zoo.save_pretrained(model, folder)
    assert (folder / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]


@pytest.mark.parametrize("damage, match", [
    (lambda f: (f / "model.safetensors").write_bytes(b""), r"not a readable safetensors file"),
    (lambda f: (f / "model.safetensors").write_bytes((f / "model.safetensors").read_bytes()[:1000]),
     r"not a readable safetensors file \(corrupt or truncated\?\)"),
    (lambda f: (f / "config.json").write_text("{not json"), r"config.json is not valid JSON"),
    (lambda f: (f / "config.json").write_text("[]"), r"is not a smixer-zoo config"),
    (lambda f: (f / "model.safetensors").unlink(), r"has no model.safetensors"),
    (lambda f: _edit_config(f, architecture="resnet50"), r"names unknown architecture 'resnet50'"),
    (lambda f: _edit_config(f, model_args=dict(embed_dim=32, depth=1, num_heads=4, widthh=3)),
     r"config.json: cannot build smixer-cifar10-dstsp: .*unknown option\(s\) \['widthh'\]"),
    (lambda f: _weights_of("spikformer-cifar10", f), r"model.safetensors does not match smixer-cifar10-dstsp .* "
                                                      r"unexpected \['blocks.0.mixer.k"),  # another architecture
])
def test_load_refuses_broken_checkpoint_folders(model, tmp_path, damage, match):
    folder = zoo.save_pretrained(model, tmp_path / "ckpt")
    damage(folder)
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        zoo.load(folder)


def _edit_config(folder: Path, **changes) -> None:
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))


def _weights_of(name: str, folder: Path) -> None:
    other = zoo.save_pretrained(zoo.create(name, **TINY), folder.parent / name)
    (folder / "model.safetensors").write_bytes((other / "model.safetensors").read_bytes())


def test_load_of_a_file_says_what_load_reads(tmp_path):
    pth = tmp_path / "epoch_1.pth"
    torch.save({"state_dict": {}}, pth)
    with pytest.raises(ValueError, match=r"is a file; zoo.load reads a folder .*tools/export.py"):
        zoo.load(pth)


def test_load_from_an_unreachable_hub_fails_within_seconds(tmp_path):
    """No network: one line at once, not the Hub client's 25 s of retries."""
    env = dict(os.environ, HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_CACHE=str(tmp_path), HF_HOME=str(tmp_path))
    env.pop("HF_HUB_OFFLINE", None)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", "import zoo; zoo.load('smixer-zoo/stmixer-8-512')"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("FileNotFoundError") and "the Hub could not be reached" in last
    assert "Retrying" not in proc.stderr
    assert time.monotonic() - start < 20  # python + torch start-up included; the Hub client alone retried 25 s
