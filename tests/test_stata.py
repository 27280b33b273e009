"""STATA (zoo/pruning/stata.py): the anchor-row score, the kept set and its token index, the alignment losses by
hand, gradients, the pruner inside spikformer-cifar10 (aux loss, head, op count, save/load) and its one-line errors."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import zoo
import zoo.pruning.stata  # noqa: F401  (registers STATA)
from zoo.encoder import Placement
from zoo.mixer import AttentionProduct
from zoo.ops import op_report
from zoo.pruning import Pruned, build
from zoo.pruning.stata import (STATA, anchor_scores, attention_map, half_alignment, inter_alignment,
                               intra_alignment)

SSA = dict(embed_dim=32, depth=3, num_heads=4, time_steps=2)
STATA_HALF = dict(type="STATA", keep_ratio=0.5)


def spikformer(**kw):
    torch.manual_seed(0)
    return zoo.create("spikformer-cifar10", **dict(SSA, **kw))


def capture_qk(product: AttentionProduct, into: list):
    """Record the ``(q, k)`` a block's attention product is called with."""
    return product.register_forward_hook(lambda m, args, out: into.append((args[0], args[1])))


def test_score_is_the_head_mean_of_the_anchor_row():
    q = torch.zeros(1, 1, 2, 4, 2)
    k = torch.zeros(1, 1, 2, 4, 2)
    q[0, 0, 0, 0], q[0, 0, 1, 0] = torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])  # the anchor's queries
    q[0, 0, :, 1:] = torch.randn(2, 3, 2)  # other queries play no part
    k[0, 0, 0, 1:] = torch.tensor([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])  # head 0: row [1, 0, 1]
    k[0, 0, 1, 1:] = torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0]])  # head 1: row [0, 2, 1]
    k[0, 0, :, 0] = 5.0  # the anchor's own key is not a score
    scores = anchor_scores(q, k, 0.5)
    assert torch.equal(scores, torch.tensor([[[0.25, 0.5, 0.5]]]))  # mean([1, 0, 1], [0, 2, 1]) * 0.5
    assert torch.allclose(scores, attention_map(q, k, 0.5)[..., 0, 1:].mean(2))


def bound_pruner(keep_ratio=0.5, time_steps=2, dim=3):
    """A STATA bound to two stand-in blocks, each holding one attention product (scale 1)."""
    pruner = STATA(keep_ratio=keep_ratio, embed_dim=dim, time_steps=time_steps)
    blocks = [nn.Sequential(AttentionProduct(1.0)) for _ in range(2)]
    pruner.bind(blocks)
    return pruner, blocks


def test_kept_set_anchor_and_token_index():
    pruner, blocks = bound_pruner()
    x = torch.arange(2 * 1 * 5 * 3, dtype=torch.float32).view(2, 1, 5, 3)  # [T, B, 1 + N, C]
    scores = torch.tensor([[2.0, 3.0, 2.0, 0.0], [0.0, 1.0, 5.0, 4.0]])  # step 0: a tie at the cut
    q = torch.zeros(2, 1, 1, 5, 1)
    q[:, :, :, 0] = 1.0
    k = torch.zeros(2, 1, 1, 5, 1)
    k[:, 0, 0, 1:, 0] = scores
    blocks[1][0](q, k, k)  # the hook keeps the latest block's q, k
    kept, steps, index = pruner(x)
    expected = torch.tensor([[0, 1], [2, 3]])  # the lower index wins the tie; kept tokens in raster order
    assert steps is None and torch.equal(index, torch.cat([torch.zeros(2, 1), expected + 1], 1).long().unsqueeze(1))
    assert torch.equal(kept[:, 0, 0], x[:, 0, 0])  # the anchor stays first
    assert torch.equal(kept[:, 0, 1:], torch.stack([x[t, 0, expected[t] + 1] for t in range(2)]))
    out = pruner.leave(Pruned(kept, None, index))
    assert torch.equal(out.stream, kept[:, :, 1:]) and torch.equal(out.token_index, expected.unsqueeze(1))


def test_enter_prepends_one_anchor_per_step():
    pruner, _ = bound_pruner(time_steps=3)
    x = torch.randn(3, 2, 4, 3)
    entered = pruner.enter(Pruned(x, None, None)).stream
    assert entered.shape == (3, 2, 5, 3) and torch.equal(entered[:, :, 1:], x)
    assert torch.equal(entered[:, 1, 0], pruner.anchor.detach()) and not torch.equal(entered[0, 0, 0], entered[1, 0, 0])
    steps = torch.tensor([[2, 0], [1, 2]])  # a stem that kept steps per sample
    entered = pruner.enter(Pruned(x[:2], steps, None)).stream
    assert torch.equal(entered[:, 0, 0], pruner.anchor.detach()[[2, 1]])
    assert torch.equal(entered[:, 1, 0], pruner.anchor.detach()[[0, 2]])


def test_half_alignment_sorts_by_l2_and_pulls_the_worse_half_to_the_better():
    maps = torch.tensor([[[0.0, 1.0], [6.0, 8.0]],  # unit 0 of samples 0, 1: norms 1, 10
                         [[3.0, 4.0], [1.0, 0.0]],  # unit 1: norms 5, 1
                         [[0.0, 2.0], [0.0, 0.0]]], requires_grad=True)  # unit 2: norms 2, 0
    loss = half_alignment(maps)  # sample 0: unit 0 -> unit 1; sample 1: unit 2 -> unit 0; the middle left out
    assert loss.item() == pytest.approx((math.sqrt(18) + 10) / 2)
    loss.backward()
    grad = torch.zeros(3, 2, 2)
    grad[0, 0] = torch.tensor([-3.0, -3.0]) / math.sqrt(18) / 2
    grad[2, 1] = torch.tensor([-6.0, -8.0]) / 10 / 2
    assert torch.allclose(maps.grad, grad)  # the better half is detached: it only supervises
    even = torch.tensor([[0.0, 1.0], [10.0, 0.0], [2.0, 0.0], [0.0, 3.0]]).unsqueeze(1)  # norms 1, 10, 2, 3
    assert half_alignment(even).item() == pytest.approx((8 + 2) / 2)  # ranks 0-2 and 1-3 (10 vs 2, 3 vs 1)
    assert half_alignment(torch.randn(1, 2, 3)).item() == 0.0  # one unit: nothing to align


def test_intra_alignment_over_time_and_heads_by_hand():
    maps = torch.zeros(2, 1, 2, 2, 2)  # [T, B, h, M, M]
    maps[0, 0, 0, 0, 0], maps[1, 0, 0, 0, 0], maps[1, 0, 1, 1, 1] = 1.0, 2.0, 3.0
    # time: step 1 (norm sqrt 13) supervises step 0 (norm 1): ||(-1, -3)|| = sqrt 10;
    # heads: head 1 (norm 3) supervises head 0 (norm sqrt 5): ||(1, 2, -3)|| = sqrt 14
    one = math.sqrt(10) + math.sqrt(14)
    assert intra_alignment([maps]).item() == pytest.approx(one)
    assert intra_alignment([maps, 2 * maps]).item() == pytest.approx(1.5 * one)  # mean over positions


def test_inter_alignment_resizes_and_detaches_the_deeper_map():
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 1, 2, 2).requires_grad_()
    b = torch.ones(1, 1, 1, 2, 2, requires_grad=True)
    c = torch.zeros(1, 1, 1, 1, 1, requires_grad=True)
    loss = inter_alignment([a, b, c])  # pairs (a, b), (a, c), (b, c); a 2x2 map resized to 1x1 is its mean
    assert loss.item() == pytest.approx((math.sqrt(14) + 2.5 + 1.0) / 3)
    loss.backward()
    assert c.grad is None  # the deepest map is only ever a detached target
    assert torch.allclose(b.grad, torch.full_like(b, 1 / 12))  # only as the shallow side of (b, c)
    assert torch.allclose(a.grad, ((a - b) / math.sqrt(14) + 0.25).detach() / 3)
    assert inter_alignment([a]).item() == 0.0


def test_alignment_losses_gradcheck_in_float64():
    """Numerical gradients perturb every input, so each check varies only what is never a (detached) target."""
    torch.manual_seed(0)
    big = 3 + torch.rand(2, 1, 2, 4, 4, dtype=torch.float64)  # [T, B, h, M, M]

    def intra_of(worst):  # (step 1, head 1) is the only varied block: in the worse half in time and in heads
        maps = big.clone()
        maps[1, :, 1] = worst
        return intra_alignment([maps])

    assert torch.autograd.gradcheck(intra_of, (0.1 * torch.randn(1, 4, 4, dtype=torch.float64).requires_grad_(),))
    q, k = (torch.randn(3, 2, 2, 5, 4, dtype=torch.float64, requires_grad=True) for _ in range(2))
    deep = torch.randn(3, 2, 2, 3, 3, dtype=torch.float64)  # the detached target, smaller: the q k map is resized
    assert torch.autograd.gradcheck(lambda q, k: inter_alignment([attention_map(q, k, 0.125), deep]), (q, k))


def test_inside_spikformer_forward_backward_with_the_aux_loss():
    model = spikformer(pruning=STATA_HALF)
    assert model.blocks.placement == Placement(start=2, every=3) and model.blocks.points == {2}  # floor(3/3) + 1
    seen = {0: [], 2: []}  # the aligned blocks {0, floor(3/3) + 1, 3 - 1}
    for i, into in seen.items():
        capture_qk(model.blocks[i].mixer.product, into)
    x, labels = torch.randn(2, 3, 32, 32), torch.tensor([3, 7])
    logits = model(x)
    aux = model.blocks.aux_loss()
    scale = model.blocks[0].mixer.product.scale
    maps = [attention_map(*seen[i][0], scale) for i in (0, 2)]
    assert [m.shape for m in maps] == [(2, 2, 4, 65, 65), (2, 2, 4, 33, 33)]  # anchor + 64, anchor + 32 tokens
    assert torch.allclose(aux, 1e-2 * intra_alignment(maps) + 1e-2 * inter_alignment(maps))
    assert logits.shape == (2, 10) and aux.requires_grad and float(aux.detach()) > 0
    (F.cross_entropy(logits, labels) + aux).backward()
    anchor = model.blocks.pruner.anchor
    assert anchor.shape == (2, 32) and anchor.grad is not None and float(anchor.grad.abs().sum()) > 0
    model.eval()
    model(x)
    assert model.blocks.aux_loss() is None  # the alignment maps are a training cost only


@pytest.mark.parametrize("depth,points,aligned", [(2, {1}, (0, 1)), (4, {2}, (0, 2, 3)), (8, {3, 6}, (0, 3, 7)),
                                                   (12, {5, 8, 11}, (0, 5, 11))])
def test_default_placement_and_alignment_blocks_follow_floor_of_l_over_3(depth, points, aligned):
    model = zoo.create("spikformer-cifar10", embed_dim=8, depth=depth, num_heads=2, time_steps=1, pruning=STATA_HALF)
    assert model.blocks.points == points and model.blocks.pruner.aligned_blocks == aligned
    custom = spikformer(pruning=dict(STATA_HALF, align_blocks=[2, 0, 2]))
    assert custom.blocks.pruner.aligned_blocks == (0, 2)


def test_token_index_and_the_head_never_see_the_anchor():
    model = spikformer(pruning=STATA_HALF).eval()
    seen = []
    capture_qk(model.blocks[1].mixer.product, seen)
    io = {}
    model.blocks[1].register_forward_hook(lambda m, args, out: io.update(out1=out))
    model.blocks[2].register_forward_pre_hook(lambda m, args: io.update(in2=args[0]))
    model.blocks[2].register_forward_hook(lambda m, args, out: io.update(out2=out))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        tokens, _ = model.patch_embed(x, 2)
        out = model.blocks(tokens)
        logits = model(x)
    q, k = seen[0]
    expected = anchor_scores(q, k, model.blocks[1].mixer.product.scale).argsort(dim=-1, descending=True, stable=True)
    expected = expected[..., :32].sort(-1).values  # [T, B, 32] into the stem's 64 tokens
    assert out.step_index is None and torch.equal(out.token_index, expected)
    y1 = io["out1"]
    gathered = y1[:, :, 1:].gather(2, expected.unsqueeze(-1).expand(-1, -1, -1, 32))
    assert torch.equal(io["in2"], torch.cat([y1[:, :, :1], gathered], 2))  # block 2 runs on the anchor + 32 kept
    assert out.stream.shape == (2, 2, 32, 32) and torch.equal(out.stream, io["out2"][:, :, 1:])
    assert torch.equal(logits, model.forward_head(out.stream))  # the head pools the 32 kept tokens only


def test_one_point_pass_through_puts_the_dropped_tokens_back_unchanged():
    model = spikformer(pruning=STATA_HALF, placement=dict(start=2, pass_through=True)).eval()
    io = {}
    model.blocks[1].register_forward_hook(lambda m, args, out: io.update(out1=out))
    with torch.no_grad():
        out = model.blocks(model.patch_embed(torch.randn(2, 3, 32, 32), 2)[0])
    assert out.stream.shape == (2, 2, 64, 32) and out.token_index is None
    changed = (out.stream != io["out1"][:, :, 1:]).any(-1)  # [T, B, 64]: only the 32 kept went through block 2
    assert torch.equal(changed.sum(-1), torch.full((2, 2), 32))


def test_classifier_adds_the_alignment_loss_to_the_task_loss():
    import tasks.classification  # noqa: F401  (registers the task models)
    from tasks.registry import MODELS

    torch.manual_seed(0)
    classifier = MODELS.build(dict(type="SpikingClassifier", backbone="spikformer-cifar10",
                                   backbone_args=dict(SSA, pruning=STATA_HALF)))
    losses = classifier(torch.randn(2, 3, 32, 32), dict(gt_label=torch.tensor([1, 2])), mode="loss")
    assert set(losses) == {"loss", "accuracy", "loss_pruner"} and float(losses["loss_pruner"].detach()) > 0
    assert torch.equal(losses["loss_pruner"], classifier.backbone.blocks.aux_loss())


def test_op_report_counts_fewer_block_ops_than_unpruned():
    x = torch.randn(2, 3, 32, 32)
    pruned, dense = (op_report(spikformer(pruning=p).eval(), x) for p in (STATA_HALF, None))
    def block_macs(report):
        return sum(layer.macs for layer in report.layers if layer.name.startswith("blocks."))

    assert block_macs(pruned) < 0.9 * block_macs(dense)
    products = {layer.name: layer.macs for layer in pruned.layers if layer.kind == "AttentionProduct"}
    assert products["blocks.2.mixer.product"] / products["blocks.0.mixer.product"] == pytest.approx(33 / 65)


def test_save_and_load_round_trip_keeps_the_anchor(tmp_path):
    model = spikformer(pruning=STATA_HALF).eval()
    assert "blocks.pruner.anchor" in model.state_dict()
    loaded = zoo.load(zoo.save_pretrained(model, tmp_path)).eval()
    assert torch.equal(loaded.blocks.pruner.anchor, model.blocks.pruner.anchor)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_spike_driven_slots_rank_like_the_integer_form():
    x = torch.randn(2, 3, 32, 32)
    outs = []
    for spike_driven in (False, True):
        model = spikformer(depth=2, neuron=dict(type="ILIF", spike_driven=spike_driven),
                           pruning=STATA_HALF).eval()
        with torch.no_grad():
            outs.append(model.blocks(model.patch_embed(x, 2)[0]))
    assert torch.equal(outs[0].token_index, outs[1].token_index)


@pytest.mark.parametrize("options,message", [
    (dict(keep_ratio=0.0), r"keep_ratio must be a number in \(0.0, 1.0\], got 0.0"),
    (dict(keep_ratio=1.5), "keep_ratio must be a number"),
    (dict(keep_ratio=True), "keep_ratio must be a number"),
    (dict(keep_ratio="0.5"), "keep_ratio must be a number"),
    (dict(keep_ratio=float("nan")), "keep_ratio must be a number"),
    (dict(alpha=-1.0), r"alpha must be a number in \[0.0, inf\]"),
    (dict(beta=float("inf")), "beta must be a number"),
    (dict(align_blocks="02"), "align_blocks must be a list of block indices"),
    (dict(align_blocks=[0.5]), "align_blocks must be a list of block indices"),
    (dict(align_blocks=[0, 5]), r"align_blocks \[5\] are not blocks of this 3-block encoder \(0..2\)"),
    (dict(keep_ratio=0.01), "keeps 0 of 64 tokens; use at least 1/64"),
    (dict(time_steps=0), "needs the model's time_steps"),
])
def test_bad_options_are_refused_in_one_line(options, message):
    with pytest.raises(ValueError, match=message) as err:
        spikformer(pruning=dict(type="STATA", **options))
    assert "\n" not in str(err.value)


def test_bad_models_and_placements_are_refused_in_one_line():
    cases = [
        (lambda: zoo.create("smixer-cifar10", **SSA, pruning=STATA_HALF), "blocks \\[0, 1, 2\\] have no spiking self"),
        (lambda: spikformer(depth=1, pruning=STATA_HALF), "at least 2 blocks"),
        (lambda: build(dict(type="STATA")), "needs the model's embed_dim"),
        (lambda: spikformer(pruning=STATA_HALF, placement=dict(start=0))(torch.randn(1, 3, 32, 32)),
         "no block ran before this one; use a placement with start >= 1"),
        (lambda: spikformer(pruning=STATA_HALF, placement=dict(start=1, every=1, pass_through=True))(
            torch.randn(1, 3, 32, 32)), "pass_through placements with more than one pruning point are not supported"),
        (lambda: spikformer(pruning=STATA_HALF)(torch.randn(1, 3, 3, 32, 32)),
         "one anchor per time step for T = 2 \\(the model's time_steps\\), got a stream of 3 steps"),
    ]
    for make, message in cases:
        with pytest.raises(ValueError, match=message) as err:
            make()
        assert "\n" not in str(err.value)
