"""The models the analyses look at: loading one, re-building it with inference-time token pruning, its accuracy.

- :func:`load_model`: a trained zoo folder (``config.json`` + ``model.safetensors``, what ``tools/export.py``
  writes) or a registered variant with random weights, in eval mode.
- :func:`with_token_pruning`: the same model and weights, with DSTSP pruning tokens after the stem at inference
  only: keep the ``keep`` fraction of tokens per sample and step with the highest SIV (``LP``, the method), the
  lowest (``HP``) or at random (``RP``); pruned tokens are discarded and the token mixer uses ``W_M`` cropped at
  the kept tokens (``mixer_weight='crop'``), so the model sees exactly the kept tokens.
- :func:`accuracy`: top-1 (%) on a batch of inputs, evaluated in chunks.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import torch
from torch import Tensor, nn

import zoo
from zoo.pruning import kept_count

__all__ = ["load_model", "with_token_pruning", "accuracy", "require_token_stream", "STRATEGIES", "KEPT_TOKENS"]

STRATEGIES = ("LP", "HP", "RP")  # prune low-SIV tokens (keep the high), prune high-SIV (keep the low), random
KEPT_TOKENS = {"LP": "high-SIV", "HP": "low-SIV", "RP": "random"}


def load_model(checkpoint: Optional[Path] = None, model: Optional[str] = None, **overrides: Any) -> nn.Module:
    """The trained model in the zoo folder ``checkpoint``, or the variant ``model`` with random weights (seeded by
    the caller); ``overrides`` replace constructor arguments (e.g. ``time_steps``). Eval mode."""
    if (checkpoint is None) == (model is None):
        raise ValueError("give a trained model folder (--checkpoint) or a registered variant (--model), not both")
    if checkpoint is not None:
        if not Path(checkpoint).is_dir():
            raise FileNotFoundError(f"{checkpoint} is not a folder; --checkpoint takes the folder tools/export.py "
                                    f"writes (config.json + model.safetensors)")
        return zoo.load(checkpoint, **overrides).eval()
    return zoo.create(model, **overrides).eval()


def require_token_stream(model: nn.Module, analysis: str) -> None:
    """Refuse, in one line, a model whose stem does not feed one token stream ``[T, B, N, C]`` into one pruned
    encoder ``blocks`` (what the token analyses read): QKFormer and SDT-V3 prune inside later stages."""
    encoders = list(model.pruned_encoders()) if hasattr(model, "pruned_encoders") else []
    if encoders != ["blocks"] or not hasattr(model, "num_tokens"):
        name = getattr(model, "variant", type(model).__name__)
        raise ValueError(f"the {analysis} analysis reads the token stream after a model's stem; {name} "
                         f"({type(model).__name__}) has none: its pruned encoders are stages {encoders}. Use an "
                         f"SMixer, Spikformer or Spikformer V2 variant")


def _has_pruner(model: nn.Module) -> bool:
    return getattr(getattr(model, "blocks", None), "pruner", None) is not None


def with_token_pruning(model: nn.Module, keep: float, strategy: str) -> nn.Module:
    """A copy of ``model`` (built by ``zoo.create`` / ``zoo.load``, without a pruner) that keeps only the ``keep``
    fraction of its tokens after the stem at inference, chosen by ``strategy`` (``LP`` / ``HP`` / ``RP``). Eval mode.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"the kept fraction of tokens must be in (0, 1], got {keep}")
    if not hasattr(model, "init_args"):
        raise TypeError("with_token_pruning needs a model built by zoo.create or zoo.load")
    if _has_pruner(model):
        raise ValueError(f"{model.variant} already prunes tokens ({model.blocks.pruner.extra_repr()}); the token "
                         f"analyses need a model trained without pruning")
    if keep == 1.0:
        return model
    kept_count(model.num_tokens, 1.0 - keep, "spatial")  # refuses a fraction that keeps no token
    pruning = dict(type="DSTSP", spatial_ratio=1.0 - keep, strategy=strategy, stage="I", pruned_tokens="discard",
                   order="original")
    args = dict(model.init_args, dstsp=None, pruning=pruning, placement="after_stem", mixer_weight="crop")
    pruned = zoo.create(model.variant, **args)
    pruned.load_state_dict(model.state_dict())
    return pruned.eval()


@torch.no_grad()
def accuracy(model: nn.Module, inputs: Tensor, labels: Tensor, batch_size: int = 500) -> float:
    """Top-1 accuracy (%) of ``model`` on ``inputs`` ``[B, ...]`` with ``labels`` ``[B]``, ``batch_size`` at a time."""
    correct = sum(int((model(inputs[i:i + batch_size]).argmax(-1) == labels[i:i + batch_size]).sum())
                  for i in range(0, len(inputs), batch_size))
    return 100.0 * correct / len(inputs)
