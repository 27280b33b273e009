#!/usr/bin/env python
"""Test-split table (trained models + persistence + seasonal naive) and a forecast-vs-truth plot for one series.

    python tools/ts_report.py configs/ts/realdata/*_caiso-load.py --periods 24 168 \\
        --channel "CAISO Total" --png docs/img/ts_caiso_load_h24.png --json work_dirs/ts_caiso_load_h24.json

Each config's best checkpoint (``best_ts_mse_epoch_*.pth``, kept by the CheckpointHook) is read from
``<work-root>/<config name>``. All configs must share one dataset (same file, window, horizon, split): the
baselines and the plot use the first config's test split. Metrics are the config's ``test_evaluator`` (R² and RSE
in original units, MAE, RMSE) plus R² in normalised units (every series weighted alike); see
``tasks/timeseries/report.py``.

Every option and checkpoint is checked before anything is written; the JSON and PNG files are written whole or
not at all. A mistake ends with one ``error:`` line and exit status 1 (``--debug`` shows the traceback).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List, Optional

from mmengine.config import DictAction

from tasks.common import run_command
from tasks.timeseries.report import forecast_report, markdown


def main(argv: Optional[List[str]] = None) -> Dict[str, Dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+", type=Path)
    parser.add_argument("--work-root", type=Path, default=Path("work_dirs"))
    parser.add_argument("--periods", type=int, nargs="*", default=[], help="seasonal-naive periods (steps, >= 1)")
    parser.add_argument("--channel", help="series to plot (default: the first)")
    parser.add_argument("--samples", type=int, nargs="*", help="test samples to plot (default: 3 spread out)")
    parser.add_argument("--png", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override keys of every config")
    args = parser.parse_args(argv)
    rows = forecast_report(args.configs, args.work_root, args.periods, args.channel, args.samples, args.png,
                           args.json, args.cfg_options)
    print(markdown(rows))
    return rows


if __name__ == "__main__":
    run_command(main)
