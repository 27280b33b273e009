#!/usr/bin/env python
"""Train any task from an mmengine config.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CHECKPOINT]] [--cfg-options k=v ...]
    torchrun --nproc_per_node=2 tools/train.py CONFIG --launcher pytorch

``--resume`` alone resumes from the newest checkpoint in the work dir; with a path, from that checkpoint.
Checkpoints load under torch's safe loading and are written atomically: every config's runtime declares
``SafeCheckpointHook`` (tasks/common/checkpoint.py). With ``--resume`` an unreadable newest checkpoint (a run
killed while writing it) is skipped for the one before.
A mistake (missing file, unknown config key, foreign checkpoint) prints one ``error:`` line; ``--debug`` shows
the traceback. The logic is ``tasks.common.runs.train_main`` (also ``python -m tasks.common.runs train``).
"""
from tasks.common.cli import run_command
from tasks.common.runs import train_main

if __name__ == "__main__":
    run_command(train_main)
