"""The single-stage detector of the spiking models: mmdet's, plus the auxiliary losses of the backbone's pruners."""
from __future__ import annotations

from typing import Dict

from mmdet.models.detectors.single_stage import SingleStageDetector
from mmdet.structures import SampleList
from torch import Tensor

from tasks.common.losses import with_pruner_losses

__all__ = ["SpikingDetector"]


class SpikingDetector(SingleStageDetector):
    """mmdet's ``SingleStageDetector`` whose training loss also holds ``loss_pruner``: the auxiliary loss of every
    pruner in the model (e.g. STATA's alignment losses, :func:`tasks.common.losses.with_pruner_losses`), as the
    classification and forecasting models add it."""

    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> Dict[str, Tensor]:
        return with_pruner_losses(self, super().loss(batch_inputs, batch_data_samples))
