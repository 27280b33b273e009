"""Detection model parts: re-parameterisation, SMixer stages (any size, DSTSP pass-through), parameter counts."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest
import torch
from torch import Tensor, nn

from zoo.pruning import Pruned, Pruner, register_pruner
from tasks.detection.backbone import SMixerStage, SpikeYOLOBackbone
from tasks.detection.layers import AllConvBlock, ConvBlock, RepConv, SepRepConv, SpikeSPPF, fuse_reparam
from tasks.detection.neck import SpikingPAN

ROOT = Path(__file__).resolve().parents[1]


def _randomise_bn(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)


@pytest.mark.parametrize("make", [lambda: ConvBlock(8, 3.0, 7), lambda: AllConvBlock(8, 4.0, 3)],
                         ids=["ConvBlock", "AllConvBlock"])
def test_reparam_fusion_is_exact(make):
    """The blocks hold I-LIF neurons: fusion moves their inputs by float rounding (<= 1e-6), which would flip a spike
    sitting that close to a rounding edge. Built after the seed (not at collection, where the weights depended on
    the RNG state left by other modules), the closest membrane is 1.8e-5 from an edge, >= 26x the shift under
    every BLAS/convolution kernel set measured (docs/reliability.md)."""
    torch.manual_seed(0)
    block = make().eval()
    _randomise_bn(block)
    x = torch.randn(2, 2, 8, 11, 9) * 2  # T = 2, odd sizes: the BN border padding must match zero padding
    with torch.no_grad():
        before = block(x)
        fuse_reparam(block)
        after = block(x)
    assert not any(isinstance(m, (RepConv, SepRepConv)) for m in block.modules())
    torch.testing.assert_close(after, before, atol=1e-4, rtol=1e-4)
    assert before.abs().mean() > 0.1  # a real signal went through


def test_fuse_refuses_training_mode():
    with pytest.raises(RuntimeError, match="eval mode"):
        fuse_reparam(ConvBlock(8))


def test_smixer_stage_resamples_any_size_to_its_grid():
    torch.manual_seed(0)
    stage = SMixerStage(16, (4, 4), depth=1, num_heads=2).eval()
    seen = []
    stage.blocks[0].register_forward_hook(lambda m, a, out: seen.append(a[0].shape))
    for h, w in ((4, 4), (6, 3), (13, 8)):
        out = stage(torch.randn(1, 2, 16, h, w))
        assert out.shape == (1, 2, 16, h, w)
        assert seen[-1] == (1, 2, 16, 16)  # always the 4x4 = 16 training tokens
    x = torch.randn(1, 2, 16, 4, 4)
    with torch.no_grad():
        assert not torch.allclose(stage(x), x)  # the blocks do change the stream


def test_dstsp_pruned_tokens_and_steps_pass_through():
    torch.manual_seed(0)
    stage = SMixerStage(16, (4, 4), depth=2, pruning=dict(type="DSTSP", spatial_ratio=0.25, temporal_ratio=0.5,
                                                          pruned_tokens="discard"), time_steps=2).eval()
    assert stage.blocks[0].mixer.mixing.matrix_size == 12  # static N' x N' matrix, N' = 16 * 0.75
    x = torch.randn(2, 3, 16, 4, 4)  # T = 2 -> one kept step per sample
    with torch.no_grad():
        out = stage(x)
    tokens_in, tokens_out = x.flatten(3).transpose(2, 3), out.flatten(3).transpose(2, 3)  # [T, B, N, C]
    unchanged = (tokens_in == tokens_out).all(-1)  # [T, B, N]
    per_step = unchanged.sum(-1)  # tokens untouched per (step, sample)
    for b in range(3):  # per sample: the pruned step is untouched, the kept step changes exactly its 12 tokens
        assert sorted(per_step[:, b].tolist()) == [4, 16]


@pytest.mark.parametrize("pruning, match", [
    (dict(type="DSTSP", temporal_ratio=0.5, placement="in_stem"), "SMixerStage has no in-stem pruning point"),
    (dict(type="DSTSP", spatial_ratio=0.25, stem_layer=1), "SMixerStage: stem_layer 1 is not a stem layer"),
])
def test_smixer_stage_refuses_in_stem_pruning(pruning, match):
    """The stage has no stem: in-stem placement is refused when it is built, not silently ignored."""
    with pytest.raises(ValueError, match=match):
        SMixerStage(16, (4, 4), depth=1, pruning=pruning)
    with pytest.raises(ValueError, match=match):
        SpikeYOLOBackbone(widths=(8, 16, 32, 64), depths=(1, 1, 1, 1), train_size=64, pruning=pruning)


def test_smixer_stage_takes_any_pruner_and_placement():
    torch.manual_seed(0)
    every = SMixerStage(16, (4, 4), depth=2, pruning=dict(type="DSTSP", spatial_ratio=0.25, pruned_tokens="discard",
                                                          placement=dict(every=1))).eval()
    assert every.blocks.placement.pass_through and sorted(every.blocks.points) == [0, 1]
    assert [b.mixer.mixing.matrix_size for b in every.blocks] == [12, 12]  # each block: 12 of the 16 tokens
    x = torch.randn(1, 3, 16, 4, 4)
    with torch.no_grad():
        assert every(x).shape == x.shape


def test_backbone_and_neck_shapes_and_gradients():
    torch.manual_seed(0)
    backbone = SpikeYOLOBackbone(widths=(8, 16, 32, 64), depths=(1, 1, 1, 1), kernel_size=3, train_size=128,
                                 time_steps=2, pruning=dict(type="DSTSP", spatial_ratio=0.2))
    neck = SpikingPAN(in_channels=(16, 32, 64), channels=(16, 32), kernel_size=3)
    x = torch.rand(2, 3, 160, 96)  # not the training size: the SMixer stages resample
    feats = neck(backbone(x))
    assert [tuple(f.shape) for f in feats] == [(2, 2, 16, 20, 12), (2, 2, 32, 10, 6), (2, 2, 64, 5, 3)]
    assert neck.out_channels == (16, 32, 64)
    sum(f.mean() for f in feats).backward()
    mixing = backbone.stages[2][1].blocks[0].mixer.mixing.weight
    assert mixing.shape == (1, 51, 51)  # 8x8 grid at stride 16, 20% pruned -> 51 tokens
    assert mixing.grad is not None and mixing.grad.abs().sum() > 0
    assert backbone.stem.conv.weight.grad.abs().sum() > 0


def test_backbone_rejects_bad_input():
    backbone = SpikeYOLOBackbone(widths=(8, 16, 32, 64), depths=(1, 1, 1, 1), train_size=64)
    with pytest.raises(ValueError, match="multiples of 32"):
        backbone(torch.rand(1, 3, 70, 64))
    with pytest.raises(ValueError, match=r"\[B, 3, H, W\]"):
        backbone(torch.rand(1, 1, 64, 64))
    with pytest.raises(ValueError, match="stage types"):
        SpikeYOLOBackbone(stage_types=("allconv", "allconv", "smixer", "transformer"))


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_spikeyolo_m_replica_and_smixer_parameter_counts():
    """The conv-only backbone + neck reproduce SpikeYOLO-m's layer sizes; SMixer stages and DSTSP change exactly
    the stage-3/4 parameters (head counted in test_det_configs)."""
    kwargs = dict(widths=(80, 160, 320, 640), depths=(2, 3, 4, 2))
    conv = SpikeYOLOBackbone(stage_types=("allconv", "allconv", "conv", "conv"), mlp_ratios=(4, 4, 3, 2), **kwargs)
    smixer = SpikeYOLOBackbone(**kwargs)
    pruned = SpikeYOLOBackbone(pruning=dict(type="DSTSP", spatial_ratio=0.2), **kwargs)
    neck = SpikingPAN()
    assert _params(conv) + _params(neck) == 44_728_320  # + head 3.11 M = SpikeYOLO-m's 47.8 M
    assert _params(smixer.stages[:2]) == _params(conv.stages[:2])
    # the W_M matrices shrink from N x N to N' x N' (N' = floor(0.8 N)), nothing else changes
    assert _params(smixer) - _params(pruned) == 4 * (1600 ** 2 - 1280 ** 2) + 2 * (400 ** 2 - 320 ** 2)
    assert isinstance(smixer.sppf, SpikeSPPF)


def test_spike_driven_neurons_are_refused_by_the_detector():
    from tasks.detection.layers import build_det_neuron

    with pytest.raises(ValueError, match="integer form only: drop spike_driven=True"):
        build_det_neuron(dict(type="ILIF", spike_driven=True))


@register_pruner
class DetAuxTestPruner(Pruner):
    """Keeps the first ``keep`` tokens; its auxiliary loss is the mean square of what it kept (a gradient path)."""

    def __init__(self, keep: int, time_steps: Optional[int] = None) -> None:
        super().__init__()
        self.keep, self.time_steps, self.last = keep, time_steps, None

    def kept_tokens(self, num_tokens: int) -> int:
        return min(self.keep, num_tokens)

    def prune(self, x: Tensor, prune_time: bool = True) -> Pruned:
        self.last = x[:, :, : self.keep].square().mean()
        return Pruned(x[:, :, : self.keep], None, torch.arange(self.keep).expand(*x.shape[:2], -1))

    def aux_loss(self) -> Optional[Tensor]:
        return self.last


def test_detector_trains_a_pruner_with_its_auxiliary_loss():
    """The detector adds every pruner's auxiliary loss as ``loss_pruner`` (as classification and forecasting do), and
    the stage passes the model's time steps to the pruner; a pruner the stage cannot hold is refused by name."""
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.structures import InstanceData

    init_default_scope("mmdet")  # the detection configs' scope (docs/architecture.md)

    cfg = Config.fromfile(ROOT / "configs" / "det" / "spikeyolo_smixer.py").model
    cfg.backbone.update(widths=(8, 16, 32, 64), depths=(1, 1, 1, 1), kernel_size=3, train_size=64, time_steps=2,
                        pruning=dict(type="DetAuxTestPruner", keep=3, mixer_weight="crop"))
    cfg.neck.update(in_channels=(16, 32, 64), channels=(16, 32), kernel_size=3)
    cfg.bbox_head.update(num_classes=2, in_channels=(16, 32, 64), prior_image_size=64)
    torch.manual_seed(0)
    detector = MODELS.build(cfg)
    pruners = [m for m in detector.modules() if isinstance(m, DetAuxTestPruner)]
    assert len(pruners) == 2 and all(p.time_steps == 2 for p in pruners)  # stages 3 and 4
    sample = DetDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64),
                                         batch_input_shape=(64, 64), scale_factor=(1.0, 1.0)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[8.0, 8.0, 40.0, 48.0]]), labels=torch.tensor([1]))
    losses = detector.loss(torch.rand(1, 3, 64, 64), [sample])
    expected = sum(p.aux_loss() for p in pruners)
    assert torch.allclose(losses["loss_pruner"], expected) and losses["loss_pruner"] > 0
    sum(v for k, v in losses.items() if k.startswith("loss")).backward()
    assert detector.backbone.stem.conv.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="STATA ranks tokens by an attention row"):
        SMixerStage(16, (4, 4), depth=3, pruning=dict(type="STATA", keep_ratio=0.5, mixer_weight="crop"),
                    time_steps=2)
