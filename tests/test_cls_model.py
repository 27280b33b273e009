"""SpikingClassifier, its data preprocessor and the accuracy metric."""
from __future__ import annotations

import pytest
import torch
from mmengine.logging import MessageHub

import tasks.classification  # noqa: F401
from tasks.registry import METRICS, MODELS

TINY = dict(num_classes=10, img_size=16, in_chans=3, embed_dim=32, depth=1, num_heads=4, time_steps=2)


def build(**kwargs):
    cfg = dict(type="SpikingClassifier", backbone="smixer-cifar10", backbone_args=dict(TINY), **kwargs)
    return MODELS.build(cfg)


def batch(n=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 16, 16), generator=gen, dtype=torch.uint8)
    return dict(inputs=images, data_samples=dict(gt_label=torch.arange(n) % 10))


def test_modes_and_stateless_neurons():
    torch.manual_seed(0)
    model = build(label_smoothing=0.1, data_preprocessor=dict(type="ClsDataPreprocessor", mean=[128.0] * 3,
                                                              std=[64.0] * 3))
    data = model.data_preprocessor(batch(), True)
    assert data["inputs"].dtype == torch.float32 and abs(float(data["inputs"].mean())) < 0.2
    losses = model(**data, mode="loss")
    assert set(losses) == {"loss", "accuracy"} and losses["loss"].requires_grad
    losses["loss"].backward()
    assert model.backbone.head.weight.grad is not None
    model.eval()
    first = model(data["inputs"], mode="tensor")
    second = model(data["inputs"], mode="tensor")
    assert first.shape == (4, 10) and torch.equal(first, second)  # no membrane state survives a call
    preds = model(**data, mode="predict")
    assert len(preds) == 4 and preds[1]["gt_label"] == 1
    assert torch.allclose(preds[0]["pred_score"].sum(), torch.tensor(1.0))
    assert preds[0]["pred_label"] == int(first[0].argmax())
    with pytest.raises(ValueError, match="mode"):
        model(**data, mode="nope")


def test_event_frames_go_through_unchanged():
    torch.manual_seed(0)
    model = MODELS.build(dict(type="SpikingClassifier", backbone="smixer-dvs128",
                              backbone_args=dict(img_size=16, embed_dim=32, depth=1, num_heads=4, time_steps=3)))
    frames = torch.randint(0, 4, (2, 3, 2, 16, 16)).float()
    data = model.data_preprocessor(dict(inputs=frames, data_samples=dict(gt_label=[1, 2])), False)
    assert torch.equal(data["inputs"], frames) and data["data_samples"]["gt_label"].tolist() == [1, 2]
    assert model(data["inputs"]).shape == (2, 11)


def test_batch_augment_and_off_epoch():
    torch.manual_seed(0)
    model = build(label_smoothing=0.1, batch_augment=dict(mixup_alpha=0.8, cutmix_alpha=1.0, off_epoch=2))
    data = model.data_preprocessor(batch(), True)
    hub = MessageHub.get_current_instance()
    hub.update_info("epoch", 0)
    assert model._mixing_now()
    torch.manual_seed(1)
    mixed = model(**data, mode="loss")["loss"]
    torch.manual_seed(1)
    assert torch.equal(mixed, model(**data, mode="loss")["loss"])  # mixing draws from torch's seeded RNG
    hub.update_info("epoch", 2)
    assert not model._mixing_now()
    plain = model(**data, mode="loss")["loss"]
    assert not torch.equal(mixed, plain)


def test_preprocessor_errors():
    with pytest.raises(ValueError, match="both mean and std"):
        MODELS.build(dict(type="ClsDataPreprocessor", mean=[1.0]))
    pre = MODELS.build(dict(type="ClsDataPreprocessor", mean=[0.0], std=[1.0]))
    with pytest.raises(ValueError, match="3 input channels but mean/std for 1"):
        pre(batch(), False)
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        pre(dict(inputs=torch.zeros(3, 4, 4)), False)


def test_accuracy_metric():
    metric = METRICS.build(dict(type="Accuracy", topk=(1, 2)))
    scores = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
    labels = [1, 1, 0, 2]  # ranks: 0, 1, 2, 1
    metric.process({}, [dict(pred_score=s, gt_label=y) for s, y in zip(scores, labels)])
    assert metric.compute_metrics(metric.results) == {"top1": 25.0, "top2": 75.0}
    five = METRICS.build(dict(type="Accuracy", topk=(5,)))
    five.process({}, [dict(pred_score=s, gt_label=y) for s, y in zip(scores, labels)])
    assert five.compute_metrics(five.results) == {"top5": 100.0}  # k capped at 3 classes
    with pytest.raises(ValueError, match="no predictions"):
        metric.compute_metrics([])
