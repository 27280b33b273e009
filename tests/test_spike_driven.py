"""Spike-driven I-LIF end to end: ``neuron=dict(type="ILIF", spike_driven=True)`` gives the integer form's outputs.

Every I-LIF then emits ``[T*D, ...]`` binary slots and every layer that consumes spikes applies its weights slot by
slot and sums the D slots of each step before its bias and BN (``zoo.layers.SlotLinear`` / ``SlotConv2d``,
``zoo.mixer.TokenMixing``, ``AttentionProduct``).
"""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.layers import LinearBN, SlotConv2d, SlotLinear, build_neuron
from zoo.mixer import AttentionProduct, TokenMixing
from zoo.neurons import ILIF, collapse_spike_slots, expand_integer_spikes
from zoo.ops import op_report

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples" / "cifar10"
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
D = 4


def cifar_images(count: int) -> torch.Tensor:
    """The first ``count`` sample PNGs (32 x 32 RGB), normalised with the CIFAR mean/std: ``[B, 3, 32, 32]``."""
    files = sorted(SAMPLES.glob("*.png"))[:count]
    assert len(files) == count, f"expected {count} sample images in {SAMPLES}"
    pixels = np.stack([np.asarray(Image.open(f).convert("RGB"), dtype=np.float64) / 255.0 for f in files])
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2)
    return (x - torch.tensor(CIFAR_MEAN).view(3, 1, 1)) / torch.tensor(CIFAR_STD).view(3, 1, 1)


def integer_and_spike_driven(**kwargs):
    """The integer-form CIFAR SMixer (BN statistics calibrated on the images) and its spike-driven twin, float64."""
    torch.manual_seed(0)
    integer = zoo.create("smixer-cifar10", **kwargs).double()
    spike_driven = zoo.create("smixer-cifar10", neuron=dict(type="ILIF", spike_driven=True), **kwargs).double()
    return integer, spike_driven


def logits_and_spikes(model: torch.nn.Module, x: torch.Tensor) -> tuple:
    """Logits ``[B, classes]`` and the outputs of every I-LIF of ``model``, in one forward pass."""
    outs = []
    handles = [m.register_forward_hook(lambda m, a, out: outs.append(out)) for m in model.modules()
               if isinstance(m, ILIF)]
    with torch.no_grad():
        logits = model(x)
    for h in handles:
        h.remove()
    return logits, outs


CASES = {
    "stm": dict(),
    "ssa": dict(mixer="ssa"),
    "stm-dstsp": dict(dstsp=dict(spatial_ratio=0.3, temporal_ratio=0.5)),
    "stm-dstsp-crop-in-stem": dict(dstsp=dict(spatial_ratio=0.3, temporal_ratio=0.5, mixer_weight="crop",
                                              temporal_placement="IS", stem_layer=1, spatial_siv="original")),
    "ssa-dstsp": dict(mixer="ssa", dstsp=dict(spatial_ratio=0.3, temporal_ratio=0.5)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_spike_driven_logits_equal_integer_form_on_real_images(case):
    x = cifar_images(4).double()
    integer, spike_driven = integer_and_spike_driven(**CASES[case])
    with torch.no_grad():  # calibrate BN on the images so that the neurons fire at realistic rates
        integer.train()(x)
    spike_driven.load_state_dict(integer.state_dict())
    expected, int_spikes = logits_and_spikes(integer.eval(), x)
    got, slot_spikes = logits_and_spikes(spike_driven.eval(), x)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)
    assert expected.std(0).min() > 0  # the logits depend on the image
    assert len(int_spikes) == len(slot_spikes) > 0
    for ints, slots in zip(int_spikes, slot_spikes):
        assert slots.shape[0] == D * ints.shape[0] and set(slots.unique().tolist()) <= {0.0, 1.0}
        assert torch.equal(collapse_spike_slots(slots, D), ints)
    assert any(s.max() > 1 for s in int_spikes)  # integer spikes above 1 occur, so the slots matter


def test_spike_driven_gradients_equal_integer_form():
    torch.manual_seed(0)
    x = torch.randn(3, 3, 32, 32, dtype=torch.float64)
    small = dict(embed_dim=32, depth=1, num_heads=4, dstsp=dict(spatial_ratio=0.25, temporal_ratio=0.5))
    for mixer in ("stm", "ssa"):
        integer, spike_driven = integer_and_spike_driven(mixer=mixer, **small)
        spike_driven.load_state_dict(integer.state_dict())
        grads = []
        for model in (integer, spike_driven):
            model.train().zero_grad()
            (model(x) ** 2).sum().backward()
            grads.append({n: p.grad for n, p in model.named_parameters() if p.grad is not None})
        assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 10
        for name in grads[0]:
            torch.testing.assert_close(grads[1][name], grads[0][name], rtol=1e-9, atol=1e-12, msg=name)


def test_slot_layers_apply_bias_once_after_the_slot_sum():
    torch.manual_seed(0)
    ints = torch.randint(0, D + 1, (3, 2, 5, 8)).double()  # [T, B, N, C] integer spikes
    slots = expand_integer_spikes(ints, D)  # [T*D, B, N, C]
    linear = SlotLinear(8, 6, slots=D).double()
    dense = torch.nn.Linear(8, 6).double()
    dense.load_state_dict(linear.state_dict())
    torch.testing.assert_close(linear(slots), dense(ints))
    images = ints.permute(0, 1, 3, 2).reshape(3, 2, 8, 5, 1).expand(3, 2, 8, 5, 4)  # [T, B, C, H, W]
    conv = SlotConv2d(8, 4, 3, padding=1, bias=True, slots=D).double()
    plain = torch.nn.Conv2d(8, 4, 3, padding=1, bias=True).double()
    plain.load_state_dict(conv.state_dict())
    expected = plain(images.flatten(0, 1)).unflatten(0, (3, 2))
    torch.testing.assert_close(conv(expand_integer_spikes(images.contiguous(), D)), expected)
    with pytest.raises(ValueError, match="slots"):
        LinearBN(8, 8, slots=0)


@pytest.mark.parametrize("mode", ["static", "crop"])
def test_token_mixing_with_slots_equals_integer_mixing(mode):
    torch.manual_seed(0)
    ints = torch.randint(0, D + 1, (2, 3, 6, 8)).double()
    index = torch.stack([torch.randperm(10)[:6] for _ in range(6)]).view(2, 3, 6)
    integer = TokenMixing(10, 2, mode, kept_tokens=6).double()
    slotted = TokenMixing(10, 2, mode, kept_tokens=6, slots=D).double()
    slotted.load_state_dict(integer.state_dict())
    torch.testing.assert_close(slotted(expand_integer_spikes(ints, D), index), integer(ints, index))


def test_attention_product_with_slots_equals_integer_product():
    torch.manual_seed(0)
    q, k, v = (torch.randint(0, D + 1, (2, 3, 2, 7, 4)).double() for _ in range(3))  # [T, B, h, N, d]
    expected = AttentionProduct(0.125)(q, k, v)
    got = AttentionProduct(0.125, slots=D)(*(expand_integer_spikes(t, D) for t in (q, k, v)))
    torch.testing.assert_close(got, expected)
    # the bilinear K^T V is the sum over all D x D slot pairs, not over D matched slots
    ks, vs = (expand_integer_spikes(t, D).unflatten(0, (2, D)) for t in (k, v))
    pairs = sum(ks[:, a].transpose(-1, -2) @ vs[:, b] for a in range(D) for b in range(D))
    torch.testing.assert_close(pairs, k.transpose(-1, -2) @ v)
    matched = sum(ks[:, a].transpose(-1, -2) @ vs[:, a] for a in range(D))
    assert not torch.equal(matched, pairs)


def test_op_report_counts_the_same_sops_and_energy_on_both_forms():
    x = cifar_images(2).double()
    integer, spike_driven = integer_and_spike_driven(embed_dim=64, depth=2, num_heads=4, mixer="ssa")
    spike_driven.load_state_dict(integer.state_dict())
    a, b = op_report(integer.eval(), x), op_report(spike_driven.eval(), x)
    assert [layer.name for layer in a.layers] == [layer.name for layer in b.layers]
    assert b.sops == pytest.approx(a.sops, rel=1e-9) and b.energy_mj == pytest.approx(a.energy_mj, rel=1e-9)
    assert b.macs > 2 * a.macs  # D binary slots per integer: D times the dense MACs


def test_neuron_options_are_checked_by_name():
    with pytest.raises(ValueError, match=r"neuron 'LIF' does not take \['spike_driven'\]"):
        zoo.create("stmixer-8-512", embed_dim=32, depth=1, neuron=dict(type="LIF", spike_driven=True))
    with pytest.raises(ValueError, match="does not take"):
        build_neuron(dict(type="ILIF", max_val=4))
