"""Parts shared by the converted spiking-transformer families (Spikformer V2, QKFormer, SDT-V3; docs/families.md).

- :data:`SJ_LIF`: SpikingJelly's ``MultiStepLIFNode(tau=2, detach_reset=True)`` as a zoo LIF config;
- :func:`to_tokens` / :func:`to_map` / :func:`scatter_tokens` / :func:`gather_tokens`: layout changes between
  feature maps ``[T, B, C, H, W]`` and the token stream ``[T, B, N, C]`` (pruned streams included);
- :class:`FamilyClassifier`: the model contract (input checks, head, ``reset_classifier``) of every family.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Mapping, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from ..encoder import PruningOptions
from ..layers import NeuronCfg, build_neuron, take_tokens
from ..neurons import spike_slots

__all__ = ["SJ_LIF", "check_neuron", "to_tokens", "to_map", "scatter_tokens", "gather_tokens", "family_options",
           "downsampled", "FamilyClassifier"]

# SpikingJelly's MultiStepLIFNode(tau=2, detach_reset=True): H = V + (X - V) / 2, fire at H >= 1, hard reset to 0,
# Sigmoid surrogate (alpha 4). The zoo LIF integrates H' = 0.5 V' + X, i.e. H' = 2 H: the same neuron, forward and
# backward, at threshold 2 with the Sigmoid surrogate's alpha halved (QKFormer, Spikformer V1).
SJ_LIF = dict(type="LIF", decay=0.5, v_threshold=2.0, surrogate="sigmoid", alpha=2.0, detach_reset=True)


def check_neuron(neuron: NeuronCfg) -> NeuronCfg:
    """Refuse the spike-driven (binary-slot) I-LIF form, which the family blocks do not implement."""
    if spike_slots(build_neuron(neuron)) > 1:
        raise ValueError("the Spikformer V2 / QKFormer / SDT-V3 blocks take integer I-LIF spikes, not the "
                         "spike-driven slot form: drop spike_driven=True from the neuron config")
    return neuron


def to_tokens(x: Tensor) -> Tensor:
    """Feature maps ``[T, B, C, H, W]`` -> tokens ``[T, B, H*W, C]`` (raster order)."""
    return x.flatten(3).transpose(2, 3)


def to_map(x: Tensor, grid: Tuple[int, int]) -> Tensor:
    """Tokens ``[T, B, H*W, C]`` (all of them) -> feature maps ``[T, B, C, H, W]``."""
    return x.transpose(2, 3).unflatten(3, grid)


def scatter_tokens(x: Tensor, token_index: Optional[Tensor], num_tokens: int) -> Tensor:
    """Kept tokens ``[T, B, N', C]`` at their positions ``token_index`` ``[T, B, N']`` in an all-zero stream
    ``[T, B, N, C]`` (pruned tokens carry no spikes); ``token_index=None`` returns ``x`` (nothing pruned)."""
    if token_index is None:
        return x
    full = x.new_zeros(*x.shape[:2], num_tokens, x.shape[-1])
    return full.scatter(2, token_index.unsqueeze(-1).expand_as(x), x)


def gather_tokens(x: Tensor, token_index: Optional[Tensor]) -> Tensor:
    """The kept tokens ``[T, B, N', C]`` of a full stream ``[T, B, N, C]`` (inverse of :func:`scatter_tokens`)."""
    if token_index is None:
        return x
    return take_tokens(x, token_index)


def family_options(dstsp: Optional[Mapping[str, Any]], pruning: Optional[Mapping[str, Any]],
                   placement: Union[str, Mapping[str, Any], None], mixer_weight: Optional[str]) -> PruningOptions:
    """A family model's pruning arguments -> :class:`PruningOptions` (:meth:`PruningOptions.resolve`). The family
    stems have no in-stem pruning point, so an ``in_stem`` placement (DSTSP's ``IS``) is refused."""
    options = PruningOptions.resolve(dstsp, pruning, placement, mixer_weight)
    if options.in_stem:
        raise ValueError("the family stems have no in-stem pruning point: use placement 'after_stem' or a dict")
    return options


def downsampled(size: int, stride: int) -> int:
    """Side of a map after a 3x3 / pad-1 (or 1x1 / pad-0) window at ``stride``: ``ceil(size / stride)``."""
    return (size - 1) // stride + 1


class FamilyClassifier(nn.Module, ABC):
    """The model contract shared by the families: ``num_classes``, ``forward_features``, ``forward_head``,
    ``reset_classifier``, input checks. A subclass builds ``self.head`` on ``self.num_features`` channels (and an
    optional ``self.pre_head`` on the pooled features, e.g. SDT-V3's integer spike) and implements
    :meth:`forward_features`.

    Input: static images ``[B, C, H, W]`` (repeated over ``time_steps``) or frames ``[B, T, C, H, W]`` (``[T, B, C,
    H, W]`` with ``time_first=True``). Output: logits ``[B, num_classes]`` (mean over tokens -> pre-head -> Linear ->
    mean over time) or pooled features ``[B, C]`` with ``num_classes=0``.
    """

    def __init__(self, img_size: int, in_chans: int, num_classes: int, num_features: int, time_steps: int,
                 time_first: bool = False, pre_head: Optional[nn.Module] = None) -> None:
        super().__init__()
        if time_steps < 1:
            raise ValueError(f"time_steps must be >= 1, got {time_steps}")
        if num_classes < 0:
            raise ValueError(f"num_classes must be >= 0 (0: no head, pooled features out), got {num_classes}")
        self.img_size, self.in_chans, self.time_steps, self.time_first = img_size, in_chans, time_steps, time_first
        self.num_classes, self.num_features = num_classes, num_features
        self.pre_head = pre_head or nn.Identity()
        self.head = nn.Linear(num_features, num_classes) if num_classes else nn.Identity()

    def check_input(self, x: Tensor) -> Tensor:
        """``x`` as ``[B, C, H, W]`` or ``[T, B, C, H, W]``; a one-line error for anything else."""
        name = type(self).__name__
        if not isinstance(x, Tensor) or not x.is_floating_point():
            raise TypeError(f"{name} expects a floating-point tensor, got "
                            f"{x.dtype if isinstance(x, Tensor) else type(x).__name__}")
        if x.dim() == 5 and not self.time_first:
            x = x.transpose(0, 1)
        if x.dim() not in (4, 5) or x.shape[-3:] != (self.in_chans, self.img_size, self.img_size) or not x.numel():
            raise ValueError(f"{name} expects [B, {self.in_chans}, {self.img_size}, {self.img_size}] images or "
                             f"[B, T, {self.in_chans}, {self.img_size}, {self.img_size}] frames, got {tuple(x.shape)}")
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} input contains NaN or inf values")
        return x

    def repeat_steps(self, x: Tensor) -> Tensor:
        """The first layer's output ``[B, *]`` of a static image repeated over the time steps -> ``[T, B, *]``;
        frames ``[T, B, *]`` pass unchanged."""
        return x if x.dim() == 5 else x.unsqueeze(0).expand(self.time_steps, *x.shape)

    @abstractmethod
    def forward_features(self, x: Tensor) -> Tensor:
        """Input as in :meth:`forward` -> the last stage's stream ``[T', B, N', C]``."""

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        """Stream ``[T', B, N', C]`` -> logits ``[B, num_classes]``, or pooled features ``[B, C]``."""
        pooled = self.pre_head(features.mean(2))  # [T', B, C]
        return pooled.mean(0) if pre_logits else self.head(pooled).mean(0)

    def reset_classifier(self, num_classes: int) -> None:
        """A new head for ``num_classes`` (0: none), for fine-tuning on other classes."""
        if num_classes < 0:
            raise ValueError(f"num_classes must be >= 0, got {num_classes}")
        self.num_classes = num_classes
        if hasattr(self, "init_args"):  # recorded by zoo.create: saved folders rebuild the new head
            self.init_args["num_classes"] = num_classes
        self.head = nn.Linear(self.num_features, num_classes) if num_classes else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))
