# SDT-V3 Efficient-transformer-S on ImageNet-1k, T = 1 with 4-level MultiSpike (Table 2's "time step 4"). The code's
# recipe (Train_Base.md, main_finetune.py): AdamW, lr = blr 6e-4 x 1024 / 256 (batch 8 x 128), wd 0.05, 10 warm-up
# epochs, cosine to 1e-6 at epoch 200 (stepped per iteration).
_base_ = ['./_base_/models/sdtv3_in1k.py', './_base_/datasets/imagenet.py', './_base_/default_runtime.py']
model = dict(backbone='sdtv3-s')
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2.4e-3, weight_decay=0.05),
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, end_factor=1.0, begin=0, end=10, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=190, eta_min=1e-6, begin=10, end=200, by_epoch=True,
         convert_to_iter_based=True),
]
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=200, val_interval=1)
auto_scale_lr = dict(base_batch_size=1024, enable=False)
