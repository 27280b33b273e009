# STMixer CIFAR schedule (timm): AdamW lr 5e-3, wd 0.06 (none on norms and biases), 20 warm-up epochs from 1e-4,
# cosine to 1e-7 at epoch 300, then 10 cool-down epochs at 1e-7; stepped per epoch as timm does. Batch 2 x 64.
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=5e-3, weight_decay=0.06),
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4 / 5e-3, end_factor=1.0, begin=0, end=20, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=280, eta_min=1e-7, begin=20, end=300, by_epoch=True),
]
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=310, val_interval=1)
auto_scale_lr = dict(base_batch_size=128, enable=False)
