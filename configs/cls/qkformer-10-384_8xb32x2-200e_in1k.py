# QKFormer HST-10-384 on ImageNet-1k, T = 1 (paper Table 2; the code's logs train at T = 4). The code's recipe
# (imagenet/train.py): AdamW, lr = blr 6e-4 x 512 / 256 (batch 8 x 32, 2 accumulation steps), wd 0.05, 5 warm-up
# epochs, cosine to 1e-6 at epoch 200 (stepped per iteration).
_base_ = ['./_base_/models/qkformer_in1k.py', './_base_/datasets/imagenet.py', './_base_/default_runtime.py']
model = dict(backbone='qkformer-10-384')
train_dataloader = dict(batch_size=32)
val_dataloader = dict(batch_size=32)
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1.2e-3, weight_decay=0.05), accumulative_counts=2,
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, end_factor=1.0, begin=0, end=5, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=195, eta_min=1e-6, begin=5, end=200, by_epoch=True,
         convert_to_iter_based=True),
]
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=200, val_interval=1)
auto_scale_lr = dict(base_batch_size=512, enable=False)
