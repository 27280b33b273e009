import json
import os
import re
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
    assert config["model_args"]["embed_dim"] == 32 and config["model_args"]["pruning"]["spatial_ratio"] == 0.3
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
    proc = _run("import zoo; zoo.load('smixer-zoo/stmixer-8-512-dstsp')",
                {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path), "HF_HOME": str(tmp_path)})
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("FileNotFoundError") and "smixer-zoo/stmixer-8-512-dstsp" in last
    assert "HF_HUB_OFFLINE" in last and "huggingface-cli download" in last


def test_load_from_local_hub_cache_by_name_and_repo_id(tmp_path):
    """A variant whose pretrained_cfg names a Hub repo loads from it; so does the repo id itself."""
    model = _tiny("smixer-cifar10")
    snapshot = tmp_path / "hub" / "models--smixer-zoo--smixer-cifar10" / "snapshots" / ("a" * 40)
    zoo.save_pretrained(model, snapshot)
    refs = snapshot.parents[1] / "refs"
    refs.mkdir()
    (refs / "main").write_text("a" * 40)
    code = ("import torch, zoo; from zoo.models.smixer import SMixer;"
            "zoo.register_model('published', zoo.PretrainedCfg(hf_hub_id='smixer-zoo/smixer-cifar10'))(SMixer);"
            "assert 'published' in zoo.list_models(pretrained=True);"
            "torch.manual_seed(1); x = torch.randn(2, 3, 32, 32);"
            "a = zoo.load('published').eval(); b = zoo.load('smixer-zoo/smixer-cifar10').eval();"
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
    assert model.init_args["pruning"] == dict(type="DSTSP", **DSTSPConfig(spatial_ratio=0.3).to_dict(),
                                              placement="after_stem", mixer_weight="static", stem_layer=0)
    assert model.init_args["time_first"] is False and model.init_args["neuron"] == dict(type="ILIF")
    json.dumps(model.init_args)  # what config.json stores


def test_a_variant_without_weights_says_so_at_once(monkeypatch):
    """No shipped folder and no Hub repo: one line with what to do, and no attempt to reach the Hub."""
    monkeypatch.setattr(zoo.hub, "hub_folder", lambda *a, **k: pytest.fail("the Hub was tried"))
    assert not zoo.registry.has_pretrained("smixer-cifar10")
    assert zoo.get_pretrained_cfg("smixer-cifar10").hf_hub_id is None
    with pytest.raises(FileNotFoundError, match=r"smixer-cifar10 has no pretrained weights.*train it.*"
                                                r"checkpoint folder or a Hub repo id.*pass pretrained=False") as err:
        zoo.load("smixer-cifar10")
    assert "\n" not in str(err.value)


def test_list_models_pretrained_lists_only_variants_with_weights(tmp_path, monkeypatch):
    every = zoo.list_models()
    assert len(every) > 30 and "stmixer-8-512" in every
    assert set(zoo.list_models(pretrained=True)) < set(every)
    monkeypatch.setattr(zoo.registry, "SHIPPED_WEIGHTS", tmp_path)
    assert zoo.list_models(pretrained=True) == []
    zoo.save_pretrained(_tiny("smixer-cifar10"), tmp_path / "smixer-cifar10")
    (tmp_path / "not-a-variant").mkdir()
    assert zoo.list_models(pretrained=True) == ["smixer-cifar10"]
    assert zoo.list_models("*cifar10*", pretrained=True) == ["smixer-cifar10"]
    assert zoo.list_models("*dstsp", pretrained=True) == []
    assert zoo.list_models() == every  # unchanged


def test_shipped_weights_load_before_the_hub(tmp_path, monkeypatch):
    model = _tiny("smixer-cifar10")
    zoo.save_pretrained(model, tmp_path / "smixer-cifar10", metrics={"top1": 50.0})
    monkeypatch.setattr(zoo.registry, "SHIPPED_WEIGHTS", tmp_path)
    monkeypatch.setattr(zoo.hub, "hub_folder", lambda *a, **k: pytest.fail("the Hub was tried"))
    loaded = zoo.load("smixer-cifar10").eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    assert loaded.metrics == {"top1": 50.0}
    assert zoo.load("smixer-cifar10", pretrained=False).init_args["embed_dim"] != 32  # random, full size


# --- publishing (zoo/publish.py, tools/hub.py) --------------------------------------------------------------------
SHIPPED = ROOT / "zoo" / "weights" / "smixer-fmnist-dstsp"  # an exported folder with a measured card


def _hub_tool():
    """tools/hub.py's command line as a module (its main runs in this process)."""
    from tasks.commands import hub

    return hub


class FakeHfApi:
    """huggingface_hub.HfApi with the network cut out: records the calls publish_folder makes."""

    calls: list = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs["repo_id"], kwargs))


@pytest.fixture()
def folder(tmp_path):
    import shutil

    return Path(shutil.copytree(SHIPPED, tmp_path / SHIPPED.name))


@pytest.fixture()
def fake_api(monkeypatch):
    import zoo.publish

    monkeypatch.setattr(zoo.publish, "HfApi", FakeHfApi)
    FakeHfApi.calls = []
    return FakeHfApi.calls


def test_publish_dry_run_checks_and_lists_the_files(folder, fake_api, capsys):
    checked = _hub_tool().main(["publish", str(folder), "me/smixer-fmnist-dstsp", "--dry-run"])
    out = capsys.readouterr().out
    assert checked.architecture == "smixer-fmnist-dstsp" and checked.tensors > 10 and fake_api == []
    assert "would upload to https://huggingface.co/me/smixer-fmnist-dstsp" in out
    for name in ("model.safetensors", "config.json", "README.md"):
        assert f"  {name}  {(folder / name).stat().st_size:,} bytes" in out


def test_publish_uploads_the_three_files(folder, fake_api):
    (folder / "notes.txt").write_text("not for the Hub")
    _hub_tool().main(["publish", str(folder), "me/smixer-fmnist-dstsp", "--private"])
    (create, repo, create_kw), (upload, repo2, upload_kw) = fake_api
    assert (create, repo, upload, repo2) == ("create_repo", "me/smixer-fmnist-dstsp", "upload_folder",
                                             "me/smixer-fmnist-dstsp")
    assert create_kw["private"] is True and create_kw["exist_ok"] is True and create_kw["repo_type"] == "model"
    assert Path(upload_kw["folder_path"]) == folder and upload_kw["repo_type"] == "model"
    assert upload_kw["allow_patterns"] == ["README.md", "config.json", "model.safetensors"]


def _edit_json(path, edit):
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def _truncate(path):
    path.write_bytes(path.read_bytes()[:200])


def _edit_card(old, new):
    def edit(path):
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
    return edit


@pytest.mark.parametrize("file, corrupt, match", [
    ("README.md", Path.unlink, r"lacks \['README.md'\]"),
    ("model.safetensors", _truncate, r"model.safetensors is not a readable safetensors file"),
    ("config.json", lambda p: _edit_json(p, lambda c: c["model_args"].update(embed_dim=32)),
     r"model.safetensors does not match smixer-fmnist-dstsp .* wrong shape \["),
    ("config.json", lambda p: _edit_json(p, lambda c: c.pop("metrics")), r"config.json records no metrics"),
    ("config.json", lambda p: _edit_json(p, lambda c: c["metrics"].update({"accuracy/top1": 99.0})),
     r"README.md: model-index states .* but config.json records"),
    ("README.md", _edit_card("license: apache-2.0\n", ""), r"front matter lacks \['license'\]"),
    ("README.md", _edit_card("- type: accuracy\n", "- type: top1\n  x: [\n"), r"front matter is not valid YAML"),
])
def test_publish_refuses_a_bad_folder_in_one_line(folder, fake_api, capsys, file, corrupt, match):
    from tasks.common.cli import run_command

    corrupt(folder / file)
    with pytest.raises(SystemExit) as exit_:
        run_command(_hub_tool().main, ["publish", str(folder), "me/smixer-fmnist-dstsp"])
    err = capsys.readouterr().err
    assert exit_.value.code == 1 and fake_api == []  # nothing was uploaded
    assert err.count("\n") == 1 and err.startswith("error: ") and re.search(match, err), err


def test_publish_refuses_a_bad_repo_id(folder, fake_api):
    from zoo.publish import publish_folder

    for repo_id in ("smixer-fmnist-dstsp", "me/bad name", "a/b/c"):
        with pytest.raises(ValueError, match="invalid Hub repo id"):
            publish_folder(folder, repo_id)
    assert fake_api == []


def test_folders_saved_before_the_one_spelling_of_pruning_still_load(tmp_path):
    """config.json files written before ``pruning`` became one argument held ``dstsp`` plus four explicit keywords
    (``None``: not given); they load into the same model, whose arguments then hold the one spelling."""
    torch.manual_seed(0)
    model = zoo.create("smixer-cifar10", embed_dim=32, depth=1, num_heads=4,
                       dstsp=dict(spatial_ratio=0.3, temporal_ratio=0.5, temporal_placement="IS")).eval()
    folder = zoo.save_pretrained(model, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    args = {k: v for k, v in config["model_args"].items() if k != "pruning"}
    config["model_args"] = dict(args, dstsp=dict(spatial_ratio=0.3, temporal_placement="IS", temporal_ratio=0.5),
                                pruning=None, placement=None, mixer_weight=None, stem_layer=None)
    (folder / "config.json").write_text(json.dumps(config))
    loaded = zoo.load(folder).eval()
    assert loaded.init_args == model.init_args and loaded.blocks.placement.in_stem
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
