"""Small-scale reproduction of the paper's pruning ablations on Fashion-MNIST: the studies' rows, their runs (each
one run of the main job's model, see :mod:`.runs`), the tables and the paper's orderings checked on them.

- ``table6``: the (P_s, P_t) grid of Table 6.
- ``strategy``: which tokens are pruned (Fig. 7): LP (low spike intensity, the method), RP (random), HP (high), at
  P_s = 0.3, P_t = 0.75.
- ``stage``: when and where DSTSP acts (Table 8): B/AS, B/IS, T/AS, I/AS, all with ``mixer_weight='crop'`` (stages
  T and I need a token mixer that also serves unpruned tokens).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from mmengine.config import Config

from .measure import machine
from .runs import run_variant
from .settings import build_config, resolve_settings

__all__ = ["STUDIES", "TABLE6", "STRATEGY_ROWS", "study_rows", "row_config", "run_row", "orderings", "markdown",
           "run_ablation"]

STUDIES = ("table6", "strategy", "stage")
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


def row_config(dstsp: Optional[Dict[str, Any]], settings: Mapping[str, Any], *, config_dir: Path) -> Config:
    """The config of one row: the main job's model (its configs in ``config_dir``) with ``settings``, its DSTSP
    options replaced by ``dstsp`` (not merged with the config's; ``None``: the model without DSTSP)."""
    if dstsp is None:
        return build_config("dense", settings, settings["epochs"], config_dir=config_dir)
    cfg = build_config("dstsp", settings, settings["epochs"], config_dir=config_dir)
    cfg.model.backbone_args.dstsp = dstsp
    return cfg


def run_row(name: str, dstsp: Optional[Dict[str, Any]], settings: Mapping[str, Any], out_dir: Path, *,
            config_dir: Path) -> Dict[str, Any]:
    """Run one row in ``<out_dir>/<name>``, or reuse its result if that run finished before with the same config."""
    cfg = row_config(dstsp, settings, config_dir=config_dir)
    work_dir = out_dir / name
    cached = work_dir / "row.json"
    if cached.is_file() and (work_dir / "config.py").is_file():
        previous = json.loads(cached.read_text())
        if previous.get("config") == cfg.pretty_text:
            print(f"== {name}: reusing {cached}", flush=True)
            return previous["row"]
    row = run_variant(name, cfg, out_dir, settings.get("threads") or 0)
    row["dstsp"] = dstsp
    cached.write_text(json.dumps(dict(config=cfg.pretty_text, row=row), default=str))
    return row


def run_ablation(studies: Sequence[str], settings: Mapping[str, Any], out_dir: Path, command: str, *,
                 config_dir: Path) -> Dict[str, Dict[str, Any]]:
    """Run the rows of ``studies``; write ``ablation.{md,json}`` to ``out_dir``, print the text. Returns the rows.

    ``settings``: the command-line settings (``None``: the config's value) with an integer ``epochs``;
    ``command``: the command line, quoted in the text; ``config_dir``: the repository's configs/cls.
    """
    if not isinstance(settings["epochs"], int):
        raise ValueError(f"the ablation runs a fixed schedule: give --epochs N, not {settings['epochs']!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: Dict[str, Dict[str, Any]] = {}
    for study in studies:
        for name, dstsp in study_rows(study):
            if name not in rows:
                rows[name] = run_row(name, dstsp, settings, out_dir, config_dir=config_dir)
    resolved = resolve_settings(settings, config_dir)
    text = markdown(rows, studies, resolved, command)
    (out_dir / "ablation.md").write_text(text)
    record = dict(settings=dict(resolved, studies=list(studies)), machine=machine(), rows=rows)
    (out_dir / "ablation.json").write_text(json.dumps(record, indent=2, default=str))
    print("\n" + text)
    return rows


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


def markdown(rows: Dict[str, Dict[str, Any]], studies: Sequence[str], settings: Mapping[str, Any],
             command: str) -> str:
    """The studies' tables (paper numbers alongside) and the orderings; ``settings``: the resolved settings."""
    mb = 1024 ** 2
    s = settings

    def line(label: str, r: Dict[str, Any], paper: Optional[float]) -> str:
        return (f"| {label} | {r['top1']:.2f} | {'' if paper is None else f'{paper:.2f}'} | {r['throughput']:.0f} | "
                f"{r['saved_bytes_per_batch'] / mb:.1f} | {r['energy_mj'] * 1e3:.2f} | {r['train_time_s'] / 60:.1f} |")

    head = ("| {} | Fashion-MNIST top-1 (%) | paper, CIFAR-100 top-1 (%) | training throughput (samples/s) | "
            f"saved for backward (MB / batch of {s['batch_size']}) | energy (uJ/image) | training time (min) |\n"
            "|---|---:|---:|---:|---:|---:|---:|")
    parts = [f"Command: `{command}`", "",
             f"Model: SMixer {s['depth']} x {s['embed_dim']}, {s['num_heads']} heads, T = {s['time_steps']}, I-LIF, "
             f"28 x 28 input (49 tokens); {s['epochs']} epoch(s), batch {s['batch_size']}, AdamW lr {s['lr']}, "
             f"train subset {s['train_subset'] or 'all 60k'}, test subset {s['test_subset'] or 'all 10k'}, "
             f"seed {s['seed']}. One run per row: differences of a few tenths of a point are within run-to-run "
             f"noise. Machine: {machine()['cpu']}, {machine()['cores']} cores.", ""]
    if "table6" in studies:
        parts += ["### Spatial / temporal pruning ratios (Table 6)", "", head.format("P_s / P_t")]
        parts += [line(f"{ps:g} / {pt:g}", rows[f"ps{ps:g}_pt{pt:g}"], PAPER_TABLE6_CIFAR100[(ps, pt)])
                  for ps, pt in TABLE6 if f"ps{ps:g}_pt{pt:g}" in rows] + [""]
    if "strategy" in studies:
        parts += ["### Pruning strategy (Fig. 7), P_s 0.3, P_t 0.75", "", head.format("strategy")]
        parts += [line(st, rows[name], PAPER_STRATEGY_CIFAR100.get(st)) for st, name in STRATEGY_ROWS.items()
                  if name in rows] + [""]
    if "stage" in studies:
        parts += ["### Stage and placement (Table 8), P_s 0.3, P_t 0.75, cropped W_M", "",
                  head.format("stage / placement")]
        parts += [line(st.replace("_", " / "), rows[f"stage_{st}"], PAPER_STAGE_CIFAR100.get(st.replace("_", "/")))
                  for st in ("B_AS", "B_IS", "T_AS", "I_AS") if f"stage_{st}" in rows] + [""]
    parts += ["### Do the paper's orderings hold here?", ""] + orderings(rows) + [""]
    return "\n".join(parts)
