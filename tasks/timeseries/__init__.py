"""Time-series forecasting (paper §4.2, Table 4): datasets, spiking and ANN forecasters, R²/RSE metrics.

Importing the package registers ``ForecastDataset`` (DATASETS), ``Forecaster``, ``SpikingForecaster``,
``TransformerForecaster`` (MODELS), ``ForecastMetric`` (METRICS), ``ResumableEarlyStoppingHook`` and
``ForecastShapeCheckHook`` (HOOKS) in the project's registries (scope ``tasks``, ``tasks/registry.py``). Configs
(``default_scope = 'tasks'``) pull it in with ``custom_imports = dict(imports=['tasks.timeseries'], ...)``.
"""
from .baselines import persistence_forecast, seasonal_naive_forecast
from .dataset import ForecastDataset
from .encoding import CPGLinear, SpikeEncoder, cpg_code
from .forecasters import LIF_TAU2, SJ_LIF_TAU2, SpikingForecaster, TransformerForecaster
from .hooks import ForecastShapeCheckHook, ResumableEarlyStoppingHook
from .io import SeriesTable, read_series
from .metrics import ForecastMetric, evaluate_predictions, r2_score, rse
from .model import Forecaster, masked_mse, predict_dataset

__all__ = ["ForecastDataset", "Forecaster", "SpikingForecaster", "TransformerForecaster", "ForecastMetric",
           "ResumableEarlyStoppingHook", "ForecastShapeCheckHook",
           "SpikeEncoder", "CPGLinear", "cpg_code", "LIF_TAU2", "SJ_LIF_TAU2", "SeriesTable", "read_series",
           "r2_score", "rse",
           "evaluate_predictions", "masked_mse", "predict_dataset", "persistence_forecast", "seasonal_naive_forecast"]
