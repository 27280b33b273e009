"""STATA: Sparsification with Timestep-wise Anchor Token and dual Alignments (Zhuge et al., ICML 2024, §4).

A learnable anchor token per time step is prepended to the stem's stream before block 0 (``[T, B, 1 + N, C]``) and
goes through the blocks like any token. Before a pruning point, the anchor's row of the previous block's spiking
self-attention map ranks the tokens of each sample and step (Eq. 9, :func:`anchor_scores`):
``A = mean_h(Q_0 K_{1:}^T * s)``; the top ``N' = floor(gamma N)`` are kept and the rest dropped. The anchor is
always kept (index 0) and removed after the last block, so the head and the encoder's token index see only the
stem's tokens.

In training, the full maps ``Q K^T * s`` of the alignment blocks (default ``{0, floor(L/3) + 1, L - 1}``) give the
loss ``alpha L_intra + beta L_inter`` (Eq. 10-12, :func:`intra_alignment`, :func:`inter_alignment`), returned by
:meth:`STATA.aux_loss`; every task adds it to its loss as ``loss_pruner``.

Where the paper prunes and where this pruner does: the paper's module at block ``k`` ranks with block ``k``'s
attention, after its SSA and before its FFN. The zoo's encoder prunes between blocks, so the same ranking (block
``k``'s anchor row, read by a forward hook on its :class:`zoo.mixer.AttentionProduct`) prunes before block
``k + 1``: block ``k``'s FFN runs on all tokens. The default placement is every third block from
``floor(L/3) + 1``, i.e. the paper's modules at ``floor(L/3), floor(L/3) + 3, ...``.

SSA here computes ``Q (K^T V)`` and never forms ``Q K^T``: the pruner computes from the hooked ``q, k`` only what
it needs: the anchor's row (``T B N C`` multiply-adds per pruning point) and, in training, the maps of the
alignment blocks (``T B (N+1)^2 C`` multiply-adds and ``T B h (N+1)^2`` values each). Only blocks with a spiking
self-attention have the map; SMixer's token mixer has none (docs/stata.md says why there is no SMixer analogue).
"""
from __future__ import annotations

import math
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..layers import take_steps, take_tokens
from ..mixer import AttentionProduct
from ..neurons import collapse_spike_slots
from .base import Pruned, Pruner
from .registry import register_pruner

__all__ = ["STATA", "anchor_scores", "attention_map", "half_alignment", "intra_alignment", "inter_alignment"]


@torch.no_grad()
def anchor_scores(q: Tensor, k: Tensor, scale: float) -> Tensor:
    """Eq. 9: ``q, k`` ``[T, B, h, 1 + N, d]`` (anchor first) -> ``A`` ``[T, B, N]``, the mean over heads of the
    anchor's attention row ``Q_0 K_{1:}^T * s`` (one score per token, sample and step)."""
    return (q[..., :1, :] @ k[..., 1:, :].transpose(-1, -2)).squeeze(-2).mean(2) * scale


def attention_map(q: Tensor, k: Tensor, scale: float) -> Tensor:
    """The SSA map: ``q, k`` ``[T, B, h, M, d]`` -> ``Q K^T * s`` ``[T, B, h, M, M]``."""
    return q @ k.transpose(-1, -2) * scale


def half_alignment(maps: Tensor) -> Tensor:
    """One dimension of Eq. 10: ``maps`` ``[U, B, *]``, ``U`` units (time steps or heads) of each sample.

    Per sample, the units are sorted by the l2 norm of their map (stable, descending); with ``k = U // 2``, the
    unit of rank ``U - k + r`` (the worse half) is pulled toward the one of rank ``r`` (the better half, detached:
    it supervises) for ``r < k`` (the middle unit of an odd ``U`` is left out). Returns the unsquared l2 distance
    ``||worse - better||_2`` averaged over the pairs and samples; 0 when ``U < 2``.
    """
    units, half = maps.shape[0], maps.shape[0] // 2
    if half == 0:
        return maps.new_zeros(())
    order = maps.detach().flatten(2).norm(dim=2).argsort(dim=0, descending=True, stable=True)  # [U, B]
    better = take_steps(maps, order[:half]).detach()
    worse = take_steps(maps, order[units - half:])
    return (worse - better).flatten(2).norm(dim=2).mean()


def intra_alignment(maps: Sequence[Tensor]) -> Tensor:
    """Eq. 10: ``maps`` the ``[T, B, h, M, M]`` maps of the alignment blocks -> mean over the blocks of the time-wise
    plus the head-wise :func:`half_alignment`."""
    terms = [half_alignment(m) + half_alignment(m.transpose(0, 2)) for m in maps]
    return torch.stack(terms).mean()


def _resize(maps: Tensor, size: int) -> Tensor:
    """``[T, B, h, M, M]`` -> ``[T, B, h, size, size]`` (bilinear; unchanged when ``M == size``)."""
    if maps.shape[-1] == size:
        return maps
    resized = F.interpolate(maps.flatten(0, 1), size=(size, size), mode="bilinear", align_corners=False)
    return resized.unflatten(0, maps.shape[:2])


def inter_alignment(maps: Sequence[Tensor]) -> Tensor:
    """Eq. 11: ``maps`` the ``[T, B, h, M_i, M_i]`` maps of the alignment blocks, shallow to deep -> the mean over
    all pairs ``i < j`` of the unsquared l2 distance between map ``i`` and the detached map ``j``, both resized to the
    smaller size (per sample, averaged over samples); 0 with fewer than two blocks."""
    terms = []
    for i, shallow in enumerate(maps):
        for deep in maps[i + 1:]:
            size = min(shallow.shape[-1], deep.shape[-1])
            diff = _resize(shallow, size) - _resize(deep.detach(), size)
            terms.append(diff.transpose(0, 1).flatten(1).norm(dim=1).mean())
    return torch.stack(terms).mean() if terms else maps[0].new_zeros(())


def _check_number(name: str, value: object, low: float, high: float, low_open: bool) -> float:
    """``value`` as a float in ``(low, high]`` (``low_open``) or ``[low, high]``, or a one-line ``ValueError``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not (low < value if low_open else low <= value) or value > high:
        interval = f"{'(' if low_open else '['}{low}, {high}]"
        raise ValueError(f"STATA {name} must be a number in {interval}, got {value!r}")
    return float(value)


@register_pruner
class STATA(Pruner):
    """Timestep-wise anchor token ranking and dual attention alignment (module docstring) for SSA blocks.

    Args:
        keep_ratio: gamma, the share of the tokens kept at each pruning point (``N' = floor(gamma N)``, >= 1).
        alpha: weight of the intra-alignment loss (Eq. 10, 12).
        beta: weight of the inter-alignment loss (Eq. 11, 12).
        align_blocks: the blocks whose maps are aligned (``P_a = P_r``); ``None``: ``{0, floor(L/3) + 1, L - 1}``.
        embed_dim: channels ``C`` of the stream (the model's, given by the encoder).
        time_steps: ``T``, one anchor per step (the model's, given by the encoder).

    ``aligned_blocks``: the blocks whose maps are aligned, set by :meth:`bind`. ``anchor`` ``[T, C]``: initialised
    ``N(0, 1)``, the scale of the stem's batch-normalised tokens: the anchor starts as one more token in the first
    neuron's input range (the paper does not say).
    """

    def __init__(self, keep_ratio: float = 0.5, alpha: float = 1e-2, beta: float = 1e-2,
                 align_blocks: Optional[Sequence[int]] = None, embed_dim: Optional[int] = None,
                 time_steps: Optional[int] = None) -> None:
        super().__init__()
        self.keep_ratio = _check_number("keep_ratio", keep_ratio, 0.0, 1.0, low_open=True)
        self.alpha = _check_number("alpha", alpha, 0.0, math.inf, low_open=False)
        self.beta = _check_number("beta", beta, 0.0, math.inf, low_open=False)
        if align_blocks is not None and (isinstance(align_blocks, (str, bytes)) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in align_blocks)):
            raise ValueError(f"STATA align_blocks must be a list of block indices, got {align_blocks!r}")
        self.align_blocks = None if align_blocks is None else tuple(sorted(set(align_blocks)))
        for name, value in (("embed_dim", embed_dim), ("time_steps", time_steps)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"STATA needs the model's {name} (an integer >= 1; one anchor of embed_dim channels "
                                 f"per time step), got {value!r}")
        self.anchor = nn.Parameter(torch.randn(time_steps, embed_dim))
        self.aligned_blocks: Tuple[int, ...] = ()
        self._hooks: List[torch.utils.hooks.RemovableHandle] = []
        self._last: Optional[Tuple[Tensor, Tensor, float]] = None  # q, k, scale of the latest block
        self._maps: Dict[int, Tensor] = {}  # block -> its map, this forward pass (training only)

    def extra_repr(self) -> str:
        return (f"keep_ratio={self.keep_ratio}, alpha={self.alpha}, beta={self.beta}, "
                f"aligned_blocks={list(self.aligned_blocks)}, anchor={tuple(self.anchor.shape)}")

    def kept_tokens(self, num_tokens: int) -> int:
        kept = int(math.floor(num_tokens * self.keep_ratio + 1e-9))
        if kept < 1:
            raise ValueError(f"STATA keep_ratio {self.keep_ratio} keeps 0 of {num_tokens} tokens; use at least "
                             f"1/{num_tokens} = {1 / num_tokens:.4f}")
        return kept

    def default_placement(self, depth: int) -> Dict[str, int]:
        """Every third block from ``floor(L/3) + 1`` (the paper's modules at ``floor(L/3), +3, ...``, module
        docstring)."""
        if depth < 2:
            raise ValueError(f"STATA needs at least 2 blocks (it prunes before block floor(L/3) + 1 with the anchor "
                             f"row of block floor(L/3)), got {depth}")
        return dict(start=depth // 3 + 1, every=3)

    def bind(self, blocks: Sequence[nn.Module]) -> None:
        """Hook the :class:`~zoo.mixer.AttentionProduct` of every block (exactly one each) to read its ``q, k``."""
        depth = len(blocks)
        products = [[m for m in block.modules() if isinstance(m, AttentionProduct)] for block in blocks]
        bad = [i for i, found in enumerate(products) if len(found) != 1]
        if bad:
            raise ValueError(f"STATA ranks tokens by an attention row, but blocks {bad} have no spiking self-attention "
                             f"(SMixer's token mixer has no attention map; use mixer='ssa', e.g. spikformer-cifar10)")
        aligned = self.align_blocks if self.align_blocks is not None else sorted({0, depth // 3 + 1, depth - 1})
        outside = [i for i in aligned if not 0 <= i < depth]
        if outside:
            raise ValueError(f"STATA align_blocks {outside} are not blocks of this {depth}-block encoder "
                             f"(0..{depth - 1})")
        self.aligned_blocks = tuple(aligned)
        for handle in self._hooks:
            handle.remove()
        self._hooks = [found[0].register_forward_hook(partial(self._record, i)) for i, found in enumerate(products)]

    def _record(self, block: int, product: AttentionProduct, args: Tuple[Tensor, ...], out: Tensor) -> None:
        """Forward hook on block ``block``'s attention product: keep its ``q, k`` ``[T, B, h, 1 + N, d]`` (spike-driven
        slots collapsed to the integer form) and, in training, its map if the block is aligned."""
        q, k = args[0], args[1]
        if product.slots > 1:
            q, k = collapse_spike_slots(q, product.slots), collapse_spike_slots(k, product.slots)
        self._last = (q, k, product.scale)
        if self.training and (self.alpha or self.beta) and block in self.aligned_blocks:
            self._maps[block] = attention_map(q, k, product.scale)

    def enter(self, state: Pruned) -> Pruned:
        """Prepend the anchors: ``[T, B, N, C]`` -> ``[T, B, 1 + N, C]`` (the anchors of the steps in
        ``step_index`` when the stem kept only some)."""
        x, steps = state.stream, state.step_index
        if steps is None and x.shape[0] != self.anchor.shape[0]:
            raise ValueError(f"STATA has one anchor per time step for T = {self.anchor.shape[0]} (the model's "
                             f"time_steps), got a stream of {x.shape[0]} steps")
        anchor = self.anchor.unsqueeze(1).expand(-1, x.shape[1], -1)  # [T, B, C]
        anchor = anchor if steps is None else take_steps(anchor, steps)
        self._last, self._maps = None, {}
        return state._replace(stream=torch.cat([anchor.unsqueeze(2).to(x.dtype), x], dim=2))

    def leave(self, state: Pruned) -> Pruned:
        """Drop the anchor: ``[T', B, 1 + N', C]`` -> ``[T', B, N', C]``, token index back into the stem's N."""
        self._last = None
        index = state.token_index
        return state._replace(stream=state.stream[:, :, 1:], token_index=None if index is None else index[..., 1:] - 1)

    def prune(self, x: Tensor, prune_time: bool = True) -> Pruned:
        """``x`` ``[T, B, 1 + N, C]`` (anchor first) -> ``[T, B, 1 + N', C]`` and the token index ``[T, B, 1 + N']``
        (anchor 0, token ``i`` at ``i + 1``); the kept tokens stay in their order, the others are dropped."""
        if self._last is None:
            raise ValueError("STATA ranks tokens by the anchor row of the block before the pruning point, and no "
                             "block ran before this one; use a placement with start >= 1 (default floor(L/3) + 1)")
        q, k, scale = self._last
        if q.shape[:2] != x.shape[:2] or q.shape[3] != x.shape[2]:
            raise ValueError(f"STATA's scores cover the {q.shape[3]} tokens of {q.shape[0]} steps the previous "
                             f"block saw, the stream at the pruning point has {x.shape[2]} of {x.shape[0]}: "
                             f"pass_through placements with more than one pruning point are not supported")
        scores = anchor_scores(q, k, scale)  # [T, B, N]
        keep = self.kept_tokens(scores.shape[-1])
        index = scores.argsort(dim=-1, descending=True, stable=True)[..., :keep].sort(dim=-1).values
        kept = torch.cat([x[:, :, :1], take_tokens(x[:, :, 1:], index)], dim=2)
        return Pruned(kept, None, torch.cat([torch.zeros_like(index[..., :1]), index + 1], dim=-1))

    def aux_loss(self) -> Optional[Tensor]:
        """``alpha L_intra + beta L_inter`` over the aligned blocks' maps of the last training forward pass, or
        ``None`` (evaluation, or ``alpha = beta = 0``)."""
        if not self._maps:
            return None
        maps = [self._maps[i] for i in sorted(self._maps)]
        return self.alpha * intra_alignment(maps) + self.beta * inter_alignment(maps)
