"""Spiking transformer -> Spiking-token Mixer ("Model -> M", paper Table 2 and §4.1).

:func:`to_mixer` replaces every token-mixing attention module inside a model's pruned encoders
(:class:`zoo.encoder.PrunedEncoder`) by a :class:`zoo.mixer.SpikingTokenMixer` sized for the tokens its block sees
(``N x N`` per head, ``N' x N'`` under a pruner with a static W_M'), and keeps every other module and weight. It
works on a trained model (fine-tune afterwards) and gives the structure, parameter count and state-dict keys of
the registered ``<name>-m`` variant.

An attention class is convertible once registered with :func:`register_attention` and a function that reads its
:class:`AttentionSpec` (width, heads, neuron); the zoo's Spikformer attention is registered here, the families
register theirs in their modules. QKFormer's Q-K token attention is not registered: it masks tokens and mixes none
(docs/families.md).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Type

from torch import nn

from .encoder import PrunedEncoder
from .mixer import SpikingSelfAttention, SpikingTokenMixer

__all__ = ["AttentionSpec", "register_attention", "neuron_config", "to_mixer"]


@dataclass(frozen=True)
class AttentionSpec:
    """What a token mixer replacing an attention module takes from it: stream width, heads, neuron config."""

    dim: int
    num_heads: int
    neuron: Dict[str, Any]


_ATTENTIONS: Dict[Type[nn.Module], Callable[[nn.Module], AttentionSpec]] = {}


def register_attention(cls: Type[nn.Module], spec: Callable[[nn.Module], AttentionSpec]) -> None:
    """Make ``cls`` convertible by :func:`to_mixer`; ``spec(module)`` reads its :class:`AttentionSpec`."""
    _ATTENTIONS[cls] = spec


def neuron_config(neuron: nn.Module) -> Dict[str, Any]:
    """The config ``dict(type=..., **options)`` that rebuilds a zoo neuron (``LIF`` / ``ILIF``) instance."""
    options = inspect.signature(type(neuron)).parameters
    return dict(type=type(neuron).__name__, **{name: getattr(neuron, name) for name in options})


register_attention(SpikingSelfAttention, lambda m: AttentionSpec(m.q.linear.in_features, m.num_heads,
                                                                 neuron_config(m.sn_in)))


def to_mixer(model: nn.Module, num_heads: Optional[int] = None, weight_mode: str = "static") -> nn.Module:
    """Replace, in place, every registered attention module of ``model``'s encoder blocks by a Spiking-token Mixer.

    Args:
        model: a zoo model whose attention blocks sit in pruned encoders (SMixer with ``mixer='ssa'``, Spikformer V2,
            QKFormer, SDT-V3), trained or not.
        num_heads: the mixers' heads; default the model's ``mixer_heads`` (the family's rule, docs/families.md),
            else the attention's own head count.
        weight_mode: the mixers' W_M' mode (``static``, ``random``, ``crop``; :class:`zoo.mixer.TokenMixing`).

    Returns ``model``; its ``init_args`` (when built by ``zoo.create``) then rebuild the converted model.
    Raises ``ValueError`` when the model holds no convertible attention.
    """
    heads = num_heads or getattr(model, "mixer_heads", None)
    replaced = 0
    for encoder in [m for m in model.modules() if isinstance(m, PrunedEncoder)]:
        n = encoder.num_tokens
        for block, kept in zip(encoder, encoder.block_tokens(n)):
            for name, child in list(block.named_children()):
                read = _ATTENTIONS.get(type(child))
                if read is None:
                    continue
                if kept < n and weight_mode == "static" and not encoder.pruner.always_active:
                    raise ValueError(f"a static {kept}x{kept} mixer weight cannot serve the unpruned tokens of "
                                     f"{type(encoder.pruner).__name__}; use weight_mode='random' or 'crop'")
                spec = read(child)
                mixer = SpikingTokenMixer(spec.dim, n, heads or spec.num_heads, spec.neuron, weight_mode,
                                          kept if kept < n else None)
                reference = next(child.parameters())
                setattr(block, name, mixer.to(reference.device, reference.dtype).train(child.training))
                replaced += 1
    if not replaced:
        raise ValueError(f"{type(model).__name__} has no attention module to convert (convertible: "
                         f"{sorted(cls.__name__ for cls in _ATTENTIONS)})")
    _record(model, heads, weight_mode)
    return model


def _record(model: nn.Module, heads: Optional[int], weight_mode: str) -> None:
    """Update the constructor arguments ``zoo.create`` recorded, so that a saved converted model rebuilds as one."""
    args = getattr(model, "init_args", None)
    if args is None:
        return
    args["mixer"] = "stm"
    if args.get("pruning") is not None:
        args["pruning"] = dict(args["pruning"], mixer_weight=weight_mode)
    if heads is not None:
        args["mixer_heads" if "mixer_heads" in args else "num_heads"] = heads
