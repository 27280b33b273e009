# STMixer-8-512 on ImageNet-1k, T = 1 (paper Table 2 baseline row).
_base_ = ['./_base_/models/stmixer_in1k.py', './_base_/datasets/imagenet.py',
          './_base_/schedules/adamw_in1k_300e.py', './_base_/default_runtime.py']
model = dict(backbone='stmixer-8-512')
