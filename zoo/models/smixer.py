"""SMixer classifier (STMixer backbone, paper Fig. 1) with optional pruning (DSTSP), and its registered variants."""
from __future__ import annotations

from torch import Tensor

from ..encoder import PruningOptions, PruningSpec, smixer_encoder
from ..layers import STEM_LAYERS, NeuronCfg, SpikingPatchSplitting
from ..registry import PretrainedCfg, register_model
from .classifier import SpikingImageClassifier

__all__ = ["SMixer"]


class SMixer(SpikingImageClassifier):
    """Spiking patch splitting -> pruned encoder (``depth`` encoder blocks, optional pruner) -> classification head.

    Input: static images ``[B, C, H, W]`` (direct encoding: repeated over ``time_steps``, the first convolution
    computed once) or event frames ``[B, T, C, H, W]`` / ``[T, B, C, H, W]`` (``time_first=True``).
    Output: logits ``[B, num_classes]`` (head: mean over tokens -> Linear -> mean over time); with
    ``num_classes=0`` no head, pooled features ``[B, embed_dim]`` (timm's convention).

    ``mixer="stm"`` is SMixer, ``mixer="ssa"`` the Spikformer-style baseline on the same backbone.
    ``neuron`` is a neuron config (:func:`zoo.layers.neuron_cfg`): ``dict(type='LIF')`` (STMixer constants) or
    ``dict(type='ILIF', max_value=4)`` (integer LIF), with options such as ``spike_driven=True``.

    Pruning (:class:`zoo.encoder.PruningOptions`): ``pruning=dict(type=<registered pruner>, ..., placement=...,
    mixer_weight=..., stem_layer=...)`` (``zoo.list_pruners()``; placement ``"after_stem"``, ``"in_stem"`` or a
    dict; W_M' mode ``static``, ``random``, ``crop``; with ``in_stem``, the stem layer to prune after, 0..3).
    ``zoo.create`` also takes the ``dstsp=dict(...)`` shorthand. The blocks and the pruner are ``self.blocks``.
    """

    def __init__(self, img_size: int = 224, in_chans: int = 3, num_classes: int = 1000, embed_dim: int = 512,
                 depth: int = 8, num_heads: int = 16, mlp_ratio: float = 4.0, downsample: int = 16,
                 time_steps: int = 1, mixer: str = "stm", neuron: NeuronCfg = "LIF", time_first: bool = False,
                 pruning: PruningSpec = None) -> None:
        super().__init__(img_size, in_chans, num_classes, embed_dim, time_steps, time_first)
        if img_size % downsample:
            raise ValueError(f"img_size {img_size} is not divisible by the stem's downsampling {downsample}")
        self.num_tokens = (img_size // downsample) ** 2
        options = PruningOptions.build(pruning)
        self.patch_embed = SpikingPatchSplitting(in_chans, embed_dim, downsample, neuron, options.stem_layer)
        self.blocks = smixer_encoder(embed_dim, self.num_tokens, depth, num_heads, mlp_ratio, mixer, neuron,
                                     options, time_steps, stem_layers=STEM_LAYERS, owner=type(self).__name__)
        self.reset_classifier(num_classes)

    def forward_features(self, x: Tensor) -> Tensor:
        """Input as in :meth:`forward` -> residual stream after the last block ``[T', B, N', C]``."""
        x = self.check_input(x)
        tokens, stem_steps = self.patch_embed(x, self.time_steps, self.blocks.stem_pruner)
        return self.blocks(tokens, stem_steps).stream


# Variants: one explicit registration each (grep a name to find its definition). The pretrained config says what
# a variant eats (input size, normalisation, classes, T) and the paper's numbers it is checked against.
_IMAGENET = dict(dataset="imagenet-1k", num_classes=1000, input_size=(3, 224, 224), time_steps=1)
_CIFAR = dict(input_size=(3, 32, 32), mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616), time_steps=4)
_DVS = dict(mean=(0.0, 0.0), std=(1.0, 1.0))
_FMNIST = dict(dataset="fashion-mnist", num_classes=10, input_size=(1, 28, 28), mean=(0.2860,), std=(0.3530,),
               time_steps=2)

# STMixer-8-512 / -768 on ImageNet (Table 2). DSTSP: P_s 0.3, T = 1 so time is already "pruned to 1".
_STMIXER_512 = dict(img_size=224, embed_dim=512, depth=8, num_heads=16, downsample=16)
_STMIXER_768 = dict(img_size=224, embed_dim=768, depth=8, num_heads=16, downsample=16)
_PAPER_DSTSP = dict(type="DSTSP", spatial_ratio=0.3)
register_model("stmixer-8-512", PretrainedCfg(**_IMAGENET, paper_params_m=30.12, paper_top1=73.82),
               **_STMIXER_512)(SMixer)
register_model("stmixer-8-512-dstsp", PretrainedCfg(**_IMAGENET, paper_params_m=27.61, paper_top1=73.56),
               **_STMIXER_512, pruning=_PAPER_DSTSP)(SMixer)
register_model("stmixer-8-768", PretrainedCfg(**_IMAGENET, paper_params_m=61.16, paper_top1=76.68),
               **_STMIXER_768)(SMixer)
register_model("stmixer-8-768-dstsp", PretrainedCfg(**_IMAGENET, paper_params_m=58.66, paper_top1=76.87),
               **_STMIXER_768, pruning=_PAPER_DSTSP)(SMixer)

# CIFAR SMixer: STMixer's CIFAR model, 4 blocks x 384 channels, 4x stem (8x8 = 64 tokens), 16 heads, I-LIF (the
# paper uses I-LIF in all its small-dataset experiments, appendix E.2). DSTSP: P_s 0.3, T 4 -> 1 (Table 6 last
# row). ``spikformer-*``: Spikformer's spiking self-attention on the same stem and blocks (mixer vs attention).
_ILIF = dict(type="ILIF")  # integer LIF, D = 4, decay 0.25
_CIFAR_ARCH = dict(img_size=32, embed_dim=384, depth=4, num_heads=16, downsample=4, neuron=_ILIF)
_SMALL_DSTSP = dict(type="DSTSP", spatial_ratio=0.3, temporal_ratio=0.75)
register_model("smixer-cifar10", PretrainedCfg(**_CIFAR, dataset="cifar10", num_classes=10, paper_params_m=8.29,
                                               paper_top1=96.01), **_CIFAR_ARCH)(SMixer)
register_model("smixer-cifar10-dstsp", PretrainedCfg(**_CIFAR, dataset="cifar10", num_classes=10,
                                                     paper_params_m=8.24, paper_top1=95.67),
               **_CIFAR_ARCH, pruning=_SMALL_DSTSP)(SMixer)
register_model("spikformer-cifar10", PretrainedCfg(**_CIFAR, dataset="cifar10", num_classes=10),
               **_CIFAR_ARCH, mixer="ssa")(SMixer)
register_model("smixer-cifar100", PretrainedCfg(**_CIFAR, dataset="cifar100", num_classes=100, paper_params_m=8.29,
                                                paper_top1=81.87), **_CIFAR_ARCH)(SMixer)
register_model("smixer-cifar100-dstsp", PretrainedCfg(**_CIFAR, dataset="cifar100", num_classes=100,
                                                      paper_params_m=8.24, paper_top1=81.03),
               **_CIFAR_ARCH, pruning=_SMALL_DSTSP)(SMixer)
register_model("spikformer-cifar100", PretrainedCfg(**_CIFAR, dataset="cifar100", num_classes=100),
               **_CIFAR_ARCH, mixer="ssa")(SMixer)

# DVS SMixer: 2 blocks x 256 channels, 8 heads, on 2-polarity event frames at 48 x 48 (CIFAR10-DVS is downsampled
# to 48 x 48 as in STMixer; DVS128 Gesture is binned and resized the same way) with a 4x stem (12 x 12 = 144
# tokens): see docs/models.md for the parameter-count choices. DSTSP: P_s 0.3, P_t 0.9.
_DVS_ARCH = dict(img_size=48, in_chans=2, embed_dim=256, depth=2, num_heads=8, downsample=4, neuron=_ILIF)
_DVS_DSTSP = dict(type="DSTSP", spatial_ratio=0.3, temporal_ratio=0.9)
register_model("smixer-dvs128", PretrainedCfg(**_DVS, dataset="dvs128", num_classes=11, input_size=(2, 48, 48),
                                              time_steps=16, paper_params_m=2.63, paper_top1=98.61),
               **_DVS_ARCH)(SMixer)
register_model("smixer-dvs128-dstsp", PretrainedCfg(**_DVS, dataset="dvs128", num_classes=11, input_size=(2, 48, 48),
                                                    time_steps=16, paper_params_m=2.55, paper_top1=98.26),
               **_DVS_ARCH, pruning=_DVS_DSTSP)(SMixer)
register_model("smixer-cifar10dvs", PretrainedCfg(**_DVS, dataset="cifar10dvs", num_classes=10,
                                                  input_size=(2, 48, 48), time_steps=10, paper_params_m=2.63,
                                                  paper_top1=83.30), **_DVS_ARCH)(SMixer)
register_model("smixer-cifar10dvs-dstsp", PretrainedCfg(**_DVS, dataset="cifar10dvs", num_classes=10,
                                                        input_size=(2, 48, 48), time_steps=10, paper_params_m=2.55,
                                                        paper_top1=82.56), **_DVS_ARCH, pruning=_DVS_DSTSP)(SMixer)

# Fashion-MNIST SMixer: the main job's model (`make demo`, configs/cls/smixer*_fmnist.py), sized for a 2-core CPU:
# 28 x 28 grey images, 4x stem (7 x 7 = 49 tokens), 2 blocks x 64 channels, 8 heads, T = 2, I-LIF. DSTSP: P_s 0.3
# (49 -> 34 tokens), P_t 0.5 (T 2 -> 1) inside the stem (the full-resolution stem dominates this model's cost).
_FMNIST_ARCH = dict(img_size=28, in_chans=1, embed_dim=64, depth=2, num_heads=8, downsample=4, neuron=_ILIF)
register_model("smixer-fmnist", PretrainedCfg(**_FMNIST), **_FMNIST_ARCH)(SMixer)
register_model("smixer-fmnist-dstsp", PretrainedCfg(**_FMNIST), **_FMNIST_ARCH,
               pruning=dict(type="DSTSP", spatial_ratio=0.3, temporal_ratio=0.5, placement="in_stem"))(SMixer)
# The larger Fashion-MNIST SMixer (shipped weights trained longer than the main job's): 4 blocks x 128 channels.
register_model("smixer-fmnist-l", PretrainedCfg(**_FMNIST), **{**_FMNIST_ARCH, "embed_dim": 128, "depth": 4})(SMixer)

# N-Fashion-MNIST (simulated saccades, docs/events.md) SMixer: 2-polarity event frames of the 34 x 34 sensor
# downsampled to 32 x 32, binned by time over the three saccades, 4x stem (8 x 8 = 64 tokens), 2 blocks x 32
# channels, 4 heads, I-LIF: sized so that equal-time runs on a 2-core CPU see about an epoch. The two are the winners
# of the equal-time study of docs/events.md: dense on T = 2 bins of 158 ms (the best row), and DSTSP's best setting,
# T = 8 -> 4 steps by SIV inside the stem (its full-resolution layers dominate the cost), no spatial pruning.
_NFMNIST = dict(dataset="nfmnist", num_classes=10, input_size=(2, 32, 32), mean=(0.0, 0.0), std=(1.0, 1.0),
                event_binning="time", notes="N-Fashion-MNIST: simulated saccade events, not a recording "
                                            "(docs/events.md)")
_NFMNIST_ARCH = dict(img_size=32, in_chans=2, embed_dim=32, depth=2, num_heads=4, downsample=4, neuron=_ILIF)
register_model("smixer-nfmnist", PretrainedCfg(**_NFMNIST, time_steps=2), **_NFMNIST_ARCH)(SMixer)
register_model("smixer-nfmnist-dstsp", PretrainedCfg(**_NFMNIST, time_steps=8), **_NFMNIST_ARCH,
               pruning=dict(type="DSTSP", temporal_ratio=0.5, placement="in_stem"))(SMixer)
