"""The model contract (docs/architecture.md), checked on every registered variant as timm checks its models: built on
the meta device (every variant, in seconds), and run for real where the input is small (<= 48 px)."""
from __future__ import annotations

import json

import pytest
import torch

import zoo
from zoo.encoder import PrunedEncoder
from zoo.models.classifier import SpikingImageClassifier

VARIANTS = zoo.list_models()
SMALL = [n for n in VARIANTS if zoo.get_pretrained_cfg(n).input_size[-1] <= 48]


@pytest.mark.parametrize("name", VARIANTS)
def test_every_variant_keeps_the_contract(name):
    cfg = zoo.get_pretrained_cfg(name)
    with torch.device("meta"):
        model = zoo.create(name)
    assert isinstance(model, SpikingImageClassifier)
    assert (model.in_chans, model.img_size, model.img_size) == tuple(cfg.input_size)
    assert model.num_classes == cfg.num_classes and model.time_steps == cfg.time_steps
    assert model.variant == name and json.loads(json.dumps(model.init_args)) == model.init_args  # config.json
    encoders = model.pruned_encoders()
    assert encoders and all(isinstance(e, PrunedEncoder) for e in encoders.values())
    pruning = model.init_args["pruning"]
    assert [type(p).__name__ for p in model.pruners] == ([pruning["type"]] * len(model.pruners) if pruning else [])
    assert name.endswith("-dstsp") == any(type(p).__name__ == "DSTSP" for p in model.pruners)
    for encoder in encoders.values():
        kept = list(encoder.block_tokens(encoder.num_tokens))
        assert len(kept) == len(encoder) and all(1 <= k <= encoder.num_tokens for k in kept)
        if encoder.pruner is None:
            assert kept == [encoder.num_tokens] * len(encoder)
    model.reset_classifier(0)
    assert model.num_classes == 0 and model.init_args["num_classes"] == 0


@pytest.mark.parametrize("name", SMALL)
def test_small_variants_run_the_contract(name):
    torch.manual_seed(0)
    model = zoo.create(name)
    x = torch.randn(2, model.in_chans, model.img_size, model.img_size)
    model.eval()
    with torch.no_grad():
        features = model.forward_features(x)
        logits = model.forward_head(features)
        pooled = model.forward_head(features, pre_logits=True)
    widest = max(e.num_tokens for e in model.pruned_encoders().values())
    assert features.dim() == 4 and features.shape[1] == 2 and features.shape[-1] == model.num_features
    assert 1 <= features.shape[0] <= model.time_steps and features.shape[2] <= widest + 1  # + 1: STATA's anchor
    assert logits.shape == (2, model.num_classes) and pooled.shape == (2, model.num_features)
    assert torch.isfinite(logits).all()
    model.train()
    loss = model(x).logsumexp(-1).mean()
    aux = model.aux_loss()
    (loss if aux is None else loss + aux).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert model.head.bias.grad.abs().sum() > 0 and all(torch.isfinite(g).all() for g in grads)


FAMILY_VARIANTS = ["smixer-fmnist-dstsp", "spikformerv2-fmnist-m-dstsp", "qkformer-fmnist-m-dstsp",
                   "sdtv3-fmnist-m-dstsp"]


@pytest.mark.parametrize("name", FAMILY_VARIANTS)
def test_the_benchmark_measures_every_family(name):
    """The kept fraction and the pruner timing read the contract (every pruned encoder), not SMixer's ``blocks``."""
    from research.benchmark import _kept_fraction

    torch.manual_seed(0)
    model = zoo.create(name).eval()
    x = torch.randn(2, model.in_chans, model.img_size, model.img_size)
    expected = [k / e.num_tokens for e in model.pruned_encoders().values() for k in e.block_tokens(e.num_tokens)]
    kept_steps = 1 if name == "smixer-fmnist-dstsp" else model.time_steps  # T 2 -> 1 in its stem
    assert _kept_fraction(model, x) == pytest.approx(sum(expected) / len(expected) * kept_steps / model.time_steps)
    assert _kept_fraction(zoo.create(name, pruning=None).eval(), x) == 1.0


@pytest.mark.parametrize("name, accepted", [("smixer-fmnist", True), ("spikformerv2-fmnist", True),
                                            ("qkformer-fmnist-m", False), ("sdtv3-fmnist", False)])
def test_token_analyses_take_a_token_stream_or_refuse_in_one_line(name, accepted):
    from research.analysis.models import require_token_stream

    with torch.device("meta"):
        model = zoo.create(name)
    if accepted:
        require_token_stream(model, "tokens")
        return
    with pytest.raises(ValueError, match=r"the tokens analysis reads the token stream after a model's stem; "
                                         rf"{name} \(\w+\) has none: its pruned encoders are stages") as err:
        require_token_stream(model, "tokens")
    assert "\n" not in str(err.value)
