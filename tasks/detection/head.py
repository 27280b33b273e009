"""YOLOv8-style decoupled spiking detection head (SpikeYOLO ``SpikeDetect``) built from mmdet's parts.

Per level: a box branch SpikeConv3x3 -> SpikeConv3x3 -> SN-Conv1x1 (4 x ``reg_max`` logits of the distance
distributions, DFL) and a class branch of the same form (``num_classes`` logits); both are averaged over time.
Training: mmdet's :class:`TaskAlignedAssigner` (alpha 0.5, beta 6 as in YOLOv8) assigns points to boxes; the
losses are BCE on IoU-aware soft targets (TOOD-style normalised alignment metric), CIoU on the decoded boxes and
distribution focal loss on the distances, weighted 0.5 / 7.5 / 1.5 as in YOLOv8 and scaled by the number of images
in the (global) batch as Ultralytics does. Inference: mmdet's dense-head post-processing with mmcv's NMS.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.models.task_modules.prior_generators import MlvlPointGenerator
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures.bbox import bbox2distance, distance2bbox, get_box_tensor
from mmdet.utils import reduce_mean
from mmengine.dist import get_world_size
from mmengine.structures import InstanceData
from torch import Tensor, nn

from zoo.layers import NeuronCfg

from .layers import SpikeConv

__all__ = ["SpikeYOLOHead"]


def _branch(in_channels: int, hidden: int, out_channels: int, neuron: Optional[NeuronCfg]) -> nn.Sequential:
    return nn.Sequential(SpikeConv(in_channels, hidden, 3, neuron=neuron), SpikeConv(hidden, hidden, 3, neuron=neuron),
                         SpikeConv(hidden, out_channels, 1, bias=True, norm=False, neuron=neuron))


class SpikeYOLOHead(BaseDenseHead):
    """Decoupled spiking head with DFL box regression.

    ``forward(feats)``: ``feats`` = per level ``[T, B, C_l, H_l, W_l]`` -> ``(cls_scores, box_logits)``, lists of
    ``[B, num_classes, H_l, W_l]`` and ``[B, 4 * reg_max, H_l, W_l]`` (time-averaged logits).

    Args:
        num_classes: number of object classes.
        in_channels: channels of the neck's outputs.
        strides: their strides.
        reg_max: bins of each side's distance distribution (distances 0 .. reg_max - 1 strides).
        prior_image_size: image size in the classification-bias prior ``log(5 / nc / (size / stride)^2)``.
    """

    def __init__(self, num_classes: int, in_channels: Sequence[int] = (160, 320, 640),
                 strides: Sequence[int] = (8, 16, 32), reg_max: int = 16, prior_image_size: int = 640,
                 neuron: Optional[NeuronCfg] = None,
                 loss_cls: Dict[str, Any] = dict(type="CrossEntropyLoss", use_sigmoid=True, reduction="mean",
                                                 loss_weight=0.5),
                 loss_bbox: Dict[str, Any] = dict(type="CIoULoss", reduction="mean", loss_weight=7.5),
                 loss_dfl: Dict[str, Any] = dict(type="DistributionFocalLoss", reduction="mean", loss_weight=1.5),
                 train_cfg: Optional[Dict[str, Any]] = None, test_cfg: Optional[Dict[str, Any]] = None,
                 init_cfg: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != len(strides):
            raise ValueError(f"one stride per input level: {list(in_channels)} vs {list(strides)}")
        if num_classes < 1 or reg_max < 2:
            raise ValueError(f"need num_classes >= 1 and reg_max >= 2, got {num_classes}, {reg_max}")
        self.num_classes = self.cls_out_channels = num_classes
        self.use_sigmoid_cls = True
        self.strides, self.reg_max = tuple(strides), reg_max
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        self.prior_generator = MlvlPointGenerator(self.strides, offset=0.5)
        self.bbox_coder = TASK_UTILS.build(dict(type="DistancePointBBoxCoder"))
        self.assigner = TASK_UTILS.build(train_cfg["assigner"]) if train_cfg else None
        self.loss_cls, self.loss_bbox, self.loss_dfl = (MODELS.build(c) for c in (loss_cls, loss_bbox, loss_dfl))
        box_hidden = max(16, in_channels[0] // 4, 4 * reg_max)
        cls_hidden = max(in_channels[0], min(num_classes, 100))
        self.box_branches = nn.ModuleList(_branch(c, box_hidden, 4 * reg_max, neuron) for c in in_channels)
        self.cls_branches = nn.ModuleList(_branch(c, cls_hidden, num_classes, neuron) for c in in_channels)
        self.register_buffer("bins", torch.arange(reg_max, dtype=torch.float32), persistent=False)
        self.prior_image_size = prior_image_size
        self._init_biases()

    @torch.no_grad()
    def _init_biases(self) -> None:
        """YOLOv8 bias init: box logits 1.0, class logits ``log(5 / nc / (prior_image_size / stride)^2)``."""
        image_size = self.prior_image_size
        for box, cls, stride in zip(self.box_branches, self.cls_branches, self.strides):
            box[-1].conv.bias.fill_(1.0)
            cls[-1].conv.bias.fill_(math.log(5 / self.num_classes / (image_size / stride) ** 2))

    def init_weights(self) -> None:
        super().init_weights()
        self._init_biases()

    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        if len(feats) != len(self.strides):
            raise ValueError(f"SpikeYOLOHead expects {len(self.strides)} levels, got {len(feats)}")
        cls_scores = [branch(x).mean(0) for branch, x in zip(self.cls_branches, feats)]
        box_logits = [branch(x).mean(0) for branch, x in zip(self.box_branches, feats)]
        return cls_scores, box_logits

    def _expected_distances(self, logits: Tensor) -> Tensor:
        """DFL integral: ``[..., 4 * reg_max]`` logits -> ``[..., 4]`` expected distances in strides."""
        probs = logits.unflatten(-1, (4, self.reg_max)).softmax(-1)
        return probs @ self.bins

    def predict_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                        score_factors: Optional[List[Tensor]] = None, batch_img_metas: Optional[List[dict]] = None,
                        cfg: Optional[Dict[str, Any]] = None, rescale: bool = False,
                        with_nms: bool = True) -> List[InstanceData]:
        """Decode the distance logits to pixel distances ``[B, 4, H, W]`` and run mmdet's post-processing."""
        distances = [self._expected_distances(p.permute(0, 2, 3, 1)).permute(0, 3, 1, 2) * s
                     for p, s in zip(bbox_preds, self.strides)]
        return super().predict_by_feat(cls_scores, distances, None, batch_img_metas, cfg, rescale, with_nms)

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], batch_gt_instances: List[InstanceData],
                     batch_img_metas: List[dict],
                     batch_gt_instances_ignore: Optional[List[InstanceData]] = None) -> Dict[str, Tensor]:
        if self.assigner is None:
            raise RuntimeError("SpikeYOLOHead needs train_cfg=dict(assigner=...) to compute losses")
        num_imgs = len(batch_img_metas)
        sizes = [c.shape[-2:] for c in cls_scores]
        priors = torch.cat(self.prior_generator.grid_priors(sizes, dtype=cls_scores[0].dtype,
                                                            device=cls_scores[0].device, with_stride=True))
        points, strides = priors[:, :2], priors[:, 2:3]  # [A, 2], [A, 1]
        cls = torch.cat([c.flatten(2) for c in cls_scores], 2).transpose(1, 2)  # [B, A, nc]
        logits = torch.cat([p.flatten(2) for p in bbox_preds], 2).transpose(1, 2)  # [B, A, 4 reg_max]
        boxes = distance2bbox(points, self._expected_distances(logits) * strides)  # [B, A, 4] pixels

        score_targets, box_targets = [], []
        for i in range(num_imgs):
            ignore = batch_gt_instances_ignore[i] if batch_gt_instances_ignore else None
            scores_i, boxes_i = self._targets_single(points, cls[i], boxes[i], batch_gt_instances[i], ignore)
            score_targets.append(scores_i)
            box_targets.append(boxes_i)
        score_targets = torch.stack(score_targets)  # [B, A, nc]
        box_targets = torch.stack(box_targets)  # [B, A, 4]
        weights = score_targets.sum(-1)  # [B, A]
        pos = weights > 0
        avg = reduce_mean(score_targets.sum()).clamp(min=1.0).item()
        scale = num_imgs * get_world_size()  # Ultralytics: loss x batch size

        loss_cls = self.loss_cls(cls.reshape(-1, self.num_classes), score_targets.reshape(-1, self.num_classes),
                                 avg_factor=avg)
        if pos.any():
            pos_weights = weights[pos]
            loss_bbox = self.loss_bbox(boxes[pos], box_targets[pos], weight=pos_weights, avg_factor=avg)
            pos_strides = strides.expand(num_imgs, -1, -1)[pos]  # [P, 1]
            target_dist = bbox2distance(points.expand(num_imgs, -1, -1)[pos] / pos_strides,
                                        box_targets[pos] / pos_strides, max_dis=self.reg_max - 1, eps=0.01)
            loss_dfl = self.loss_dfl(logits[pos].reshape(-1, self.reg_max), target_dist.reshape(-1),
                                     weight=pos_weights.repeat_interleave(4), avg_factor=4.0 * avg)
        else:
            loss_bbox = loss_dfl = logits.sum() * 0.0
        return dict(loss_cls=loss_cls * scale, loss_bbox=loss_bbox * scale, loss_dfl=loss_dfl * scale)

    @torch.no_grad()
    def _targets_single(self, points: Tensor, cls: Tensor, boxes: Tensor, gt: InstanceData,
                        ignore: Optional[InstanceData]) -> Tuple[Tensor, Tensor]:
        """Assign one image: soft class targets ``[A, nc]`` (alignment metric normalised per object to the best
        IoU, as in TOOD / YOLOv8) and box targets ``[A, 4]`` (zeros for negatives)."""
        gt_boxes = get_box_tensor(gt.bboxes)
        pred = InstanceData(priors=torch.cat([points, points], 1), bboxes=boxes.detach(), scores=cls.sigmoid())
        result = self.assigner.assign(pred, InstanceData(bboxes=gt_boxes, labels=gt.labels), ignore,
                                      alpha=self.train_cfg.get("alpha", 0.5), beta=self.train_cfg.get("beta", 6.0))
        scores = cls.new_zeros(cls.shape)
        targets = boxes.new_zeros(boxes.shape)
        pos = torch.nonzero(result.gt_inds > 0, as_tuple=True)[0]
        if pos.numel() == 0:
            return scores, targets
        gt_idx = result.gt_inds[pos] - 1
        metric, iou = result.assign_metrics[pos], result.max_overlaps[pos]
        best_metric = metric.new_zeros(len(gt_boxes)).scatter_reduce(0, gt_idx, metric, "amax")
        best_iou = iou.new_zeros(len(gt_boxes)).scatter_reduce(0, gt_idx, iou, "amax")
        norm = metric / (best_metric[gt_idx] + 1e-9) * best_iou[gt_idx]
        scores[pos, gt.labels[gt_idx]] = norm
        targets[pos] = gt_boxes[gt_idx]
        return scores, targets
