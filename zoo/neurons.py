"""Multi-step spiking neurons: LIF (STMixer constants) and I-LIF (SpikeYOLO integer-valued training).

Every neuron here is *multi-step*: it takes the whole sequence ``[T, ...]`` (time first) and returns the
spike sequence of the same shape. Membrane state lives only inside one call, so there is no state to reset
between batches and no ``reset_net`` to forget.

Both neurons are hand-written :class:`torch.autograd.Function` s: the forward loop runs without building an
autograd graph and the backward pass is the exact BPTT recursion, so only the membrane potential before
firing (one tensor of the input's size) is saved for backward.
"""
from __future__ import annotations

import math
from typing import Callable, Dict, Optional, Tuple

import torch
from torch import Tensor, nn

__all__ = [
    "SURROGATES",
    "LIF",
    "ILIF",
    "lif_multistep",
    "ilif_multistep",
    "expand_integer_spikes",
    "collapse_spike_slots",
    "spike_slots",
]


# --------------------------------------------------------------------------------------------------------------
# Surrogate gradients: d spike / d u for u = h - threshold. Forward is always the Heaviside step H(u) = [u >= 0].
# Each function may overwrite ``u`` (the caller passes a fresh tensor): this saves full-size temporaries.
# --------------------------------------------------------------------------------------------------------------
def _dspike_grad(u: Tensor, gamma: float) -> Tensor:
    """Dspike (STMixer): ``gamma * (1 - tanh(gamma*u)^2) / (2*tanh(gamma))`` for ``|u| <= 1``, else 0."""
    inside = u.abs().le_(1.0)
    g = u.mul_(gamma).tanh_().square_().sub_(1.0).mul_(-gamma / (2.0 * math.tanh(gamma)))
    return g.mul_(inside)


def _sigmoid_grad(u: Tensor, alpha: float) -> Tensor:
    """SpikingJelly ``surrogate.Sigmoid``: ``alpha * sig(alpha*u) * (1 - sig(alpha*u))``."""
    s = u.mul_(alpha).sigmoid_()
    return torch.addcmul(s, s, s, value=-1.0).mul_(alpha)


def _atan_grad(u: Tensor, alpha: float) -> Tensor:
    """SpikingJelly ``surrogate.ATan``: ``alpha / 2 / (1 + (pi/2 * alpha * u)^2)``."""
    return u.mul_(math.pi / 2.0 * alpha).square_().add_(1.0).reciprocal_().mul_(alpha / 2.0)


SURROGATES: Dict[str, Tuple[Callable[[Tensor, float], Tensor], float]] = {
    "dspike": (_dspike_grad, 2.5),
    "sigmoid": (_sigmoid_grad, 4.0),
    "atan": (_atan_grad, 2.0),
}


def _surrogate(name: str, alpha: float | None) -> Tuple[Callable[[Tensor, float], Tensor], float]:
    if name not in SURROGATES:
        raise ValueError(f"unknown surrogate {name!r}; choose one of {sorted(SURROGATES)}")
    fn, default = SURROGATES[name]
    return fn, default if alpha is None else float(alpha)


def _check_sequence(x: Tensor, who: str) -> None:
    if x.dim() < 2:
        raise ValueError(f"{who} expects a time-first sequence [T, ...] with at least 2 dims, "
                         f"got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{who} expects a floating-point input, got {x.dtype}")


# --------------------------------------------------------------------------------------------------------------
# LIF
# --------------------------------------------------------------------------------------------------------------
class _LIFFunction(torch.autograd.Function):
    """h_t = decay * v_{t-1} + x_t;  s_t = H(h_t - vth);  v_t = h_t - (h_t - v_reset) * s_t.

    Only the sequential part runs in the time loop (three fused element-wise ops per step forward, one
    ``addcmul`` per step backward); surrogate gradients are computed for all steps at once. Comparisons write
    straight into float buffers (``torch.ge(..., out=float)``), which on CPU is several times faster than
    building a bool mask and casting it.
    """

    @staticmethod
    def forward(ctx, x: Tensor, decay: float, vth: float, v_reset: float, surrogate: str, alpha: float,
                detach_reset: bool) -> Tensor:
        h_seq = torch.empty_like(x)
        spikes = torch.empty_like(x)
        v = torch.full_like(x[0], v_reset)
        for t in range(x.shape[0]):
            h = torch.add(x[t], v, alpha=decay, out=h_seq[t])
            s = torch.ge(h, vth, out=spikes[t])
            v = torch.addcmul(h, h if v_reset == 0.0 else h - v_reset, s, value=-1.0)
        ctx.save_for_backward(h_seq)
        ctx.cfg = (decay, vth, v_reset, surrogate, alpha, detach_reset)
        return spikes

    @staticmethod
    def backward(ctx, grad_spikes: Tensor):
        (h_seq,) = ctx.saved_tensors
        decay, vth, v_reset, surrogate, alpha, detach_reset = ctx.cfg
        sg = SURROGATES[surrogate][0](h_seq - vth, alpha)
        dv_dh = torch.lt(h_seq, vth, out=torch.empty_like(h_seq))  # d v_t / d h_t through "no spike"
        if not detach_reset:  # ... and through the reset: (v_reset - h_t) * d s_t / d h_t
            dv_dh.addcmul_(h_seq, sg, value=-1.0)
            if v_reset != 0.0:
                dv_dh.add_(sg, alpha=v_reset)
        carry = dv_dh.mul_(decay)  # d h_{t+1} / d h_t
        grad_h = grad_spikes * sg  # direct term; the recursion below adds the membrane path in place
        for t in range(h_seq.shape[0] - 2, -1, -1):
            grad_h[t].addcmul_(grad_h[t + 1], carry[t])
        return grad_h, None, None, None, None, None, None


def lif_multistep(x: Tensor, decay: float = 0.5, v_threshold: float = 1.0, v_reset: float = 0.0,
                  surrogate: str = "dspike", alpha: float | None = None, detach_reset: bool = False) -> Tensor:
    """Functional multi-step LIF. ``x``: ``[T, ...]`` real input current -> ``[T, ...]`` spikes in {0, 1}."""
    _check_sequence(x, "lif_multistep")
    _, a = _surrogate(surrogate, alpha)
    return _LIFFunction.apply(x, float(decay), float(v_threshold), float(v_reset), surrogate, a, bool(detach_reset))


class LIF(nn.Module):
    """Multi-step leaky integrate-and-fire neuron with hard reset.

    Defaults are the STMixer constants: ``mem = 0.5 * mem + x_t``, fire when ``mem >= 1``, hard reset to 0
    (reset kept in the graph), Dspike surrogate with gamma 2.5. With ``decay = 1 - 1/tau`` it is SpikingJelly's
    ``LIFNode(tau, decay_input=False, v_reset=0.)``.

    Shapes: input ``[T, *]`` -> spikes ``[T, *]``.
    """

    def __init__(self, decay: float = 0.5, v_threshold: float = 1.0, v_reset: float = 0.0,
                 surrogate: str = "dspike", alpha: float | None = None, detach_reset: bool = False) -> None:
        super().__init__()
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"LIF decay must be in [0, 1], got {decay}")
        _, a = _surrogate(surrogate, alpha)
        self.decay, self.v_threshold, self.v_reset = float(decay), float(v_threshold), float(v_reset)
        self.surrogate, self.alpha, self.detach_reset = surrogate, a, bool(detach_reset)

    def forward(self, x: Tensor) -> Tensor:
        _check_sequence(x, type(self).__name__)
        return _LIFFunction.apply(x, self.decay, self.v_threshold, self.v_reset, self.surrogate, self.alpha,
                                  self.detach_reset)

    def extra_repr(self) -> str:
        return (f"decay={self.decay}, v_threshold={self.v_threshold}, v_reset={self.v_reset}, "
                f"surrogate={self.surrogate}({self.alpha}), detach_reset={self.detach_reset}")


# --------------------------------------------------------------------------------------------------------------
# I-LIF
# --------------------------------------------------------------------------------------------------------------
def _ilif_steps(x: Tensor, decay: float, max_value: int, inside: Optional[Tensor] = None) -> Tensor:
    """The I-LIF recursion over ``x`` ``[T, *]`` -> integer spikes ``[T, *]``; ``inside`` (a bool ``[T, *]``
    buffer, for the gradient) receives where ``0 <= mem <= D``. Works in place on one membrane buffer."""
    spikes = torch.empty_like(x)
    mem = x[0].clone()
    for t in range(x.shape[0]):
        if t:
            mem.sub_(spikes[t - 1]).mul_(decay).add_(x[t])
        clamped = torch.clamp(mem, 0, max_value, out=spikes[t])
        if inside is not None:
            torch.eq(clamped, mem, out=inside[t])  # unchanged by the clamp: 0 <= mem <= D (NaN: outside)
        clamped.round_()
    return spikes


class _ILIFFunction(torch.autograd.Function):
    """mem_t = (mem_{t-1} - s_{t-1}) * decay + x_t;  s_t = round(clamp(mem_t, 0, D)).

    The soft reset by the emitted integer is detached; the straight-through gradient passes where 0 <= mem <= D.
    """

    @staticmethod
    def forward(ctx, x: Tensor, decay: float, max_value: int) -> Tensor:
        inside = torch.empty_like(x, dtype=torch.bool)
        spikes = _ilif_steps(x, decay, max_value, inside)
        ctx.save_for_backward(inside)
        ctx.decay = decay
        return spikes

    @staticmethod
    def backward(ctx, grad_spikes: Tensor):
        (inside,) = ctx.saved_tensors
        grad_x = torch.empty_like(grad_spikes)
        grad_mem = torch.zeros_like(grad_spikes[0])
        for t in range(grad_spikes.shape[0] - 1, -1, -1):
            grad_mem = grad_spikes[t] * inside[t] + grad_mem * ctx.decay
            grad_x[t] = grad_mem
        return grad_x, None, None


def ilif_multistep(x: Tensor, max_value: int = 4, decay: float = 0.25) -> Tensor:
    """Functional multi-step I-LIF: ``[T, ...]`` -> integer-valued spikes in {0, ..., D} (D = ``max_value``).
    Without a gradient to compute (``no_grad``, or an input that does not require one) the straight-through mask
    is not built."""
    _check_sequence(x, "ilif_multistep")
    return _ilif(x, float(decay), int(max_value))


def _ilif(x: Tensor, decay: float, max_value: int) -> Tensor:
    """I-LIF through the autograd function when a gradient will be needed, else the bare recursion."""
    if torch.is_grad_enabled() and x.requires_grad:
        return _ILIFFunction.apply(x, decay, max_value)
    return _ilif_steps(x, decay, max_value)


class ILIF(nn.Module):
    """Integer leaky integrate-and-fire neuron (SpikeYOLO), D = ``max_value`` = 4, decay 0.25.

    Training emits integers in ``{0..D}`` (one "integer spike" per step). The same activations can be emitted as
    D binary slots per step (:func:`expand_integer_spikes`), which is the spike-driven form: any linear layer
    applied slot by slot and summed back (:func:`collapse_spike_slots`) gives the same result. The zoo's layers
    that consume spikes (``zoo.layers.SlotLinear``, ``SlotConv2d``, ``zoo.mixer.TokenMixing``,
    ``AttentionProduct``) do that when built with this neuron's :attr:`slots`, so a whole model built with
    ``neuron=dict(type='ILIF', spike_driven=True)`` gives the integer form's outputs and gradients.

    Shapes: input ``[T, *]`` -> ``[T, *]`` integers, or ``[T*D, *]`` binary spikes when ``spike_driven=True``.
    """

    def __init__(self, max_value: int = 4, decay: float = 0.25, spike_driven: bool = False) -> None:
        super().__init__()
        if int(max_value) < 1:
            raise ValueError(f"I-LIF max_value D must be >= 1, got {max_value}")
        self.max_value, self.decay, self.spike_driven = int(max_value), float(decay), bool(spike_driven)

    def forward(self, x: Tensor) -> Tensor:
        _check_sequence(x, type(self).__name__)
        s = _ilif(x, self.decay, self.max_value)
        return expand_integer_spikes(s, self.max_value) if self.spike_driven else s

    @property
    def slots(self) -> int:
        """Binary slots per time step of the output: D when spike-driven, else 1 (one integer per step)."""
        return self.max_value if self.spike_driven else 1

    def extra_repr(self) -> str:
        return f"max_value={self.max_value}, decay={self.decay}, spike_driven={self.spike_driven}"


def spike_slots(neuron: nn.Module) -> int:
    """How many binary slots per time step ``neuron`` emits (1 for LIF and integer I-LIF, D for spike-driven)."""
    return int(getattr(neuron, "slots", 1))


def expand_integer_spikes(s: Tensor, max_value: int) -> Tensor:
    """Integer spikes ``[T, *]`` in {0..D} -> binary spikes ``[T*D, *]``: slot k of step t fires iff ``s_t > k``.

    Backward: each slot passes ``1/D`` of its gradient to ``s_t`` (straight through; the forward values are
    unchanged). A consumer that sums the D slots (:func:`collapse_spike_slots`) sends the same gradient to every
    slot, so ``s_t`` receives exactly the gradient of the integer form.
    """
    if s.numel() and (s.min() < 0 or s.max() > max_value or not torch.equal(s, s.round())):
        raise ValueError(f"expand_integer_spikes needs integers in [0, {max_value}]")
    slots = torch.arange(max_value, device=s.device, dtype=s.dtype).view(1, max_value, *([1] * (s.dim() - 1)))
    s = s.unsqueeze(1)
    binary = (s > slots).to(s.dtype)  # [T, D, *]
    if s.requires_grad:
        binary = binary + (s - s.detach()) / max_value
    return binary.flatten(0, 1)


def collapse_spike_slots(y: Tensor, max_value: int) -> Tensor:
    """Sum the D slot outputs of each step: ``[T*D, *]`` -> ``[T, *]`` (inverse of the slot expansion)."""
    if y.shape[0] % max_value:
        raise ValueError(f"leading dim {y.shape[0]} is not a multiple of D = {max_value}")
    return y.unflatten(0, (y.shape[0] // max_value, max_value)).sum(1)
