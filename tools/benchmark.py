#!/usr/bin/env python
"""Training-cost benchmark of DSTSP settings, and the neuron benchmark against SpikingJelly.

    python tools/benchmark.py train --model smixer-cifar10 --settings 0,0 0.3,0.75 --batch 32 --out DIR
    python tools/benchmark.py neuron --out DIR

``train``: for each (P_s, P_t) setting, in a fresh process (so peak memory is that setting's own), one model is
trained on real images for ``--warmup`` + ``--steps`` steps and measured: median training-step throughput, bytes
saved for backward (saved-tensor hooks, device independent), peak memory (process RSS on CPU, allocator peak on
CUDA), DSTSP's own share of the step time, and the op-count ideal speed-up (dense forward MACs of the unpruned
model over this setting's). Writes ``results.json``, ``results.md`` and ``results.png`` to ``--out``.
"""
from __future__ import annotations

import argparse
import ast
import json
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import zoo  # noqa: E402
from tasks.common.cli import run_command  # noqa: E402
from zoo.ops import op_report, saved_tensor_bytes  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


# ------------------------------------------------------------------------------------------------------------
# inputs
# ------------------------------------------------------------------------------------------------------------
def sample_batch(model: torch.nn.Module, batch: int, seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """A batch of real images for ``model``'s input size: the shipped CIFAR/ImageNet samples, resized and tiled.

    Event-camera models (2 input channels) get random Bernoulli event frames instead.
    """
    from PIL import Image

    cfg = model.pretrained_cfg
    chans, size = cfg.input_size[0], model.img_size
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, cfg.num_classes, (batch,), generator=gen)
    if chans != 3:
        frames = (torch.rand(batch, model.time_steps, chans, size, size, generator=gen) < 0.05).float()
        return frames, labels
    folder = SAMPLES / ("imagenet" if size > 64 else "cifar10")
    files = sorted(folder.glob("*.*g"))
    images = []
    for i in range(batch):
        img = Image.open(files[i % len(files)]).convert("RGB").resize((size, size), Image.BILINEAR)
        arr = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)
        if i >= len(files):
            arr = arr.flip(-1)  # tile with mirrored copies
        images.append(arr)
    mean, std = torch.tensor(cfg.mean).view(3, 1, 1), torch.tensor(cfg.std).view(3, 1, 1)
    return (torch.stack(images) - mean) / std, labels


# ------------------------------------------------------------------------------------------------------------
# one setting, in its own process
# ------------------------------------------------------------------------------------------------------------
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_setting(args: Dict[str, Any]) -> Dict[str, Any]:
    torch.manual_seed(args["seed"])
    if args["threads"]:
        torch.set_num_threads(args["threads"])
    device = torch.device(args["device"])
    ps, pt, extra = args["setting"]
    dstsp = dict(args["dstsp_options"], **extra, spatial_ratio=ps, temporal_ratio=pt) if (ps or pt) else None
    overrides = dict(args["overrides"], dstsp=dstsp)
    if args["time_steps"]:
        overrides["time_steps"] = args["time_steps"]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = zoo.create(args["model"], **overrides).to(device).train()
    x, y = sample_batch(model, args["batch"], args["seed"])
    x, y = x.to(device), y.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    dstsp_time = [0.0]
    if model.blocks.pruner is not None:  # every call of the pruner, the in-stem one ("IS") too, is a module call
        start = {}

        def pre(*_):
            _sync(device)
            start["t"] = time.perf_counter()

        def post(*_):
            _sync(device)
            dstsp_time[0] += time.perf_counter() - start["t"]

        model.blocks.pruner.register_forward_pre_hook(pre)
        model.blocks.pruner.register_forward_hook(post)

    def forward_loss() -> torch.Tensor:
        return loss_fn(model(x), y)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        forward_loss().backward()
        opt.step()

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(args["warmup"]):
        step()
    times, shares = [], []
    for _ in range(args["steps"]):
        dstsp_time[0] = 0.0
        _sync(device)
        t0 = time.perf_counter()
        step()
        _sync(device)
        elapsed = time.perf_counter() - t0
        times.append(elapsed)
        shares.append(dstsp_time[0] / elapsed)
    peak = (torch.cuda.max_memory_allocated(device) if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    opt.zero_grad(set_to_none=True)
    saved = saved_tensor_bytes(forward_loss)
    report = op_report(model, x)  # train mode: pruning as in training
    median = statistics.median(times)
    return {"spatial_ratio": ps, "temporal_ratio": pt, "options": extra, "step_s_median": median,
            "step_s_all": times, "throughput": args["batch"] / median, "saved_bytes": saved,
            "peak_bytes": peak, "rss_before_model_bytes": rss_before * 1024 if device.type == "cpu" else 0,
            "dstsp_share": statistics.median(shares), "forward_macs_per_sample": report.macs,
            "params": sum(p.numel() for p in model.parameters())}


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_setting(text: str) -> Tuple[float, float, Dict[str, Any]]:
    """``"P_s,P_t[,key=value...]"`` -> ``(P_s, P_t, {DSTSP options of this setting})``."""
    ps, pt, *rest = text.split(",")
    return float(ps), float(pt), {k: _literal(v) for k, v in (kv.split("=", 1) for kv in rest)}


def run_settings(args: argparse.Namespace) -> List[Dict[str, Any]]:
    from tqdm import tqdm

    settings = [parse_setting(s) for s in args.settings]
    if not any(s[:2] == (0.0, 0.0) for s in settings):
        settings.insert(0, (0.0, 0.0, {}))  # the baseline every ratio is taken against
    ctx = mp.get_context("spawn")
    results = []
    options = {k: _literal(v) for k, v in (kv.split("=", 1) for kv in args.dstsp_option)}
    base = dict(model=args.model, batch=args.batch, steps=args.steps, warmup=args.warmup, device=args.device,
                seed=args.seed, threads=args.threads, time_steps=args.time_steps,
                overrides={k: _literal(v) for k, v in (kv.split("=", 1) for kv in args.override)},
                dstsp_options=options)
    bar = tqdm(settings, desc=f"{args.model} settings", unit="setting")
    for setting in bar:
        bar.set_postfix(P_s=setting[0], P_t=setting[1])
        with ctx.Pool(1) as pool:
            results.append(pool.apply(measure_setting, (dict(base, setting=setting),)))
    ref = next(r for r in results if r["spatial_ratio"] == 0 and r["temporal_ratio"] == 0)
    for r in results:
        r["speedup"] = r["throughput"] / ref["throughput"]
        r["ideal_speedup"] = ref["forward_macs_per_sample"] / r["forward_macs_per_sample"]
        r["fraction_of_ideal"] = r["speedup"] / r["ideal_speedup"]
        r["saved_ratio"] = r["saved_bytes"] / ref["saved_bytes"]
        r["peak_ratio"] = r["peak_bytes"] / ref["peak_bytes"]
    return results


# ------------------------------------------------------------------------------------------------------------
# outputs
# ------------------------------------------------------------------------------------------------------------
def markdown(results: Sequence[Dict[str, Any]], meta: Dict[str, Any]) -> str:
    mb = 1024 ** 2
    head = (f"Model `{meta['model']}`, batch {meta['batch']}, device {meta['device']} ({meta['device_name']}), "
            f"median of {meta['steps']} steps after {meta['warmup']} warm-up steps.\n\n")
    lines = ["| P_s | P_t | options | throughput (samples/s) | speed-up | ideal (op count) | of ideal | saved for backward (MB) "
             "| saved ratio | peak memory (MB) | DSTSP share of step | forward GMACs/sample |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        options = ", ".join(f"{k}={v}" for k, v in r["options"].items()) or "-"
        lines.append(f"| {r['spatial_ratio']:.2f} | {r['temporal_ratio']:.2f} | {options} | {r['throughput']:.1f} | "
                     f"{r['speedup']:.2f}x | {r['ideal_speedup']:.2f}x | {100 * r['fraction_of_ideal']:.0f}% | "
                     f"{r['saved_bytes'] / mb:.1f} | {r['saved_ratio']:.2f} | {r['peak_bytes'] / mb:.0f} | "
                     f"{100 * r['dstsp_share']:.1f}% | {r['forward_macs_per_sample'] / 1e9:.3f} |")
    return head + "\n".join(lines) + "\n"


def plot(results: Sequence[Dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['spatial_ratio']:.2f}/{r['temporal_ratio']:.2f}" + "".join(f"\n{v}" for v in r["options"].values())
              for r in results]
    pos = np.arange(len(results))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].bar(pos - 0.2, [r["speedup"] for r in results], 0.4, label="measured")
    axes[0].bar(pos + 0.2, [r["ideal_speedup"] for r in results], 0.4, label="op-count ideal")
    axes[0].set_ylabel("training speed-up vs no pruning")
    axes[1].bar(pos - 0.2, [r["saved_ratio"] for r in results], 0.4, label="saved for backward")
    axes[1].bar(pos + 0.2, [r["peak_ratio"] for r in results], 0.4, label="peak memory")
    axes[1].set_ylabel("memory vs no pruning")
    for ax in axes:
        ax.set_xticks(pos, labels)
        ax.set_xlabel("P_s / P_t")
        ax.legend()
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return f"{os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads"


def cmd_train(args: argparse.Namespace) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = run_settings(args)
    meta = dict(model=args.model, batch=args.batch, steps=args.steps, warmup=args.warmup, device=args.device,
                device_name=device_name(args.device), command=" ".join(sys.argv), dstsp_options=args.dstsp_option,
                overrides=args.override, time_steps=args.time_steps)
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    table = markdown(results, meta)
    (out / "results.md").write_text(table)
    plot(results, out / "results.png", f"{args.model}, batch {args.batch}, {meta['device_name']}")
    print(table)


# ------------------------------------------------------------------------------------------------------------
# neuron benchmark
# ------------------------------------------------------------------------------------------------------------
def cmd_neuron(args: argparse.Namespace) -> None:
    from spikingjelly.activation_based import functional, neuron, surrogate
    from tqdm import tqdm

    from zoo.neurons import LIF

    shape = tuple(int(v) for v in args.shape.split(","))
    x = torch.randn(*shape, device=args.device) * 1.5
    grad = torch.randn_like(x)
    rows = []
    for name, sj_surrogate in tqdm([("sigmoid", surrogate.Sigmoid(alpha=4.0)), ("atan", surrogate.ATan(alpha=2.0))],
                                   desc="surrogates"):
        ours = LIF(surrogate=name)
        sj = neuron.LIFNode(tau=2.0, decay_input=False, v_reset=0.0, surrogate_function=sj_surrogate,
                            step_mode="m")
        times: Dict[str, List[float]] = {"zoo": [], "spikingjelly": []}
        for _ in range(args.repeats):
            for key, fn in (("zoo", ours), ("spikingjelly", sj)):
                xx = x.clone().requires_grad_()
                _sync(x.device)
                t0 = time.perf_counter()
                fn(xx).backward(grad)
                _sync(x.device)
                times[key].append(time.perf_counter() - t0)
                functional.reset_net(sj)
        med = {k: statistics.median(v[args.repeats // 5:]) for k, v in times.items()}
        rows.append({"surrogate": name, "zoo_ms": med["zoo"] * 1e3, "spikingjelly_ms": med["spikingjelly"] * 1e3,
                     "speedup": med["spikingjelly"] / med["zoo"]})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    head = (f"Multi-step LIF forward+backward on a `[{args.shape}]` tensor, {device_name(args.device)}, median of "
            f"{args.repeats} interleaved runs.\n\n| surrogate | zoo LIF (ms) | SpikingJelly 2.0 LIFNode (ms) | "
            f"speed-up |\n|---|---:|---:|---:|\n")
    table = head + "".join(f"| {r['surrogate']} | {r['zoo_ms']:.2f} | {r['spikingjelly_ms']:.2f} | "
                           f"{r['speedup']:.2f}x |\n" for r in rows)
    (out / "neuron.json").write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows}, indent=2))
    (out / "neuron.md").write_text(table)
    print(table)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="training cost of DSTSP settings")
    train.add_argument("--model", default="smixer-cifar10")
    train.add_argument("--settings", nargs="+", default=["0,0", "0.3,0.75"],
                       help="P_s,P_t[,key=value...] per setting, e.g. 0.3,0.75,temporal_placement=IS")
    train.add_argument("--dstsp-option", nargs="*", default=[], help="extra DSTSP options, key=value")
    train.add_argument("--override", nargs="*", default=[], help="model constructor overrides, key=value")
    train.add_argument("--time-steps", type=int, default=0, help="override the variant's T (0: keep)")
    train.add_argument("--batch", type=int, default=32)
    train.add_argument("--steps", type=int, default=10)
    train.add_argument("--warmup", type=int, default=3)
    train.add_argument("--threads", type=int, default=0)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    train.add_argument("--out", default="work_dirs/benchmark")
    train.set_defaults(func=cmd_train)
    neu = sub.add_parser("neuron", help="multi-step LIF vs SpikingJelly")
    neu.add_argument("--shape", default="4,32,64,384")
    neu.add_argument("--repeats", type=int, default=40)
    neu.add_argument("--device", default="cpu")
    neu.add_argument("--out", default="work_dirs/benchmark")
    neu.set_defaults(func=cmd_neuron)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    run_command(main)
