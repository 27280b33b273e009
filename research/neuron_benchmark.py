"""The multi-step LIF against SpikingJelly 2.0's ``LIFNode`` (``tools/benchmark.py neuron``): forward + backward
time on one tensor, for the surrogates both implement, interleaved runs, median."""
from __future__ import annotations

import statistics
import time
from typing import Dict, List

import torch

from zoo.neurons import LIF

__all__ = ["compare_lif", "markdown"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def compare_lif(shape: tuple, repeats: int, device: str = "cpu") -> List[Dict[str, float]]:
    """Median forward+backward milliseconds of the zoo LIF and SpikingJelly's on ``randn(shape) * 1.5``, per
    surrogate (the first fifth of the runs is discarded as warm-up)."""
    from spikingjelly.activation_based import functional, neuron, surrogate
    from tqdm import tqdm

    x = torch.randn(*shape, device=device) * 1.5
    grad = torch.randn_like(x)
    rows = []
    for name, sj_surrogate in tqdm([("sigmoid", surrogate.Sigmoid(alpha=4.0)), ("atan", surrogate.ATan(alpha=2.0))],
                                   desc="surrogates"):
        ours = LIF(surrogate=name)
        sj = neuron.LIFNode(tau=2.0, decay_input=False, v_reset=0.0, surrogate_function=sj_surrogate,
                            step_mode="m")
        times: Dict[str, List[float]] = {"zoo": [], "spikingjelly": []}
        for _ in range(repeats):
            for key, fn in (("zoo", ours), ("spikingjelly", sj)):
                xx = x.clone().requires_grad_()
                _sync(x.device)
                t0 = time.perf_counter()
                fn(xx).backward(grad)
                _sync(x.device)
                times[key].append(time.perf_counter() - t0)
                functional.reset_net(sj)
        med = {k: statistics.median(v[repeats // 5:]) for k, v in times.items()}
        rows.append({"surrogate": name, "zoo_ms": med["zoo"] * 1e3, "spikingjelly_ms": med["spikingjelly"] * 1e3,
                     "speedup": med["spikingjelly"] / med["zoo"]})
    return rows


def markdown(rows: List[Dict[str, float]], shape: str, device_name: str, repeats: int) -> str:
    head = (f"Multi-step LIF forward+backward on a `[{shape}]` tensor, {device_name}, median of {repeats} interleaved "
            f"runs.\n\n| surrogate | zoo LIF (ms) | SpikingJelly 2.0 LIFNode (ms) | speed-up |\n|---|---:|---:|---:|\n")
    return head + "".join(f"| {r['surrogate']} | {r['zoo_ms']:.2f} | {r['spikingjelly_ms']:.2f} | "
                          f"{r['speedup']:.2f}x |\n" for r in rows)
