# STMixer ImageNet schedule (timm): AdamW lr 3e-4, wd 0.05 (none on norms and biases), 20 warm-up epochs from 1e-6,
# cosine to 1e-5 at epoch 300, then 10 cool-down epochs; stepped per epoch. Batch 8 x 128 (paper: 8 GPUs).
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=3e-4, weight_decay=0.05),
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 3e-4, end_factor=1.0, begin=0, end=20, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=280, eta_min=1e-5, begin=20, end=300, by_epoch=True),
]
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=310, val_interval=1)
auto_scale_lr = dict(base_batch_size=1024, enable=False)
