#!/usr/bin/env python
"""Run a model on files: classify images or event recordings, forecast a series, detect objects.

    python tools/predict.py MODEL INPUT... [--out DIR] [--no-pretrained] [--topk 5]
    python tools/predict.py CONFIG.py INPUT... --checkpoint CKPT [--out DIR] [--score-thr 0.3]

The command line and its logic: ``tasks.commands.predict`` (``--help`` says more); docs/predict.md has examples.
"""
from tasks.commands.predict import main
from tasks.common.cli import run_command

if __name__ == "__main__":
    run_command(main)
