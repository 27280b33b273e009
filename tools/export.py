#!/usr/bin/env python
"""Export a trained checkpoint to a checkpoint folder: a classifier (``zoo.load(folder)``) or a forecaster.

    python tools/export.py CONFIG CHECKPOINT OUT_FOLDER                      # evaluates on the config's test set
    python tools/export.py CONFIG CHECKPOINT OUT_FOLDER --metrics test.json  # metrics from tools/test.py --out
    python tools/export.py CONFIG CHECKPOINT OUT_FOLDER --no-eval

The command line and its logic: ``tasks.commands.export`` (``--help`` says more).
"""
from tasks.commands.export import main
from tasks.common.cli import run_command

if __name__ == "__main__":
    run_command(main)
