"""The analysis suite (research/analysis, tools/analyze.py): hand-made spike tensors, hand-computed RIE and
MS-SSIM values, spike perturbations, kept-token selection on real images, the commands end to end."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import zoo
from research.analysis import hooks, jitter, retention, siv, sparsity, tokens
from research.analysis.inputs import fashion_mnist, normalise, recording_frames
from research.analysis.models import accuracy, with_token_pruning

ROOT = Path(__file__).resolve().parents[1]
FMNIST = Path("/usr/share/datasets/fashion-mnist")
EVENTS = next((p for p in (ROOT.parent / "shared" / "data" / "events", Path("/work/shared/data/events"))
               if p.is_dir()), None)
needs_fmnist = pytest.mark.skipif(not FMNIST.is_dir(), reason="apt-get install -y dataset-fashion-mnist")
needs_events = pytest.mark.skipif(EVENTS is None, reason="no shared event recordings")


@pytest.fixture(scope="module")
def images():
    """8 real Fashion-MNIST test images, normalised for smixer-fmnist, and their labels."""
    if not FMNIST.is_dir():
        pytest.skip("apt-get install -y dataset-fashion-mnist")
    raw, labels = fashion_mnist("test", 8)
    return normalise(raw, zoo.get_pretrained_cfg("smixer-fmnist")), labels


def fmnist_model(**overrides):
    torch.manual_seed(0)
    return zoo.create("smixer-fmnist", **overrides).eval()


# ---------------------------------------------------------------------------------------------------------------
# SIV
# ---------------------------------------------------------------------------------------------------------------
def test_siv_of_a_hand_made_spike_tensor():
    spikes = torch.tensor([[[[1., 0], [1, 1], [0, 0]]], [[[0., 0], [1, 0], [0, 0]]]])  # [T=2, B=1, N=3, C=2]
    assert siv.token_siv(spikes).tolist() == [[[1, 2, 0]], [[0, 1, 0]]]
    assert siv.step_siv(spikes).tolist() == [[3], [1]]
    stem = torch.zeros(1, 1, 2, 2, 2)  # [T, B, C, H, W]: a pixel is a token, channels summed
    stem[0, 0, :, 1, 0] = 1
    assert siv.token_siv(stem).tolist() == [[[0, 0, 2, 0]]]


def test_gini_and_top_share_hand_values():
    values = torch.tensor([[0., 0, 0, 4], [1, 1, 1, 1], [1, 2, 3, 0]])
    g = siv.gini(values[:, :3].contiguous())
    assert math.isnan(g[0])  # no spikes: no distribution
    assert siv.gini(values[:2]).tolist() == pytest.approx([0.75, 0.0])  # one holds all of 4: 1 - 1/4
    assert float(siv.gini(torch.tensor([1., 2, 3]))) == pytest.approx(8 / 36)  # sum |xi - xj| / (2 n^2 mean)
    assert siv.top_share(torch.tensor([4., 3, 2, 1]), 0.3).item() == pytest.approx(0.7)  # ceil(1.2) = 2 of 4
    assert siv.top_share(torch.tensor([1., 1, 1, 1]), 0.5).item() == pytest.approx(0.5)
    numbers = siv.imbalance(torch.tensor([[[0., 0, 0, 4]], [[1, 1, 1, 1]]]), torch.tensor([[4.], [4.]]))
    assert numbers["token_gini"] == pytest.approx(0.375)
    assert numbers["silent_tokens"] == pytest.approx(3 / 8)
    assert numbers["top_step_share"] == pytest.approx(0.5) and numbers["step_gini"] == pytest.approx(0.0)


@needs_fmnist
def test_record_spikes_covers_every_neuron_and_collapses_slots(images):
    x, _ = images
    model = fmnist_model()
    with hooks.record_spikes(model) as spikes:
        model(x)
    names = [n for n, _ in hooks.spiking_layers(model)]
    assert list(spikes) == names and len(names) == 4 + 2 * 5  # 4 stem neurons, 5 per block
    assert spikes["blocks.0.mixer.sn_in"][0].shape == (2, 8, 49, 64)
    assert spikes["patch_embed.neurons.0"][0].shape == (2, 8, 8, 28, 28)
    driven = zoo.create("smixer-fmnist", neuron=dict(type="ILIF", spike_driven=True)).eval()
    driven.load_state_dict(model.state_dict())
    with hooks.record_spikes(driven, ["blocks.0.mixer.sn_in"]) as slot_spikes:
        driven(x)
    assert torch.equal(slot_spikes["blocks.0.mixer.sn_in"][0], spikes["blocks.0.mixer.sn_in"][0])
    with pytest.raises(KeyError, match="no spiking layer 'blocks.9'"):
        with hooks.record_spikes(model, ["blocks.9"]):
            pass


@needs_fmnist
def test_siv_analysis_numbers(images):
    x, _ = images
    result = siv.siv_analysis(fmnist_model(), x)
    point = result["layers"][siv.PRUNING_POINT]
    assert result["pruning_point"] == siv.PRUNING_POINT
    assert sum(result["histogram"]) == 2 * 8 * 49  # every token of every step and image
    assert 0 <= point["token_gini"] < 1 and point["top30_token_share"] >= 0.3 - 1e-9
    assert result["sorted_share"][siv.PRUNING_POINT][-1] == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------------------------
# RIE and MS-SSIM (appendix C)
# ---------------------------------------------------------------------------------------------------------------
def test_information_entropy_and_rie_hand_values():
    x = torch.tensor([1., 1, 0, 0, 0, 0, 0, 0])  # P(X=1) = 0.25
    xp = torch.tensor([1., 0, 0, 0, 0, 0, 0, 0])  # 0.125
    assert retention.information_entropy(x) == pytest.approx(0.8112781244591328)
    assert retention.information_entropy(xp) == pytest.approx(0.375 + 0.875 * math.log2(1 / 0.875))
    assert retention.rie(xp, x) == pytest.approx(0.5435644431995964 / 0.8112781244591328)
    assert retention.rie(x, x) == 1.0
    ilif = torch.tensor([4., 0, 0, 0])  # 4 of 16 binary slots fire: P(X=1) = 0.25
    assert retention.information_entropy(ilif, max_spike=4) == pytest.approx(0.8112781244591328)
    assert math.isnan(retention.rie(x, torch.zeros(8)))
    with pytest.raises(ValueError, match="0..1"):
        retention.information_entropy(torch.tensor([2., 2]))


def test_ms_ssim_single_scale_without_window_is_the_luminance_term():
    x = torch.tensor([[[[1., 0], [0, 1]]]], dtype=torch.float64)
    y = torch.tensor([[[[1., 0], [0, 0]]]], dtype=torch.float64)
    c1 = (0.01 * 1.0) ** 2  # a 1-tap window: no local variance, cs = C2 / C2 = 1, l = (2xy + C1) / (x^2 + y^2 + C1)
    expected = (1 + 1 + 1 + c1 / (1 + c1)) / 4
    assert retention.ms_ssim(x, y, 1.0, weights=(1.0,), win_size=1).item() == pytest.approx(expected)
    # two scales: cs = 1 at scale 1; scale 2 is the 2x2 mean, 0.5 vs 0.25
    l2 = (2 * 0.5 * 0.25 + c1) / (0.25 + 0.0625 + c1)
    assert retention.ms_ssim(x, y, 1.0, weights=(0.5, 0.5), win_size=1).item() == pytest.approx(l2 ** 0.5)


def test_ms_ssim_gaussian_window_hand_value():
    x = np.arange(9, dtype=np.float64).reshape(3, 3) / 8
    y = x ** 2
    g = np.exp(-np.array([-1.0, 0.0, 1.0]) ** 2 / (2 * 1.5 ** 2))
    w = np.outer(g, g) / np.outer(g, g).sum()  # the 3-tap window's one valid position covers the image
    mx, my = (w * x).sum(), (w * y).sum()
    vx, vy, cxy = (w * x * x).sum() - mx ** 2, (w * y * y).sum() - my ** 2, (w * x * y).sum() - mx * my
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    expected = (2 * mx * my + c1) / (mx ** 2 + my ** 2 + c1) * (2 * cxy + c2) / (vx + vy + c2)
    as_tensor = lambda a: torch.from_numpy(a).view(1, 1, 3, 3)  # noqa: E731
    got = retention.ms_ssim(as_tensor(x), as_tensor(y), 1.0, weights=(1.0,), win_size=3)
    assert got.item() == pytest.approx(expected, rel=1e-12)


def test_ms_ssim_standard_settings():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 161, 161, dtype=torch.float64)
    assert retention.min_side() == 161
    assert retention.ms_ssim(x, x, 1.0).tolist() == pytest.approx([1.0, 1.0])
    noisy = (x + 0.3 * torch.rand_like(x)).clamp(0, 1)
    assert 0 < retention.ms_ssim(x, noisy, 1.0).min() < 1
    with pytest.raises(ValueError, match="too small for 5 scales of a 11-tap window: the smaller side must be >= 161"):
        retention.ms_ssim(x[..., :160], x[..., :160], 1.0)


@needs_fmnist
def test_retention_of_lp_hp_rp(images):
    x, _ = images
    result = retention.retention(fmnist_model(depth=1), x, keeps=(0.5,))
    point = result["pruning_point"]
    assert point == "blocks.0.mixer.sn_in" and result["layers"][-1] == "blocks.0.mlp.sn_hidden"
    rie = {s: result["rie"][s]["0.5"][point] for s in ("LP", "HP", "RP")}
    assert 0 < rie["HP"] < rie["RP"] < rie["LP"] <= 1  # keeping the high-SIV tokens keeps the most spikes
    ssim = {s: result["ms_ssim"][s]["0.5"][point] for s in ("LP", "HP", "RP")}
    assert all(0 <= v <= 1 for v in ssim.values()) and ssim["LP"] > ssim["HP"]


# ---------------------------------------------------------------------------------------------------------------
# kept tokens
# ---------------------------------------------------------------------------------------------------------------
@needs_fmnist
@pytest.mark.parametrize("strategy", ["LP", "HP"])
def test_token_pruning_keeps_the_high_or_the_low_siv_tokens(images, strategy):
    x, _ = images
    model = fmnist_model()
    with hooks.record_spikes(model, ["blocks.0.mixer.sn_in"]) as spikes:
        model(x)
    token_siv = siv.token_siv(spikes["blocks.0.mixer.sn_in"][0])  # [T, B, N]
    pruned = with_token_pruning(model, 0.5, strategy)
    with hooks.record_kept(pruned) as kept:
        pruned(x)
    index = kept[0].token_index  # [T, B, N'] into the stem's N
    assert index.shape == (2, 8, 24)  # floor(49 * 0.5)
    kept_mask = torch.zeros_like(token_siv, dtype=torch.bool).scatter_(2, index, True)
    low_kept = token_siv.masked_fill(~kept_mask, float("inf")).amin(-1)
    high_pruned = token_siv.masked_fill(kept_mask, -float("inf")).amax(-1)
    if strategy == "LP":
        assert (low_kept >= high_pruned).all()
    else:
        assert (token_siv.masked_fill(~kept_mask, -float("inf")).amax(-1)
                <= token_siv.masked_fill(kept_mask, float("inf")).amin(-1)).all()
    assert with_token_pruning(model, 1.0, strategy) is model
    with pytest.raises(ValueError, match="already prunes tokens"):
        with_token_pruning(zoo.create("smixer-fmnist-dstsp"), 0.5, strategy)


@needs_fmnist
def test_kept_tokens_are_the_top_siv_tokens_of_the_top_siv_steps(images):
    x, _ = images
    result = tokens.kept_tokens(fmnist_model(time_steps=4), x[:3], spatial_ratio=0.3, temporal_ratio=0.5)
    for b in range(3):
        siv_tb = torch.tensor(result["token_siv"][b])  # [T, N]
        steps = result["kept_steps"][b]
        assert len(steps) == 2 and steps == sorted(steps)
        assert siv_tb[steps].sum(1).min() >= max(siv_tb[t].sum() for t in range(4) if t not in steps)
        for i, t in enumerate(steps):
            kept = result["kept_tokens"][b][i]
            assert len(kept) == 34  # floor(49 * 0.7)
            rest = [n for n in range(49) if n not in kept]
            assert siv_tb[t, kept].min() >= siv_tb[t, rest].max()
        assert 0.3 < result["kept_spike_share"][b] <= 1


# ---------------------------------------------------------------------------------------------------------------
# spike-timing errors
# ---------------------------------------------------------------------------------------------------------------
def test_perturbations_at_probability_one_are_exact():
    s = torch.tensor([[2., 0, 1], [0, 3, 1]])  # [T=2, 3 neurons]
    assert jitter.jitter_spikes(s, 1.0).tolist() == [[0, 3, 1], [2, 0, 1]]  # two steps: every spike swaps
    assert jitter.delay_spikes(s, 1.0).tolist() == [[0, 0, 0], [2, 0, 1]]  # the last step's spikes are lost
    assert jitter.drop_spikes(s, 1.0).tolist() == [[0, 0, 0], [0, 0, 0]]
    for perturb in jitter.PERTURBATIONS.values():
        assert torch.equal(perturb(s, 0.0), s)
    assert torch.equal(jitter.jitter_spikes(s[:1], 1.0), s[:1])  # one step: no neighbour
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        jitter.drop_spikes(s, 1.5)


def test_perturbations_conserve_or_lose_spikes_as_specified():
    gen = torch.Generator().manual_seed(0)
    s = torch.randint(0, 5, (4, 1000)).float()  # I-LIF integer spikes, T = 4
    jittered = jitter.jitter_spikes(s, 0.3, gen)
    assert torch.equal(jittered.sum(0), s.sum(0)) and not torch.equal(jittered, s)  # counts per neuron conserved
    middle = torch.zeros(3, 10000)
    middle[1] = 4  # 40,000 spikes at the middle step: the moved ones land on both sides about equally
    spread = jitter.jitter_spikes(middle, 0.3, gen)
    assert float(spread[[0, 2]].sum() / middle.sum()) == pytest.approx(0.3, abs=0.03)
    assert float(spread[0].sum() / spread[2].sum()) == pytest.approx(1.0, abs=0.1)
    delayed = jitter.delay_spikes(s, 0.3, gen)
    assert (delayed.sum(0) <= s.sum(0)).all() and (delayed[0] <= s[0]).all()
    assert float(delayed.sum()) == pytest.approx(float(s.sum() - 0.3 * s[-1].sum()), rel=0.1)
    dropped = jitter.drop_spikes(s, 0.3, gen)
    assert (dropped <= s).all() and (dropped >= 0).all()
    assert float(dropped.sum() / s.sum()) == pytest.approx(0.7, abs=0.03)


@needs_fmnist
def test_perturbed_models_keep_or_change_their_outputs(images):
    x, labels = images
    model = fmnist_model(time_steps=4)
    clean = model(x)
    with hooks.rewrite_spikes(model, lambda _n, s: jitter.jitter_spikes(s, 0.0)):
        assert torch.equal(model(x), clean)
    gen = torch.Generator().manual_seed(0)
    with hooks.rewrite_spikes(model, lambda _n, s: jitter.jitter_spikes(s, 0.5, gen)):
        with hooks.record_spikes(model, ["blocks.0.mixer.sn_in"]) as seen:
            perturbed = model(x)
    assert not torch.allclose(perturbed, clean)
    assert seen["blocks.0.mixer.sn_in"][0].max() <= 4 * 3  # a step may receive its neighbours' spikes
    assert torch.equal(model(x), clean)  # the hooks are gone
    result = jitter.jitter_sweep({"m": model}, x, labels, kinds=("drop",), strengths=(0.0, 1.0))
    assert result["accuracy"]["m"]["drop"]["0.0"] == accuracy(model, x, labels)


# ---------------------------------------------------------------------------------------------------------------
# sparsity, inputs, the command
# ---------------------------------------------------------------------------------------------------------------
@needs_fmnist
def test_sparsity_counts_the_pruned_token_steps(images):
    x, labels = images
    torch.manual_seed(0)
    rows = sparsity.model_sparsity({"dense": fmnist_model(), "dstsp": zoo.create("smixer-fmnist-dstsp").eval()},
                                   x, labels, energy_batch=4)
    assert rows["dense"]["token_sparsity"] == 0.0
    assert rows["dstsp"]["token_sparsity"] == pytest.approx(1 - 34 / (2 * 49))  # T 2 -> 1, N 49 -> 34
    assert rows["dstsp"]["layers"]["blocks.0.mixer.sn_in"]["steps"] == 1
    layer = rows["dense"]["layers"]["blocks.0.mixer.sn_in"]
    assert 0 <= layer["firing_rate"] <= 1 and 0 <= layer["silent"] <= 1 and layer["steps"] == 2


@needs_events
def test_event_recording_frames():
    frames = recording_frames(EVENTS / "davis346.aedat4", 4, 48)
    assert frames.shape == (4, 2, 48, 48) and frames.dtype == torch.float32
    counts = frames.sum((1, 2, 3))
    assert counts.min() > 0 and counts.max() - counts.min() <= 1  # equal event counts per frame
    with pytest.raises(FileNotFoundError, match="event recording not found"):
        recording_frames(EVENTS / "missing.raw", 4, 48)


def _analyze(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "tools/analyze.py", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))


@needs_fmnist
def test_command_writes_json_and_figure(tmp_path):
    proc = _analyze("high-low", "--model", "smixer-fmnist", "--num-images", "8", "--keeps", "0.5", "--strategies",
                    "LP", "HP", "--out-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((tmp_path / "high-low.json").read_text())
    assert record["analysis"] == "high-low" and record["inputs"]["images"] == 8
    assert set(record["result"]["accuracy"]) == {"LP", "HP"}
    assert record["models"]["smixer-fmnist"]["source"] == "random"
    assert record["command"].startswith("python tools/analyze.py high-low")
    assert (tmp_path / "high-low.png").stat().st_size > 0


@needs_events
def test_command_errors_are_one_line(tmp_path):
    for argv, message in [
            (["siv", "--model", "smixer-fmnist", "--events", str(EVENTS / "evt2.raw")], "takes 1-channel input"),
            (["siv", "--checkpoint", str(tmp_path / "none")], "is not a folder"),
            (["siv", "--model", "smixer-fmnist", "--num-images", "0"], "--num-images must be >= 1")]:
        proc = _analyze(*argv, "--out-dir", str(tmp_path))
        assert proc.returncode == 1
        err = proc.stderr
        assert err.startswith("error: ") and message in err and err.count("\n") == 1
