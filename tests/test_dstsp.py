import math

import pytest
import torch

import zoo
from zoo.hub import load_folder, save_pretrained
from zoo.pruning import DSTSP, DSTSPConfig, DSTSPShorthand, kept_count
from zoo.pruning.dstsp import SPATIAL_SIVS, softmatch_merge, softmatch_weights

TINY = dict(embed_dim=32, depth=1, num_heads=4)


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


@pytest.mark.parametrize("bad", [dict(strategy="XP"), dict(stage="Z"), dict(pruned_tokens="keep"),
                                 dict(order="random"), dict(spatial_siv="resampled")])
def test_bad_options_raise(bad):
    with pytest.raises(ValueError):
        DSTSPConfig(**bad)
    with pytest.raises(ValueError):
        DSTSP(**bad)
    with pytest.raises(ValueError):
        zoo.create("smixer-cifar10", **TINY, dstsp=bad)
    with pytest.raises(ValueError, match="unknown DSTSP options"):
        DSTSPConfig.build({"spatial": 0.3})
    with pytest.raises(TypeError, match="not both"):
        DSTSP(DSTSPConfig(), spatial_ratio=0.3)


@pytest.mark.parametrize("shorthand,explicit,match", [
    (dict(mixer_weight="full"), dict(mixer_weight="full"), "mixer_weight"),
    (dict(temporal_placement="X"), dict(placement="X"), "placement"),
    (dict(stage="T", spatial_ratio=0.3), dict(pruning=dict(type="DSTSP", stage="T", spatial_ratio=0.3)),
     "static N'xN' mixer weight cannot serve unpruned tokens"),
    (dict(stem_layer=7), dict(stem_layer=7), "stem_layer"),
])
def test_bad_shorthand_options_are_refused_by_their_owners(shorthand, explicit, match):
    """The shorthand's mixer, placement and stem options are checked by the mixer, the encoder and the stem."""
    with pytest.raises(ValueError, match=match):
        zoo.create("smixer-cifar10", **TINY, dstsp=shorthand)
    with pytest.raises(ValueError, match=match):
        zoo.create("smixer-cifar10", **TINY, **explicit)


def test_shorthand_splits_into_pruner_placement_stem_and_mixer_options():
    short = DSTSPShorthand.split(dict(spatial_ratio=0.3, temporal_placement="IS", stem_layer=2, mixer_weight="crop"))
    assert short.config == DSTSPConfig(spatial_ratio=0.3)
    assert (short.placement, short.stem_layer, short.mixer_weight) == ("in_stem", 2, "crop")
    assert short.pruning == dict(type="DSTSP", **DSTSPConfig(spatial_ratio=0.3).to_dict())
    expanded = short.to_dict()
    assert DSTSPShorthand.split(expanded) == short and len(expanded) == 12  # every option spelled out
    assert DSTSPShorthand.split(None) is None
    with pytest.raises(ValueError, match=r"unknown DSTSP options \['spatial'\]"):
        DSTSPShorthand.split(dict(spatial=0.3))


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
    pruner = DSTSP(DSTSPConfig(spatial_ratio=0.3, stage=stage))
    x = known_spikes((1, 2, 10, 4))
    pruner.train()
    assert (pruner(x)[0].shape[2] == 7) == train_active
    pruner.eval()
    assert (pruner(x)[0].shape[2] == 7) == eval_active


def test_dstsp_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"\[T, B, N, C\]"):
        dstsp(spatial_ratio=0.3)(torch.zeros(2, 3, 4))


def loop_lif(x):
    """LIF written out step by step (decay 0.5, threshold 1, hard reset to 0): ``[T, ...]`` -> spikes ``[T, ...]``."""
    v, out = torch.zeros_like(x[0]), []
    for t in range(x.shape[0]):
        v = 0.5 * v + x[t]
        s = (v >= 1.0).to(x.dtype)
        v = v * (1 - s)
        out.append(s)
    return torch.stack(out)


def algorithm_1(x, spatial_ratio, temporal_ratio, spatial_siv):
    """Algorithm 1 with loops, per sample. ``x`` ``[T, B, N, C]`` real stream -> kept steps ``[T', B]``, kept tokens
    ``[T', B, N']`` (descending SIV, ties to the lower index) and the number of ties at the cut.

    ``spatial_siv="original"`` scores the tokens on the spikes X at the kept steps (lines 4-7);
    ``"resimulated"`` on the kept steps run through the neuron again (Eq. 7 ``X'' = SN(X')``).
    """
    steps_total, batch, tokens_total, _ = x.shape
    t_keep = math.floor(steps_total * (1 - temporal_ratio))
    n_keep = math.floor(tokens_total * (1 - spatial_ratio))
    spikes = loop_lif(x)  # the spiking feature X
    steps = torch.zeros(t_keep, batch, dtype=torch.long)
    tokens = torch.zeros(t_keep, batch, n_keep, dtype=torch.long)
    ties = 0
    for b in range(batch):
        siv_t = [spikes[t, b].sum().item() for t in range(steps_total)]  # line 2
        kept_t = sorted(range(steps_total), key=lambda t: (-siv_t[t], t))[:t_keep]  # line 3
        x_tp = spikes[kept_t, b] if spatial_siv == "original" else loop_lif(x[kept_t, b])  # line 4 / Eq. 7
        for j in range(t_keep):  # line 6
            siv_s = [x_tp[j, n].sum().item() for n in range(tokens_total)]  # line 7
            ranked = sorted(range(tokens_total), key=lambda n: (-siv_s[n], n))  # line 8
            tokens[j, b] = torch.tensor(ranked[:n_keep])  # line 9
            ties += siv_s[ranked[n_keep - 1]] == siv_s[ranked[n_keep]]
        steps[:, b] = torch.tensor(kept_t)
    return steps, tokens, ties


@pytest.mark.parametrize("spatial_siv", SPATIAL_SIVS)
@pytest.mark.parametrize("seed", range(3))
def test_pruning_matches_a_direct_implementation_of_algorithm_1(spatial_siv, seed):
    gen = torch.Generator().manual_seed(seed)
    levels = torch.tensor([0.0, 0.3, 0.6, 0.9, 1.2])  # real-valued, few levels: sub-threshold carry and many ties
    x = levels[torch.randint(0, 5, (4, 6, 12, 3), generator=gen)]
    steps, tokens, ties = algorithm_1(x, 0.25, 0.5, spatial_siv)
    assert ties > 0  # the tie rule decides some cuts
    other = algorithm_1(x, 0.25, 0.5, "original" if spatial_siv == "resimulated" else "resimulated")[1]
    assert not torch.equal(other, tokens)  # the two modes are told apart on this input
    kept, got_steps, got_tokens = dstsp(spatial_ratio=0.25, temporal_ratio=0.5, spatial_siv=spatial_siv)(x)
    assert torch.equal(got_steps, steps) and torch.equal(got_tokens, tokens)
    for j in range(2):
        for b in range(6):
            assert torch.equal(kept[j, b], x[steps[j, b], b, tokens[j, b]])


def test_spatial_siv_modes_select_different_tokens_on_real_valued_streams():
    torch.manual_seed(0)
    x = torch.randn(4, 64, 16, 8) * 1.5
    _, steps, resimulated = dstsp(spatial_ratio=0.25, temporal_ratio=0.5)(x)
    _, steps2, original = dstsp(spatial_ratio=0.25, temporal_ratio=0.5, spatial_siv="original")(x)
    assert torch.equal(steps, steps2)  # the temporal choice is the same
    differs = (resimulated.sort(-1).values != original.sort(-1).values).any(-1)  # [T', B]
    assert differs.any(0).float().mean() > 0.5  # most samples keep other tokens at some kept step
    # without temporal pruning both score the same spikes
    _, _, a = dstsp(spatial_ratio=0.25)(x)
    _, _, b = dstsp(spatial_ratio=0.25, spatial_siv="original")(x)
    assert torch.equal(a, b)


def test_spatial_siv_round_trips_through_config_json(tmp_path):
    cfg = dict(spatial_ratio=0.3, temporal_ratio=0.5, spatial_siv="original")
    model = zoo.create("smixer-cifar10", embed_dim=32, depth=1, num_heads=4, dstsp=cfg)
    assert model.init_args["pruning"]["spatial_siv"] == "original"
    loaded = load_folder(save_pretrained(model, tmp_path))
    assert loaded.blocks.pruner.cfg == model.blocks.pruner.cfg
    older = dict(cfg)
    del older["spatial_siv"]  # a config.json from before the option
    assert DSTSPShorthand.split(older).config.spatial_siv == "resimulated"


def test_steps_of_a_static_input_are_a_view_with_the_same_values_and_gradients():
    """take_steps on a static input repeated over time (stride 0) returns its first T' steps without a copy: the
    same values and gradients as indexing the chosen steps."""
    from zoo.layers import take_steps

    source = torch.randn(3, 4, 5, requires_grad=True)
    repeated = source.unsqueeze(0).expand(4, 3, 4, 5)
    index = torch.tensor([[3, 1, 2], [0, 2, 1]])
    viewed, indexed = take_steps(repeated, index), repeated.contiguous()[index, torch.arange(3)]
    assert viewed.data_ptr() == source.data_ptr() and torch.equal(viewed, indexed)
    grads = [torch.autograd.grad((t * torch.arange(5.0)).sum(), source)[0] for t in (viewed, indexed)]
    assert torch.equal(*grads)
    events = torch.randn(4, 3, 6)  # steps that differ are gathered
    assert torch.equal(take_steps(events, index), events[index, torch.arange(3)])


@pytest.mark.parametrize("contiguous", [True, False])
def test_take_tokens_is_gather_along_the_tokens(contiguous):
    from zoo.layers import take_tokens

    x = torch.randn(3, 4, 6, 5) if contiguous else torch.randn(3, 4, 5, 6).transpose(2, 3)
    x.requires_grad_()
    index = torch.rand(3, 4, 6).argsort(-1)[..., :4]
    taken, gathered = take_tokens(x, index), x.gather(2, index.unsqueeze(-1).expand(-1, -1, -1, 5))
    assert torch.equal(taken, gathered)
    weight = torch.randn(3, 4, 4, 5)
    grads = [torch.autograd.grad((t * weight).sum(), x)[0] for t in (taken, gathered)]
    assert torch.equal(*grads)


@pytest.mark.parametrize("choice, expected", [("first", [[0, 1, 2], [0, 1, 2]]), ("uniform", [[1, 4, 6], [1, 4, 6]])])
def test_step_choice_controls_keep_fixed_steps(choice, expected):
    """The controls of SIV step selection keep fixed steps whatever the spikes: the first T', or evenly spaced."""
    x = torch.randn(8, 2, 5, 4)
    x[7] += 10.0  # the most active step: SIV would keep it
    kept, steps, _ = dstsp(temporal_ratio=0.625, step_choice=choice)(x)
    assert steps.T.tolist() == expected and torch.equal(kept, x[torch.tensor(expected[0])])
    _, siv_steps, _ = dstsp(temporal_ratio=0.625)(x)
    assert 7 in siv_steps[:, 0].tolist()


def test_step_choice_random_draws_per_sample_in_time_order():
    torch.manual_seed(0)
    x = torch.randn(8, 64, 5, 4)
    _, steps, _ = dstsp(temporal_ratio=0.5, step_choice="random")(x)
    assert steps.shape == (4, 64) and bool((steps.diff(dim=0) > 0).all())  # 4 distinct steps, in time order
    assert len({tuple(s) for s in steps.T.tolist()}) > 10  # drawn per sample
    with pytest.raises(ValueError, match="step_choice must be one of"):
        dstsp(temporal_ratio=0.5, step_choice="last")
