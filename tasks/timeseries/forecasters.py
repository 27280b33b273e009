"""Forecasting networks for Table 4: the spiking forecaster (SMixer or Spikformer blocks) and an ANN Transformer.

All map a window ``[B, L, C_in]`` (``C_in`` = series + calendar features) to ``[B, H, C_out]`` (the next H steps
of the ``C_out`` series, in model space).
"""
from __future__ import annotations

import math
from typing import Any, Dict

import torch
from torch import Tensor, nn

from tasks.registry import MODELS
from zoo.encoder import PruningSpec, smixer_encoder
from zoo.layers import NeuronCfg, neuron_cfg

from .checks import finite, positive_int
from .encoding import CPGLinear, SpikeEncoder

__all__ = ["SpikingForecaster", "TransformerForecaster", "LIF_TAU2", "SJ_LIF_TAU2"]

# Default neuron: zoo LIF with decay 0.5 (= 1 - 1/tau, tau 2), threshold 1, ATan surrogate (alpha 2), reset
# detached: h_t = v/2 + x_t, spike when h_t >= 1.
LIF_TAU2: Dict[str, Any] = dict(type="LIF", decay=0.5, v_threshold=1.0, surrogate="atan", alpha=2.0,
                                detach_reset=True)
# SeqSNN's exact neuron, SpikingJelly LIFNode(tau=2, decay_input=True, v_threshold=1, ATan(alpha=2),
# detach_reset=True), written as a zoo LIF: h = v/2 + x/2 >= 1 is h' = v'/2 + x >= 2 for v' = 2v, and the ATan
# surrogate of the halved potential is ATan(alpha=1) of h' - 2 (tests/test_timeseries_models.py checks both
# against SpikingJelly). It halves every input current, i.e. doubles the effective threshold.
SJ_LIF_TAU2: Dict[str, Any] = dict(type="LIF", decay=0.5, v_threshold=2.0, surrogate="atan", alpha=1.0,
                                   detach_reset=True)


class _WindowForecaster(nn.Module):
    """Argument and input checks and the regression head shared by the forecasters."""

    def __init__(self, window: int, in_channels: int, out_channels: int, horizon: int, embed_dim: int,
                 num_heads: int) -> None:
        super().__init__()
        name = type(self).__name__
        window, in_channels, out_channels, horizon, embed_dim, num_heads = (
            positive_int(name, key, value) for key, value in dict(
                window=window, in_channels=in_channels, out_channels=out_channels, horizon=horizon,
                embed_dim=embed_dim, num_heads=num_heads).items())
        if embed_dim % num_heads:
            raise ValueError(f"{name}: embed_dim {embed_dim} is not divisible by num_heads {num_heads}; choose "
                             f"num_heads among the divisors of embed_dim")
        self.window, self.in_channels, self.out_channels, self.horizon = window, in_channels, out_channels, horizon
        self.head = nn.Linear(embed_dim, horizon * out_channels)

    def _check(self, x: Tensor) -> None:
        """``x`` must be windows ``[B >= 1, window, in_channels]`` of finite values in the parameters' dtype."""
        name = type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} expects a torch.Tensor of windows, got {type(x).__name__}; convert it with "
                            f"torch.as_tensor(x, dtype=torch.float32)")
        if x.dim() != 3 or x.shape[1:] != (self.window, self.in_channels):
            raise ValueError(f"{name} expects windows [B, {self.window}, {self.in_channels}] "
                             f"(window, series + calendar features), got {tuple(x.shape)}")
        dtype = self.head.weight.dtype
        if x.dtype != dtype:
            raise TypeError(f"{name} expects {dtype} windows (the dtype of its weights), got {x.dtype}; convert "
                            f"them with x.to({dtype})")
        if x.shape[0] == 0:
            raise ValueError(f"{name} got an empty batch [0, {self.window}, {self.in_channels}]; the dataset or "
                             f"sampler produced no sample")
        finite(x, f"{name}: the windows", "fill missing values before the model (ForecastDataset does)")

    def _regress(self, features: Tensor) -> Tensor:
        """``[B, D]`` -> ``[B, H, C_out]``."""
        return self.head(features).view(-1, self.horizon, self.out_channels)


@MODELS.register_module()
class SpikingForecaster(_WindowForecaster):
    """Spike encoder -> CPG linear -> pruned encoder (blocks, optional pruner) -> mean over T and tokens -> head.

    Tokens are the L window positions (``num_tokens = window``): the stream is ``[T, B, L, D]``. ``mixer="stm"``
    is the SMixer forecaster, ``mixer="ssa"`` the Spikformer one (same model, spiking self-attention).
    Pruning as in :class:`zoo.models.SMixer` (``pruning``: :class:`zoo.encoder.PruningOptions` or its flat dict
    ``dict(type=<pruner>, ..., placement=..., mixer_weight=...)``): by default before the first block; with
    ``placement="in_stem"`` the time steps are pruned inside the spike encoder, before its neuron (its only layer
    to prune after, so ``stem_layer`` must be 0).

    Defaults follow the paper's appendix E.4 (T = 4, 2 blocks, D = 256, FFN 1024) and SeqSNN (8 heads, LIF
    tau 2 with ATan surrogate: :data:`LIF_TAU2`; :data:`SJ_LIF_TAU2` is SeqSNN's neuron exactly).
    """

    def __init__(self, window: int, in_channels: int, out_channels: int, horizon: int, embed_dim: int = 256,
                 depth: int = 2, num_heads: int = 8, mlp_hidden: int = 1024, time_steps: int = 4,
                 mixer: str = "stm", neuron: NeuronCfg = LIF_TAU2, pruning: PruningSpec = None,
                 encoder_kernel: int = 3, cpg_neurons: int = 10, cpg_w_max: float = 10000.0,
                 dropout: float = 0.1) -> None:
        super().__init__(window, in_channels, out_channels, horizon, embed_dim, num_heads)
        if neuron_cfg(neuron).get("spike_driven"):
            raise ValueError("SpikingForecaster runs I-LIF in its integer form only: drop spike_driven=True")
        self.encoder = SpikeEncoder(time_steps, encoder_kernel, neuron)
        self.embed = CPGLinear(in_channels, embed_dim, window, cpg_neurons, cpg_w_max, dropout)
        self.blocks = smixer_encoder(embed_dim, window, depth, num_heads, mlp_hidden / embed_dim, mixer, neuron,
                                     pruning, time_steps, stem_layers=1, owner=type(self).__name__)

    def forward_tokens(self, x: Tensor) -> Tensor:
        """``[B, L, C_in]`` -> residual stream after the last block ``[T', B, L', D]``."""
        self._check(x)
        spikes, stem_steps = self.encoder(x, self.blocks.stem_pruner)  # [T, B, L, C_in]
        tokens = self.embed(spikes)  # [T, B, L, D]
        return self.blocks(tokens, stem_steps).stream

    def forward(self, x: Tensor) -> Tensor:
        """``[B, L, C_in]`` -> ``[B, H, C_out]``."""
        return self._regress(self.forward_tokens(x).mean(0).mean(1))


def sinusoidal_positions(length: int, dim: int) -> Tensor:
    """The Transformer's sine/cosine position table ``[length, dim]``."""
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return table


@MODELS.register_module()
class TransformerForecaster(_WindowForecaster):
    """ANN baseline: Linear(C_in -> D) + sinusoidal positions -> ``depth`` pre-norm Transformer encoder layers
    (GELU) -> LayerNorm -> mean over the L positions -> head. Same width, depth, heads and FFN as the spiking
    forecasters. ``[B, L, C_in]`` -> ``[B, H, C_out]``."""

    def __init__(self, window: int, in_channels: int, out_channels: int, horizon: int, embed_dim: int = 256,
                 depth: int = 2, num_heads: int = 8, mlp_hidden: int = 1024, dropout: float = 0.1) -> None:
        super().__init__(window, in_channels, out_channels, horizon, embed_dim, num_heads)
        self.embed = nn.Linear(in_channels, embed_dim)
        self.register_buffer("positions", sinusoidal_positions(window, embed_dim), persistent=False)
        layer = nn.TransformerEncoderLayer(embed_dim, num_heads, mlp_hidden, dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(embed_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        tokens = self.encoder(self.dropout(self.embed(x) + self.positions))  # [B, L, D]
        return self._regress(self.norm(tokens).mean(1))
