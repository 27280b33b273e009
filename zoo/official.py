"""Official checkpoints of STMixer, QKFormer and SDT-V3 -> zoo state dicts and checkpoint folders (docs/convert.md).

One :class:`Layout` per family says how the public code's state-dict keys and tensors become the zoo's:

- ``renames``: ``(regex, replacement)`` pairs applied in order to every official key (``re.sub``);
- ``transforms``: ``(regex, function)`` pairs; every function whose regex matches the official key is applied to its
  tensor, in order (1x1 convolution -> Linear, SDT-V3's spike scale, STMixer's channel order);
- ``dropped``: ``(regex, reason)``: official keys that have no zoo counterpart;
- ``filled``: ``(regex, reason)``: zoo keys that have no official counterpart, set to zeros;
- ``heads``: the regex of per-head matrices stacked into one tensor (STMixer's ``linear_mix.<h>.weight``).

Conversion is strict: every official key is mapped or dropped, every zoo key is filled, every shape matches after
the transforms; anything else is a one-line ``ValueError`` naming the key. Checkpoints are read with
``torch.load(weights_only=True)`` and an allow-list (:data:`SAFE_GLOBALS`), never by unpickling arbitrary objects.
"""
from __future__ import annotations

import argparse
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional, Tuple, Type, Union

import torch
from torch import Tensor, nn

from .convert import neuron_config
from .hub import save_pretrained
from .layers import NeuronCfg, build_neuron
from .models._families import SJ_LIF
from .models.qkformer import QKFormer
from .models.sdtv3 import MULTISPIKE, SDTV3
from .models.smixer import SMixer
from .registry import create, is_model, model_args as create_args

__all__ = ["Layout", "LAYOUTS", "SAFE_GLOBALS", "Conversion", "load_official", "convert_state_dict", "weights_hint",
           "convert_checkpoint"]

Transform = Callable[[Tensor], Tensor]
Replacement = Union[str, Callable[["re.Match[str]"], str]]

# What an official checkpoint may hold besides tensors and containers: timm's CheckpointSaver (STMixer) and the
# MAE-style savers (QKFormer, SDT-V3) store the command line as an argparse.Namespace under 'args'.
SAFE_GLOBALS = (argparse.Namespace,)
_STATE_KEYS = ("model", "state_dict")  # where the savers put the weights, in the order they are looked for


def to_linear(weight: Tensor) -> Tensor:
    """A 1x1 convolution's weight ``[O, I, 1]`` / ``[O, I, 1, 1]`` -> a Linear weight ``[O, I]``; any other tensor
    is returned unchanged (the shape check then names it)."""
    if weight.dim() > 2 and all(size == 1 for size in weight.shape[2:]):
        return weight.reshape(weight.shape[:2])
    return weight


def quarter(weight: Tensor) -> Tensor:
    """SDT-V3's MultiSpike divides its integers by 4 before the next layer; the zoo keeps integer spikes, so the
    layer's weight carries the 1/4 (exact in floating point)."""
    return weight * 0.25


def stream_in(weight: Tensor) -> Tensor:
    """A weight reading STMixer's residual stream (input channels, dim 1) in the zoo's channel order.

    The official patch splitting concatenates ``[shortcut (C/8), main path (7C/8)]``, the zoo ``[main path,
    shortcut]``: zoo channel ``i`` is official channel ``(i + C/8) mod C``."""
    return weight.roll(-(weight.shape[1] // 8), dims=1)


def stream_out(tensor: Tensor) -> Tensor:
    """A weight or BatchNorm vector writing STMixer's residual stream (output channels, dim 0) in the zoo's
    channel order (:func:`stream_in`)."""
    return tensor.roll(-(tensor.shape[0] // 8), dims=0)


def _stmixer_stem(match: "re.Match[str]") -> str:
    """``patch_embd.proj_conv.<i>``: a Sequential of (Conv, BN, LIF) x 4 + (Conv, BN) -> ``convs.<i // 3>.{conv,
    bn}`` (a LIF index has no parameters; it maps to no zoo key and is refused)."""
    index = int(match[1])
    return f"patch_embed.convs.{index // 3}.{('conv', 'bn', 'lif')[index % 3]}."


@dataclass(frozen=True)
class Layout:
    """How one family's official checkpoint maps onto its zoo model (module docstring)."""

    name: str
    source: str
    model_cls: Type[nn.Module]
    mixer: str
    neuron: NeuronCfg
    renames: Tuple[Tuple[str, Replacement], ...]
    transforms: Tuple[Tuple[str, Transform], ...] = ()
    dropped: Tuple[Tuple[str, str], ...] = ()
    filled: Tuple[Tuple[str, str], ...] = ()
    heads: Optional[str] = None

    def rename(self, key: str) -> str:
        for pattern, replacement in self.renames:
            key = re.sub(pattern, replacement, key)
        return key

    def transform(self, key: str, value: Tensor) -> Tensor:
        for pattern, fn in self.transforms:
            if re.search(pattern, key):
                value = fn(value)
        return value

    def drop_reason(self, key: str) -> Optional[str]:
        return next((reason for pattern, reason in self.dropped if re.search(pattern, key)), None)

    def fill_reason(self, zoo_key: str) -> Optional[str]:
        return next((reason for pattern, reason in self.filled if re.search(pattern, zoo_key)), None)


_STREAM_WRITERS = r"^block\.\d+\.(token_mix|channel_mix)\.fc2\.(1\.weight|2\.(weight|bias|running_mean|running_var))$"

STMIXER = Layout(
    name="stmixer", source="brain-intelligence-lab/STMixer_demo, models/STMixer.py", model_cls=SMixer,
    mixer="stm", neuron="LIF",
    renames=(
        (r"^patch_embd\.proj_conv\.(\d+)\.", _stmixer_stem),
        (r"^patch_embd\.short_proj1\.0\.", "patch_embed.shortcut.conv."),
        (r"^patch_embd\.short_proj1\.1\.", "patch_embed.shortcut.bn."),
        (r"^block\.(\d+)\.token_mix\.fc1\.", r"blocks.\1.mixer.proj_in."),
        (r"^block\.(\d+)\.token_mix\.fc2\.", r"blocks.\1.mixer.proj_out."),
        (r"^block\.(\d+)\.token_mix\.attn\.linear_mix\.<h>\.weight$", r"blocks.\1.mixer.mixing.weight"),
        (r"^block\.(\d+)\.channel_mix\.", r"blocks.\1.mlp."),
        (r"^(blocks\.\d+\.\w+\.\w+)\.1\.", r"\1.linear."),  # Sequential(LIF, Conv1d, BN[, LIF])
        (r"^(blocks\.\d+\.\w+\.\w+)\.2\.", r"\1.bn."),
    ),
    transforms=(
        (r"^block\.\d+\.\w+\.fc[12]\.1\.weight$", to_linear),
        (r"^block\.\d+\.(token_mix|channel_mix)\.fc1\.1\.weight$|^head\.weight$", stream_in),
        (_STREAM_WRITERS, stream_out),
    ),
    dropped=((r"^sml\d+\.", "the surrogate-module side branches (sml*), training-time auxiliary heads"),),
    filled=((r"^blocks\.\d+\.(mixer\.proj_(in|out)|mlp\.fc[12])\.linear\.bias$",
             "the official 1x1 convolutions have no bias; a zero bias before BatchNorm is the same"),),
    heads=r"^(?P<prefix>block\.\d+\.token_mix\.attn\.linear_mix)\.(?P<head>\d+)\.weight$",
)

QKFORMER = Layout(
    name="qkformer", source="zhouchenlin2096/QKFormer, imagenet/qkformer.py", model_cls=QKFormer, mixer="ssa",
    neuron=SJ_LIF,
    renames=(
        (r"^patch_embed1\.proj_(conv|bn)\.", r"patch_embed1.conv.\1."),
        (r"^patch_embed1\.proj1_(conv|bn)\.", r"patch_embed1.down.conv1.\1."),
        (r"^patch_embed1\.proj2_(conv|bn)\.", r"patch_embed1.down.conv2.\1."),
        (r"^patch_embed1\.proj_res_(conv|bn)\.", r"patch_embed1.down.shortcut.\1."),
        (r"^patch_embed([23])\.proj3_(conv|bn)\.", r"patch_embed\1.conv1.\2."),
        (r"^patch_embed([23])\.proj4_(conv|bn)\.", r"patch_embed\1.conv2.\2."),
        (r"^patch_embed([23])\.proj_res_(conv|bn)\.", r"patch_embed\1.shortcut.\2."),
        (r"^(stage[12]\.\d+)\.tssa\.", r"\1.attn."),
        (r"^(stage\d\.\d+\.(attn|mlp)\.\w+?)_conv\.", r"\1.linear."),
        (r"^(stage\d\.\d+\.(attn|mlp)\.\w+?)_bn\.", r"\1.bn."),
    ),
    transforms=((r"^stage\d\.\d+\.(tssa|attn|mlp)\.\w+_conv\.weight$", to_linear),),
)

SDTV3_LAYOUT = Layout(
    name="sdtv3", source="BICLab/Spike-Driven-Transformer-V3, SDT_V3/Classification/Model_Base/models.py",
    model_cls=SDTV3, mixer="ssa", neuron=MULTISPIKE,
    renames=(
        (r"^(downsample\d(_\d)?)\.encode_(conv|bn)\.", r"\1.conv.\3."),
        (r"^ConvBlock1_([12])\.0\.", r"conv_block1_\1."),
        (r"^ConvBlock2_([12])\.0\.", lambda m: f"conv_block2.{int(m[1]) - 1}."),
        (r"^block([34])\.", r"stage\1."),
        (r"\.(Conv|conv)\.pwconv([12])\.0\.", r".sepconv.pw\2.linear."),
        (r"\.(Conv|conv)\.pwconv([12])\.1\.", r".sepconv.pw\2.bn."),
        (r"\.(Conv|conv)\.dwconv\.0\.", ".sepconv.dw."),
        (r"\.(Conv|conv)\.dwconv\.1\.", ".sepconv.dw_bn."),
        (r"^(conv_block[\d_.]+?)\.conv([12])\.", r"\1.conv\2.conv."),
        (r"^(conv_block[\d_.]+?)\.bn([12])\.", r"\1.conv\2.bn."),
        (r"\.attn\.(q|k|v|proj)_conv\.0\.", r".attn.\1.linear."),
        (r"\.attn\.(q|k|v|proj)_conv\.1\.", r".attn.\1.bn."),
        (r"\.mlp\.(fc[12])_conv\.", r".mlp.\1.linear."),
        (r"\.mlp\.(fc[12])_bn\.", r".mlp.\1.bn."),
    ),
    transforms=(
        (r"\.(pwconv[12]\.0|attn\.\w+_conv\.0|mlp\.fc[12]_conv)\.weight$", to_linear),
        # every convolution after a MultiSpike: all but the first encoding layer (and the head, whose spike is
        # not divided)
        (r"^(?!downsample1_1\.).*\.(encode_conv|pwconv[12]\.0|dwconv\.0|conv[12]|\w+_conv\.0|fc[12]_conv)\.weight$",
         quarter),
    ),
)

LAYOUTS: Dict[str, Layout] = {layout.name: layout for layout in (STMIXER, QKFORMER, SDTV3_LAYOUT)}


class Conversion(NamedTuple):
    """A converted state dict and what was not a one-to-one copy: official keys dropped and zoo keys filled with
    zeros, each with its reason."""

    state_dict: Dict[str, Tensor]
    dropped: Dict[str, str]
    filled: Dict[str, str]


def _layout(family: str) -> Layout:
    if family not in LAYOUTS:
        raise ValueError(f"unknown official family {family!r}; choose one of {sorted(LAYOUTS)}")
    return LAYOUTS[family]


def _unpickling_error(path: Path, err: Exception) -> ValueError:
    found = re.search(r"GLOBAL ([\w.]+)", str(err))
    allowed = ", ".join(f"{g.__module__}.{g.__qualname__}" for g in SAFE_GLOBALS)
    what = f"a pickled {found[1]}" if found else "an object"
    return ValueError(f"{path} holds {what} that torch.load(weights_only=True) refuses (allowed besides tensors: "
                      f"{allowed}); save its state dict alone (torch.save(model.state_dict(), ...)) in the "
                      f"original environment")


def _state_dict_of(checkpoint: Any, origin: str) -> Dict[str, Tensor]:
    """The weights inside a loaded checkpoint (under 'model' / 'state_dict', or the dict itself), without a
    DistributedDataParallel ``module.`` prefix; ``origin`` names the checkpoint in errors."""
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f"{origin} holds a {type(checkpoint).__name__}, not a checkpoint dict")
    state = next((checkpoint[k] for k in _STATE_KEYS if isinstance(checkpoint.get(k), Mapping)), checkpoint)
    for key, value in state.items():
        if not isinstance(value, Tensor):
            raise ValueError(f"{origin}: no state dict under {list(_STATE_KEYS)} and {key!r} is a "
                             f"{type(value).__name__}, not a tensor (keys: {sorted(state)[:8]})")
    return {key[len("module."):] if key.startswith("module.") else key: value for key, value in state.items()}


def load_official(path: Union[str, Path]) -> Dict[str, Tensor]:
    """Read an official checkpoint (``.pth`` / ``.pth.tar``) with ``weights_only=True`` and the
    :data:`SAFE_GLOBALS` allow-list; return its state dict (``'model'`` / ``'state_dict'`` / ``module.`` handled)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"official checkpoint {path} not found")
    try:
        with torch.serialization.safe_globals(list(SAFE_GLOBALS)):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise _unpickling_error(path, err) from None
    except (RuntimeError, EOFError, OSError) as err:
        raise ValueError(f"{path} is not a readable torch checkpoint: {str(err).splitlines()[0]}") from None
    return _state_dict_of(checkpoint, str(path))


def _stack_heads(state: Mapping[str, Tensor], pattern: str) -> Dict[str, Tensor]:
    """Per-head matrices ``<prefix>.<h>.weight`` -> one ``<prefix>.<h>.weight`` tensor ``[H, ...]`` (heads 0..H-1)."""
    out: Dict[str, Tensor] = {}
    groups: Dict[str, Dict[int, Tensor]] = {}
    for key, value in state.items():
        match = re.search(pattern, key)
        if match:
            groups.setdefault(match["prefix"], {})[int(match["head"])] = value
        else:
            out[key] = value
    for prefix, heads in groups.items():
        absent = sorted(set(range(max(heads) + 1)) - set(heads))
        if absent:
            raise ValueError(f"official key {prefix}.{absent[0]}.weight is missing (heads 0..{max(heads)} present "
                             f"otherwise)")
        shapes = {tuple(t.shape) for t in heads.values()}
        if len(shapes) > 1:
            raise ValueError(f"official keys {prefix}.<h>.weight differ in shape: {sorted(shapes)}")
        out[f"{prefix}.<h>.weight"] = torch.stack([heads[h] for h in range(len(heads))])
    return out


def _check_target(layout: Layout, model: nn.Module) -> None:
    """Refuse a zoo variant the official weights do not fit: another family, the "-> M" version, another neuron."""
    variant = getattr(model, "variant", type(model).__name__)
    if not isinstance(model, layout.model_cls):
        raise ValueError(f"{variant} is a {type(model).__name__}; {layout.name} checkpoints load into "
                         f"{layout.model_cls.__name__} variants")
    mixer = model.init_args.get("mixer")
    if mixer != layout.mixer:
        hint = "; convert into the attention variant, then zoo.to_mixer" if layout.mixer == "ssa" else ""
        raise ValueError(f"{variant} has mixer={mixer!r}; the official {layout.name} weights are for mixer="
                         f"{layout.mixer!r}{hint}")
    neuron, expected = (neuron_config(build_neuron(n)) for n in (model.init_args["neuron"], layout.neuron))
    if neuron != expected:
        raise ValueError(f"{variant} uses neuron {neuron}; the official {layout.name} weights were trained with "
                         f"{expected}: pass neuron={layout.neuron!r}")


def _convert(layout: Layout, state: Mapping[str, Tensor], expected: Mapping[str, Tensor], variant: str
             ) -> Conversion:
    """The strict mapping of ``state`` (official) onto ``expected`` (the zoo model's state dict: keys and shapes)."""
    if layout.heads:
        state = _stack_heads(state, layout.heads)
    out: Dict[str, Tensor] = {}
    dropped: Dict[str, str] = {}
    sources: Dict[str, str] = {}
    for key, value in state.items():
        reason = layout.drop_reason(key)
        if reason:
            dropped[key] = reason
            continue
        zoo_key = layout.rename(key)
        if zoo_key not in expected:
            raise ValueError(f"official key {key!r} (-> {zoo_key!r}) has no place in {variant}: not a "
                             f"{layout.name} checkpoint of this size, or a key the {layout.name} table does not know")
        if zoo_key in sources:
            raise ValueError(f"official keys {sources[zoo_key]!r} and {key!r} both map to {zoo_key!r}")
        value = layout.transform(key, value)
        if value.shape != expected[zoo_key].shape:
            raise ValueError(f"official key {key!r} -> {zoo_key!r}: shape {tuple(value.shape)} after conversion, "
                             f"{variant} expects {tuple(expected[zoo_key].shape)}")
        out[zoo_key], sources[zoo_key] = value, key
    missing = [k for k in expected if k not in out and layout.fill_reason(k) is None]
    if missing:
        raise ValueError(f"{variant} key {missing[0]!r} got no weight from the {layout.name} checkpoint"
                         + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    filled = {k: layout.fill_reason(k) for k in expected if k not in out}
    device = next(iter(state.values())).device  # the checkpoint's (meta for a shape-only check)
    for zoo_key in filled:
        out[zoo_key] = torch.zeros(expected[zoo_key].shape, dtype=expected[zoo_key].dtype, device=device)
    return Conversion(out, dropped, filled)


def convert_state_dict(family: str, state_dict: Mapping[str, Tensor], variant: str, **model_args: Any
                       ) -> Dict[str, Tensor]:
    """An official ``family`` state dict (``stmixer``, ``qkformer``, ``sdtv3``) -> the state dict of the zoo
    ``variant`` built with ``model_args`` (checked key by key and shape by shape; the model is built on the meta
    device, so this costs no memory for the weights)."""
    layout = _layout(family)
    with torch.device("meta"):
        model = create(variant, **model_args)
    _check_target(layout, model)
    return _convert(layout, _state_dict_of(state_dict, "the state dict"), model.state_dict(), variant).state_dict


def convert_checkpoint(src: Union[str, Path], out_dir: Union[str, Path], family: str, variant: str,
                       **model_args: Any) -> Conversion:
    """Convert the official checkpoint ``src`` into the zoo folder ``out_dir`` (``model.safetensors`` +
    ``config.json``, :func:`zoo.save_pretrained`) for ``variant`` built with ``model_args`` (e.g.
    ``lif_over_batch=True`` for QKFormer's released weights). Returns the conversion (what was dropped / filled)."""
    layout = _layout(family)
    model = create(variant, **model_args)
    _check_target(layout, model)
    conversion = _convert(layout, load_official(src), model.state_dict(), variant)
    model.load_state_dict(conversion.state_dict)
    model.pretrained_cfg.notes = (f"converted from the official {layout.name} checkpoint {Path(src).name} "
                                  f"({layout.source}) by tools/convert.py")
    save_pretrained(model, out_dir)
    return conversion


def weights_hint(variant: str) -> str:
    """How a user gets weights for ``variant`` that has none: the ``tools/convert.py`` command when an official
    layout fits it (or fits its unpruned ``-dstsp``-less variant, which DSTSP then prunes with a cropped W_M'), else
    where training starts. One sentence, for the error of ``zoo.load``."""
    base = variant[: -len("-dstsp")] if variant.endswith("-dstsp") else variant
    for name in dict.fromkeys((variant, base)):
        if not is_model(name):
            continue
        with torch.device("meta"):
            model = create(name)
        if model.pruners:  # official checkpoints are of unpruned models
            continue
        for layout in LAYOUTS.values():
            try:
                _check_target(layout, model)
            except ValueError:
                continue
            command = (f"`python tools/convert.py CHECKPOINT out/{name} --from {layout.name} --variant {name}` "
                       f"(the official {layout.source} checkpoint, docs/convert.md)")
            if name == variant:
                return f"convert the official checkpoint: {command}, then zoo.load('out/{name}')"
            pruning = create_args(variant)["pruning"]
            return (f"no official {variant} checkpoint is public; convert the unpruned model, {command}, and prune "
                    f"it: zoo.load('out/{name}', pruning={pruning!r}, mixer_weight='crop')")
    return "train it (tools/train.py with its config in configs/cls)"
