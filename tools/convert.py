#!/usr/bin/env python
"""Convert an official STMixer / QKFormer / SDT-V3 checkpoint into the zoo's folder format (docs/convert.md).

    python tools/convert.py STMixer-8-768.pth.tar out/stmixer-8-768 --from stmixer --variant stmixer-8-768
    python tools/convert.py qkformer_10_384.pth out/qkformer-10-384 --from qkformer --variant qkformer-10-384 \\
        --qkformer-batch-lif
    python tools/convert.py sdtv3_s.pth out/sdtv3-s --from sdtv3 --variant sdtv3-s

Writes ``model.safetensors`` + ``config.json`` (``zoo.load(OUT_DIR)`` reads it offline). The mapping and its
checks are ``zoo/official.py``; a failure is one ``error:`` line naming the key.
"""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Optional, Sequence

from tasks.common.cli import run_command
from zoo.official import LAYOUTS, Conversion, convert_checkpoint


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Convert an official checkpoint into the zoo's folder format")
    parser.add_argument("src", type=Path, help="official checkpoint (.pth / .pth.tar)")
    parser.add_argument("out", type=Path, help="output folder (model.safetensors + config.json)")
    parser.add_argument("--from", dest="family", required=True, choices=sorted(LAYOUTS),
                        help="the public code the checkpoint comes from")
    parser.add_argument("--variant", required=True, help="zoo variant to load it into, e.g. stmixer-8-768")
    parser.add_argument("--qkformer-batch-lif", action="store_true",
                        help="QKFormer only: run the stage-3 proj_lif over the batch as if it were time, as the "
                             "released weights were trained (QKFormer issue 14); outputs then depend on the batch")
    return parser.parse_args(argv)


def summary(conversion: Conversion) -> str:
    """What was not a one-to-one copy, counted by reason."""
    parts = [f"dropped {n} official keys: {reason}" for reason, n in Counter(conversion.dropped.values()).items()]
    parts += [f"filled {n} zoo keys with zeros: {reason}" for reason, n in Counter(conversion.filled.values()).items()]
    return "; ".join(parts)


def main(argv: Optional[Sequence[str]] = None) -> Path:
    args = parse_args(argv)
    if args.qkformer_batch_lif and args.family != "qkformer":
        raise ValueError(f"--qkformer-batch-lif applies to --from qkformer, not --from {args.family}")
    model_args = dict(lif_over_batch=True) if args.qkformer_batch_lif else {}
    conversion = convert_checkpoint(args.src, args.out, args.family, args.variant, **model_args)
    print(f"converted {len(conversion.state_dict)} tensors of {args.src} ({args.family}) into {args.variant} at "
          f"{args.out}")
    if conversion.dropped or conversion.filled:
        print(summary(conversion))
    return args.out


if __name__ == "__main__":
    run_command(main)
