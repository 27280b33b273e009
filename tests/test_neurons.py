import math

import pytest
import torch
from torch import nn

from zoo.neurons import (ILIF, LIF, SURROGATES, collapse_spike_slots, expand_integer_spikes, ilif_multistep,
                         lif_multistep, spike_slots)


class _Heaviside(torch.autograd.Function):
    """Reference spike function: Heaviside forward, surrogate backward (plain autograd, for comparison)."""

    @staticmethod
    def forward(ctx, u, name, alpha):
        ctx.save_for_backward(u)
        ctx.name, ctx.alpha = name, alpha
        return (u >= 0).to(u.dtype)

    @staticmethod
    def backward(ctx, g):
        (u,) = ctx.saved_tensors
        return g * SURROGATES[ctx.name][0](u.clone(), ctx.alpha), None, None


def reference_lif(x, decay=0.5, vth=1.0, v_reset=0.0, surrogate="dspike", detach_reset=False):
    alpha = SURROGATES[surrogate][1]
    v = torch.full_like(x[0], v_reset)
    out = []
    for t in range(x.shape[0]):
        h = decay * v + x[t]
        s = _Heaviside.apply(h - vth, surrogate, alpha)
        r = s.detach() if detach_reset else s
        v = h * (1 - r) + v_reset * r
        out.append(s)
    return torch.stack(out)


@pytest.mark.parametrize("surrogate", sorted(SURROGATES))
@pytest.mark.parametrize("detach_reset", [False, True])
@pytest.mark.parametrize("v_reset", [0.0, -0.2])
def test_lif_matches_autograd_reference(surrogate, detach_reset, v_reset):
    torch.manual_seed(0)
    x = torch.randn(6, 3, 17) * 1.5
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    s1 = lif_multistep(x1, 0.5, 1.0, v_reset, surrogate, None, detach_reset)
    s2 = reference_lif(x2, 0.5, 1.0, v_reset, surrogate, detach_reset)
    assert torch.equal(s1, s2)
    assert set(s1.unique().tolist()) == {0.0, 1.0}
    g = torch.randn_like(s1)
    (s1 * g).sum().backward()
    (s2 * g).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, atol=1e-5, rtol=1e-5)  # gradients reach 3-4: 1e-6 is ~2 float32 steps
    assert x1.grad.abs().sum() > 0


def test_lif_hand_computed_sequence():
    # mem: 0.6 -> 0.3+0.6=0.9 -> 0.45+0.6=1.05 fires, reset -> 0.6 ...
    x = torch.full((4, 1), 0.6)
    assert LIF()(x).flatten().tolist() == [0.0, 0.0, 1.0, 0.0]
    assert LIF(v_threshold=0.5)(x).flatten().tolist() == [1.0, 1.0, 1.0, 1.0]


def test_dspike_surrogate_formula():
    u = torch.linspace(-1.5, 1.5, 31)
    gamma = 2.5
    expected = gamma * (1 - torch.tanh(gamma * u) ** 2) / (2 * math.tanh(gamma)) * (u.abs() <= 1)
    torch.testing.assert_close(SURROGATES["dspike"][0](u.clone(), gamma), expected)


@pytest.mark.parametrize("name,alpha", [("sigmoid", 4.0), ("atan", 2.0)])
@pytest.mark.parametrize("detach_reset", [False, True])
def test_lif_agrees_with_spikingjelly(name, alpha, detach_reset):
    sj_neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    from spikingjelly.activation_based import surrogate

    torch.manual_seed(1)
    x = torch.randn(8, 4, 32) * 1.5
    ours_x, sj_x = x.clone().requires_grad_(), x.clone().requires_grad_()
    sj_fn = surrogate.Sigmoid(alpha=alpha) if name == "sigmoid" else surrogate.ATan(alpha=alpha)
    sj = sj_neuron.LIFNode(tau=2.0, decay_input=False, v_reset=0.0, surrogate_function=sj_fn,
                           detach_reset=detach_reset, step_mode="m")
    ours = LIF(decay=0.5, surrogate=name, alpha=alpha, detach_reset=detach_reset)
    s1, s2 = ours(ours_x), sj(sj_x)
    assert torch.equal(s1, s2)
    g = torch.randn_like(s1)
    s1.backward(g)
    s2.backward(g)
    torch.testing.assert_close(ours_x.grad, sj_x.grad, atol=1e-5, rtol=1e-5)  # worst seed 65x inside


def test_lif_input_errors():
    with pytest.raises(ValueError, match=r"\[T, \.\.\.\]"):
        LIF()(torch.zeros(5))
    with pytest.raises(TypeError, match="floating"):
        LIF()(torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="unknown surrogate"):
        LIF(surrogate="relu")
    with pytest.raises(ValueError, match="decay"):
        LIF(decay=1.5)


def test_lif_is_stateless_between_calls():
    x = torch.randn(4, 2, 8)
    neuron = LIF()
    assert torch.equal(neuron(x), neuron(x))


def test_ilif_forward_and_straight_through_gradient():
    x = torch.tensor([[2.6], [0.5], [-1.0], [7.0]])
    # mem: 2.6 -> s=3; (2.6-3)*0.25+0.5=0.4 -> 0; (0.4-0)*0.25-1=-0.9 -> 0; -0.225+7=6.775 -> 4
    s = ilif_multistep(x, 4)
    assert s.flatten().tolist() == [3.0, 0.0, 0.0, 4.0]
    xr = x.clone().requires_grad_()
    ilif_multistep(xr, 4).sum().backward()
    # inside [0, D]: steps 0, 1; outside: step 2 (mem < 0), step 3 (mem > 4).
    # grad_mem_t = 1[inside_t] + 0.25 * grad_mem_{t+1}: t3 = 0, t2 = 0, t1 = 1, t0 = 1 + 0.25
    assert xr.grad.flatten().tolist() == [1.25, 1.0, 0.0, 0.0]


def test_ilif_integer_range():
    s = ILIF(max_value=4)(torch.randn(5, 3, 7) * 4)
    assert torch.equal(s, s.round()) and s.min() >= 0 and s.max() <= 4


def test_spike_driven_form_gives_same_downstream_result():
    torch.manual_seed(0)
    x = torch.randn(3, 2, 4, 9, 9) * 3  # [T, B, C, H, W]
    ints = ILIF()(x)
    binary = ILIF(spike_driven=True)(x)  # [T*D, B, C, H, W]
    assert binary.shape == (12, 2, 4, 9, 9) and set(binary.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(collapse_spike_slots(binary, 4), ints)
    conv = nn.Conv2d(4, 5, 3, padding=1, bias=False)
    linear = nn.Linear(9, 6, bias=False)
    integer_path = conv(ints.flatten(0, 1)).view(3, 2, 5, 9, 9)
    spike_path = collapse_spike_slots(conv(binary.flatten(0, 1)).view(12, 2, 5, 9, 9), 4)
    torch.testing.assert_close(spike_path, integer_path, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(collapse_spike_slots(linear(binary), 4), linear(ints), atol=1e-5, rtol=1e-5)


def test_spike_driven_gradient_equals_integer_form_through_a_summing_consumer():
    torch.manual_seed(0)
    x = torch.randn(3, 2, 9) * 3
    linear = nn.Linear(9, 5, bias=False)
    g = torch.randn(3, 2, 5)
    xi, xs = x.clone().requires_grad_(), x.clone().requires_grad_()
    (linear(ILIF()(xi)) * g).sum().backward()
    binary = ILIF(spike_driven=True)(xs)
    assert set(binary.unique().tolist()) <= {0.0, 1.0}  # the straight-through term leaves the values binary
    (collapse_spike_slots(linear(binary), 4) * g).sum().backward()
    torch.testing.assert_close(xs.grad, xi.grad)
    assert xi.grad.abs().sum() > 0
    assert spike_slots(ILIF(spike_driven=True)) == 4 and spike_slots(ILIF(max_value=2)) == 1
    assert spike_slots(LIF()) == 1


def test_expand_rejects_non_integers():
    with pytest.raises(ValueError, match="integers"):
        expand_integer_spikes(torch.tensor([[0.5]]), 4)
    with pytest.raises(ValueError, match="multiple"):
        collapse_spike_slots(torch.zeros(5, 2), 4)


def test_one_neuron_config_convention():
    """``dict(type=..., **options)`` everywhere; a bare name is that neuron with its defaults (case-insensitive)."""
    from zoo.layers import build_neuron, neuron_cfg

    assert neuron_cfg("ilif") == dict(type="ILIF") and neuron_cfg(dict(type="lif", decay=0.25)) == dict(type="LIF",
                                                                                                      decay=0.25)
    given = dict(type="ILIF", max_value=2)
    neuron = build_neuron(given)
    assert isinstance(neuron, ILIF) and neuron.max_value == 2 and given == dict(type="ILIF", max_value=2)  # not mutated
    assert isinstance(build_neuron("LIF"), LIF)
    with pytest.raises(ValueError, match=r"has no type: use dict\(type="):
        neuron_cfg(dict(decay=0.5))
    with pytest.raises(TypeError, match="neuron must be dict"):
        neuron_cfg(0.5)
    with pytest.raises(ValueError, match=r"neuron 'ILIF' does not take \['threshold'\]"):
        build_neuron(dict(type="ILIF", threshold=1.0))
