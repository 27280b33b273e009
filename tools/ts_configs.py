#!/usr/bin/env python
"""Write (or check) the leaf configs of the forecasting task from one template (tasks/timeseries/config_grid.py).

    python tools/ts_configs.py          # (re)write configs/ts/*.py and configs/ts/realdata/*.py
    python tools/ts_configs.py --check    # exit 1 if a file is missing or differs (used by the tests)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tasks.common.cli import run_command
from tasks.timeseries.config_grid import stale_files

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "ts"  # the checkout's


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the files are up to date")
    args = parser.parse_args(argv)
    stale = stale_files(CONFIG_DIR, write=not args.check)
    if args.check and stale:
        print("out of date (run python tools/ts_configs.py):", *map(str, stale), sep="\n  ")
        return 1
    print(f"{len(stale)} written" if not args.check else "all configs up to date")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main))
