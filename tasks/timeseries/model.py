"""``Forecaster``: the mmengine model around any forecasting network (masked MSE loss, per-sample predictions)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

import torch
from mmengine.model import BaseModel
from mmengine.registry import MODELS
from torch import Tensor, nn

__all__ = ["Forecaster", "masked_mse"]


def masked_mse(pred: Tensor, target: Tensor, observed: Optional[Tensor] = None) -> Tensor:
    """Mean squared error over the observed entries (all entries when ``observed`` is None)."""
    if observed is None:
        return nn.functional.mse_loss(pred, target)
    w = observed.to(pred.dtype)
    return ((pred - target) ** 2 * w).sum() / w.sum().clamp_min(1.0)


@MODELS.register_module()
class Forecaster(BaseModel):
    """Wraps ``net`` (a config dict or module mapping ``[B, L, C_in]`` -> ``[B, H, C_out]``).

    ``forward(inputs, data_samples, mode)`` with ``inputs`` ``[B, L, C_in]`` and ``data_samples`` the collated
    ``{"target": [B, H, C_out], "observed": [B, H, C_out]}``:
    - ``loss``: ``{"loss": masked MSE}`` (targets that were missing in the file are not scored);
    - ``predict``: one ``{"pred", "target", "observed"}`` dict of ``[H, C_out]`` tensors per sample (model space;
      :meth:`tasks.timeseries.dataset.ForecastDataset.to_original_units` maps them back);
    - ``tensor``: the predictions ``[B, H, C_out]``.
    """

    def __init__(self, net: Union[Dict[str, Any], nn.Module], data_preprocessor: Optional[Dict[str, Any]] = None,
                 init_cfg: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.net = MODELS.build(net) if isinstance(net, dict) else net

    def forward(self, inputs: Tensor, data_samples: Optional[Dict[str, Tensor]] = None,
                mode: str = "tensor") -> Union[Dict[str, Tensor], List[Dict[str, Tensor]], Tensor]:
        pred = self.net(inputs)
        if mode == "tensor":
            return pred
        if data_samples is None or "target" not in data_samples:
            raise ValueError(f"mode {mode!r} needs data_samples with 'target' (and 'observed')")
        target, observed = data_samples["target"], data_samples.get("observed")
        if target.shape != pred.shape:
            raise ValueError(f"targets {tuple(target.shape)} do not match predictions {tuple(pred.shape)}: check "
                             f"the horizon and the number of series of the model and the dataset")
        if mode == "loss":
            return dict(loss=masked_mse(pred, target, observed))
        if mode == "predict":
            observed = torch.ones_like(target, dtype=torch.bool) if observed is None else observed
            return [dict(pred=p, target=t, observed=o) for p, t, o in zip(pred.detach(), target, observed)]
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")
