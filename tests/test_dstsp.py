import math

import pytest
import torch

import zoo
from zoo.dstsp import DSTSP, DSTSPConfig, kept_count, softmatch_merge, softmatch_weights


def known_spikes(shape, p=0.3, seed=0):
    """Inputs in {0, 2}: with the LIF constants (decay 0.5, threshold 1, hard reset) they fire exactly where 2."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=gen) < p).float() * 2


def dstsp(**kw):
    kw.setdefault("pruned_tokens", "discard")
    return DSTSP(DSTSPConfig(**kw))


@pytest.mark.parametrize("ratio", [-0.1, 1.0, 1.5, float("nan"), "0.3"])
def test_bad_ratios_raise(ratio):
    with pytest.raises(ValueError, match="ratio"):
        DSTSPConfig(spatial_ratio=ratio)
    with pytest.raises(ValueError, match="ratio"):
        DSTSPConfig(temporal_ratio=ratio)


def test_ratio_that_keeps_nothing_raises():
    assert kept_count(4, 0.75, "temporal") == 1
    assert kept_count(196, 0.3, "spatial") == 137
    assert kept_count(64, 0.3, "spatial") == 44
    with pytest.raises(ValueError, match="keeps 0 of 4"):
        kept_count(4, 0.8, "temporal")
    with pytest.raises(ValueError, match="keeps 0 of 4"):
        zoo.create("smixer-cifar10", embed_dim=32, depth=1, dstsp=dict(temporal_ratio=0.9))
    with pytest.raises(ValueError, match="keeps 0 of 2"):
        dstsp(temporal_ratio=0.6)(torch.zeros(2, 1, 4, 8))


@pytest.mark.parametrize("bad", [dict(strategy="XP"), dict(stage="Z"), dict(mixer_weight="full"),
                                 dict(pruned_tokens="keep"), dict(order="random"), dict(temporal_placement="X"),
                                 dict(stage="T", spatial_ratio=0.3), dict(stem_layer=7)])
def test_bad_options_raise(bad):
    with pytest.raises(ValueError):
        DSTSPConfig(**bad)
    with pytest.raises(ValueError, match="unknown DSTSP options"):
        DSTSPConfig.build({"spatial": 0.3})


def test_temporal_pruning_keeps_top_siv_steps_per_sample():
    x = torch.zeros(4, 2, 3, 5)
    x[2, 0] = 2.0  # sample 0: step 2 fires everywhere, step 0 a little
    x[0, 0, 0, 0] = 2.0
    x[1, 1, :2] = 2.0  # sample 1: step 1 strongest, step 3 second
    x[3, 1, 0] = 2.0
    pruner = dstsp(temporal_ratio=0.5)
    kept, steps, tokens = pruner(x)
    assert tokens is None and kept.shape == (2, 2, 3, 5)
    assert steps[:, 0].tolist() == [2, 0] and steps[:, 1].tolist() == [1, 3]  # descending SIV
    assert torch.equal(kept[:, 0], x[[2, 0], 0]) and torch.equal(kept[:, 1], x[[1, 3], 1])
    _, steps, _ = dstsp(temporal_ratio=0.5, order="original")(x)
    assert steps[:, 0].tolist() == [0, 2] and steps[:, 1].tolist() == [1, 3]


def test_spatial_pruning_keeps_top_siv_tokens_per_sample_and_step():
    x = known_spikes((2, 3, 10, 16), p=0.4)
    siv = (x / 2).sum(-1)
    kept, _, index = dstsp(spatial_ratio=0.3)(x)
    assert kept.shape == (2, 3, 7, 16) and index.shape == (2, 3, 7)
    for t in range(2):
        for b in range(3):
            chosen = siv[t, b, index[t, b]]
            dropped = siv[t, b][[i for i in range(10) if i not in index[t, b].tolist()]]
            assert chosen.min() >= dropped.max()
            assert torch.all(chosen[:-1] >= chosen[1:])  # descending SIV order
            assert torch.equal(kept[t, b], x[t, b, index[t, b]])
    # high-SIV pruning keeps the lowest, random keeps some valid subset
    _, _, hp = dstsp(spatial_ratio=0.3, strategy="HP")(x)
    assert siv.gather(2, hp).sum() < siv.gather(2, index).sum()
    _, _, rp = dstsp(spatial_ratio=0.3, strategy="RP")(x)
    assert rp.shape == index.shape and all(len(set(r.tolist())) == 7 for r in rp.flatten(0, 1))


def test_pruned_features_get_no_gradient_and_dstsp_has_no_parameters():
    x = known_spikes((4, 2, 10, 8)).requires_grad_()
    pruner = dstsp(spatial_ratio=0.5, temporal_ratio=0.5)
    assert list(pruner.parameters()) == []
    kept, steps, tokens = pruner(x)
    kept.sum().backward()
    grad = x.grad
    keep_mask = torch.zeros(4, 2, 10, dtype=torch.bool)
    for j in range(2):
        for b in range(2):
            keep_mask[steps[j, b], b, tokens[j, b]] = True
    assert torch.all(grad[keep_mask] == 1) and torch.all(grad[~keep_mask] == 0)
    assert keep_mask.sum() == 2 * 2 * 5


def test_softmatch_matches_definition():
    kept = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    pruned = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    weights = softmatch_weights(kept, pruned, temperature=0.1)
    e = math.exp(10)
    torch.testing.assert_close(weights, torch.tensor([[e / (e + 1), 1 / (e + 1)], [0.0, 0.0]]))
    xk, xp = torch.randn(2, 3), torch.randn(2, 3)
    merged = softmatch_merge(xk, xp, weights)
    w = weights
    expected0 = (xk[0] + w[0, 0] * xp[0]) / (1 + w[0, 0])
    expected1 = (xk[1] + w[0, 1] * xp[0]) / (1 + w[0, 1])
    torch.testing.assert_close(merged, torch.stack([expected0, expected1]))


def test_softmatch_pruning_merges_and_passes_gradient_to_merged_tokens():
    x = known_spikes((1, 2, 10, 8), p=0.5).requires_grad_()
    kept, _, index = DSTSP(DSTSPConfig(spatial_ratio=0.3, pruned_tokens="softmatch"))(x)
    discard, _, index2 = dstsp(spatial_ratio=0.3)(x)
    assert torch.equal(index, index2) and not torch.equal(kept, discard)
    kept.sum().backward()
    assert (x.grad != 0).sum() > 7 * 2 * 8  # pruned tokens that fired were merged


@pytest.mark.parametrize("stage,train_active,eval_active", [("B", True, True), ("T", True, False),
                                                            ("I", False, True)])
def test_stage_controls_when_pruning_applies(stage, train_active, eval_active):
    pruner = DSTSP(DSTSPConfig(spatial_ratio=0.3, stage=stage, mixer_weight="crop"))
    x = known_spikes((1, 2, 10, 4))
    pruner.train()
    assert (pruner(x)[0].shape[2] == 7) == train_active
    pruner.eval()
    assert (pruner(x)[0].shape[2] == 7) == eval_active


def test_dstsp_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"\[T, B, N, C\]"):
        dstsp(spatial_ratio=0.3)(torch.zeros(2, 3, 4))
