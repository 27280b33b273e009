"""TP-Spikformer: training-free token pruning of a trained spiking transformer (IRToP criterion + IR-Arc).

Every block keeps its ``K = ceil(keep_l N)`` most informative tokens; the block's token mixer and MLP run on those
only and the other tokens skip the block unchanged (IR-Arc, Eq. 16-20: the encoder's ``pass_through``, the
pruner's :meth:`TPSpikformer.default_placement`). Parameter-free; scores are computed under ``no_grad`` on the
block input, the real-valued residual stream ``[T, B, N, C]`` the encoder passes (``X^{l-1}`` of Eq. 5 and 16,
which the first neuron of the block's branches turns into spikes; the public code scores the same stream).

Two readings of the IRToP criterion (``mode``):

- ``paper`` (Eq. 10-15): per sample and time step. Spatial score ``1 - cos(x, y)`` with ``y`` the per-channel mean
  of the valid positions of the ``k x k`` window around the token (Eq. 11: the window is clipped at the border);
  temporal score ``|X_t - X_{t-1}|`` (``|X_1|`` at the first step), a token's L1 norm over channels; each
  normalised to sum 1 over the tokens, then added. One token set per step: index ``[T, B, K]`` (the block's
  neurons keep membrane state per kept slot, so a slot may hold another token at the next step, as with DSTSP).
- ``code`` (the public implementation): one token set per sample, shared over all T. Spatial score
  ``softmax(-cos(m, y))`` over the tokens, ``m`` the time mean of the stream and ``y`` its convolution with
  ``ones(C, C, k, k) / k^2`` (zero padding): every channel of ``y`` is the window's sum over *all* channels / k^2.
  Temporal score ``softmax`` over the tokens of ``|mean_c X_t - mean_c X_{t-1}|`` averaged over the ``T - 1``
  pairs (no first-step term; uniform when T = 1). Index ``[B, K]`` expanded to ``[T, B, K]``.

Ties: a stable descending sort ranks the tokens, so among equal scores the lower raster index is kept. The kept
tokens are returned in raster order.

Per-block schedules: the pruner follows the blocks with forward hooks (:meth:`TPSpikformer.bind`) and serves the
block that runs next, whatever the placement; see :class:`TPSpikformer`.
"""
from __future__ import annotations

import math
from functools import partial
from numbers import Real
from typing import Any, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from ..layers import take_tokens
from ..mixer import TokenMixing
from .base import Pruned, Pruner
from .registry import register_pruner

__all__ = ["TPSpikformer", "MODES", "token_grid", "paper_spatial_scores", "paper_temporal_scores", "paper_scores",
           "code_spatial_scores", "code_temporal_scores", "code_scores", "top_tokens"]

MODES = ("paper", "code")
Grid = Tuple[int, int]


def token_grid(num_tokens: int, grid: Optional[Sequence[int]] = None) -> Grid:
    """The ``(H, W)`` grid of ``num_tokens`` raster-ordered tokens: ``grid`` if given, else the square one."""
    if grid is not None:
        h, w = grid
        if h * w != num_tokens:
            raise ValueError(f"TPSpikformer grid {h}x{w} does not hold the {num_tokens} tokens it got (a stream "
                             f"already pruned needs placement dict(every=1, pass_through=True))")
        return h, w
    side = math.isqrt(num_tokens)
    if side * side != num_tokens:
        raise ValueError(f"TPSpikformer cannot infer a square token grid from {num_tokens} tokens: pass "
                         f"grid=(h, w), or prune with pass_through so that every point sees the full grid")
    return side, side


def _window_sum(x: Tensor, grid: Grid, kernel_size: int) -> Tensor:
    """Per-channel sum of each token's ``k x k`` window, clipped at the grid's border: ``x`` ``[..., N, C]`` ->
    ``[..., N, C]``.

    Only the direction of this sum enters a cosine, so it stands for Eq. 11's mean over the window's valid
    positions and for the public code's ``/ k^2`` with zero padding alike.
    """
    (h, w), c = grid, x.shape[-1]
    maps = x.reshape(-1, h, w, c).permute(0, 3, 1, 2)  # [M, C, H, W]
    summed = F.avg_pool2d(maps, kernel_size, stride=1, padding=kernel_size // 2, divisor_override=1)
    return summed.permute(0, 2, 3, 1).reshape(x.shape)


def _sum_to_one(scores: Tensor) -> Tensor:
    """Normalise ``[..., N]`` non-negative scores to sum 1 over N (uniform where they are all zero)."""
    total = scores.sum(-1, keepdim=True)
    return torch.where(total > 0, scores / total.clamp_min(torch.finfo(scores.dtype).tiny),
                       1.0 / scores.shape[-1])


def _cosine(x: Tensor, y: Tensor, eps: float = 1e-8) -> Tensor:
    """Cosine similarity over the last dim, ``x . y / max(|x| |y|, eps)`` (0 for a zero vector): ``F.cosine_similarity``
    without its two full-size divisions (each vector normalised before the dot product), a third of the work."""
    dot = torch.einsum("...c,...c->...", x, y)
    norms = torch.linalg.vector_norm(x, dim=-1) * torch.linalg.vector_norm(y, dim=-1)
    return dot / norms.clamp_min(eps)


def paper_spatial_scores(x: Tensor, grid: Grid, kernel_size: int) -> Tensor:
    """Eq. 10-11: ``1 - cos(x, window mean)``. ``x`` ``[..., N, C]`` -> ``[..., N]`` (not normalised)."""
    return 1.0 - _cosine(x, _window_sum(x, grid, kernel_size))


def paper_temporal_scores(x: Tensor) -> Tensor:
    """Eq. 12: ``||X_t - X_{t-1}||_1`` over channels, ``||X_1||_1`` at the first step. ``[T, B, N, C]`` ->
    ``[T, B, N]`` (not normalised)."""
    scores = torch.empty(x.shape[:-1], dtype=x.dtype, device=x.device)
    torch.sum(x[0].abs(), -1, out=scores[0])
    if x.shape[0] > 1:
        torch.sum((x[1:] - x[:-1]).abs_(), -1, out=scores[1:])
    return scores


def paper_scores(x: Tensor, grid: Grid, kernel_size: int) -> Tensor:
    """Eq. 13, per sample and step: normalised spatial + normalised temporal score. ``[T, B, N, C]`` ->
    ``[T, B, N]``."""
    return _sum_to_one(paper_spatial_scores(x, grid, kernel_size)) + _sum_to_one(paper_temporal_scores(x))


def code_spatial_scores(x: Tensor, grid: Grid, kernel_size: int) -> Tensor:
    """The public code's spatial score: ``softmax(-cos(m, conv2d(m, ones(C, C, k, k) / k^2)))`` over the tokens,
    ``m`` the time mean. ``[T, B, N, C]`` -> ``[B, N]``.

    The convolution's output channels are all equal (each sums the window over every channel), so it is computed
    once on the channel sum and broadcast.
    """
    mean = x.mean(0)
    local = _window_sum(mean.sum(-1, keepdim=True), grid, kernel_size) / kernel_size ** 2
    return (-_cosine(mean, local.expand_as(mean), eps=1e-6)).softmax(-1)


def code_temporal_scores(x: Tensor) -> Tensor:
    """The public code's temporal score: softmax over the tokens of ``|mean_c X_t - mean_c X_{t-1}|`` averaged over
    the ``T - 1`` step pairs (uniform when ``T = 1``). ``[T, B, N, C]`` -> ``[B, N]``."""
    channel_mean = x.mean(-1)  # [T, B, N]
    change = (channel_mean[1:] - channel_mean[:-1]).abs()
    change = change.mean(0) if change.shape[0] else torch.zeros_like(channel_mean[0])
    return change.softmax(-1)


def code_scores(x: Tensor, grid: Grid, kernel_size: int) -> Tensor:
    """The public code's token score, one per sample: ``[T, B, N, C]`` -> ``[B, N]``."""
    return code_spatial_scores(x, grid, kernel_size) + code_temporal_scores(x)


def top_tokens(scores: Tensor, keep: int) -> Tensor:
    """Indices of the ``keep`` highest scores along the last dim, in raster order: ``[..., N]`` -> ``[..., K]``.

    Stable descending sort: among equal scores the lower index is kept.
    """
    return scores.argsort(dim=-1, descending=True, stable=True)[..., :keep].sort(dim=-1).values


def _check_ratio(ratio: Any, name: str) -> float:
    if isinstance(ratio, bool) or not isinstance(ratio, Real) or not 0.0 < ratio <= 1.0:
        raise ValueError(f"TPSpikformer {name} must be a number in (0, 1] (the fraction of tokens kept), "
                         f"got {ratio!r}")
    return float(ratio)


def _check_ratios(keep_ratio: Any, keep_ratios: Any) -> Tuple[float, ...]:
    """``keep_ratio`` or ``keep_ratios`` -> the schedule (one entry: every block)."""
    if (keep_ratio is None) == (keep_ratios is None):
        raise ValueError("TPSpikformer takes keep_ratio (every block) or keep_ratios (one per block), exactly one")
    if keep_ratio is not None:
        return (_check_ratio(keep_ratio, "keep_ratio"),)
    if isinstance(keep_ratios, (str, bytes)) or not isinstance(keep_ratios, Sequence) or not keep_ratios:
        raise ValueError(f"TPSpikformer keep_ratios must be a non-empty list, one ratio per block, "
                         f"got {keep_ratios!r}")
    return tuple(_check_ratio(r, f"keep_ratios[{i}]") for i, r in enumerate(keep_ratios))


def _check_grid(grid: Any) -> Optional[Grid]:
    if grid is None:
        return None
    if (isinstance(grid, (str, bytes)) or not isinstance(grid, Sequence) or len(grid) != 2
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in grid)):
        raise ValueError(f"TPSpikformer grid must be (h, w), two positive integers, got {grid!r}")
    return int(grid[0]), int(grid[1])


@register_pruner
class TPSpikformer(Pruner):
    """TP-Spikformer token pruning on the stream ``[T, B, N, C]`` (module docstring).

    Args:
        keep_ratio: fraction of the tokens every block keeps, ``K = ceil(keep_ratio N)`` (the paper's
            ``1 - r_l``); 1 keeps all (that block is not pruned).
        keep_ratios: one fraction per block instead (the paper's Tables 7-8), as many as the encoder has blocks.
        mode: ``paper`` (per-step scores, Eq. 10-15) or ``code`` (the public code's shared set, see module doc).
        kernel_size: the odd window size ``k`` of the spatial score (3 in the paper).
        grid: the tokens' ``(h, w)`` raster grid; ``None`` infers a square one from N.

    ``pruner(x)``: ``x`` ``[T, B, N, C]`` -> :class:`~zoo.pruning.base.Pruned` ``(x' [T, B, K, C], None,
    index [T, B, K])``; ``(x, None, None)`` when the block keeps every token.

    The block served: :meth:`bind` hooks the encoder's blocks, and each call serves the block after the last one
    that finished (block 0 at the start of a forward, and again after any exception). A block run on its own
    between forwards moves this on: run the whole model, or bind again. With ``keep_ratios`` a static ``N' x N'``
    token mixer is refused (the encoder sizes every block with one :meth:`kept_tokens`); use
    ``mixer_weight='crop'``.
    """

    def __init__(self, keep_ratio: Optional[float] = None, keep_ratios: Optional[Sequence[float]] = None,
                 mode: str = "paper", kernel_size: int = 3, grid: Optional[Sequence[int]] = None) -> None:
        super().__init__()
        self.ratios = _check_ratios(keep_ratio, keep_ratios)
        self.per_block = keep_ratios is not None
        if mode not in MODES:
            raise ValueError(f"TPSpikformer mode must be one of {MODES}, got {mode!r}")
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"TPSpikformer kernel_size must be an odd integer >= 1 (a window centred on the token), "
                             f"got {kernel_size!r}")
        self.mode, self.kernel_size, self.grid = mode, kernel_size, _check_grid(grid)
        self._depth: Optional[int] = None
        self._next_block = 0
        self._hooks: List[RemovableHandle] = []

    def extra_repr(self) -> str:
        keep = f"keep_ratios={list(self.ratios)}" if self.per_block else f"keep_ratio={self.ratios[0]}"
        return f"{keep}, mode={self.mode}, kernel_size={self.kernel_size}, grid={self.grid}"

    def default_placement(self, depth: int) -> dict:
        return dict(every=1, pass_through=True)

    def block_kept_tokens(self, num_tokens: int, block: int) -> int:
        """``K = ceil(keep_l N)`` of block ``block`` (1e-9 slack for binary floating point: 0.28 x 25 keeps 7)."""
        ratio = self.ratios[block] if self.per_block else self.ratios[0]
        return max(1, math.ceil(ratio * num_tokens - 1e-9))

    def kept_tokens(self, num_tokens: int) -> int:
        """The most tokens any block keeps (the count of every block with one ``keep_ratio``)."""
        return max(self.block_kept_tokens(num_tokens, i) for i in range(len(self.ratios)))

    def bind(self, blocks: Sequence[nn.Module]) -> None:
        """Check the schedule against the blocks and follow them with forward hooks (replacing earlier ones)."""
        if self.per_block and len(self.ratios) != len(blocks):
            raise ValueError(f"TPSpikformer keep_ratios has {len(self.ratios)} entries for a {len(blocks)}-block "
                             f"encoder; give one per block")
        if self.per_block and len(set(self.ratios)) > 1 and any(
                isinstance(m, TokenMixing) and m.weight_mode == "static" for b in blocks for m in b.modules()):
            raise ValueError("TPSpikformer keep_ratios keeps a different number of tokens per block, which a static "
                             "N'xN' token mixer (one size for all blocks) cannot serve; use mixer_weight='crop'")
        for handle in self._hooks:
            handle.remove()
        self._hooks = [block.register_forward_hook(partial(self._block_done, i, len(blocks)), always_call=True)
                       for i, block in enumerate(blocks)]
        self._depth, self._next_block = len(blocks), 0

    def _block_done(self, index: int, depth: int, module: nn.Module, args: Any, output: Any) -> None:
        """Forward hook of block ``index``: the next call serves the block after it (block 0 after the last block,
        or when the block raised: ``output`` is ``None`` then)."""
        self._next_block = (index + 1) % depth if output is not None else 0

    def _take_block(self) -> int:
        """The block this call serves; until that block finishes, an exception restarts the count at block 0."""
        if self.per_block and self._depth is None:
            raise RuntimeError("TPSpikformer with keep_ratios must be bound to its blocks: build it into a model "
                               "(pruning=dict(type='TPSpikformer', ...)) or call bind(blocks)")
        block, self._next_block = self._next_block, 0
        return block

    @torch.no_grad()
    def scores(self, x: Tensor) -> Tensor:
        """Token scores of the stream ``x`` ``[T, B, N, C]``: ``[T, B, N]`` (``paper``) or ``[B, N]`` (``code``)."""
        # contiguous: the stem's token view [T, B, N, C] has N innermost, on which the window sums run ~10x slower
        x = x.detach().to(torch.promote_types(x.dtype, torch.float32)).contiguous()
        grid = token_grid(x.shape[2], self.grid)
        return (paper_scores if self.mode == "paper" else code_scores)(x, grid, self.kernel_size)

    def prune(self, x: Tensor, prune_time: bool = True) -> Pruned:
        block = self._take_block()
        steps, _, tokens, _ = x.shape
        keep = self.block_kept_tokens(tokens, block)
        if keep == tokens:
            return Pruned(x, None, None)
        index = top_tokens(self.scores(x), keep)
        if self.mode == "code":
            index = index.expand(steps, -1, -1)
        return Pruned(take_tokens(x, index), None, index)
