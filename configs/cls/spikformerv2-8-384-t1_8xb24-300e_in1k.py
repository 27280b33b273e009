# Spikformer V2-8-384 on ImageNet-1k, T = 1 (paper Table 2). Spikformer V1's recipe (no V2 code): AdamW lr 5e-4,
# wd 0.05, batch 8 x 24, 20 warm-up epochs from 1e-6, cosine to 1e-5 at 300, 10 cool-down epochs.
_base_ = ['./_base_/models/spikformerv2_in1k.py', './_base_/datasets/imagenet.py',
          './_base_/schedules/adamw_in1k_300e.py', './_base_/default_runtime.py']
model = dict(backbone='spikformerv2-8-384', backbone_args=dict(time_steps=1))
train_dataloader = dict(batch_size=24)
val_dataloader = dict(batch_size=24)
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 5e-4, end_factor=1.0, begin=0, end=20, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=280, eta_min=1e-5, begin=20, end=300, by_epoch=True),
]
auto_scale_lr = dict(base_batch_size=192)
