"""The pruning home: a pruner defined here, in the test only, plugs into every model with a pruned encoder through
``pruning=dict(type=...)``; the encoder's placements; the registry; the ``dstsp=`` shorthand."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import pytest
import torch
from torch import Tensor, nn

import zoo
from tasks.detection.backbone import SMixerStage
from tasks.timeseries import SpikingForecaster
from zoo.encoder import Placement, PrunedEncoder
from zoo.pruning import DSTSP, Pruned, Pruner, build, register_pruner

TINY = dict(embed_dim=32, depth=1, num_heads=4)
TS = dict(window=12, in_channels=3, out_channels=3, horizon=2, embed_dim=32, depth=1, num_heads=4, mlp_hidden=64)


@register_pruner
class MyTestPruner(Pruner):
    """Keeps the first ``keep`` tokens and, with ``keep_steps``, the first ``keep_steps`` time steps."""

    def __init__(self, keep: int, keep_steps: Optional[int] = None) -> None:
        super().__init__()
        self.keep, self.keep_steps = keep, keep_steps
        self.bound: Sequence[nn.Module] = ()

    def kept_tokens(self, num_tokens: int) -> int:
        return min(self.keep, num_tokens)

    def kept_steps(self, time_steps: int) -> int:
        return min(self.keep_steps or time_steps, time_steps)

    def prune_steps(self, x: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        if self.keep_steps is None:
            return x, None
        return x[: self.keep_steps], torch.arange(self.keep_steps).unsqueeze(1).expand(-1, x.shape[1])

    def prune(self, x: Tensor, prune_time: bool = True) -> Pruned:
        x, steps = self.prune_steps(x) if prune_time else (x, None)
        return Pruned(x[:, :, : self.keep], steps, torch.arange(self.keep).expand(*x.shape[:2], -1))

    def bind(self, blocks: Sequence[nn.Module]) -> None:
        self.bound = tuple(blocks)

    def aux_loss(self) -> Optional[Tensor]:
        return torch.tensor(float(self.keep))


@register_pruner
class KeepEven(Pruner):
    """Keeps the even token positions (a second test-only pruner, to check index composition)."""

    def kept_tokens(self, num_tokens: int) -> int:
        return (num_tokens + 1) // 2

    def prune(self, x: Tensor, prune_time: bool = True) -> Pruned:
        index = torch.arange(0, x.shape[2], 2)
        return Pruned(x[:, :, index], None, index.expand(*x.shape[:2], -1))


@register_pruner
class PerBlockEven(KeepEven):
    """KeepEven that asks for per-block pruning with pass-through when the model names no placement."""

    def default_placement(self, depth: int) -> dict:
        return dict(every=1, pass_through=True)


def test_a_pruner_default_placement_applies_unless_the_model_names_one():
    model = zoo.create("smixer-cifar10", **dict(TINY, depth=3), pruning=dict(type="PerBlockEven"), mixer_weight="crop")
    assert model.blocks.placement == Placement(every=1, pass_through=True) and model.blocks.points == {0, 1, 2}
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    named = zoo.create("smixer-cifar10", **dict(TINY, depth=3), pruning=dict(type="PerBlockEven"),
                       placement="after_stem", mixer_weight="crop")
    assert named.blocks.placement == Placement() and named.blocks.points == {0}
    assert zoo.create("smixer-cifar10", **TINY, pruning=dict(type="KeepEven"), mixer_weight="crop").blocks.placement \
        == Placement()  # the base class default


def test_registry_lists_builds_and_refuses_bad_configs():
    assert {"DSTSP", "MyTestPruner", "KeepEven"} <= set(zoo.list_pruners())
    assert zoo.list_pruners() == sorted(zoo.list_pruners())
    pruner = build(dict(type="DSTSP", spatial_ratio=0.3), neuron=dict(type="ILIF"))
    assert isinstance(pruner, DSTSP) and type(pruner.neuron).__name__ == "ILIF" and pruner.cfg.spatial_ratio == 0.3
    assert isinstance(build(dict(type="MyTestPruner", keep=3), neuron="LIF"), MyTestPruner)  # context it takes not
    assert build(None) is None
    with pytest.raises(ValueError, match=r"unknown pruner type 'Nope'; registered: \["):
        build(dict(type="Nope"))
    with pytest.raises(ValueError, match=r"pruner 'MyTestPruner' does not take \['kep'\]"):
        build(dict(type="MyTestPruner", kep=3))
    with pytest.raises(TypeError, match="pruning must be a dict"):
        zoo.create("smixer-cifar10", **TINY, pruning="DSTSP")
    with pytest.raises(ValueError, match="already registered"):
        register_pruner(MyTestPruner)


def test_test_pruner_runs_inside_the_smixer_classifier():
    torch.manual_seed(0)
    model = zoo.create("smixer-cifar10", **TINY, pruning=dict(type="MyTestPruner", keep=10)).eval()
    assert isinstance(model.blocks.pruner, MyTestPruner) and model.blocks.pruner.bound == tuple(model.blocks)
    assert model.blocks[0].mixer.mixing.weight.shape == (4, 10, 10)  # static W_M' sized by kept_tokens
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        feats = model.forward_features(x)
        tokens, _ = model.patch_embed(x, 4)
        expected = model.blocks[0](tokens[:, :, :10], torch.arange(10).expand(4, 2, -1))
    assert feats.shape == (4, 2, 10, 32) and torch.equal(feats, expected)
    assert model.blocks.aux_loss() == 10.0
    swapped = zoo.create("smixer-cifar10-dstsp", **TINY, pruning=dict(type="MyTestPruner", keep=10))
    assert isinstance(swapped.blocks.pruner, MyTestPruner)  # the explicit pruner replaces the variant's DSTSP
    assert swapped.forward_features(x).shape == (4, 2, 10, 32)
    model.train()(x).sum().backward()


def test_test_pruner_runs_inside_the_forecaster():
    torch.manual_seed(0)
    net = SpikingForecaster(**TS, pruning=dict(type="MyTestPruner", keep=5))
    assert net.blocks[0].mixer.mixing.weight.shape == (4, 5, 5)
    x = torch.randn(3, 12, 3)
    assert net.forward_tokens(x).shape == (4, 3, 5, 32)
    in_stem = SpikingForecaster(**TS, pruning=dict(type="MyTestPruner", keep=5, keep_steps=2, placement="in_stem"))
    assert in_stem.forward_tokens(x).shape == (2, 3, 5, 32)
    assert in_stem(x).shape == (3, 2, 3)


def test_in_stem_placement_goes_through_the_pruner_module_call():
    """Forward hooks (the benchmark's timing, op counting) see the in-stem call and the one before block 0."""
    model = zoo.create("smixer-cifar10", **TINY, pruning=dict(type="MyTestPruner", keep=10, keep_steps=1),
                       placement="in_stem", stem_layer=2)
    calls = []
    model.blocks.pruner.register_forward_hook(lambda m, args, out: calls.append(tuple(args[0].shape)))
    assert model.forward_features(torch.randn(2, 3, 32, 32)).shape == (1, 2, 10, 32)
    assert calls == [(4, 2, 16, 32, 32), (1, 2, 64, 32)]  # after stem layer 2 ([T, B, C/2, H, W]), then tokens
    assert model.blocks.stem_pruner is not None
    assert zoo.create("smixer-cifar10", **TINY, pruning=dict(type="MyTestPruner", keep=10)).blocks.stem_pruner is None


def test_model_built_with_a_pruner_round_trips_through_save_and_load(tmp_path):
    torch.manual_seed(0)
    model = zoo.create("smixer-cifar10", **TINY, pruning=dict(type="MyTestPruner", keep=12, keep_steps=2),
                       placement=dict(start=0), mixer_weight="crop").eval()
    loaded = zoo.load(zoo.save_pretrained(model, tmp_path)).eval()
    assert loaded.init_args == model.init_args and loaded.init_args["pruning"] == dict(
        type="MyTestPruner", keep=12, keep_steps=2, placement="after_stem", mixer_weight="crop", stem_layer=0)
    assert isinstance(loaded.blocks.pruner, MyTestPruner) and loaded.blocks.placement == Placement()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_dstsp_shorthand_equals_the_explicit_options():
    """``dstsp=dict(...)`` is split into the pruner, the placement, the mixer's W_M' and the stem's layer."""
    shorthand = dict(spatial_ratio=0.3, temporal_ratio=0.5, temporal_placement="IS", stem_layer=1, mixer_weight="crop")
    torch.manual_seed(0)
    short = zoo.create("smixer-cifar10", **TINY, dstsp=shorthand).eval()
    torch.manual_seed(0)
    explicit = zoo.create("smixer-cifar10", **TINY, pruning=dict(type="DSTSP", spatial_ratio=0.3, temporal_ratio=0.5),
                          placement="in_stem", mixer_weight="crop", stem_layer=1).eval()
    assert short.init_args == explicit.init_args and "dstsp" not in short.init_args  # one spelling is stored
    assert short.init_args["pruning"]["placement"] == "in_stem"
    assert short.blocks.placement == explicit.blocks.placement == Placement(in_stem=True)
    assert short.patch_embed.prune_layer == explicit.patch_embed.prune_layer == 1
    assert short.blocks[0].mixer.mixing.weight_mode == "crop"
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(short(x), explicit(x))
    keys = set(short.state_dict())
    assert keys == set(zoo.create("smixer-cifar10", **TINY).state_dict())  # same keys as the unpruned model
    assert any(k.startswith("blocks.0.mixer.") for k in keys)  # the blocks keep their ModuleList keys


def test_pruning_before_a_later_block_sizes_only_the_blocks_after_it():
    model = zoo.create("smixer-cifar10", embed_dim=32, depth=3, num_heads=4,
                       pruning=dict(type="MyTestPruner", keep=10), placement=dict(start=2))
    assert [b.mixer.mixing.matrix_size for b in model.blocks] == [64, 64, 10]
    assert model.forward_features(torch.randn(2, 3, 32, 32)).shape == (4, 2, 10, 32)


def test_every_kth_block_prunes_again_and_composes_the_token_index():
    torch.manual_seed(0)
    model = zoo.create("smixer-cifar10", embed_dim=32, depth=3, num_heads=4, pruning=dict(type="KeepEven"),
                       placement=dict(start=1, every=1), mixer_weight="crop").eval()
    assert model.blocks.points == {1, 2}
    tokens = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        out = model.blocks(tokens)
        y = model.blocks[0](tokens, None)
        idx1 = torch.arange(0, 64, 2).expand(2, 3, -1)
        y = model.blocks[1](y[:, :, ::2], idx1)  # crop mode: W_M cropped at positions 0, 2, ..., 62
        idx2 = torch.arange(0, 64, 4).expand(2, 3, -1)
        y = model.blocks[2](y[:, :, ::2], idx2)  # positions 0, 4, ..., 60 of the stem's 64 tokens
    assert out.step_index is None and torch.equal(out.token_index, idx2) and torch.equal(out.stream, y)
    static = zoo.create("smixer-cifar10", embed_dim=32, depth=3, num_heads=4,
                        dstsp=dict(spatial_ratio=0.5), placement=dict(every=1))
    assert [b.mixer.mixing.matrix_size for b in static.blocks] == [32, 16, 8]  # progressive N' x N' matrices


def test_pass_through_in_every_block_keeps_the_pruned_tokens_unchanged():
    torch.manual_seed(0)
    model = zoo.create("smixer-cifar10", embed_dim=32, depth=2, num_heads=4,
                       pruning=dict(type="MyTestPruner", keep=10), placement=dict(every=1, pass_through=True)).eval()
    assert [b.mixer.mixing.matrix_size for b in model.blocks] == [10, 10]
    tokens = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        out = model.blocks(tokens)
        index = torch.arange(10).expand(2, 3, -1)
        first = model.blocks[1](model.blocks[0](tokens[:, :, :10], index), index)
    assert out.stream.shape == tokens.shape and out.step_index is None and out.token_index is None
    assert torch.equal(out.stream[:, :, 10:], tokens[:, :, 10:]) and torch.equal(out.stream[:, :, :10], first)


def test_placement_options_are_checked():
    with pytest.raises(ValueError, match="unknown placement 'sideways'"):
        zoo.create("smixer-cifar10", **TINY, placement="sideways")
    with pytest.raises(ValueError, match=r"unknown placement options \['begin'\]"):
        Placement.build(dict(begin=1))
    with pytest.raises(ValueError, match="placement every must be an integer >= 0"):
        Placement(every=-1)
    with pytest.raises(ValueError, match="placement start 5 is not a block of this 1-block encoder"):
        zoo.create("smixer-cifar10", **TINY, dstsp=dict(spatial_ratio=0.3), placement=dict(start=5))
    with pytest.raises(ValueError, match="keeps 0 of 1 temporal"):  # 4 -> 2 -> 1 -> 0 steps at the third point
        PrunedEncoder(lambda kept: nn.Identity(), 3, 16, DSTSP(temporal_ratio=0.5), dict(every=1), time_steps=4)
    with pytest.raises(ValueError, match=r"\[T, B, N, C\]"):
        MyTestPruner(keep=2)(torch.zeros(2, 3, 4))


def test_detector_stage_runs_the_test_pruner_with_pass_through():
    torch.manual_seed(0)
    stage = SMixerStage(16, (4, 4), depth=1, pruning=dict(type="MyTestPruner", keep=6)).eval()
    x = torch.randn(2, 3, 16, 4, 4)
    with torch.no_grad():
        out = stage(x)
    tokens_in, tokens_out = x.flatten(3).transpose(2, 3), out.flatten(3).transpose(2, 3)
    assert torch.equal(tokens_out[:, :, 6:], tokens_in[:, :, 6:]) and not torch.equal(tokens_out, tokens_in)


def test_a_pruners_aux_loss_joins_the_task_losses():
    """A pruner's loss term (STATA's alignment losses, for one) reaches the training loss of every task as
    ``loss_pruner``, which mmengine adds to the total; models without one are unchanged."""
    import tasks.classification  # noqa: F401  (registers the task models)
    import tasks.timeseries  # noqa: F401
    from tasks.registry import MODELS

    torch.manual_seed(0)
    classifier = MODELS.build(dict(type="SpikingClassifier", backbone="smixer-cifar10",
                                   backbone_args=dict(**TINY, pruning=dict(type="MyTestPruner", keep=10))))
    losses = classifier(torch.randn(2, 3, 32, 32), dict(gt_label=torch.tensor([1, 2])), mode="loss")
    assert set(losses) == {"loss", "accuracy", "loss_pruner"} and float(losses["loss_pruner"]) == 10.0
    forecaster = MODELS.build(dict(type="Forecaster", net=dict(
        type="SpikingForecaster", window=12, in_channels=3, out_channels=3, horizon=4, embed_dim=16, depth=1,
        num_heads=2, mlp_hidden=32, pruning=dict(type="MyTestPruner", keep=6))))
    target = torch.randn(2, 4, 3)
    losses = forecaster(torch.randn(2, 12, 3), dict(target=target), mode="loss")
    assert set(losses) == {"loss", "loss_pruner"} and float(losses["loss_pruner"]) == 6.0
    dense = MODELS.build(dict(type="SpikingClassifier", backbone="smixer-cifar10", backbone_args=TINY))
    assert set(dense(torch.randn(2, 3, 32, 32), dict(gt_label=torch.tensor([1, 2])), mode="loss")) == {
        "loss", "accuracy"}
