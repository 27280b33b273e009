#!/usr/bin/env python
"""Small-scale reproduction of the paper's pruning ablations on the real Fashion-MNIST, on a CPU.

    python tools/ablate.py                                   # all three studies, default settings
    python tools/ablate.py --studies table6 --epochs 1 --train-subset 4000 --test-subset 2000   # a quick check

Studies (each row is one training run of the main job's small SMixer, made by tools/fashion_mnist.py's machinery):

- ``table6``: the (P_s, P_t) grid of Table 6: (0, 0), (0.4, 0), (0.6, 0), (0, 0.5), (0, 0.75), (0.2, 0.5),
  (0.3, 0.75), at T = 4 as in the paper (P_t = 0.75 keeps 1 of 4 steps).
- ``strategy``: which tokens are pruned (Fig. 7): LP (low spike intensity, the method), RP (random), HP (high), at
  P_s = 0.3, P_t = 0.75.
- ``stage``: when and where DSTSP acts (Table 8): B/AS (training and inference, after the stem), B/IS (temporal
  pruning inside the stem), T/AS (training only), I/AS (inference only). Stages T and I need a token mixer that
  also serves unpruned tokens, so all four rows use ``mixer_weight='crop'`` (the full N x N matrix cropped at the
  kept tokens).

Writes ``<out-dir>/ablation.json`` and ``<out-dir>/ablation.md``: the tables plus, for each ordering the paper
reports, whether it holds here. A row whose run finished before (same config) is reused, so an interrupted
study can be continued by running the same command again.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from fashion_mnist import (CONFIGS, ROOT, add_settings_arguments, build_config, check_data, machine,  # noqa: E402
                           run_variant)
from tasks.common.cli import run_command  # noqa: E402

TABLE6 = [(0.0, 0.0), (0.4, 0.0), (0.6, 0.0), (0.0, 0.5), (0.0, 0.75), (0.2, 0.5), (0.3, 0.75)]
PAPER_TABLE6_CIFAR100 = {(0.0, 0.0): 81.78, (0.4, 0.0): 80.81, (0.6, 0.0): 79.13, (0.0, 0.5): 81.25,
                         (0.0, 0.75): 81.23, (0.2, 0.5): 81.14, (0.3, 0.75): 81.03}
PAPER_STRATEGY_CIFAR100 = {"LP": 81.03, "HP": 78.11}  # RP: "an intermediate result" (Fig. 7)
PAPER_STAGE_CIFAR100 = {"B/AS": 81.03, "B/IS": 80.56, "T/AS": 80.95, "I/AS": 79.74}
# LP at (0.3, 0.75) is the method's default setting, i.e. the last Table 6 row: one run serves both studies.
STRATEGY_ROWS = {"LP": "ps0.3_pt0.75", "RP": "strategy_RP", "HP": "strategy_HP"}


def study_rows(study: str) -> List[Tuple[str, Optional[Dict[str, Any]]]]:
    """``(row name, DSTSP options or None)`` of one study."""
    if study == "table6":
        return [(f"ps{ps:g}_pt{pt:g}", dict(spatial_ratio=ps, temporal_ratio=pt) if ps or pt else None)
                for ps, pt in TABLE6]
    base = dict(spatial_ratio=0.3, temporal_ratio=0.75)
    if study == "strategy":
        return [(name, dict(base, strategy=s) if s != "LP" else base) for s, name in STRATEGY_ROWS.items()]
    if study == "stage":
        return [(f"stage_{st}_{pl}", dict(base, stage=st, temporal_placement=pl, mixer_weight="crop"))
                for st, pl in (("B", "AS"), ("B", "IS"), ("T", "AS"), ("I", "AS"))]
    raise ValueError(f"unknown study {study!r}")


def run_row(name: str, dstsp: Optional[Dict[str, Any]], args: argparse.Namespace) -> Dict[str, Any]:
    cfg = build_config(CONFIGS["dstsp" if dstsp else "dense"], args, dstsp)
    work_dir = args.out_dir / name
    cached = work_dir / "row.json"
    if cached.is_file() and (work_dir / "config.py").is_file():
        previous = json.loads(cached.read_text())
        if previous.get("config") == cfg.pretty_text:
            print(f"== {name}: reusing {cached}", flush=True)
            return previous["row"]
    row = run_variant(name, cfg, args.out_dir, args.threads)
    row["dstsp"] = dstsp
    cached.write_text(json.dumps(dict(config=cfg.pretty_text, row=row), default=str))
    return row


def _holds(flag: bool) -> str:
    return "holds" if flag else "does not hold"


def orderings(rows: Dict[str, Dict[str, Any]]) -> List[str]:
    """The paper's qualitative claims, checked on these runs (``rows`` by name; missing studies are skipped)."""
    acc = {k: v["top1"] for k, v in rows.items()}
    tp = {k: v["throughput"] for k, v in rows.items()}
    out = []
    grid = [f"ps{ps:g}_pt{pt:g}" for ps, pt in TABLE6]
    if all(g in acc for g in grid):
        out.append(f"- Accuracy falls as P_s grows without temporal pruning (0 > 0.4 > 0.6: "
                   f"{acc['ps0_pt0']:.2f} > {acc['ps0.4_pt0']:.2f} > {acc['ps0.6_pt0']:.2f}): "
                   f"{_holds(acc['ps0_pt0'] > acc['ps0.4_pt0'] > acc['ps0.6_pt0'])}.")
        drop = acc["ps0_pt0"] - max(acc["ps0_pt0.5"], acc["ps0_pt0.75"])
        out.append(f"- Temporal pruning alone costs less than 1 point (paper: 0.5): "
                   f"{acc['ps0_pt0']:.2f} vs {acc['ps0_pt0.5']:.2f} (P_t 0.5) and {acc['ps0_pt0.75']:.2f} "
                   f"(P_t 0.75): {_holds(drop < 1.0)}.")
        faster = [g for g in grid[1:] if tp[g] > tp["ps0_pt0"]]
        out.append(f"- Every pruned setting trains faster than the unpruned model: {_holds(len(faster) == 6)} "
                   f"({len(faster)} of 6; throughput {', '.join(f'{tp[g]:.0f}' for g in grid)} samples/s).")
        out.append(f"- The paper's setting (0.3, 0.75) loses at most 1 point (paper: 0.75): "
                   f"{acc['ps0_pt0']:.2f} -> {acc['ps0.3_pt0.75']:.2f}: "
                   f"{_holds(acc['ps0_pt0'] - acc['ps0.3_pt0.75'] <= 1.0)}.")
    if all(name in acc for name in STRATEGY_ROWS.values()):
        lp, rp, hp = (acc[name] for name in STRATEGY_ROWS.values())
        out.append(f"- Pruning strategy LP > RP > HP ({lp:.2f} > {rp:.2f} > {hp:.2f}): {_holds(lp > rp > hp)}.")
    if all(f"stage_{s}" in acc for s in ("B_AS", "B_IS", "T_AS", "I_AS")):
        b, bis, t, i = (acc[f"stage_{s}"] for s in ("B_AS", "B_IS", "T_AS", "I_AS"))
        out.append(f"- Pruning in training and inference is best and inference-only worst (B {b:.2f} >= "
                   f"T {t:.2f} > I {i:.2f}): {_holds(b >= t > i)}.")
        out.append(f"- Temporal pruning after the stem beats pruning inside it (AS {b:.2f} > IS {bis:.2f}): "
                   f"{_holds(b > bis)}.")
    return out


def markdown(rows: Dict[str, Dict[str, Any]], studies: Sequence[str], args: argparse.Namespace,
             command: str) -> str:
    mb = 1024 ** 2

    def line(label: str, r: Dict[str, Any], paper: Optional[float]) -> str:
        return (f"| {label} | {r['top1']:.2f} | {'' if paper is None else f'{paper:.2f}'} | {r['throughput']:.0f} | "
                f"{r['saved_bytes_per_batch'] / mb:.1f} | {r['energy_mj'] * 1e3:.2f} | {r['train_time_s'] / 60:.1f} |")

    head = ("| {} | Fashion-MNIST top-1 (%) | paper, CIFAR-100 top-1 (%) | training throughput (samples/s) | "
            f"saved for backward (MB / batch of {args.batch_size}) | energy (uJ/image) | training time (min) |\n"
            "|---|---:|---:|---:|---:|---:|---:|")
    parts = [f"Command: `{command}`", "",
             f"Model: SMixer {args.depth} x {args.embed_dim}, {args.num_heads} heads, T = {args.time_steps}, I-LIF, "
             f"28 x 28 input (49 tokens); {args.epochs} epoch(s), batch {args.batch_size}, AdamW lr {args.lr}, "
             f"train subset {args.train_subset or 'all 60k'}, test subset {args.test_subset or 'all 10k'}, "
             f"seed {args.seed}. One run per row: differences of a few tenths of a point are within run-to-run "
             f"noise. Machine: {machine()['cpu']}, {machine()['cores']} cores.", ""]
    if "table6" in studies:
        parts += ["### Spatial / temporal pruning ratios (Table 6)", "", head.format("P_s / P_t")]
        parts += [line(f"{ps:g} / {pt:g}", rows[f"ps{ps:g}_pt{pt:g}"], PAPER_TABLE6_CIFAR100[(ps, pt)])
                  for ps, pt in TABLE6 if f"ps{ps:g}_pt{pt:g}" in rows] + [""]
    if "strategy" in studies:
        parts += ["### Pruning strategy (Fig. 7), P_s 0.3, P_t 0.75", "", head.format("strategy")]
        parts += [line(s, rows[name], PAPER_STRATEGY_CIFAR100.get(s)) for s, name in STRATEGY_ROWS.items()
                  if name in rows] + [""]
    if "stage" in studies:
        parts += ["### Stage and placement (Table 8), P_s 0.3, P_t 0.75, cropped W_M", "",
                  head.format("stage / placement")]
        parts += [line(s.replace("_", " / "), rows[f"stage_{s}"], PAPER_STAGE_CIFAR100.get(s.replace("_", "/")))
                  for s in ("B_AS", "B_IS", "T_AS", "I_AS") if f"stage_{s}" in rows] + [""]
    parts += ["### Do the paper's orderings hold here?", ""] + orderings(rows) + [""]
    return "\n".join(parts)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--studies", nargs="+", choices=("table6", "strategy", "stage"),
                        default=["table6", "strategy", "stage"])
    add_settings_arguments(parser, time_steps=4, epochs=2, time_budget_min=0.0)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "work_dirs/ablation")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Dict[str, Any]]:
    args = parse_args(argv)
    check_data(args.data_root)
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rows: Dict[str, Dict[str, Any]] = {}
    for study in args.studies:
        for name, dstsp in study_rows(study):
            if name not in rows:
                rows[name] = run_row(name, dstsp, args)
    command = "python tools/ablate.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = markdown(rows, args.studies, args, command.strip())
    (args.out_dir / "ablation.md").write_text(text)
    settings = {k: v for k, v in vars(args).items() if k != "out_dir"}
    (args.out_dir / "ablation.json").write_text(json.dumps(dict(settings=settings, machine=machine(), rows=rows),
                                                           indent=2, default=str))
    print("\n" + text)
    return rows


if __name__ == "__main__":
    run_command(main)
