"""mmdet's task-aligned assigner with YOLOv8's candidate rule."""
from __future__ import annotations

from typing import Optional

from mmdet.models.task_modules.assigners import AssignResult, TaskAlignedAssigner
from mmdet.structures.bbox import get_box_tensor
from mmengine.structures import InstanceData
from torch import Tensor

__all__ = ["InsideTaskAlignedAssigner", "centres_inside"]


def centres_inside(priors: Tensor, boxes: Tensor, eps: float = 1e-9) -> Tensor:
    """``[A, G]`` mask: the centre of prior ``a`` lies inside box ``g``.

    ``priors`` ``[A, 4]`` (points as zero-size boxes), ``boxes`` ``[G, 4]``, both ``x1, y1, x2, y2``.
    """
    cx = (priors[:, 0] + priors[:, 2])[:, None] / 2
    cy = (priors[:, 1] + priors[:, 3])[:, None] / 2
    return ((cx - boxes[:, 0] > eps) & (cy - boxes[:, 1] > eps) & (boxes[:, 2] - cx > eps) &
            (boxes[:, 3] - cy > eps))


class InsideTaskAlignedAssigner(TaskAlignedAssigner):
    """mmdet's :class:`TaskAlignedAssigner` whose top-k candidates of a box are drawn only from the priors whose
    centre lies inside that box, as in YOLOv8's assigner (mmdet's picks the top-k over all priors first and drops
    the outside ones afterwards, which leaves small boxes without any positive: on the 4-photo overfit set the
    bottle and the smallest person got none). Implemented by zeroing the IoU, hence the alignment metric
    ``score^alpha * IoU^beta``, of outside priors for the duration of one ``assign`` call.
    """

    def assign(self, pred_instances: InstanceData, gt_instances: InstanceData,
               gt_instances_ignore: Optional[InstanceData] = None, alpha: float = 1,
               beta: float = 6) -> AssignResult:
        inside = centres_inside(pred_instances.priors[:, :4], get_box_tensor(gt_instances.bboxes))
        full_iou = self.iou_calculator
        self.iou_calculator = lambda bboxes, gt_bboxes: full_iou(bboxes, gt_bboxes) * inside
        try:
            return super().assign(pred_instances, gt_instances, gt_instances_ignore, alpha, beta)
        finally:
            self.iou_calculator = full_iou
