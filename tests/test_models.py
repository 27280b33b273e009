import pytest
import torch

import zoo
from zoo.mixer import EncoderBlock, SpikingSelfAttention, TokenMixing

TINY = dict(embed_dim=32, depth=1, num_heads=4)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name,paper", [("stmixer-8-512", 30.12), ("stmixer-8-768", 61.16),
                                        ("stmixer-8-512-dstsp", 27.61), ("stmixer-8-768-dstsp", 58.66)])
def test_imagenet_parameter_counts_match_table_2(name, paper):
    with torch.device("meta"):
        model = zoo.create(name)
    assert abs(n_params(model) / 1e6 - paper) / paper < 0.01
    assert model.pretrained_cfg.paper_params_m == paper


@pytest.mark.parametrize("name,paper,tolerance", [("smixer-cifar100", 8.29, 0.01), ("smixer-cifar10", 8.29, 0.01),
                                                  ("smixer-cifar100-dstsp", 8.24, 0.015),
                                                  ("smixer-cifar10dvs", 2.63, 0.03),
                                                  ("smixer-dvs128-dstsp", 2.55, 0.07)])
def test_small_model_parameter_counts_as_documented(name, paper, tolerance):
    """docs/models.md explains the remaining gaps (the paper does not give these architectures)."""
    with torch.device("meta"):
        model = zoo.create(name)
    assert abs(n_params(model) / 1e6 - paper) / paper < tolerance


def test_registry_lists_filters_and_rejects_unknown_names():
    names = zoo.list_models()
    assert {"stmixer-8-512", "stmixer-8-768", "stmixer-8-512-dstsp", "stmixer-8-768-dstsp"} <= set(names)
    assert zoo.list_models("*dstsp") == sorted(n for n in names if n.endswith("dstsp"))
    with pytest.raises(KeyError, match="unknown model"):
        zoo.create("stmixer-9-999")
    cfg = zoo.get_pretrained_cfg("smixer-cifar10")
    assert cfg.num_classes == 10 and cfg.input_size == (3, 32, 32) and cfg.time_steps == 4
    model = zoo.create("smixer-cifar10", num_classes=7, **TINY)
    assert model.head.out_features == 7 and model.variant == "smixer-cifar10"


def test_static_images_equal_repeated_frames():
    """The first conv computed once for a static image gives exactly the result of T identical frames."""
    torch.manual_seed(0)
    model = zoo.create("smixer-cifar10", **TINY).eval()
    x = torch.randn(2, 3, 32, 32)
    frames = x.unsqueeze(1).expand(-1, 4, -1, -1, -1)  # [B, T, C, H, W]
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(frames), atol=1e-5, rtol=1e-5)
    model.train()  # BN batch statistics over B copies equal those over T*B copies
    torch.testing.assert_close(model(x), model(frames), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ["smixer-cifar10", "smixer-cifar10-dstsp", "spikformer-cifar10"])
def test_forward_backward_shapes_and_gradients(name):
    model = zoo.create(name, **TINY)
    out = model(torch.randn(3, 3, 32, 32))
    assert out.shape == (3, 10)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_event_frames_and_time_first_layout():
    model = zoo.create("smixer-cifar10dvs-dstsp", embed_dim=32, depth=1, num_heads=4)
    frames = (torch.rand(2, 10, 2, 48, 48) < 0.1).float()
    assert model(frames).shape == (2, 10)
    tf = zoo.create("smixer-cifar10dvs", embed_dim=32, depth=1, num_heads=4, time_first=True)
    assert tf(frames.transpose(0, 1)).shape == (2, 10)


def test_bad_input_errors():
    model = zoo.create("smixer-cifar10", **TINY)
    with pytest.raises(ValueError, match=r"\[B, 3, 32, 32\]"):
        model(torch.randn(2, 3, 28, 28))
    with pytest.raises(TypeError, match="floating"):
        model(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match="divisible"):
        zoo.create("smixer-cifar10", img_size=30)


@pytest.mark.parametrize("options,steps,tokens", [
    (dict(spatial_ratio=0.3, temporal_ratio=0.75), 1, 44),
    (dict(spatial_ratio=0.3, temporal_ratio=0.5, temporal_placement="IS"), 2, 44),
    (dict(spatial_ratio=0.3, temporal_placement="IS", temporal_ratio=0.75, stem_layer=2), 1, 44),
    (dict(spatial_ratio=0.5, mixer_weight="crop"), 4, 32),
    (dict(spatial_ratio=0.5, mixer_weight="random"), 4, 32),
])
def test_dstsp_shapes_inside_the_model(options, steps, tokens):
    model = zoo.create("smixer-cifar10", **TINY, dstsp=options)
    feats = model.forward_features(torch.randn(2, 3, 32, 32))
    assert feats.shape == (steps, 2, tokens, 32)
    model(torch.randn(2, 3, 32, 32)).sum().backward()


def test_training_only_pruning_serves_all_tokens_at_inference():
    model = zoo.create("smixer-cifar10", **TINY, dstsp=dict(spatial_ratio=0.3, stage="T", mixer_weight="random"))
    assert model.forward_features(torch.randn(2, 3, 32, 32)).shape[2] == 44
    model.eval()
    assert model.forward_features(torch.randn(2, 3, 32, 32)).shape[2] == 64


def test_static_mixer_weight_is_n_prime_squared():
    static = zoo.create("smixer-cifar10", **TINY, dstsp=dict(spatial_ratio=0.3))
    crop = zoo.create("smixer-cifar10", **TINY, dstsp=dict(spatial_ratio=0.3, mixer_weight="crop"))
    assert static.blocks[0].mixer.mixing.weight.shape == (4, 44, 44)
    assert crop.blocks[0].mixer.mixing.weight.shape == (4, 64, 64)
    assert n_params(crop) - n_params(static) == 4 * (64 ** 2 - 44 ** 2)


def test_token_mixing_equals_per_head_matmul():
    torch.manual_seed(0)
    mixing = TokenMixing(num_tokens=6, num_heads=3)
    x = torch.randn(2, 4, 6, 12)
    y = mixing(x)
    for h in range(3):
        head = x[..., 4 * h:4 * (h + 1)]
        torch.testing.assert_close(y[..., 4 * h:4 * (h + 1)], mixing.weight[h] @ head)


def test_crop_mode_equals_cropped_weight():
    torch.manual_seed(0)
    mixing = TokenMixing(num_tokens=8, num_heads=2, weight_mode="crop")
    x = torch.randn(1, 2, 5, 4)
    index = torch.stack([torch.randperm(8)[:5] for _ in range(2)]).unsqueeze(0)  # [T, B, N']
    y = mixing(x, index)
    for b in range(2):
        idx = index[0, b]
        for h in range(2):
            w = mixing.weight[h][idx][:, idx]
            torch.testing.assert_close(y[0, b, :, 2 * h:2 * h + 2], w @ x[0, b, :, 2 * h:2 * h + 2])


def test_random_mode_uses_shared_random_crop_in_training():
    mixing = TokenMixing(num_tokens=8, num_heads=1, weight_mode="random").train()
    x = torch.randn(1, 1, 5, 2)
    torch.manual_seed(3)
    y = mixing(x)
    torch.manual_seed(3)
    rows = torch.randperm(8)[:5]
    torch.testing.assert_close(y[0, 0], mixing.weight[0][rows][:, rows] @ x[0, 0])


def test_mixer_refuses_token_count_it_cannot_serve():
    mixing = TokenMixing(num_tokens=8, num_heads=1, weight_mode="static", kept_tokens=5)
    with pytest.raises(ValueError, match="cannot mix 8 tokens"):
        mixing(torch.randn(1, 1, 8, 2))


def test_ssa_and_stm_blocks_share_the_interface():
    x = torch.randn(2, 3, 16, 32)
    for mixer in ("stm", "ssa"):
        block = EncoderBlock(32, 16, 4, mixer=mixer)
        assert block(x).shape == x.shape
    ssa = SpikingSelfAttention(32, 4)
    assert ssa(x[:, :, :10]).shape == (2, 3, 10, 32)  # any token count: pruning just shortens N
    with pytest.raises(ValueError, match="mixer"):
        EncoderBlock(32, 16, 4, mixer="conv")


def test_smixer_dstsp_learns_real_cifar10_images():
    """20 genuine CIFAR-10 test images (data/samples): a small SMixer+DSTSP must fit them (the whole path learns)."""
    from pathlib import Path

    import numpy as np
    from PIL import Image

    files = sorted((Path(__file__).resolve().parents[1] / "data" / "samples" / "cifar10").glob("*.png"))
    images = torch.stack([torch.from_numpy(np.asarray(Image.open(f).convert("RGB"), dtype=np.float32) / 255)
                          .permute(2, 0, 1) for f in files])
    images = (images - 0.5) / 0.25
    labels = torch.tensor([int(f.stem.split("_")[-1]) for f in files])
    torch.manual_seed(0)
    model = zoo.create("smixer-cifar10-dstsp", embed_dim=64, depth=1, num_heads=4)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(40):
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05 * first
    with torch.no_grad():
        assert (model.eval()(images).argmax(1) == labels).float().mean() >= 0.9


def test_model_contract_forward_head_and_reset_classifier():
    """timm's contract: forward = forward_head(forward_features); pre_logits gives the pooled features; a new
    head for other classes keeps every other weight."""
    model = zoo.create("smixer-cifar10", **TINY).eval()
    x = torch.randn(2, 3, 32, 32)
    features = model.forward_features(x)
    assert torch.equal(model(x), model.forward_head(features))
    assert model.forward_head(features, pre_logits=True).shape == (2, 32) and model.num_classes == 10
    before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("head.")}
    model.reset_classifier(3)
    assert model(x).shape == (2, 3) and model.num_classes == 3 and model.init_args["num_classes"] == 3
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    model.reset_classifier(0)
    assert model(x).shape == (2, 32)


def test_fashion_mnist_variants_are_the_main_job_models():
    """`smixer-fmnist(-dstsp)`: the main job's sizes (docs/classification.md: 181k and 161k parameters)."""
    dense, pruned = zoo.create("smixer-fmnist"), zoo.create("smixer-fmnist-dstsp")
    assert (n_params(dense), n_params(pruned)) == (180_690, 160_770)
    assert pruned(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert zoo.get_pretrained_cfg("smixer-fmnist").input_size == (1, 28, 28)
