"""The contract every zoo image classifier keeps (SMixer and the converted families): input checks, the head,
``forward_features`` / ``forward_head`` / ``reset_classifier`` (timm's names), and where it prunes
(``pruned_encoders`` / ``pruners`` / ``aux_loss``). ``tests/test_contract.py`` checks it on every registered
variant."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Dict, List, Optional

import torch
from torch import Tensor, nn

from ..encoder import PrunedEncoder, pruner_aux_loss
from ..pruning import Pruner

__all__ = ["SpikingImageClassifier"]


class SpikingImageClassifier(nn.Module, ABC):
    """Static images ``[B, C, H, W]`` (repeated over ``time_steps``) or frames ``[B, T, C, H, W]`` (``[T, B, C, H,
    W]`` with ``time_first=True``) -> logits ``[B, num_classes]``: :meth:`forward_features` (the subclass's: the last
    stream ``[T', B, N', C]``) -> mean over tokens -> ``pre_head`` (e.g. SDT-V3's integer spike) -> Linear -> mean
    over time; with ``num_classes=0`` no head, pooled features ``[B, num_features]``.

    A subclass builds its layers, then its head with :meth:`reset_classifier` (where it builds it decides the order in
    which the layers draw their random initial weights).
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

    def check_input(self, x: Tensor) -> Tensor:
        """``x`` as ``[B, C, H, W]`` or ``[T, B, C, H, W]``; refuse, with one line naming the problem, what would
        otherwise fail deep inside or give NaN logits."""
        name = type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} expects a torch.Tensor, got {type(x).__name__}")
        dtype = next(self.parameters()).dtype
        if x.dtype != dtype:
            hint = "convert it with x.float()" if not x.is_floating_point() else f"use x.to({dtype})"
            raise TypeError(f"{name} expects floating-point {dtype} input (its weights' dtype), got {x.dtype}; {hint}")
        if x.dim() == 5 and not self.time_first:
            x = x.transpose(0, 1)  # [B, T, C, H, W] -> [T, B, C, H, W]
        if x.dim() not in (4, 5) or x.shape[-3:] != (self.in_chans, self.img_size, self.img_size):
            raise ValueError(f"{name} expects [B, {self.in_chans}, {self.img_size}, {self.img_size}] images or "
                             f"[B, T, {self.in_chans}, {self.img_size}, {self.img_size}] frames, got {tuple(x.shape)}")
        batch, steps = (x.shape[0], self.time_steps) if x.dim() == 4 else (x.shape[1], x.shape[0])
        if batch == 0 or steps == 0:
            raise ValueError(f"{name} got an empty input (batch {batch}, time steps {steps}), shape {tuple(x.shape)}")
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} input contains NaN or inf values; check the data and its normalisation")
        return x

    def repeat_steps(self, x: Tensor) -> Tensor:
        """The first layer's output ``[B, *]`` of a static image repeated over the time steps -> ``[T, B, *]``;
        frames ``[T, B, *]`` pass unchanged."""
        return x if x.dim() == 5 else x.unsqueeze(0).expand(self.time_steps, *x.shape)

    @abstractmethod
    def forward_features(self, x: Tensor) -> Tensor:
        """Input as in :meth:`forward` -> the last stream ``[T', B, N', C]``."""

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        """Stream ``[T', B, N', C]`` -> logits ``[B, num_classes]``, or pooled features ``[B, C]`` with
        ``pre_logits=True``."""
        pooled = self.pre_head(features.mean(2))  # [T', B, C]
        return pooled.mean(0) if pre_logits else self.head(pooled).mean(0)

    def reset_classifier(self, num_classes: int) -> None:
        """A new head for ``num_classes`` (0: none, pooled features out), e.g. for fine-tuning on other classes."""
        if num_classes < 0:
            raise ValueError(f"num_classes must be >= 0, got {num_classes}")
        self.num_classes = num_classes
        if hasattr(self, "init_args"):  # recorded by zoo.create: saved folders rebuild the new head
            self.init_args["num_classes"] = num_classes
        self.head = nn.Linear(self.num_features, num_classes) if num_classes else nn.Identity()

    def pruned_encoders(self) -> Dict[str, PrunedEncoder]:
        """Every pruned encoder of the model by attribute name, in the order the forward pass runs them
        (``{'blocks': ...}`` for SMixer and Spikformer V2, ``stage1`` .. ``stage3`` for QKFormer, ``stage3`` and
        ``stage4`` for SDT-V3). Each knows its ``num_tokens``, its ``pruner`` and the tokens each of its blocks
        sees (:meth:`zoo.encoder.PrunedEncoder.block_tokens`)."""
        return {name: child for name, child in self.named_children() if isinstance(child, PrunedEncoder)}

    @property
    def pruners(self) -> List[Pruner]:
        """The pruners of :meth:`pruned_encoders` (empty: an unpruned model)."""
        return [e.pruner for e in self.pruned_encoders().values() if e.pruner is not None]

    def aux_loss(self) -> Optional[Tensor]:
        """The sum of the pruners' auxiliary losses of the last forward pass (``None`` when none has one)."""
        return pruner_aux_loss(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))
