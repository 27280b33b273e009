"""Spiking-token Mixer, Spikformer self-attention, spiking MLP and the encoder block (paper §3.1, Eq. 1-3).

All modules work on the real-valued residual stream ``[T, B, N, C]``; every branch starts with a spiking
neuron, so every linear layer inside a branch sees spikes. Blocks take the pruner's token index
``[T, B, N']`` (or ``None``) so that the token mixer can use the right ``W_M'``; this module knows nothing of
pruning otherwise (the pruned encoder, :mod:`zoo.encoder`, sizes and runs the blocks).

Spike-driven I-LIF (``neuron=dict(type='ILIF', spike_driven=True)``): each neuron emits ``[T*D, ...]`` binary slots and
the layer that consumes them is built with ``slots = D``: it applies its weights slot by slot and sums the D
slots of each step right after the weight product (bias and BN after the sum), so every branch returns the
integer form's ``[T, ...]`` result.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from .layers import LinearBN, NeuronCfg, build_neuron, neuron_cfg
from .neurons import collapse_spike_slots, spike_slots

__all__ = ["TokenMixing", "AttentionProduct", "SpikingTokenMixer", "SpikingSelfAttention", "SpikingMLP",
           "EncoderBlock", "WEIGHT_MODES"]

WEIGHT_MODES = ("static", "random", "crop")  # the W_M' strategies under spatial pruning (a model's mixer_weight)


class TokenMixing(nn.Module):
    """Per-head learnable N x N token-mixing matrix ``W_M`` (Eq. 3), shared over time steps and samples.

    Channels are split into ``num_heads`` contiguous groups; head h mixes its channels' tokens with ``W[h]``
    (``y[m] = sum_n W[h, m, n] x[n]``), all heads in one batched contraction.

    ``weight_mode`` (the paper's W_M' strategies under spatial pruning, §3.3; a model's ``mixer_weight``):
    - ``static``: the parameter is ``[h, N', N']`` for ``N' = kept_tokens`` and is applied to the kept tokens as
      they come (by rank or raster order, see ``DSTSPConfig.order``). This is what makes "+DSTSP" models smaller.
    - ``random``: full ``[h, N, N]``; in training a random set of N' shared row/column indices per call; at
      inference the full matrix, cropped at the kept tokens' positions when tokens are pruned.
    - ``crop``: full ``[h, N, N]`` cropped at the kept tokens' positions, per sample and step:
      ``y = (W @ scatter(x))[kept]``, which equals ``W[kept][:, kept] @ x`` because pruned positions carry zeros.

    Shapes: ``x`` ``[T, B, N_in, C]``, ``token_index`` ``[T, B, N_in]`` or ``None`` -> ``[T, B, N_in, C]``. With
    ``slots = D`` (spike-driven I-LIF input) ``x`` is ``[T*D, B, N_in, C]``: every slot is mixed with the same
    weights (and the same token index) and the D slots of each step are summed to ``[T, B, N_in, C]``.
    """

    def __init__(self, num_tokens: int, num_heads: int, weight_mode: str = "static",
                 kept_tokens: Optional[int] = None, slots: int = 1) -> None:
        super().__init__()
        if weight_mode not in WEIGHT_MODES:
            raise ValueError(f"mixer_weight (the W_M' mode) must be one of {WEIGHT_MODES}, got {weight_mode!r}")
        self.num_tokens, self.num_heads, self.weight_mode, self.slots = num_tokens, num_heads, weight_mode, slots
        size = kept_tokens if (weight_mode == "static" and kept_tokens) else num_tokens
        self.weight = nn.Parameter(torch.empty(num_heads, size, size))
        nn.init.normal_(self.weight, std=(2.0 / size) ** 0.5)  # kaiming normal, fan_out = N

    @property
    def matrix_size(self) -> int:
        return self.weight.shape[-1]

    def _mix(self, weight: Tensor, x: Tensor) -> Tensor:
        t, b, n, c = x.shape
        y = torch.einsum("hmn,tbnhd->tbmhd", weight, x.view(t, b, n, self.num_heads, c // self.num_heads))
        return y.reshape(t, b, weight.shape[-2], c)

    def forward(self, x: Tensor, token_index: Optional[Tensor] = None) -> Tensor:
        if self.slots == 1:
            return self._forward(x, token_index)
        if token_index is not None:
            token_index = token_index.repeat_interleave(self.slots, dim=0)  # [T, B, N'] -> [T*D, B, N']
        return collapse_spike_slots(self._forward(x, token_index), self.slots)

    def _forward(self, x: Tensor, token_index: Optional[Tensor]) -> Tensor:
        n = x.shape[2]
        if n == self.matrix_size and (token_index is None or self.weight_mode == "static"):
            return self._mix(self.weight, x)
        if self.weight_mode == "random" and self.training and n < self.matrix_size:
            rows = torch.randperm(self.matrix_size, device=x.device)[:n]
            return self._mix(self.weight[:, rows][:, :, rows], x)
        if token_index is not None and self.matrix_size == self.num_tokens:
            full = x.new_zeros(*x.shape[:2], self.num_tokens, x.shape[-1])
            full.scatter_(2, token_index.unsqueeze(-1).expand_as(x), x)
            mixed = self._mix(self.weight, full)
            return mixed.gather(2, token_index.unsqueeze(-1).expand_as(x))
        raise ValueError(f"token mixer ({self.weight_mode}, {self.matrix_size}x{self.matrix_size}) cannot mix {n} "
                         f"tokens" + ("" if token_index is not None else " without a token index"))

    def extra_repr(self) -> str:
        return (f"heads={self.num_heads}, size={self.matrix_size}, tokens={self.num_tokens}, mode={self.weight_mode}"
                + (f", slots={self.slots}" if self.slots > 1 else ""))


class SpikingTokenMixer(nn.Module):
    """SN -> Linear-BN -> SN -> W_M -> SN -> Linear-BN (STMixer). ``[T, B, N, C]`` -> ``[T, B, N, C]``."""

    def __init__(self, dim: int, num_tokens: int, num_heads: int, neuron: NeuronCfg = "LIF",
                 weight_mode: str = "static", kept_tokens: Optional[int] = None) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.sn_in, self.sn_mix, self.sn_out = (build_neuron(neuron) for _ in range(3))
        self.proj_in = LinearBN(dim, dim, slots=spike_slots(self.sn_in))
        self.mixing = TokenMixing(num_tokens, num_heads, weight_mode, kept_tokens, slots=spike_slots(self.sn_mix))
        self.proj_out = LinearBN(dim, dim, slots=spike_slots(self.sn_out))

    def forward(self, x: Tensor, token_index: Optional[Tensor] = None) -> Tensor:
        x = self.sn_mix(self.proj_in(self.sn_in(x)))
        return self.proj_out(self.sn_out(self.mixing(x, token_index)))


class AttentionProduct(nn.Module):
    """``Q (K^T V) * scale`` per head: ``q, k, v`` ``[T, B, h, N, d]`` -> ``[T, B, h, N, d]`` (a module so that op
    counting sees the spike-matrix products).

    With ``slots = D`` (spike-driven I-LIF) ``q, k, v`` are ``[T*D, B, h, N, d]`` binary slots. The product is
    bilinear in spikes, so it is not a slot-by-slot sum: ``K^T V`` of the integers is the sum over all D x D slot
    pairs ``k_a^T v_b`` (binary x binary products); it is computed as one product of the collapsed integers, which
    equals that sum exactly. ``Q (K^T V)`` is linear in Q, so Q stays in slots: each binary slot accumulates rows of
    the integer ``K^T V`` and the D slots of each step are summed. Output ``[T, B, h, N, d]``, the integer form's.
    """

    def __init__(self, scale: float, slots: int = 1) -> None:
        super().__init__()
        self.scale, self.slots = scale, slots

    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        if self.slots == 1:
            return q @ (k.transpose(-1, -2) @ v) * self.scale
        kv = collapse_spike_slots(k, self.slots).transpose(-1, -2) @ collapse_spike_slots(v, self.slots)
        y = q @ kv.repeat_interleave(self.slots, dim=0)  # [T*D, B, h, N, d]
        return collapse_spike_slots(y, self.slots) * self.scale


class SpikingSelfAttention(nn.Module):
    """Spikformer SSA (Eq. 1-2): ``SN(Q K^T V * s)`` with Q, K, V = SN(Linear-BN(SN(x))), then Linear-BN.

    Computed as ``Q (K^T V)`` (cost linear in N). ``[T, B, N, C]`` -> ``[T, B, N, C]``; pruned tokens simply
    shorten N, so ``token_index`` is accepted and unused.
    """

    def __init__(self, dim: int, num_heads: int, neuron: NeuronCfg = "LIF", scale: float = 0.125,
                 attn_threshold: float = 0.5) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.sn_in, self.sn_q, self.sn_k, self.sn_v = (build_neuron(neuron) for _ in range(4))
        cfg = neuron_cfg(neuron)  # Spikformer's attention LIF fires at 0.5; I-LIF has no threshold to lower
        self.sn_attn = build_neuron(dict(cfg, v_threshold=attn_threshold) if cfg["type"] == "LIF" else cfg)
        self.product = AttentionProduct(scale, slots=spike_slots(self.sn_q))
        slots_in = spike_slots(self.sn_in)
        self.q, self.k, self.v = (LinearBN(dim, dim, slots=slots_in) for _ in range(3))
        self.proj_out = LinearBN(dim, dim, slots=spike_slots(self.sn_attn))

    def forward(self, x: Tensor, token_index: Optional[Tensor] = None) -> Tensor:
        t, b, n, c = x.shape
        s = self.sn_in(x)
        heads = lambda y: y.view(y.shape[0], b, n, self.num_heads, c // self.num_heads).transpose(2, 3)  # [S,B,h,N,d]
        q, k, v = heads(self.sn_q(self.q(s))), heads(self.sn_k(self.k(s))), heads(self.sn_v(self.v(s)))
        attn = self.product(q, k, v)  # [T, B, h, N, d]
        return self.proj_out(self.sn_attn(attn.transpose(2, 3).reshape(t, b, n, c)))


class SpikingMLP(nn.Module):
    """SN -> Linear-BN (C -> rC) -> SN -> Linear-BN (rC -> C). ``[T, B, N, C]`` -> ``[T, B, N, C]``."""

    def __init__(self, dim: int, hidden: int, neuron: NeuronCfg = "LIF") -> None:
        super().__init__()
        self.sn_in, self.sn_hidden = build_neuron(neuron), build_neuron(neuron)
        self.fc1 = LinearBN(dim, hidden, slots=spike_slots(self.sn_in))
        self.fc2 = LinearBN(hidden, dim, slots=spike_slots(self.sn_hidden))

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.sn_hidden(self.fc1(self.sn_in(x))))


class EncoderBlock(nn.Module):
    """``x = x + TokenMixer(x); x = x + MLP(x)`` on the real-valued residual stream ``[T, B, N, C]``.

    ``mixer="stm"`` uses the Spiking-token Mixer, ``mixer="ssa"`` Spikformer's spiking self-attention.
    """

    def __init__(self, dim: int, num_tokens: int, num_heads: int, mlp_ratio: float = 4.0, mixer: str = "stm",
                 neuron: NeuronCfg = "LIF", weight_mode: str = "static", kept_tokens: Optional[int] = None) -> None:
        super().__init__()
        if mixer == "stm":
            self.mixer: nn.Module = SpikingTokenMixer(dim, num_tokens, num_heads, neuron, weight_mode, kept_tokens)
        elif mixer == "ssa":
            self.mixer = SpikingSelfAttention(dim, num_heads, neuron)
        else:
            raise ValueError(f"mixer must be 'stm' or 'ssa', got {mixer!r}")
        self.mlp = SpikingMLP(dim, int(dim * mlp_ratio), neuron)

    def forward(self, x: Tensor, token_index: Optional[Tensor] = None) -> Tensor:
        x = x + self.mixer(x, token_index)
        return x + self.mlp(x)
