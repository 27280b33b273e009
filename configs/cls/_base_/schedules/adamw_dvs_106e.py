# Neuromorphic schedule of the Spikformer CIFAR10-DVS script (timm): AdamW lr 1e-3, wd 0.06, 10 warm-up epochs
# from 1e-5, cosine to 1e-5 at epoch 96, 10 cool-down epochs; stepped per epoch. Batch 16.
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.06),
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, end_factor=1.0, begin=0, end=10, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=86, eta_min=1e-5, begin=10, end=96, by_epoch=True),
]
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=106, val_interval=1)
auto_scale_lr = dict(base_batch_size=16, enable=False)
