"""Runner hooks of the forecasting configs: early stopping that survives ``--resume``, and a model / dataset check.

- :class:`ResumableEarlyStoppingHook`: mmengine's ``EarlyStoppingHook`` keeps its best score and patience count
  in memory only, so a run resumed after a crash forgot how long the validation loss had stalled and stopped later
  than the uninterrupted run would have (other final weights). This one keeps both in the message hub, which
  checkpoints save and ``--resume`` restores (loading weights with ``load_from`` does not).
- :class:`ForecastShapeCheckHook`: before training (and before testing) every ``ForecastDataset`` of the run must
  fit the model's network: same window and horizon, ``in_channels`` = the dataset's inputs (series + calendar
  features), ``out_channels`` = its series. A mismatch otherwise surfaces only at the first batch of that split,
  for the validation split after a whole epoch of training.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from mmengine.hooks import EarlyStoppingHook, Hook
from mmengine.model import is_model_wrapper

from tasks.registry import HOOKS

from .dataset import ForecastDataset

__all__ = ["ResumableEarlyStoppingHook", "ForecastShapeCheckHook"]

_STATE = "early_stopping"  # message-hub key of the early-stopping state


@HOOKS.register_module()
class ResumableEarlyStoppingHook(EarlyStoppingHook):
    """``EarlyStoppingHook`` (same arguments) whose best score and patience count are restored by ``--resume``."""

    def before_train(self, runner: Any) -> None:
        state = runner.message_hub.get_info(_STATE)
        if state is not None:
            self.best_score, self.wait_count = float(state["best_score"]), int(state["wait_count"])

    def after_val_epoch(self, runner: Any, metrics: Optional[Dict[str, float]]) -> None:
        super().after_val_epoch(runner, metrics)
        runner.message_hub.update_info(_STATE, dict(best_score=float(self.best_score),
                                                    wait_count=int(self.wait_count)))


@HOOKS.register_module()
class ForecastShapeCheckHook(Hook):
    """Check that the run's ``ForecastDataset`` splits fit ``model.net`` (module docstring)."""

    def before_train(self, runner: Any) -> None:
        self._check(runner, "train_dataloader", runner.train_loop)
        self._check(runner, "val_dataloader", runner.val_loop)

    def before_test(self, runner: Any) -> None:
        self._check(runner, "test_dataloader", runner.test_loop)

    @staticmethod
    def _check(runner: Any, name: str, loop: Any) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        net, dataset = getattr(model, "net", None), getattr(getattr(loop, "dataloader", None), "dataset", None)
        if not isinstance(dataset, ForecastDataset) or not all(
                hasattr(net, k) for k in ("window", "in_channels", "out_channels", "horizon")):
            return
        got = (dataset.window, dataset.num_inputs, dataset.num_series, dataset.horizon)
        want = (net.window, net.in_channels, net.out_channels, net.horizon)
        if got != want:
            raise ValueError(f"{name}.dataset (window {got[0]}, {got[1]} inputs, {got[2]} series, horizon {got[3]}) "
                             f"does not fit model.net (window {want[0]}, in_channels {want[1]}, out_channels "
                             f"{want[2]}, horizon {want[3]}); set the same window and horizon in the model and in "
                             f"every dataloader's dataset, and in_channels = series + calendar features")
