"""TP-Spikformer (zoo/pruning/tp_spikformer.py): IRToP scores in both readings against hand-computed values, top-K
selection, per-block schedules, IR-Arc pass-through, whole models, gradients, bad options and the op report."""
from __future__ import annotations

import math
from typing import List, Optional

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import zoo
import zoo.pruning.tp_spikformer  # noqa: F401  (registers TPSpikformer)
from zoo.encoder import Placement, PrunedEncoder
from zoo.mixer import TokenMixing
from zoo.ops import op_report
from zoo.pruning import build
from zoo.pruning.tp_spikformer import (TPSpikformer, code_scores, code_spatial_scores, code_temporal_scores,
                                       paper_scores, paper_spatial_scores, paper_temporal_scores, top_tokens)

TINY = dict(embed_dim=32, num_heads=4, time_steps=2)

# Three tokens on a 1 x 3 grid, two channels, two steps (T = 2, B = 1, N = 3, C = 2).
ROW = torch.tensor([[[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]],
                    [[[1.0, 0.0], [0.0, 3.0], [2.0, 1.0]]]], dtype=torch.float64)


def sum_to_one(values: List[float]) -> Tensor:
    return torch.tensor(values, dtype=torch.float64) / sum(values)


def test_paper_scores_equal_hand_computed_values():
    # step 1: window means (1/2, 1/2), (2/3, 2/3), (1/2, 1) -> cos 1/sqrt2, 1/sqrt2, 1.5/sqrt(2 * 1.25)
    spatial_1 = [1 - 1 / math.sqrt(2), 1 - 1 / math.sqrt(2), 1 - 1.5 / math.sqrt(2.5)]
    # step 2: window means (1/2, 3/2), (1, 4/3), (1, 2) -> cos 0.5/sqrt(2.5), 4/5, 4/5
    spatial_2 = [1 - 0.5 / math.sqrt(2.5), 1 - 0.8, 1 - 0.8]
    temporal_1, temporal_2 = [1.0, 1.0, 2.0], [0.0, 2.0, 1.0]  # ||X_1||_1, then ||X_2 - X_1||_1
    spatial = paper_spatial_scores(ROW, (1, 3), 3)
    assert torch.allclose(spatial[:, 0], torch.tensor([spatial_1, spatial_2], dtype=torch.float64))
    assert torch.equal(paper_temporal_scores(ROW)[:, 0], torch.tensor([temporal_1, temporal_2], dtype=torch.float64))
    expected = torch.stack([sum_to_one(spatial_1) + sum_to_one(temporal_1),
                            sum_to_one(spatial_2) + sum_to_one(temporal_2)])
    assert torch.allclose(paper_scores(ROW, (1, 3), 3)[:, 0], expected)


def test_paper_spatial_score_clips_the_window_at_the_border():
    """Eq. 11 on a 3 x 3 grid (a corner window holds 4 tokens, an edge one 6, the centre 9), by loops."""
    x = torch.randn(1, 2, 9, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    maps = x.view(1, 2, 3, 3, 5)
    expected = torch.empty(1, 2, 9, dtype=torch.float64)
    for b in range(2):
        for h in range(3):
            for w in range(3):
                window = [maps[0, b, p, q] for p in range(h - 1, h + 2) for q in range(w - 1, w + 2)
                          if 0 <= p < 3 and 0 <= q < 3]
                mean, token = sum(window) / len(window), maps[0, b, h, w]
                expected[0, b, 3 * h + w] = 1 - token @ mean / (token.norm() * mean.norm())
    assert torch.allclose(paper_spatial_scores(x, (3, 3), 3), expected)
    assert torch.allclose(paper_spatial_scores(x, (3, 3), 1), torch.zeros(1, 2, 9, dtype=torch.float64))  # k = 1


def test_code_scores_equal_hand_computed_values():
    # time mean (1, 0), (0, 2), (1.5, 1); channel sums 1, 2, 2.5; conv with ones / 9 and zero padding gives every
    # channel of token j the window sum / 9: (1 + 2) / 9, 5.5 / 9, 4.5 / 9 -> cos = sum(m) / (|m| sqrt 2)
    cos = torch.tensor([1 / math.sqrt(2), 2 / (2 * math.sqrt(2)), 2.5 / (math.sqrt(3.25) * math.sqrt(2))],
                       dtype=torch.float64)
    change = torch.tensor([0.0, 1.0, 0.5], dtype=torch.float64)  # |channel mean t2 - t1|: (.5,.5,1) -> (.5,1.5,1.5)
    assert torch.allclose(code_spatial_scores(ROW, (1, 3), 3)[0], (-cos).softmax(0))
    assert torch.allclose(code_scores(ROW, (1, 3), 3)[0], (-cos).softmax(0) + change.softmax(0))
    assert torch.allclose(code_scores(ROW[:1], (1, 3), 3)[0], (-cos_of(ROW[:1])).softmax(0) + 1 / 3)  # T = 1
    steps = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 2.0], [1.0, 2.0, 0.0]]).view(3, 1, 3, 1)
    change = torch.tensor([1.0 + 0.0, 0.0 + 2.0, 2.0 + 2.0]) / 2  # |delta| averaged over the two step pairs
    assert torch.allclose(code_temporal_scores(steps)[0], change.softmax(0))


def cos_of(x: Tensor) -> Tensor:
    """The public code's literal computation on ``x`` [T, 1, N, C] of a 1 x N grid: conv2d with ones(C, C, 3, 3)/9."""
    mean = x.mean(0)[0].T.reshape(1, x.shape[-1], 1, x.shape[2])  # [1, C, 1, N]
    local = F.conv2d(mean, torch.ones(x.shape[-1], x.shape[-1], 3, 3, dtype=x.dtype) / 9, padding=1)
    return F.cosine_similarity(mean, local, dim=1, eps=1e-6).flatten()


def test_code_spatial_score_equals_the_all_channel_convolution():
    x = torch.randn(3, 2, 16, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    mean = x.mean(0).transpose(1, 2).reshape(2, 6, 4, 4)
    local = F.conv2d(mean, torch.ones(6, 6, 5, 5, dtype=torch.float64) / 25, padding=2)
    cos = F.cosine_similarity(mean, local, dim=1, eps=1e-6).flatten(1)
    assert torch.allclose(code_spatial_scores(x, (4, 4), 5), (-cos).softmax(-1))


def test_top_k_keeps_the_highest_scores_in_raster_order_and_the_lower_index_on_ties():
    scores = torch.tensor([[0.1, 0.5, 0.5, 0.2, 0.5], [3.0, 2.0, 1.0, 0.0, 4.0]])
    assert top_tokens(scores, 2).tolist() == [[1, 2], [0, 4]]
    assert top_tokens(scores, 4).tolist() == [[1, 2, 3, 4], [0, 1, 2, 4]]
    assert top_tokens(torch.zeros(7), 3).tolist() == [0, 1, 2]
    assert top_tokens(torch.tensor([1.0, 0.0] * 100), 3).tolist() == [0, 2, 4]  # large enough for sort order
    flat = torch.ones(2, 1, 9, 4)  # every token alike: all scores tie, the first K in raster order are kept
    for mode in ("paper", "code"):
        kept, steps, index = TPSpikformer(keep_ratio=0.5, mode=mode)(flat)
        assert steps is None and index.tolist() == [[[0, 1, 2, 3, 4]]] * 2 and kept.shape == (2, 1, 5, 4)


def test_kept_counts_round_up_and_a_full_block_is_not_pruned():
    pruner = TPSpikformer(keep_ratios=[1.0, 0.5, 0.26, 0.28])
    assert [pruner.block_kept_tokens(64, i) for i in range(4)] == [64, 32, 17, 18]
    assert pruner.block_kept_tokens(25, 3) == 7 and pruner.kept_tokens(64) == 64  # 0.28 x 25 = 7.000000000000001
    assert TPSpikformer(keep_ratio=0.01).kept_tokens(64) == 1
    x = torch.randn(2, 3, 16, 4)
    assert TPSpikformer(keep_ratio=1.0)(x) == (x, None, None)


def test_selection_follows_the_scores_per_step_or_per_sample():
    x = torch.randn(3, 2, 16, 8, generator=torch.Generator().manual_seed(2))
    paper = TPSpikformer(keep_ratio=0.25)
    kept, _, index = paper(x)
    assert torch.equal(index, top_tokens(paper_scores(x, (4, 4), 3), 4))
    assert torch.equal(kept, x.gather(2, index.unsqueeze(-1).expand(-1, -1, -1, 8)))
    code = TPSpikformer(keep_ratio=0.25, mode="code", grid=(2, 8))
    _, _, index = code(x)
    assert torch.equal(index, top_tokens(code_scores(x, (2, 8), 3), 4).expand(3, -1, -1))


def block_inputs(model: nn.Module) -> List[int]:
    """Record the token count each block sees."""
    seen: List[int] = []
    for block in model.blocks:
        block.register_forward_pre_hook(lambda m, args: seen.append(args[0].shape[2]))
    return seen


def test_per_block_schedule_follows_the_blocks_through_placements_and_exceptions():
    x = torch.randn(2, 3, 32, 32)
    model = zoo.create("spikformer-cifar10", **TINY, depth=3, pruning=dict(type="TPSpikformer",
                                                                          keep_ratios=[1.0, 0.5, 0.25]))
    assert model.blocks.placement == Placement(every=1, pass_through=True)
    seen = block_inputs(model)
    model(x), model(x)
    assert seen == [64, 32, 16] * 2
    calls = []
    failing = model.blocks[1].mlp.register_forward_pre_hook(lambda m, args: calls.append(1) or 1 / 0)
    with pytest.raises(ZeroDivisionError):
        model(x)
    failing.remove()
    seen.clear()
    model(x)
    assert calls == [1] and seen == [64, 32, 16]  # the count restarted at block 0 after the exception
    pruner = model.blocks.pruner
    pruner.scores = lambda stream: 1 / 0  # the pruner itself fails while serving block 1
    with pytest.raises(ZeroDivisionError):
        model(x)
    del pruner.scores
    seen.clear()
    model(x)
    assert seen == [64, 32, 16]
    later = zoo.create("spikformer-cifar10", **TINY, depth=3, placement=dict(start=1, every=1, pass_through=True),
                       pruning=dict(type="TPSpikformer", keep_ratios=[0.5, 0.5, 0.25]))
    seen = block_inputs(later)
    later(x), later(x)
    assert seen == [64, 32, 16] * 2  # block 0 is no pruning point; blocks 1 and 2 get their own ratios


def test_pass_through_leaves_the_pruned_tokens_unchanged():
    torch.manual_seed(0)
    model = zoo.create("smixer-cifar10", **TINY, depth=2, mixer_weight="crop",
                       pruning=dict(type="TPSpikformer", keep_ratios=[0.5, 0.25])).eval()
    calls = []
    model.blocks.pruner.register_forward_hook(lambda m, args, out: calls.append((args[0], out.token_index)))
    tokens = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        out = model.blocks(tokens)
        (first_in, first), (second_in, second) = calls
        assert first.shape == (2, 3, 32) and second.shape == (2, 3, 16) and torch.equal(first_in, tokens)
        kept_out = model.blocks[1](second_in.gather(2, expand(second)), second)
    pruned = torch.ones(2, 3, 64, dtype=torch.bool).scatter(2, second, False)
    assert out.stream.shape == tokens.shape and out.token_index is None and out.step_index is None
    assert torch.equal(out.stream[pruned], second_in[pruned])  # skipped block 1 unchanged
    assert torch.equal(out.stream.gather(2, expand(second)), kept_out)
    skipped_both = pruned & torch.ones_like(pruned).scatter(2, first, False)
    assert skipped_both.any() and torch.equal(out.stream[skipped_both], tokens[skipped_both])


def expand(index: Tensor, channels: int = 32) -> Tensor:
    return index.unsqueeze(-1).expand(-1, -1, -1, channels)


@pytest.mark.parametrize("name, mode, mixer_weight", [("smixer-cifar10", "paper", "crop"),
                                                      ("smixer-cifar10", "code", "static"),
                                                      ("spikformer-cifar10", "paper", None),
                                                      ("spikformer-cifar10", "code", None)])
def test_whole_model_runs_forward_and_backward(name, mode, mixer_weight):
    torch.manual_seed(0)
    model = zoo.create(name, **TINY, depth=2, mixer_weight=mixer_weight,
                       pruning=dict(type="TPSpikformer", keep_ratio=0.5, mode=mode))
    if mixer_weight == "static":
        assert [b.mixer.mixing.matrix_size for b in model.blocks] == [32, 32]  # one N' for every block
    model(torch.randn(2, 3, 32, 32)).sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.blocks[0].mlp.fc1.linear.weight.grad.abs().sum() > 0


class SmoothBlock(nn.Module):
    """A differentiable block (crop-mode token mixing, then tanh), so that gradcheck sees true gradients."""

    def __init__(self, num_tokens: int, dim: int) -> None:
        super().__init__()
        self.mixing = TokenMixing(num_tokens, 2, "crop")
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, token_index: Optional[Tensor] = None) -> Tensor:
        return x + torch.tanh(self.proj(self.mixing(x, token_index)))


@pytest.mark.parametrize("mode", ["paper", "code"])
def test_gradients_flow_through_the_kept_tokens_and_skip_the_pruned(mode):
    torch.manual_seed(0)
    pruner = TPSpikformer(keep_ratios=[0.5, 0.34], mode=mode)
    encoder = PrunedEncoder(lambda kept: SmoothBlock(9, 4), 2, 9, pruner, pruner.default_placement(2)).double()
    kept = []
    pruner.register_forward_hook(lambda m, args, out: kept.append(out.token_index.shape[-1]))
    x = torch.randn(3, 2, 9, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: encoder(t).stream, (x,))
    assert kept[:2] == [5, 4] and set(kept[::2]) == {5} and set(kept[1::2]) == {4}  # the selection is discrete


BAD_OPTIONS = [
    (dict(keep_ratio=0.0), r"keep_ratio must be a number in \(0, 1\]"),
    (dict(keep_ratio=1.5), "keep_ratio must be"), (dict(keep_ratio=float("nan")), "keep_ratio must be"),
    (dict(keep_ratio="0.5"), "keep_ratio must be"), (dict(keep_ratio=True), "keep_ratio must be"),
    (dict(), "exactly one"), (dict(keep_ratio=0.5, keep_ratios=[0.5]), "exactly one"),
    (dict(keep_ratios=[]), "keep_ratios must be a non-empty list"), (dict(keep_ratios="0.5"), "non-empty list"),
    (dict(keep_ratios=[0.5, 2]), r"keep_ratios\[1\] must be"),
    (dict(keep_ratio=0.5, mode="spatial"), r"mode must be one of \('paper', 'code'\)"),
    (dict(keep_ratio=0.5, kernel_size=2), "kernel_size must be an odd integer"),
    (dict(keep_ratio=0.5, kernel_size=0), "kernel_size"), (dict(keep_ratio=0.5, kernel_size=3.0), "kernel_size"),
    (dict(keep_ratio=0.5, grid=(8,)), r"grid must be \(h, w\)"), (dict(keep_ratio=0.5, grid=(0, 8)), "grid must"),
    (dict(keep_ratio=0.5, grid="8x8"), "grid must"), (dict(keep_ratio=0.5, grid=(8, 8.0)), "grid must"),
]


@pytest.mark.parametrize("options, message", BAD_OPTIONS)
def test_bad_options_are_refused_in_one_line(options, message):
    with pytest.raises(ValueError, match=message) as err:
        build(dict(type="TPSpikformer", **options))
    assert "\n" not in str(err.value)


def test_bad_grids_schedules_and_mixers_are_refused_in_one_line():
    cases = [
        (lambda: TPSpikformer(keep_ratio=0.5)(torch.zeros(1, 1, 12, 4)), "cannot infer a square token grid from 12"),
        (lambda: TPSpikformer(keep_ratio=0.5, grid=(3, 5))(torch.zeros(1, 1, 12, 4)), "grid 3x5 does not hold"),
        (lambda: zoo.create("spikformer-cifar10", **TINY, depth=2, pruning=dict(type="TPSpikformer",
                                                                                keep_ratios=[0.5] * 3)),
         "keep_ratios has 3 entries for a 2-block encoder"),
        (lambda: zoo.create("smixer-cifar10", **TINY, depth=2, pruning=dict(type="TPSpikformer",
                                                                            keep_ratios=[0.5, 0.25])),
         "static N'xN' token mixer .* use mixer_weight='crop'"),
        (lambda: zoo.create("spikformer-cifar10", **TINY, depth=2, placement=dict(every=1),
                            pruning=dict(type="TPSpikformer", keep_ratio=0.5))(torch.zeros(1, 3, 32, 32)),
         "square token grid from 32 tokens"),  # the second point sees an already pruned stream
        (lambda: TPSpikformer(keep_ratios=[0.5, 0.5])(torch.zeros(1, 1, 4, 2)), "must be bound to its blocks"),
    ]
    for make, message in cases:
        with pytest.raises((ValueError, RuntimeError), match=message) as err:
            make()
        assert "\n" not in str(err.value)


def test_op_report_counts_fewer_block_ops_than_the_unpruned_model():
    torch.manual_seed(0)
    dense = zoo.create("smixer-cifar10", **TINY, depth=2).eval()
    pruned = zoo.create("smixer-cifar10", **TINY, depth=2, mixer_weight="crop",
                        pruning=dict(type="TPSpikformer", keep_ratio=0.5)).eval()
    pruned.load_state_dict(dense.state_dict())
    x = torch.randn(2, 3, 32, 32)
    full, less = op_report(dense, x), op_report(pruned, x)
    assert [layer.name for layer in full.layers] == [layer.name for layer in less.layers]
    for a, b in zip(full.layers, less.layers):
        share = 1.0 if not a.name.startswith("blocks.") else 0.25 if a.kind == "TokenMixing" else 0.5
        assert b.macs == pytest.approx(a.macs * share), a.name  # K = 32 of 64 tokens; W_M cropped to 32 x 32
    block_macs = lambda report: sum(layer.macs for layer in report.layers if layer.name.startswith("blocks."))
    assert block_macs(less) < 0.5 * block_macs(full) and less.macs < full.macs


def test_training_free_on_a_saved_model(tmp_path):
    torch.manual_seed(0)
    trained = zoo.create("spikformer-cifar10", **TINY, depth=2).eval()
    folder = zoo.save_pretrained(trained, tmp_path)
    x = torch.randn(2, 3, 32, 32)
    same = zoo.load(folder, pruning=dict(type="TPSpikformer", keep_ratio=1.0)).eval()
    pruned = zoo.load(folder, pruning=dict(type="TPSpikformer", keep_ratio=0.5, mode="code")).eval()
    with torch.no_grad():
        assert torch.equal(same(x), trained(x))  # keeping every token is the unpruned model
        assert not torch.equal(pruned(x), trained(x))
    assert pruned.init_args["pruning"] == dict(type="TPSpikformer", keep_ratio=0.5, mode="code", placement=None,
                                               mixer_weight="static", stem_layer=0)
