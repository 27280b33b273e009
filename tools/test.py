#!/usr/bin/env python
"""Evaluate a checkpoint with the config's test dataloader and metrics.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--cfg-options k=v ...] [--out metrics.json]

A checkpoint that is unreadable or does not fit the config's model is refused with one ``error:`` line. The logic is
``tasks.common.runs.evaluate_main`` (also ``python -m tasks.common.runs test``).
"""
from tasks.common.cli import run_command
from tasks.common.runs import evaluate_main

if __name__ == "__main__":
    run_command(evaluate_main)
