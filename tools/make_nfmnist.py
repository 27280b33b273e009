#!/usr/bin/env python
"""Make N-Fashion-MNIST (simulated saccades): Fashion-MNIST's 70k images as events, in N-MNIST's format and layout.

    python tools/make_nfmnist.py [--out data/nfmnist] [--data-root DIR] [--seed 0] [--workers 2] [--limit N]
                                 [--stats N] [--plot PNG]

Writes ``<out>/NMNIST/{Train,Test}/<label>/<id>.bin`` plus ``dataset.json`` and ``README.md`` (what it is: a
simulation, its parameters, seed and code version). Cached and resumable: a re-run skips finished chunks and
returns at once when the set is complete. ``--stats N`` prints the test split's statistics over N files (0: all),
``--plot PNG`` draws one test sample binned into 8 time steps. The logic is
``tasks.classification.datasets.saccades`` (docs/events.md).
"""
from tasks.classification.datasets.saccades import main
from tasks.common.cli import run_command

if __name__ == "__main__":
    run_command(main)
