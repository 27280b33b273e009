"""Training-cost benchmark of pruning settings on one classifier (``tools/benchmark.py train``).

A setting is a string (:func:`parse_setting`):

- ``none``: the unpruned model (added first when absent: every ratio is taken against it);
- ``P_s,P_t[,key=value...]``: DSTSP through the models' ``dstsp=`` shorthand, e.g. ``0.3,0.75,temporal_placement=IS``;
- ``<Pruner>[:key=value,...]``: any registered pruner (``zoo.list_pruners()``), e.g. ``TPSpikformer:keep_ratio=0.7``;
  the keys :data:`MODEL_KEYS` (``placement``, ``mixer_weight``, ``stem_layer``) go to the model, the others to the
  pruner; values are Python literals (``placement=dict(every=1)``).

Each setting runs in a fresh process (so that peak memory is its own) and trains one model on real images for
``warmup`` + ``steps`` optimiser steps (the pruner's auxiliary loss added, as the training loop does), then runs
``steps`` inference batches. Measured: median training-step and inference throughput, bytes saved for backward
(saved-tensor hooks), peak memory (process RSS on CPU, allocator peak on CUDA), the pruner's own share of the
training step (its forward calls and its auxiliary loss, timed through module hooks), the fraction of token-steps
the blocks see (``[T', B, N', C]`` at each block's input over ``T x N``), and the op-count ideal speed-up (dense
forward MACs of the unpruned model over this setting's).
"""
from __future__ import annotations

import ast
import multiprocessing as mp
import resource
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch
from torch import nn

import zoo
from tasks.common.engine import training_clock
from zoo.ops import op_report, saved_tensor_bytes

__all__ = ["MODEL_KEYS", "Setting", "literal", "parse_setting", "sample_batch", "measure_setting", "run_settings",
           "markdown", "plot"]

MODEL_KEYS = ("placement", "mixer_weight", "stem_layer")


@dataclass(frozen=True)
class Setting:
    """One benchmark setting: its label and the model arguments that make it (``none``: ``pruning=None``, the
    variant without its pruning, so a ``-dstsp`` variant's baseline is its unpruned model)."""

    label: str
    model_args: Dict[str, Any] = field(default_factory=lambda: dict(pruning=None))

    @property
    def pruned(self) -> bool:
        return self.model_args != dict(pruning=None)


def literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _value(node: ast.expr) -> Any:
    """A literal, a bare name (read as a string) or ``dict(key=value, ...)`` of those."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return {kw.arg: _value(kw.value) for kw in node.keywords}
    return ast.literal_eval(node)


def _keywords(text: str, where: str) -> Dict[str, Any]:
    """``"a=1,b=dict(x=2),c=crop"`` -> ``{"a": 1, "b": {"x": 2}, "c": "crop"}`` (top-level commas only)."""
    if not text:
        return {}
    try:
        call = ast.parse(f"f({text})", mode="eval").body
        if call.args or any(kw.arg is None for kw in call.keywords):
            raise SyntaxError("not key=value")
        return {kw.arg: _value(kw.value) for kw in call.keywords}
    except (SyntaxError, ValueError) as err:
        raise ValueError(f"setting {where!r}: options must be key=value pairs of Python literals ({err})") from None


def parse_setting(text: str) -> Setting:
    """A setting string (module docstring) -> :class:`Setting`."""
    if text == "none":
        return Setting("none")
    head, _, rest = text.partition(":")
    if head[:1].isdigit():  # P_s,P_t[,key=value...]: the DSTSP shorthand
        ps, pt, *options = text.split(",")
        try:
            ratios = dict(spatial_ratio=float(ps), temporal_ratio=float(pt))
        except ValueError:
            raise ValueError(f"setting {text!r}: DSTSP settings are P_s,P_t[,key=value...]") from None
        extra = {k: literal(v) for k, v in (kv.split("=", 1) for kv in options)}
        if ratios == dict(spatial_ratio=0.0, temporal_ratio=0.0) and not extra:
            return Setting("none")
        return Setting(text, dict(dstsp=dict(ratios, **extra)))
    if head not in zoo.list_pruners():
        raise ValueError(f"setting {text!r}: {head!r} is not a registered pruner {zoo.list_pruners()}, 'none' or "
                         f"P_s,P_t")
    options = _keywords(rest, text)
    model_args = {k: options.pop(k) for k in MODEL_KEYS if k in options}
    return Setting(text, dict(model_args, pruning=dict(type=head, **options)))


def sample_batch(model: nn.Module, batch: int, samples: Path, seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """A batch of real images for ``model``'s input: the sample images in ``samples`` (the repository's
    data/samples: its ``fashion-mnist`` folder for 1 channel, ``cifar10`` or ``imagenet`` for 3), resized, tiled with
    mirrored copies and normalised with the variant's mean / std.

    Event-camera models (2 input channels) get random Bernoulli event frames ``[B, T, 2, H, W]`` instead.
    """
    from PIL import Image

    cfg = model.pretrained_cfg
    chans, size = cfg.input_size[0], model.img_size
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, cfg.num_classes, (batch,), generator=gen)
    if chans == 2:
        return (torch.rand(batch, model.time_steps, chans, size, size, generator=gen) < 0.05).float(), labels
    folder = Path(samples) / ("fashion-mnist" if chans == 1 else "imagenet" if size > 64 else "cifar10")
    files = sorted(folder.glob("*.*g"))
    if not files:
        raise FileNotFoundError(f"no sample images in {folder}")
    mode = "L" if chans == 1 else "RGB"
    images = []
    for i in range(batch):
        img = Image.open(files[i % len(files)]).convert(mode).resize((size, size), Image.BILINEAR)
        arr = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).reshape(size, size, chans).permute(2, 0, 1)
        images.append(arr.flip(-1) if i >= len(files) else arr)
    mean, std = torch.tensor(cfg.mean).view(chans, 1, 1), torch.tensor(cfg.std).view(chans, 1, 1)
    return (torch.stack(images) - mean) / std, labels


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _Timer:
    """Seconds spent inside the forward calls of ``modules`` (pre / post hooks, on ``clock``), reset per step."""

    def __init__(self, modules: Sequence[nn.Module], device: torch.device, clock: Callable[[], float]) -> None:
        self.device, self.clock, self.total, self._start = device, clock, 0.0, 0.0
        for module in modules:
            module.register_forward_pre_hook(self._pre)
            module.register_forward_hook(self._post)

    def _pre(self, *_: Any) -> None:
        _sync(self.device)
        self._start = self.clock()

    def _post(self, *_: Any) -> None:
        _sync(self.device)
        self.total += self.clock() - self._start


def _kept_fraction(model: nn.Module, x: torch.Tensor) -> float:
    """Mean over the blocks of every pruned encoder of ``T' x N'`` at the block's input over ``T x N`` (``N`` the
    encoder's token count; one forward pass)."""
    seen: List[float] = []
    hooks = [block.register_forward_pre_hook(
        lambda _m, args, n=encoder.num_tokens: seen.append(args[0].shape[0] * args[0].shape[2] / n))
        for encoder in model.pruned_encoders().values() for block in encoder]
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    return statistics.mean(seen) / model.time_steps


def _median_seconds(fn: Callable[[], Any], device: torch.device, warmup: int, steps: int,
                    clock: Callable[[], float]) -> Tuple[float, List[float]]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        _sync(device)
        start = clock()
        fn()
        _sync(device)
        times.append(clock() - start)
    return statistics.median(times), times


def measure_setting(args: Dict[str, Any]) -> Dict[str, Any]:
    """Measure one setting (``args``: model, overrides, setting's model_args, batch, samples (the folder of
    :func:`sample_batch`), steps, warmup, device, seed, threads, clock); returns its result row. ``clock='cpu'``
    times in CPU seconds of the process (with one thread, robust to other jobs on the machine), ``'wall'`` in elapsed
    seconds."""
    torch.manual_seed(args["seed"])
    clock = training_clock(args.get("clock", "wall"))
    if args["threads"]:
        torch.set_num_threads(args["threads"])
    device = torch.device(args["device"])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = zoo.create(args["model"], **args["overrides"], **args["model_args"]).to(device).train()
    x, y = sample_batch(model, args["batch"], args["samples"], args["seed"])
    x, y = x.to(device), y.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    timer = _Timer(model.pruners, device, clock) if model.pruners else None

    def loss() -> torch.Tensor:
        value = loss_fn(model(x), y)
        start = clock()
        aux = model.aux_loss()  # e.g. STATA's alignment terms, added as the training loop adds them
        if timer is not None:
            timer.total += clock() - start
        return value if aux is None else value + aux

    shares: List[float] = []

    def train_step() -> None:
        if timer is not None:
            timer.total = 0.0
        start = clock()
        opt.zero_grad(set_to_none=True)
        loss().backward()
        opt.step()
        _sync(device)
        if timer is not None:
            shares.append(timer.total / (clock() - start))

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    train_s, train_all = _median_seconds(train_step, device, args["warmup"], args["steps"], clock)
    peak = (torch.cuda.max_memory_allocated(device) if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    opt.zero_grad(set_to_none=True)
    saved = saved_tensor_bytes(loss)
    report = op_report(model, x)  # train mode: pruning as in training
    kept = _kept_fraction(model, x)
    model.eval()
    with torch.inference_mode():
        infer_s, _ = _median_seconds(lambda: model(x), device, args["warmup"], args["steps"], clock)
    return {"setting": args["label"], "model_args": args["model_args"], "step_s_median": train_s,
            "step_s_all": train_all, "throughput": args["batch"] / train_s, "infer_throughput": args["batch"] / infer_s,
            "saved_bytes": saved, "peak_bytes": peak,
            "rss_before_model_bytes": rss_before * 1024 if device.type == "cpu" else 0,
            "pruner_share": statistics.median(shares[-args["steps"]:]) if shares else 0.0,
            "kept_fraction": kept, "forward_macs_per_sample": report.macs,
            "params": sum(p.numel() for p in model.parameters())}


def run_settings(settings: Sequence[Setting], base: Dict[str, Any], progress: bool = True) -> List[Dict[str, Any]]:
    """Measure every setting in its own process (the unpruned one first, added when absent) and add the ratios to
    the unpruned model. ``base``: the arguments of :func:`measure_setting` common to all settings."""
    from tqdm import tqdm

    settings = list(settings)
    if not any(not s.pruned for s in settings):
        settings.insert(0, Setting("none"))
    ctx = mp.get_context("spawn")
    results = []
    for setting in tqdm(settings, desc=f"{base['model']} settings", unit="setting", disable=not progress):
        with ctx.Pool(1) as pool:
            results.append(pool.apply(measure_setting, (dict(base, label=setting.label,
                                                             model_args=setting.model_args),)))
    ref = next(r for r, s in zip(results, settings) if not s.pruned)
    for r in results:
        r["speedup"] = r["throughput"] / ref["throughput"]
        r["infer_speedup"] = r["infer_throughput"] / ref["infer_throughput"]
        r["ideal_speedup"] = ref["forward_macs_per_sample"] / r["forward_macs_per_sample"]
        r["fraction_of_ideal"] = r["speedup"] / r["ideal_speedup"]
        r["saved_ratio"] = r["saved_bytes"] / ref["saved_bytes"]
        r["peak_ratio"] = r["peak_bytes"] / ref["peak_bytes"]
    return results


def markdown(results: Sequence[Dict[str, Any]], meta: Dict[str, Any]) -> str:
    """The results table, headed by the model, batch, device and step counts."""
    mb = 1024 ** 2
    head = (f"Model `{meta['model']}`, batch {meta['batch']}, device {meta['device']} ({meta['device_name']}), "
            f"median of {meta['steps']} steps after {meta['warmup']} warm-up steps, "
            f"{'CPU' if meta.get('clock') == 'cpu' else 'wall-clock'} time.\n\n")
    lines = ["| setting | kept token-steps | training (samples/s) | speed-up | ideal (op count) | of ideal | "
             "inference (samples/s) | speed-up | saved for backward (MB) | saved ratio | peak memory (MB) | "
             "pruner share of step | forward GMACs/sample |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['setting']} | {100 * r['kept_fraction']:.1f}% | {r['throughput']:.1f} | "
                     f"{r['speedup']:.2f}x | {r['ideal_speedup']:.2f}x | {100 * r['fraction_of_ideal']:.0f}% | "
                     f"{r['infer_throughput']:.1f} | {r['infer_speedup']:.2f}x | {r['saved_bytes'] / mb:.1f} | "
                     f"{r['saved_ratio']:.2f} | {r['peak_bytes'] / mb:.0f} | {100 * r['pruner_share']:.1f}% | "
                     f"{r['forward_macs_per_sample'] / 1e9:.3f} |")
    return head + "\n".join(lines) + "\n"


def plot(results: Sequence[Dict[str, Any]], path: Path, title: str) -> None:
    """Speed-ups (training measured / op-count ideal / inference) and memory ratios per setting, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r["setting"].replace(":", "\n").replace(",", ",\n") for r in results]
    pos = np.arange(len(results))
    fig, axes = plt.subplots(1, 2, figsize=(max(11, 1.6 * len(results) * 2), 4.5))
    for offset, key, name in ((-0.27, "speedup", "training"), (0.0, "ideal_speedup", "op-count ideal"),
                              (0.27, "infer_speedup", "inference")):
        axes[0].bar(pos + offset, [r[key] for r in results], 0.27, label=name)
    axes[0].set_ylabel("speed-up vs no pruning")
    axes[1].bar(pos - 0.2, [r["saved_ratio"] for r in results], 0.4, label="saved for backward")
    axes[1].bar(pos + 0.2, [r["peak_ratio"] for r in results], 0.4, label="peak memory")
    axes[1].set_ylabel("memory vs no pruning")
    for ax in axes:
        ax.set_xticks(pos, labels, fontsize=7)
        ax.legend()
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
