"""Official checkpoints -> zoo (zoo/official.py, tools/convert.py).

The official state dicts are built here from the public code's module definitions (key names and shapes written
out below, independently of the converter's tables) and checked against a literal list of keys; the zoo model
loaded with the converted weights must give the outputs of a forward pass written here from the public code's
formulas, fed the official-layout weights.
"""
from __future__ import annotations

import argparse
import datetime
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

import zoo
from zoo.official import convert_checkpoint, convert_state_dict, load_official

ROOT = Path(__file__).resolve().parents[1]
State = Dict[str, Tensor]


# ---------------------------------------------------------------------------------------------------------------
# Official layouts, from the public module definitions
# ---------------------------------------------------------------------------------------------------------------
class Official:
    """Random weights in an official layout: conv / BN / linear entries as the public modules name them."""

    def __init__(self, device: str = "cpu", seed: int = 0, gain: float = 1.0) -> None:
        self.sd: State = {}
        self.device, self.gain = device, gain  # gain: BatchNorm affine scale, to keep neurons firing
        self.gen = torch.Generator().manual_seed(seed)

    def _rand(self, *shape: int) -> Tensor:
        if self.device == "meta":
            return torch.empty(shape, device="meta", dtype=torch.float64)
        return torch.randn(shape, generator=self.gen, dtype=torch.float64)

    def conv(self, name: str, cout: int, cin: int, *kernel: int, bias: bool = False, groups: int = 1) -> None:
        fan_in = cin // groups * math.prod(kernel)
        self.sd[f"{name}.weight"] = self._rand(cout, cin // groups, *kernel) * 1.5 / fan_in ** 0.5
        if bias:
            self.sd[f"{name}.bias"] = self._rand(cout) * 0.2

    def bn(self, name: str, c: int) -> None:
        self.sd[f"{name}.weight"] = self.gain * (1.0 + 0.3 * self._rand(c))
        self.sd[f"{name}.bias"] = self.gain * (0.5 + 0.3 * self._rand(c))
        self.sd[f"{name}.running_mean"] = 0.2 * self._rand(c)
        self.sd[f"{name}.running_var"] = 1.0 + 0.2 * self._rand(c).abs()
        self.sd[f"{name}.num_batches_tracked"] = torch.tensor(7, device=self.device)

    def linear(self, name: str, cout: int, cin: int) -> None:
        self.sd[f"{name}.weight"] = self._rand(cout, cin) / cin ** 0.5
        self.sd[f"{name}.bias"] = 0.1 * self._rand(cout)


def stmixer_official(dim: int, depth: int, heads: int, tokens: int, classes: int, in_chans: int = 3,
                     downsample: int = 16, device: str = "cpu") -> State:
    """models/STMixer.py STMixerV3 (SPSV2 stem, Encoder blocks: TokenMixer + FFN, mlp_ratio 4)."""
    o = Official(device)
    widths = [in_chans, dim // 8, dim // 4, dim // 2, dim, dim // 8 * 7]
    for i in range(5):  # proj_conv: (Conv, BN, LIF) x 4, Conv, BN
        o.conv(f"patch_embd.proj_conv.{3 * i}", widths[i + 1], widths[i], 3, 3)
        o.bn(f"patch_embd.proj_conv.{3 * i + 1}", widths[i + 1])
    o.conv("patch_embd.short_proj1.0", dim // 8, in_chans, downsample, downsample)
    o.bn("patch_embd.short_proj1.1", dim // 8)
    for b in range(depth):
        p = f"block.{b}."
        o.conv(p + "token_mix.fc1.1", dim, dim, 1)  # Sequential(LIF, Conv1d, BN, LIF)
        o.bn(p + "token_mix.fc1.2", dim)
        for h in range(heads):
            o.sd[p + f"token_mix.attn.linear_mix.{h}.weight"] = o._rand(tokens, tokens) * 1.5 / tokens ** 0.5
        o.conv(p + "token_mix.fc2.1", dim, dim, 1)
        o.bn(p + "token_mix.fc2.2", dim)
        o.conv(p + "channel_mix.fc1.1", 4 * dim, dim, 1)
        o.bn(p + "channel_mix.fc1.2", 4 * dim)
        o.conv(p + "channel_mix.fc2.1", dim, 4 * dim, 1)
        o.bn(p + "channel_mix.fc2.2", dim)
    o.linear("head", classes, dim)
    return o.sd


def qkformer_official(dim: int, depth: int, classes: int, in_chans: int = 3, device: str = "cpu") -> State:
    """imagenet/qkformer.py hierarchical_spiking_transformer (PatchEmbedInit, PatchEmbeddingStage x 2, 1 + 2
    TokenSpikingTransformer, depth - 3 SpikingTransformer)."""
    o = Official(device, seed=1, gain=2.0)  # SpikingJelly's LIF halves its input: fires at an input of 2
    d1, d2, d3 = dim // 4, dim // 2, dim
    o.conv("patch_embed1.proj_conv", d1 // 2, in_chans, 3, 3)
    o.bn("patch_embed1.proj_bn", d1 // 2)
    o.conv("patch_embed1.proj1_conv", d1, d1 // 2, 3, 3)
    o.bn("patch_embed1.proj1_bn", d1)
    o.conv("patch_embed1.proj2_conv", d1, d1, 3, 3)
    o.bn("patch_embed1.proj2_bn", d1)
    o.conv("patch_embed1.proj_res_conv", d1, d1 // 2, 1, 1)
    o.bn("patch_embed1.proj_res_bn", d1)
    for stage, (cin, c) in ((2, (d1, d2)), (3, (d2, d3))):
        p = f"patch_embed{stage}."
        o.conv(p + "proj3_conv", c, cin, 3, 3)
        o.bn(p + "proj3_bn", c)
        o.conv(p + "proj4_conv", c, c, 3, 3)
        o.bn(p + "proj4_bn", c)
        o.conv(p + "proj_res_conv", c, cin, 1, 1)
        o.bn(p + "proj_res_bn", c)
    blocks = [("stage1.0.tssa.", d1, "qk")] + [(f"stage2.{j}.tssa.", d2, "qk") for j in range(2)]
    blocks += [(f"stage3.{j}.attn.", d3, "qkv") for j in range(depth - 3)]
    for p, c, names in blocks:
        for n in names:
            o.conv(p + f"{n}_conv", c, c, 1)
            o.bn(p + f"{n}_bn", c)
        o.conv(p + "proj_conv", c, c, 1, bias=True)
        o.bn(p + "proj_bn", c)
        m = p.rsplit(".", 2)[0] + ".mlp."
        o.conv(m + "fc1_conv", 4 * c, c, 1, 1, bias=True)
        o.bn(m + "fc1_bn", 4 * c)
        o.conv(m + "fc2_conv", c, 4 * c, 1, 1, bias=True)
        o.bn(m + "fc2_bn", c)
    o.linear("head", classes, d3)
    return o.sd


def sdtv3_official(dims: List[int], classes: int, in_chans: int = 3, device: str = "cpu") -> State:
    """SDT_V3/Classification/Model_Base/models.py Spiking_vit_MetaFormer_Spike_SepConv (6 + 2 blocks)."""
    o = Official(device, seed=2)
    c0, c1, c2, c3 = dims

    def sepconv(p: str, c: int, k: int) -> None:  # SepConv_Spike
        o.conv(p + "pwconv1.0", 2 * c, c, 1, 1)
        o.bn(p + "pwconv1.1", 2 * c)
        o.conv(p + "dwconv.0", 2 * c, 2 * c, k, k, groups=2 * c)
        o.bn(p + "dwconv.1", 2 * c)
        o.conv(p + "pwconv2.0", c, 2 * c, 1, 1)
        o.bn(p + "pwconv2.1", c)

    def conv_block(p: str, c: int) -> None:  # MS_ConvBlock_spike_SepConv
        sepconv(p + "Conv.", c, 7)
        o.conv(p + "conv1", 4 * c, c, 3, 3)
        o.bn(p + "bn1", 4 * c)
        o.conv(p + "conv2", c, 4 * c, 3, 3)
        o.bn(p + "bn2", c)

    def block(p: str, c: int) -> None:  # MS_Block_Spike_SepConv (MS_Attention_linear, lamda_ratio 4)
        sepconv(p + "conv.", c, 3)
        for n, cout, cin in (("q", c, c), ("k", c, c), ("v", 4 * c, c), ("proj", c, 4 * c)):
            o.conv(p + f"attn.{n}_conv.0", cout, cin, 1, 1)
            o.bn(p + f"attn.{n}_conv.1", cout)
        o.conv(p + "mlp.fc1_conv", 4 * c, c, 1, bias=True)
        o.bn(p + "mlp.fc1_bn", 4 * c)
        o.conv(p + "mlp.fc2_conv", c, 4 * c, 1, bias=True)
        o.bn(p + "mlp.fc2_bn", c)

    def down(p: str, cout: int, cin: int, k: int) -> None:  # MS_DownSampling
        o.conv(p + "encode_conv", cout, cin, k, k, bias=True)
        o.bn(p + "encode_bn", cout)

    down("downsample1_1.", c0 // 2, in_chans, 7)
    conv_block("ConvBlock1_1.0.", c0 // 2)
    down("downsample1_2.", c0, c0 // 2, 3)
    conv_block("ConvBlock1_2.0.", c0)
    down("downsample2.", c1, c0, 3)
    conv_block("ConvBlock2_1.0.", c1)
    conv_block("ConvBlock2_2.0.", c1)
    down("downsample3.", c2, c1, 3)
    for j in range(6):
        block(f"block3.{j}.", c2)
    down("downsample4.", c3, c2, 3)
    for j in range(2):
        block(f"block4.{j}.", c3)
    o.linear("head", classes, c3)
    return o.sd


def test_official_layouts_have_the_published_keys():
    """The layouts above against literal keys and shapes of the public code (facts file, sections B, C, G)."""
    st = stmixer_official(768, 8, 16, 196, 1000, device="meta")
    assert tuple(st["block.7.token_mix.attn.linear_mix.15.weight"].shape) == (196, 196)
    for key in ("patch_embd.proj_conv.0.weight", "patch_embd.proj_conv.13.running_var",
                "patch_embd.short_proj1.0.weight", "block.0.token_mix.fc1.1.weight", "block.3.token_mix.fc2.2.bias",
                "block.7.channel_mix.fc2.1.weight", "head.bias"):
        assert key in st, key
    assert tuple(st["patch_embd.short_proj1.0.weight"].shape) == (96, 3, 16, 16)
    qk = qkformer_official(384, 10, 1000, device="meta")
    for key in ("patch_embed1.proj_conv.weight", "patch_embed1.proj_res_bn.running_mean",
                "patch_embed3.proj4_conv.weight", "stage1.0.tssa.q_conv.weight", "stage2.1.tssa.proj_bn.bias",
                "stage3.6.attn.v_conv.weight", "stage3.0.mlp.fc1_conv.bias", "head.weight"):
        assert key in qk, key
    assert "stage3.7.attn.q_conv.weight" not in qk and "stage1.0.tssa.v_conv.weight" not in qk
    assert tuple(qk["stage3.0.attn.q_conv.weight"].shape) == (384, 384, 1)
    sdt = sdtv3_official([32, 64, 128, 192], 1000, device="meta")
    for key in ("downsample1_1.encode_conv.bias", "ConvBlock1_1.0.Conv.pwconv1.0.weight",
                "ConvBlock2_2.0.Conv.dwconv.1.running_var", "ConvBlock1_2.0.bn2.weight",
                "block3.5.attn.proj_conv.1.weight", "block4.1.conv.pwconv2.0.weight", "block4.0.mlp.fc2_bn.bias"):
        assert key in sdt, key
    assert tuple(sdt["block3.0.attn.v_conv.0.weight"].shape) == (512, 128, 1, 1)


@pytest.mark.parametrize("family, variant, make", [
    ("stmixer", "stmixer-8-768", lambda: stmixer_official(768, 8, 16, 196, 1000, device="meta")),
    ("stmixer", "stmixer-8-512", lambda: stmixer_official(512, 8, 16, 196, 1000, device="meta")),
    ("qkformer", "qkformer-10-384", lambda: qkformer_official(384, 10, 1000, device="meta")),
    ("qkformer", "qkformer-10-512", lambda: qkformer_official(512, 10, 1000, device="meta")),
    ("sdtv3", "sdtv3-s", lambda: sdtv3_official([32, 64, 128, 192], 1000, device="meta")),
    ("sdtv3", "sdtv3-m", lambda: sdtv3_official([48, 96, 192, 240], 1000, device="meta")),
    ("sdtv3", "sdtv3-l", lambda: sdtv3_official([64, 128, 256, 360], 1000, device="meta")),
])
def test_full_size_layouts_convert_on_meta(family, variant, make):
    """Every key of the full-size official layout maps onto the registered variant, shapes equal (meta tensors)."""
    state = convert_state_dict(family, make(), variant)
    with torch.device("meta"):
        expected = zoo.create(variant).state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == {k: tuple(v.shape) for k, v in expected.items()}


# ---------------------------------------------------------------------------------------------------------------
# Forward passes written from the public code's formulas, on the official-layout weights
# ---------------------------------------------------------------------------------------------------------------
def bn(x: Tensor, sd: State, p: str) -> Tensor:
    return F.batch_norm(x, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"], sd[p + ".bias"])


def conv(x: Tensor, sd: State, p: str, stride: int = 1, padding: int = 0, groups: int = 1) -> Tensor:
    w = sd[p + ".weight"]
    if w.dim() == 3:
        return F.conv1d(x, w, sd.get(p + ".bias"), stride, padding, groups=groups)
    if x.dim() == 3:  # a 1x1 Conv2d on tokens [B, C, N]
        return conv(x.unsqueeze(-1), sd, p, stride, padding, groups).squeeze(-1)
    return F.conv2d(x, w, sd.get(p + ".bias"), stride, padding, groups=groups)


def stmixer_lif(x: Tensor, steps: int) -> Tensor:
    """models/spiking_layer.py LIFSpike(tau=0.5, thresh=1): mem = mem * 0.5 + x; fire at mem >= 1; mem *= 1 - s."""
    x = x.view(steps, -1, *x.shape[1:])
    mem, out = torch.zeros_like(x[0]), []
    for t in range(steps):
        mem = mem * 0.5 + x[t]
        spike = (mem >= 1.0).to(x.dtype)
        out.append(spike)
        mem = mem * (1 - spike)
    return torch.stack(out).flatten(0, 1)


def stmixer_forward(sd: State, image: Tensor, steps: int, heads: int) -> Tensor:
    """STMixerV3.forward_sdt (ImageNet path: ExpandTime, SPSV2 with 4 downsamplings, Encoder blocks, head)."""
    lif = lambda y: stmixer_lif(y, steps)  # noqa: E731
    x = image.unsqueeze(0).repeat(steps, 1, 1, 1, 1).flatten(0, 1)  # [T*B, C, H, W]
    short = bn(conv(x, sd, "patch_embd.short_proj1.0", stride=16), sd, "patch_embd.short_proj1.1")
    for i, stride in enumerate((1, 2, 2, 2, 2)):
        x = bn(conv(x, sd, f"patch_embd.proj_conv.{3 * i}", stride, 1), sd, f"patch_embd.proj_conv.{3 * i + 1}")
        x = lif(x) if i < 4 else x
    x = torch.cat([short, x], dim=1).flatten(-2)  # [T*B, C, N]: shortcut channels first
    b = 0
    while f"block.{b}.token_mix.fc1.1.weight" in sd:
        p = f"block.{b}."
        y = lif(bn(conv(lif(x), sd, p + "token_mix.fc1.1"), sd, p + "token_mix.fc1.2"))
        g = y.reshape(y.shape[0], heads, -1, y.shape[-1])  # STM: per head a Linear over tokens
        g = torch.stack([g[:, h] @ sd[p + f"token_mix.attn.linear_mix.{h}.weight"].T for h in range(heads)], 1)
        y = bn(conv(lif(g.reshape(y.shape)), sd, p + "token_mix.fc2.1"), sd, p + "token_mix.fc2.2")
        x = x + y
        y = bn(conv(lif(x), sd, p + "channel_mix.fc1.1"), sd, p + "channel_mix.fc1.2")
        x = x + bn(conv(lif(y), sd, p + "channel_mix.fc2.1"), sd, p + "channel_mix.fc2.2")
        b += 1
    x = x.mean(-1).reshape(steps, -1, x.shape[1])
    return F.linear(x, sd["head.weight"], sd["head.bias"]).mean(0)


def sj_lif(x: Tensor, threshold: float = 1.0) -> Tensor:
    """SpikingJelly MultiStepLIFNode(tau=2, v_reset=0): H = V + (X - V) / 2, fire at H >= threshold, V = H (1 - S),
    over dim 0."""
    v, out = torch.zeros_like(x[0]), []
    for t in range(x.shape[0]):
        h = v + (x[t] - v) / 2.0
        spike = (h >= threshold).to(x.dtype)
        out.append(spike)
        v = h * (1 - spike)
    return torch.stack(out)


def per_step(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    return fn(x.flatten(0, 1)).unflatten(0, x.shape[:2])


def qkformer_forward(sd: State, image: Tensor, steps: int, heads: int, batch_lif: bool) -> Tensor:
    """hierarchical_spiking_transformer.forward (imagenet/qkformer.py); ``batch_lif``: the released code's stage-3
    proj_lif on [T*B, C, N] (time = T*B), else over T as every other LIF."""
    pool = lambda y: F.max_pool2d(y, 3, 2, 1)  # noqa: E731
    cbn = lambda p, s=1, pad=1: lambda y: bn(conv(y, sd, p + "_conv", s, pad), sd, p + "_bn")  # noqa: E731

    def down(p1: str, p2: str, x: Tensor) -> Tensor:  # PatchEmbedInit's second half, PatchEmbeddingStage
        y = sj_lif(per_step(lambda z: pool(cbn(p1)(z)), x))
        res = p1.rsplit(".", 1)[0] + ".proj_res"  # 1x1 stride-2 shortcut from the input
        return sj_lif(per_step(cbn(p2), y)) + sj_lif(per_step(cbn(res, 2, 0), x))

    x = image.unsqueeze(0).repeat(steps, 1, 1, 1, 1)  # [T, B, C, H, W]
    x = sj_lif(per_step(lambda y: pool(cbn("patch_embed1.proj")(y)), x))
    x = down("patch_embed1.proj1", "patch_embed1.proj2", x)

    def tokens_bn(p: str, y: Tensor) -> Tensor:  # Conv1d + BN1d on [T*B, C, N]
        return per_step(lambda z: bn(conv(z, sd, p + "_conv"), sd, p + "_bn"), y)

    def mlp(p: str, y: Tensor) -> Tensor:  # 1x1 Conv2d + BN2d = the same on tokens
        return sj_lif(tokens_bn(p + "fc2", sj_lif(tokens_bn(p + "fc1", y))))

    for stage in (1, 2, 3):
        if stage > 1:
            x = down(f"patch_embed{stage}.proj3", f"patch_embed{stage}.proj4", x)
        side = x.shape[-1]
        x = x.flatten(3)  # [T, B, C, N]
        t, b, c, n = x.shape
        j = 0
        while f"stage{stage}.{j}.mlp.fc1_conv.weight" in sd:
            p = f"stage{stage}.{j}." + ("tssa." if stage < 3 else "attn.")
            q = sj_lif(tokens_bn(p + "q", x))
            k = sj_lif(tokens_bn(p + "k", x))
            if stage < 3:  # Token_QK_Attention
                mask = sj_lif(q.reshape(t, b, heads, c // heads, n).sum(3, keepdim=True), 0.5)
                y = (mask * k.reshape(t, b, heads, c // heads, n)).flatten(2, 3)
                y = sj_lif(tokens_bn(p + "proj", y))
            else:  # Spiking_Self_Attention
                v = sj_lif(tokens_bn(p + "v", x))
                split = lambda z: z.transpose(-1, -2).reshape(t, b, n, heads, c // heads).transpose(2, 3)  # noqa
                att = split(q) @ (split(k).transpose(-2, -1) @ split(v)) * 0.125
                y = sj_lif(att.transpose(3, 4).reshape(t, b, c, n), 0.5)
                y = tokens_bn(p + "proj", y)
                y = sj_lif(y.flatten(0, 1)).view_as(y) if batch_lif else sj_lif(y)
            x = x + y
            x = x + mlp(f"stage{stage}.{j}.mlp.", x)
            j += 1
        x = x.unflatten(3, (side, side))
    return F.linear(x.flatten(3).mean(3).mean(0), sd["head.weight"], sd["head.bias"])


def multispike(x: Tensor, norm: float = 4.0) -> Tensor:
    """SDT-V3 MultiSpike: round(clamp(x, 0, 4)) / Norm."""
    return torch.round(torch.clamp(x, 0, 4)) / norm


def sdtv3_forward(sd: State, image: Tensor, heads: int) -> Tensor:
    """Spiking_vit_MetaFormer_Spike_SepConv.forward (T = 1: no time dimension)."""
    ms = multispike

    def cbn(p: str, x: Tensor, **kw) -> Tensor:  # nn.Sequential(Conv2d, BatchNorm2d)
        return bn(conv(x, sd, p + ".0", **kw), sd, p + ".1")

    def sepconv(p: str, x: Tensor, k: int) -> Tensor:
        x = cbn(p + "pwconv1", ms(x))
        x = cbn(p + "dwconv", ms(x), padding=k // 2, groups=x.shape[1])
        return cbn(p + "pwconv2", ms(x))

    def conv_block(p: str, x: Tensor) -> Tensor:
        x = sepconv(p + "Conv.", x, 7) + x
        y = bn(conv(ms(x), sd, p + "conv1", padding=1), sd, p + "bn1")
        return x + bn(conv(ms(y), sd, p + "conv2", padding=1), sd, p + "bn2")

    def attention(p: str, x: Tensor) -> Tensor:  # MS_Attention_linear, lamda_ratio 4
        b, c, h, w = x.shape
        x = ms(x)
        split = lambda z: z.flatten(2).transpose(-1, -2).reshape(b, h * w, heads, -1).permute(0, 2, 1, 3)  # noqa
        q, k, v = (split(ms(cbn(p + f"{n}_conv", x))) for n in "qkv")
        y = (q @ k.transpose(-2, -1)) @ v * ((c // heads) ** -0.5 * 2)
        y = ms(y.transpose(2, 3).reshape(b, -1, h * w)).reshape(b, -1, h, w)
        return cbn(p + "proj_conv", y)

    def mlp(p: str, x: Tensor) -> Tensor:  # MS_MLP on [B, C, N]
        y = bn(conv(ms(x.flatten(2)), sd, p + "fc1_conv"), sd, p + "fc1_bn")
        return bn(conv(ms(y), sd, p + "fc2_conv"), sd, p + "fc2_bn").view_as(x)

    def down(p: str, x: Tensor, k: int, stride: int, first: bool = False) -> Tensor:
        return bn(conv(x if first else ms(x), sd, p + "encode_conv", stride, k // 2), sd, p + "encode_bn")

    x = conv_block("ConvBlock1_1.0.", down("downsample1_1.", image, 7, 2, first=True))
    x = conv_block("ConvBlock1_2.0.", down("downsample1_2.", x, 3, 2))
    x = conv_block("ConvBlock2_2.0.", conv_block("ConvBlock2_1.0.", down("downsample2.", x, 3, 2)))
    x = down("downsample3.", x, 3, 2)
    for stage, count in ((3, 6), (4, 2)):
        if stage == 4:
            x = down("downsample4.", x, 3, 1)
        for j in range(count):
            p = f"block{stage}.{j}."
            x = x + sepconv(p + "conv.", x, 3)
            x = x + attention(p + "attn.", x)
            x = x + mlp(p + "mlp.", x)
    return F.linear(ms(x.flatten(2).mean(2), norm=1.0), sd["head.weight"], sd["head.bias"])


def _zoo_model(family: str, variant: str, official: State, **model_args) -> torch.nn.Module:
    model = zoo.create(variant, **model_args).double().eval()
    model.load_state_dict(convert_state_dict(family, official, variant, **model_args))
    return model


def _images(batch: int, size: int) -> Tensor:
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 2


# Shrunken sizes: the official code's layout (strides, concatenation order, heads) at 32 x 32 pixels.
STMIXER_SMALL = dict(img_size=32, embed_dim=32, depth=2, num_heads=4, num_classes=5, time_steps=2)
QKFORMER_SMALL = dict(img_size=32, embed_dim=32, depth=5, num_heads=2, num_classes=5, time_steps=2)
SDTV3_SMALL = dict(img_size=64, embed_dims=(8, 16, 32, 48), num_classes=5)  # 4 x 4 tokens


@torch.no_grad()
def test_stmixer_matches_the_official_forward():
    """Stem (shortcut channels first in the official concatenation), per-head token mixing, head."""
    official = stmixer_official(32, 2, 4, 4, 5)
    model = _zoo_model("stmixer", "stmixer-8-768", official, **STMIXER_SMALL)
    x = _images(4, 32)
    expected = stmixer_forward(official, x, steps=2, heads=4)
    torch.testing.assert_close(model(x), expected)
    assert expected.std() > 0.1  # spikes neither all off nor all on


@torch.no_grad()
def test_stmixer_channel_order_matters():
    """Loading the official tensors without the channel roll gives other outputs (the roll is tested, not idle)."""
    official = stmixer_official(32, 2, 4, 4, 5)
    model = _zoo_model("stmixer", "stmixer-8-768", official, **STMIXER_SMALL)
    model.head.weight.copy_(official["head.weight"])  # the official input-channel order
    x = _images(4, 32)
    assert not torch.allclose(model(x), stmixer_forward(official, x, steps=2, heads=4))


@pytest.mark.parametrize("batch_lif", [False, True])
@torch.no_grad()
def test_qkformer_matches_the_official_forward(batch_lif):
    """Stem, Q-K token attention, SSA, and the stage-3 proj_lif over the batch (lif_over_batch) or over time."""
    official = qkformer_official(32, 5, 5)
    model = _zoo_model("qkformer", "qkformer-10-384", official, lif_over_batch=batch_lif, **QKFORMER_SMALL)
    x = _images(3, 32)
    expected = qkformer_forward(official, x, steps=2, heads=2, batch_lif=batch_lif)
    torch.testing.assert_close(model(x), expected)
    other = qkformer_forward(official, x, steps=2, heads=2, batch_lif=not batch_lif)
    assert not torch.allclose(expected, other)  # the option changes the outputs on these weights


@torch.no_grad()
def test_sdtv3_matches_the_official_forward():
    """Downsamplings, ConvBlocks, SepConv / linear attention / MLP blocks: spikes /4 in the code, x1/4 weights."""
    official = sdtv3_official([8, 16, 32, 48], 5)
    model = _zoo_model("sdtv3", "sdtv3-s", official, **SDTV3_SMALL)
    x = _images(2, 64)
    expected = sdtv3_forward(official, x, heads=8)
    torch.testing.assert_close(model(x), expected)
    assert expected.std() > 0.01


@torch.no_grad()
def test_sdtv3_spike_scale_matters():
    """Without the 1/4 on a spike-consuming layer the outputs differ (the scale rule is tested, not idle)."""
    official = sdtv3_official([8, 16, 32, 48], 5)
    model = _zoo_model("sdtv3", "sdtv3-s", official, **SDTV3_SMALL)
    model.stage4[1].mlp.fc2.linear.weight.mul_(4)
    x = _images(2, 64)
    assert not torch.allclose(model(x), sdtv3_forward(official, x, heads=8))


# ---------------------------------------------------------------------------------------------------------------
# Loading checkpoints, strict checks, the CLI
# ---------------------------------------------------------------------------------------------------------------
def test_timm_checkpoint_with_namespace_loads_with_the_allow_list(tmp_path):
    """STMixer's timm CheckpointSaver layout: 'state_dict' plus an argparse.Namespace under 'args'."""
    official = stmixer_official(32, 1, 4, 4, 5)
    path = tmp_path / "model_best.pth.tar"
    torch.save({"epoch": 3, "arch": "stmixer", "state_dict": official, "optimizer": {},
                "version": 2, "args": argparse.Namespace(lr=0.1, model="stmixer"), "metric": 76.7}, path)
    with pytest.raises(Exception, match="Namespace"):
        torch.load(path, weights_only=True)  # what the allow-list is for
    loaded = load_official(path)
    assert loaded.keys() == official.keys()
    torch.testing.assert_close(loaded["head.weight"], official["head.weight"])


def test_module_prefix_and_model_key(tmp_path):
    """QKFormer / SDT-V3 savers: {'model', 'optimizer', 'epoch', 'scaler', 'args'}; a DDP 'module.' prefix."""
    official = qkformer_official(32, 4, 5)
    path = tmp_path / "checkpoint-199.pth"
    torch.save({"model": {f"module.{k}": v for k, v in official.items()}, "epoch": 199, "scaler": {},
                "args": argparse.Namespace(batch_size=32)}, path)
    assert load_official(path).keys() == official.keys()


def test_other_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "odd.pth"
    torch.save({"model": {"head.weight": torch.zeros(1)}, "when": datetime.datetime(2024, 1, 1)}, path)
    with pytest.raises(ValueError, match="datetime") as err:
        load_official(path)
    assert "\n" not in str(err.value)


def _one_line_error(family: str, state: State, variant: str, **model_args) -> str:
    with pytest.raises(ValueError) as err:
        convert_state_dict(family, state, variant, **model_args)
    assert "\n" not in str(err.value)
    return str(err.value)


QK_TINY = dict(img_size=32, embed_dim=32, depth=4, num_heads=2, num_classes=5)


def test_missing_key_is_named():
    official = qkformer_official(32, 4, 5)
    del official["stage3.0.attn.v_conv.weight"]
    assert "'stage3.0.attn.v.linear.weight'" in _one_line_error("qkformer", official, "qkformer-10-384", **QK_TINY)


def test_unknown_key_is_named():
    official = qkformer_official(32, 4, 5)
    official["stage3.0.attn.norm1.weight"] = torch.ones(32)
    assert "'stage3.0.attn.norm1.weight'" in _one_line_error("qkformer", official, "qkformer-10-384", **QK_TINY)


def test_wrong_shape_is_named():
    official = qkformer_official(32, 4, 5)
    official["stage2.1.mlp.fc1_conv.weight"] = torch.zeros(64, 16, 3, 3)
    message = _one_line_error("qkformer", official, "qkformer-10-384", **QK_TINY)
    assert "'stage2.1.mlp.fc1_conv.weight'" in message and "(64, 16, 3, 3)" in message


def test_missing_head_matrix_is_named():
    official = stmixer_official(32, 1, 4, 4, 5)
    del official["block.0.token_mix.attn.linear_mix.1.weight"]
    message = _one_line_error("stmixer", official, "stmixer-8-768", **dict(STMIXER_SMALL, depth=1))
    assert "block.0.token_mix.attn.linear_mix.1.weight" in message


def test_side_branches_are_dropped_with_a_reason(tmp_path):
    official = stmixer_official(32, 1, 4, 4, 5)
    official["sml1.head.weight"] = torch.zeros(5, 32)
    path = tmp_path / "with_sml.pth"
    torch.save({"state_dict": official}, path)
    conversion = convert_checkpoint(path, tmp_path / "out", "stmixer", "stmixer-8-768", **dict(STMIXER_SMALL, depth=1))
    assert list(conversion.dropped) == ["sml1.head.weight"]
    assert "side branches" in conversion.dropped["sml1.head.weight"]
    assert all(k.endswith("linear.bias") for k in conversion.filled) and len(conversion.filled) == 4


def test_wrong_target_variant_is_refused():
    official = qkformer_official(32, 4, 5)
    assert "mixer" in _one_line_error("qkformer", official, "qkformer-10-384-m", **QK_TINY)
    assert "SDTV3" in _one_line_error("sdtv3", official, "qkformer-10-384", **QK_TINY)
    assert "neuron" in _one_line_error("stmixer", stmixer_official(32, 1, 4, 4, 5), "smixer-fmnist")


def _run_cli(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "tools/convert.py", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=env)


def test_cli_writes_a_folder_that_loads_offline(tmp_path, monkeypatch):
    """qkformer-fmnist (28 x 28 x 1, D = 64): the released-weights option is recorded in config.json."""
    official = qkformer_official(64, 4, 10, in_chans=1)
    src = tmp_path / "qkformer.pth"
    torch.save({"model": {k: v.float() for k, v in official.items()}, "args": argparse.Namespace(T=1)}, src)
    proc = _run_cli(src, tmp_path / "out", "--from", "qkformer", "--variant", "qkformer-fmnist",
                    "--qkformer-batch-lif")
    assert proc.returncode == 0, proc.stderr[-2000:]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = zoo.load(tmp_path / "out")
    assert model.init_args["lif_over_batch"] and model.stage3[0].lif_over_batch
    assert "converted from the official qkformer checkpoint" in model.pretrained_cfg.notes
    torch.testing.assert_close(model.state_dict()["stage3.0.attn.q.linear.weight"],
                               official["stage3.0.attn.q_conv.weight"].squeeze(-1).float())


def test_cli_error_is_one_line(tmp_path):
    src = tmp_path / "qkformer.pth"
    torch.save({"model": qkformer_official(64, 4, 10, in_chans=1)}, src)
    proc = _run_cli(src, tmp_path / "out", "--from", "sdtv3", "--variant", "sdtv3-fmnist")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert proc.returncode == 1 and len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "official key 'patch_embed1." in errors[0]
    assert not (tmp_path / "out").exists()
