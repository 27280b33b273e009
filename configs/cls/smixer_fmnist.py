# Small SMixer (I-LIF) for Fashion-MNIST on a 2-core CPU: 28 x 28 input, 4x stem -> 7 x 7 = 49 tokens.
# Used by tools/fashion_mnist.py (the main job) and tools/ablate.py; the DSTSP variant is smixer-dstsp_fmnist.py.
_base_ = ['../_base_/datasets/fashion_mnist.py', '../_base_/default_runtime.py']
# Short CPU schedules learn faster with batch 64 and a horizontal flip only (no random crop): see
# docs/classification.md, "Short runs".
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=[dict(type='mmcv.RandomFlip', prob=0.5,
                                                                  direction='horizontal'),
                                                             dict(type='PackClsInputs')]))
model = dict(
    type='SpikingClassifier',
    backbone='smixer-cifar10',
    backbone_args=dict(num_classes=10, img_size=28, in_chans=1, embed_dim=64, depth=2, num_heads=8, mlp_ratio=4.0,
                       time_steps=2),
    label_smoothing=0.1,
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[72.94], std=[90.02]),
)
epochs = 5
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [  # half an epoch of linear warm-up, then cosine decay, both stepped per iteration
    dict(type='LinearLR', start_factor=0.01, end_factor=1.0, begin=0, end=0.5, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=epochs - 0.5, eta_min=2e-6, begin=0.5, end=epochs, by_epoch=True,
         convert_to_iter_based=True),
]
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=epochs, val_interval=1)
default_hooks = dict(logger=dict(interval=20))
custom_hooks = [dict(type='TrainingCurveHook')]
