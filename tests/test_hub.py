import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import zoo

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(embed_dim=32, depth=1, num_heads=4)


def _tiny(name="smixer-cifar10-dstsp"):
    torch.manual_seed(0)
    return zoo.create(name, **TINY).eval()


def test_save_and_load_folder_roundtrip(tmp_path):
    model = _tiny()
    zoo.save_pretrained(model, tmp_path, metrics={"top1": 12.5}, model_card="# card")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architecture"] == "smixer-cifar10-dstsp"
    assert config["model_args"]["embed_dim"] == 32 and config["model_args"]["dstsp"]["spatial_ratio"] == 0.3
    assert config["metrics"] == {"top1": 12.5}
    loaded = zoo.load(tmp_path).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert loaded.metrics == {"top1": 12.5}


def test_load_keeps_the_saved_pretrained_cfg(tmp_path):
    """A fine-tune's own input description (classes, mean/std, dataset) survives save/load, not the variant's."""
    model = zoo.create("smixer-cifar10-dstsp", num_classes=7, **TINY)
    model.pretrained_cfg.num_classes, model.pretrained_cfg.dataset = 7, "my-data"
    model.pretrained_cfg.mean = (0.5, 0.5, 0.5)
    zoo.save_pretrained(model, tmp_path)
    loaded = zoo.load(tmp_path)
    assert loaded.pretrained_cfg == model.pretrained_cfg and loaded.pretrained_cfg.mean == (0.5, 0.5, 0.5)
    config = json.loads((tmp_path / "config.json").read_text())
    config["pretrained_cfg"]["colour"] = "red"
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="pretrained_cfg.*colour"):
        zoo.load(tmp_path)


def test_load_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        zoo.load(tmp_path)
    zoo.save_pretrained(_tiny(), tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        zoo.load(tmp_path)
    zoo.save_pretrained(_tiny("smixer-cifar10"), tmp_path)  # weights of another architecture
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["model_args"]["embed_dim"] = 64
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="does not match"):
        zoo.load(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        zoo.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="neither a folder"):
        zoo.load("no-such-model")


def test_no_pickle_in_saved_files(tmp_path):
    zoo.save_pretrained(_tiny(), tmp_path)
    head = (tmp_path / "model.safetensors").read_bytes()[:8]
    header_len = int.from_bytes(head, "little")
    header = json.loads((tmp_path / "model.safetensors").read_bytes()[8:8 + header_len])
    assert header["__metadata__"]["architecture"] == "smixer-cifar10-dstsp"


def test_pretrained_false_gives_random_weights():
    assert zoo.load("smixer-cifar10", pretrained=False, **TINY).head.out_features == 10


def _run(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=120)


def test_offline_missing_repo_gives_one_line_error(tmp_path):
    proc = _run("import zoo; zoo.load('stmixer-8-512-dstsp')",
                {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path), "HF_HOME": str(tmp_path)})
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("FileNotFoundError") and "smixer-zoo/stmixer-8-512-dstsp" in last
    assert "HF_HUB_OFFLINE" in last and "huggingface-cli download" in last


def test_load_from_local_hub_cache_by_name_and_repo_id(tmp_path):
    model = _tiny("smixer-cifar10")
    snapshot = tmp_path / "hub" / "models--smixer-zoo--smixer-cifar10" / "snapshots" / ("a" * 40)
    zoo.save_pretrained(model, snapshot)
    refs = snapshot.parents[1] / "refs"
    refs.mkdir()
    (refs / "main").write_text("a" * 40)
    code = ("import torch, zoo; torch.manual_seed(1); x = torch.randn(2, 3, 32, 32);"
            "a = zoo.load('smixer-cifar10').eval(); b = zoo.load('smixer-zoo/smixer-cifar10').eval();"
            "print(float(a(x).sum()), float(b(x).sum()))")
    proc = _run(code, {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub")})
    assert proc.returncode == 0, proc.stderr
    a, b = map(float, proc.stdout.split())
    torch.manual_seed(1)
    with torch.no_grad():
        expected = float(model(torch.randn(2, 3, 32, 32)).sum())
    assert a == pytest.approx(expected, abs=1e-4) and b == pytest.approx(expected, abs=1e-4)


def test_create_records_every_constructor_argument():
    """The builder, not the model, records the arguments (defaults filled in, config objects as dicts)."""
    from zoo.pruning import DSTSPConfig

    model = zoo.create("smixer-cifar10", embed_dim=32, depth=1, num_heads=4, dstsp=DSTSPConfig(spatial_ratio=0.3))
    assert model.init_args["dstsp"] == DSTSPConfig(spatial_ratio=0.3).to_dict()
    assert model.init_args["time_first"] is False and model.init_args["neuron"] == dict(type="ILIF")
    json.dumps(model.init_args)  # what config.json stores
