#!/usr/bin/env python
"""Parameters, operations and theoretical energy of detection configs (paper Table 5 columns).

    python tools/det_energy.py CONFIG [CONFIG ...] [--checkpoint CKPT] [--images DIR] [--size 640] [--out FILE.json]

Parameters are counted on the training form. Operations are measured with :func:`zoo.ops.op_report` on the
inference form (every RepConv / SepRepConv fused into the one convolution it equals, so each convolution reads
spikes as in spike-driven inference) over real photos letterboxed to ``size x size``: 4.6 pJ per MAC for layers
fed by real values (the stem's first convolution), 0.9 pJ per AC x spike value for layers fed by (integer) spikes.
Without ``--checkpoint`` the weights are the initial ones, so the firing rates (and the energy) are those of an
untrained network; the energy at any mean spike value r is ``real-input energy + 0.9 pJ x r x spike-fed MACs``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict, List, Optional

import cv2
import numpy as np
import torch

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from zoo.ops import op_report
from tasks.common.cli import run_command

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def letterbox_images(folder: Path, size: int) -> torch.Tensor:
    """Every image in ``folder`` resized (aspect kept, longer side ``size``) and padded with 114 to a square:
    ``[B, 3, size, size]`` RGB in [0, 1] (the configs' normalisation)."""
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise SystemExit(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    batch = []
    for path in paths:
        img = cv2.imread(str(path))
        if img is None:
            raise SystemExit(f"cannot read image {path}")
        scale = size / max(img.shape[:2])
        h, w = round(img.shape[0] * scale), round(img.shape[1] * scale)
        canvas = np.full((size, size, 3), 114, dtype=np.uint8)
        canvas[:h, :w] = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
        batch.append(torch.from_numpy(canvas[:, :, ::-1].copy()).permute(2, 0, 1))
    return torch.stack(batch).float() / 255.0


def _part(name: str) -> str:
    """``backbone.stem`` / ``backbone.stages.2`` / ``backbone.sppf`` / ``neck`` / ``bbox_head`` of a layer name."""
    keys = name.split(".")
    return ".".join(keys[:3] if keys[:2] == ["backbone", "stages"] else keys[:2] if keys[0] == "backbone" else keys[:1])


def measure(config: str, images: torch.Tensor, checkpoint: Optional[str] = None) -> Dict[str, object]:
    """Parameters (M), dense GMACs, GSOPs and energy (mJ) per image, also per part (stem, stages, SPPF, neck,
    head)."""
    import tasks.detection  # noqa: F401  (registers the modules)
    from mmdet.registry import MODELS
    from tasks.detection import fuse_reparam

    cfg = Config.fromfile(config)
    init_default_scope(cfg.get("default_scope", "mmdet"))
    model = MODELS.build(cfg.model)
    model.init_weights()
    params = sum(p.numel() for p in model.parameters())
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location="cpu", logger="silent")
    fuse_reparam(model.eval())
    report = op_report(model, images, forward=model._forward)
    parts: Dict[str, Dict[str, float]] = {}
    b = report.batch_size
    for layer in report.layers:
        part = parts.setdefault(_part(layer.name), dict(gmacs=0.0, gsops=0.0, energy_mj=0.0))
        part["gmacs"] += layer.macs / b / 1e9
        part["gsops"] += layer.sops / b / 1e9
        part["energy_mj"] += layer.energy_pj / b * 1e-9
    spiking = [layer for layer in report.layers if layer.spiking]
    real = [layer for layer in report.layers if not layer.spiking]
    return dict(config=config, checkpoint=checkpoint, image_size=int(images.shape[-1]), images=b,
                params_m=params / 1e6, gmacs=report.macs / 1e9, gsops=report.sops / 1e9, energy_mj=report.energy_mj,
                spiking_gmacs=sum(x.macs for x in spiking) / b / 1e9,
                real_energy_mj=sum(x.energy_pj for x in real) / b * 1e-9,
                mean_spike_value=sum(x.input_sum for x in spiking) / max(sum(x.input_numel for x in spiking), 1),
                real_valued_layers=[layer.name for layer in report.layers if not layer.spiking], parts=parts)


def to_markdown(rows: List[Dict[str, object]]) -> str:
    lines = ["| config | params (M) | GMACs | of which spike-fed | real-input energy (mJ) | mean spike value | "
             "GSOPs | energy (mJ) | GMACs stem / stage 1-4 / SPPF / neck / head |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        split = " / ".join(f"{part['gmacs']:.2f}" for part in r["parts"].values())
        lines.append(f"| {Path(r['config']).stem} | {r['params_m']:.2f} | {r['gmacs']:.1f} | "
                     f"{r['spiking_gmacs']:.1f} | {r['real_energy_mj']:.2f} | {r['mean_spike_value']:.3f} | "
                     f"{r['gsops']:.2f} | {r['energy_mj']:.2f} | {split} |")
    return "\n".join(lines)


def main(argv=None) -> List[Dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="+")
    parser.add_argument("--checkpoint", help="weights to load (one config only)")
    parser.add_argument("--images", default="data/detection/images", help="folder of real photos")
    parser.add_argument("--size", type=int, default=640, help="letterbox size (a multiple of 32)")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.checkpoint and len(args.configs) != 1:
        raise SystemExit("--checkpoint needs exactly one config")
    if args.size % 32:
        raise SystemExit(f"--size must be a multiple of 32, got {args.size}")
    images = letterbox_images(Path(args.images), args.size)
    rows = [measure(c, images, args.checkpoint) for c in args.configs]
    print(to_markdown(rows))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    run_command(main)
