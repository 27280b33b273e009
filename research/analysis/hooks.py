"""Forward hooks shared by the analyses: record what every spiking neuron emits, rewrite it, record what was kept.

- :func:`spiking_layers`: the model's zoo neurons (those of the neuron registry, ``zoo.layers.spiking_neuron_types()``)
  by name, in forward order of definition, without the pruner's own scoring neuron (it re-runs block 0's input neuron
  on the same stream).
- :func:`record_spikes`: a context in which every neuron's output is stored as spike counts per step
  (``[T, ...]``; a spike-driven I-LIF's D binary slots are summed per step, so both I-LIF forms record the same).
- :func:`rewrite_spikes`: a context in which every neuron's output is replaced by ``fn(name, spikes)``.
- :func:`record_kept`: a context that stores what a model's pruned encoder kept (step and token indices into the
  stem's full T and N).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from torch import Tensor, nn

from zoo.layers import spiking_neuron_types
from zoo.neurons import collapse_spike_slots, spike_slots
from zoo.pruning import Pruned, Pruner

__all__ = ["spiking_layers", "max_spike", "record_spikes", "rewrite_spikes", "record_kept"]


def spiking_layers(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """``(name, neuron)`` for every zoo neuron of ``model`` outside a pruner, in ``named_modules`` order."""
    inside_pruner = {name for name, m in model.named_modules() if isinstance(m, Pruner)}
    return [(name, m) for name, m in model.named_modules() if isinstance(m, spiking_neuron_types())
            and not any(name.startswith(p + ".") for p in inside_pruner)]


def max_spike(neuron: nn.Module) -> int:
    """The largest spike count per step a neuron emits: 1 for LIF, D for I-LIF (either form)."""
    return int(getattr(neuron, "max_value", 1))


@contextmanager
def record_spikes(model: nn.Module, names: Optional[List[str]] = None) -> Iterator[Dict[str, List[Tensor]]]:
    """Record the spikes of ``model``'s neurons (all of :func:`spiking_layers`, or only ``names``).

    Yields ``{name: [spikes of each call]}``; each entry is the neuron's output as counts per step, detached:
    ``[T, B, N, C]`` for token layers, ``[T, B, C, H, W]`` for stem layers (T the steps that neuron ran).
    """
    layers = dict(spiking_layers(model))
    unknown = sorted(set(names or ()) - set(layers))
    if unknown:
        raise KeyError(f"no spiking layer {unknown[0]!r}; the model's are {sorted(layers)}")
    records: Dict[str, List[Tensor]] = {name: [] for name in (names or layers)}

    def hook(module: nn.Module, _: object, out: Tensor, name: str) -> None:
        slots = spike_slots(module)
        records[name].append((out if slots == 1 else collapse_spike_slots(out, slots)).detach())

    handles = [layers[n].register_forward_hook(lambda m, a, o, n=n: hook(m, a, o, n)) for n in records]
    try:
        yield records
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def rewrite_spikes(model: nn.Module, fn: Callable[[str, Tensor], Tensor]) -> Iterator[None]:
    """Within the context every neuron of :func:`spiking_layers` emits ``fn(name, spikes)`` instead of ``spikes``
    (``[T, ...]``, the neuron's own output form)."""
    handles = [m.register_forward_hook(lambda _m, _a, out, n=name: fn(n, out))
               for name, m in spiking_layers(model)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def record_kept(model: nn.Module) -> Iterator[List[Pruned]]:
    """Record the output of ``model.blocks`` (a :class:`zoo.encoder.PrunedEncoder`) at each call.

    Yields a list that receives one :class:`zoo.pruning.Pruned` per forward pass: ``step_index`` ``[T', B]`` and
    ``token_index`` ``[T', B, N']`` into the stem's full T and N (``None`` where that axis was not pruned); the
    stream is dropped.
    """
    calls: List[Pruned] = []
    blocks = getattr(model, "blocks", None)
    if blocks is None or not hasattr(blocks, "stem_pruner"):
        raise TypeError(f"{type(model).__name__} has no pruned encoder (model.blocks); record_kept needs one")
    handle = blocks.register_forward_hook(lambda _m, _a, out: calls.append(Pruned(None, out.step_index,
                                                                                  out.token_index)))
    try:
        yield calls
    finally:
        handle.remove()
