"""The pruner interface: what every token / time-step pruning method implements.

A pruner works on the real-valued residual stream ``[T, B, N, C]`` (time first, tokens, channels last) and returns
the kept stream with the indices of what it kept. It knows nothing about *where* it runs: the pruned encoder
(:class:`zoo.encoder.PrunedEncoder`) decides that (inside the stem, after it, before given blocks, with or without
pass-through) and calls the pruner through its module ``__call__``, so forward hooks (timing in
``tools/benchmark.py``, op counting in :mod:`zoo.ops`) see every call, the in-stem one included.

What a pruner provides (``P`` is the subclass):

- ``prune(x, prune_time)`` (required): ``x`` ``[T, B, N, C]`` -> :class:`Pruned` ``(stream [T', B, N', C],
  step_index [T', B] | None, token_index [T', B, N'] | None)``; an index is ``None`` when that axis was not pruned,
  and ``prune_time=False`` means the steps were already pruned inside the stem.
- ``kept_tokens(n)`` (required): the token count ``N'`` it keeps of ``n`` (sizes a static ``N' x N'`` W_M' and
  checks the ratio when the model is built).
- ``kept_steps(t)``: the step count ``T'`` it keeps of ``t`` (default ``t``: no temporal pruning).
- ``prune_steps(x)``: temporal pruning inside a stem, ``x`` ``[T, B, *]`` (any layout after the batch) ->
  ``(kept [T', B, *], step_index [T', B] | None)`` (default: pass through, ``None``).
- ``always_active``: whether it prunes both in training and in evaluation (default ``True``); a static ``N' x N'``
  W_M' cannot serve the unpruned tokens of a pruner that sometimes passes them through.
- ``default_placement(depth)``: where the encoder prunes when the model names no placement (default
  ``"after_stem"``; TP-Spikformer: every block with pass-through, STATA: every third block from ``L / 3``).
- ``bind(blocks)``: called once by the encoder with the blocks it prunes for (default: nothing). A method that
  scores tokens from the blocks' attention rows (TP-Spikformer's per-block scores, STATA's anchor-token
  attention) registers forward hooks on the blocks' mixers here and reads the rows in ``prune``.
- ``aux_loss()``: an auxiliary loss term of the last forward pass, e.g. STATA's alignment losses (default
  ``None``); the encoder exposes it as :meth:`zoo.encoder.PrunedEncoder.aux_loss` for the training loop to add.
- ``enter(state)`` / ``leave(state)``: called by the encoder on the stem's stream before block 0 and on the stream
  after the last block (default: identity). A pruner that adds tokens of its own (STATA's anchor) adds them in
  ``enter`` and removes them in ``leave``. In between, the stream and every token index refer to the stream
  ``enter`` returned (STATA: the anchor is index 0, stem token ``i`` is index ``i + 1``); ``leave`` returns indices
  into the stem's tokens again.

A pruner is registered with :func:`zoo.pruning.register_pruner` and built by :func:`zoo.pruning.build` from
``dict(type=<name>, **options)``; every model with a pruned encoder takes it as ``pruning=dict(...)``.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, Dict, NamedTuple, Optional, Sequence, Tuple, Union

from torch import Tensor, nn

__all__ = ["Pruned", "Pruner", "kept_count"]


class Pruned(NamedTuple):
    """A stream and which steps and tokens of the input it holds.

    ``stream`` ``[T', B, N', C]``; ``step_index`` ``[T', B]`` (``None``: all steps, in order); ``token_index``
    ``[T', B, N']`` (``None``: all tokens, in order).
    """

    stream: Tensor
    step_index: Optional[Tensor]
    token_index: Optional[Tensor]


def kept_count(total: int, ratio: float, what: str) -> int:
    """``floor(total * (1 - ratio))``; raises if the ratio is outside [0, 1) or keeps nothing."""
    if not isinstance(ratio, (int, float)) or not 0.0 <= ratio < 1.0 or math.isnan(ratio):
        raise ValueError(f"{what} pruning ratio must be in [0, 1), got {ratio!r}")
    kept = int(math.floor(total * (1.0 - ratio) + 1e-9))
    if kept < 1:
        raise ValueError(f"{what} pruning ratio {ratio} keeps 0 of {total} {what} units; use a ratio below "
                         f"{1.0 - 1.0 / total:.4f}")
    return kept


class Pruner(nn.Module, ABC):
    """Base class of token / time-step pruners on the stream ``[T, B, N, C]`` (see the module docstring)."""

    @abstractmethod
    def prune(self, x: Tensor, prune_time: bool = True) -> Pruned:
        """``x`` ``[T, B, N, C]`` -> kept ``[T', B, N', C]``, step index ``[T', B]``, token index ``[T', B, N']``."""

    @abstractmethod
    def kept_tokens(self, num_tokens: int) -> int:
        """How many of ``num_tokens`` tokens :meth:`prune` keeps when it is active."""

    def kept_steps(self, time_steps: int) -> int:
        """How many of ``time_steps`` steps :meth:`prune` / :meth:`prune_steps` keep when active."""
        return time_steps

    def prune_steps(self, x: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """Temporal pruning inside a stem: ``x`` ``[T, B, *]`` -> ``(kept [T', B, *], step_index [T', B] | None)``."""
        return x, None

    @property
    def always_active(self) -> bool:
        """Whether the pruner prunes in training and in evaluation alike."""
        return True

    def default_placement(self, depth: int) -> Union[str, Dict[str, Any]]:
        """Where the encoder prunes when the model gives no ``placement``, for ``depth`` blocks (``zoo.encoder
        .Placement`` spec; default ``"after_stem"``). A per-block method returns e.g. ``dict(every=1,
        pass_through=True)``."""
        return "after_stem"

    def bind(self, blocks: Sequence[nn.Module]) -> None:
        """Called once with the encoder's blocks (e.g. to hook their attention rows); nothing by default."""

    def aux_loss(self) -> Optional[Tensor]:
        """Auxiliary loss term of the last forward pass, or ``None`` (the default)."""
        return None

    def enter(self, state: Pruned) -> Pruned:
        """The stem's stream (``token_index`` ``None``) before block 0 -> the stream the blocks run on; identity by
        default (STATA prepends its anchor token)."""
        return state

    def leave(self, state: Pruned) -> Pruned:
        """The stream after the last block -> the encoder's output, without what :meth:`enter` added and with
        ``token_index`` into the stem's tokens; identity by default."""
        return state

    def forward(self, x: Tensor, prune_time: bool = True, steps_only: bool = False) -> Pruned:
        """``steps_only=False``: :meth:`prune` on ``x`` ``[T, B, N, C]``. ``steps_only=True`` (in-stem use):
        :meth:`prune_steps` on ``x`` ``[T, B, *]``, token index ``None``."""
        if steps_only:
            return Pruned(*self.prune_steps(x), None)
        if x.dim() != 4:
            raise ValueError(f"{type(self).__name__} expects tokens [T, B, N, C], got shape {tuple(x.shape)}")
        return Pruned(*self.prune(x, prune_time))
