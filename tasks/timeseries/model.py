"""``Forecaster``: the mmengine model around any forecasting network (masked MSE loss, per-sample predictions)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

import numpy as np
import torch
from mmengine.model import BaseModel
from torch import Tensor, nn

from tasks.common.losses import with_pruner_losses
from tasks.registry import MODELS

from .checks import finite

__all__ = ["Forecaster", "masked_mse", "predict_dataset", "WINDOW_NORMS"]

WINDOW_NORMS = ("none", "mean", "mean_std")


def masked_mse(pred: Tensor, target: Tensor, observed: Optional[Tensor] = None) -> Tensor:
    """Mean squared error over the observed entries (all entries when ``observed`` is None); ``pred``,
    ``target`` and ``observed`` share one shape (``[B, H, C]`` for a forecaster)."""
    _check_targets(pred, target, observed)
    if observed is None:
        return nn.functional.mse_loss(pred, target)
    w = observed.to(pred.dtype)
    return ((pred - target) ** 2 * w).sum() / w.sum().clamp_min(1.0)


def _check_targets(pred: Tensor, target: Tensor, observed: Optional[Tensor] = None) -> None:
    """Targets must be a finite float tensor of the predictions' shape; ``observed`` a bool mask of that shape."""
    if not isinstance(target, Tensor) or not target.is_floating_point():
        kind = target.dtype if isinstance(target, Tensor) else type(target).__name__
        raise TypeError(f"targets must be a floating-point tensor, got {kind}; convert them with .float()")
    if target.shape != pred.shape:
        raise ValueError(f"targets {tuple(target.shape)} do not match predictions {tuple(pred.shape)}: check the "
                         f"horizon and the number of series of the model and the dataset")
    if observed is not None and (not isinstance(observed, Tensor) or observed.dtype != torch.bool
                                 or observed.shape != target.shape):
        got = f"{observed.dtype} {tuple(observed.shape)}" if isinstance(observed, Tensor) else type(observed).__name__
        raise TypeError(f"observed must be a bool mask of the targets' shape {tuple(target.shape)} (True = scored), "
                        f"got {got}")
    finite(target, "the targets", "fill missing targets and mark them observed=False (ForecastDataset does)")


@MODELS.register_module()
class Forecaster(BaseModel):
    """Wraps ``net`` (a config dict or module mapping ``[B, L, C_in]`` -> ``[B, H, C_out]``).

    ``forward(inputs, data_samples, mode)`` with ``inputs`` ``[B, L, C_in]`` and ``data_samples`` the collated
    ``{"target": [B, H, C_out], "observed": [B, H, C_out]}``:
    - ``loss``: ``{"loss": masked MSE}`` (targets that were missing in the file are not scored);
    - ``predict``: one ``{"pred", "target", "observed"}`` dict of ``[H, C_out]`` tensors per sample (model space;
      :meth:`tasks.timeseries.dataset.ForecastDataset.to_original_units` maps them back);
    - ``tensor``: the predictions ``[B, H, C_out]``.

    ``window_norm`` (per-window normalisation, "RevIN" without affine parameters; not in the paper): ``mean``
    subtracts each window's mean from its ``C_out`` series channels (the first ``C_out`` input channels; calendar
    features are left alone) and adds it back to the predictions; ``mean_std`` also divides by the window's std
    and multiplies it back. The network then forecasts the shape of the next steps relative to the recent level,
    which is what keeps forecasts right when the test period's level lies outside the training range. It assumes
    targets in the inputs' units (``normalize_targets=True``, the default).
    """

    def __init__(self, net: Union[Dict[str, Any], nn.Module], window_norm: str = "none",
                 data_preprocessor: Optional[Dict[str, Any]] = None,
                 init_cfg: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if window_norm not in WINDOW_NORMS:
            raise ValueError(f"window_norm must be one of {WINDOW_NORMS}, got {window_norm!r}")
        self.net = MODELS.build(net) if isinstance(net, dict) else net
        self.window_norm = window_norm

    def _forecast(self, inputs: Tensor) -> Tensor:
        """``[B, L, C_in]`` -> ``[B, H, C_out]`` with the optional per-window normalisation around the network."""
        if self.window_norm == "none":
            return self.net(inputs)
        c = self.net.out_channels
        series = inputs[..., :c]
        mean = series.mean(1, keepdim=True)  # [B, 1, C_out]
        std = series.std(1, keepdim=True, unbiased=False) + 1e-5 if self.window_norm == "mean_std" else None
        scaled = series - mean if std is None else (series - mean) / std
        pred = self.net(torch.cat([scaled, inputs[..., c:]], dim=-1))
        return pred + mean if std is None else pred * std + mean

    def forward(self, inputs: Tensor, data_samples: Optional[Dict[str, Tensor]] = None,
                mode: str = "tensor") -> Union[Dict[str, Tensor], List[Dict[str, Tensor]], Tensor]:
        if mode not in ("loss", "predict", "tensor"):
            raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")
        if not isinstance(inputs, Tensor):
            raise TypeError(f"Forecaster expects a torch.Tensor of windows [B, L, C_in], got {type(inputs).__name__}")
        pred = self._forecast(inputs)
        if mode == "tensor":
            return pred
        if not isinstance(data_samples, dict) or "target" not in data_samples:
            raise ValueError(f"mode {mode!r} needs data_samples = {{'target': [B, H, C], 'observed': [B, H, C]}}, "
                             f"got {type(data_samples).__name__}")
        target, observed = data_samples["target"], data_samples.get("observed")
        if mode == "loss":
            return with_pruner_losses(self.net, dict(loss=masked_mse(pred, target, observed)))
        _check_targets(pred, target, observed)
        observed = torch.ones_like(target, dtype=torch.bool) if observed is None else observed
        return [dict(pred=p, target=t, observed=o) for p, t, o in zip(pred.detach(), target, observed)]


@torch.no_grad()
def predict_dataset(model: nn.Module, dataset: Any, batch_size: int = 256, original_units: bool = False) -> np.ndarray:
    """Forecasts ``[M, H, C]`` for every sample of a :class:`ForecastDataset`, in order, in model space or (with
    ``original_units=True``) in the units of the file. ``model`` maps ``[B, L, C_in]`` to ``[B, H, C]`` (a
    :class:`Forecaster` or a bare network); it is put in eval mode."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(dataset), batch_size):
        inputs = torch.stack([dataset[i]["inputs"] for i in range(start, min(start + batch_size, len(dataset)))])
        out.append(model(inputs.to(device)).cpu().numpy())
    pred = np.concatenate(out)
    return dataset.to_original_units(pred) if original_units else pred
