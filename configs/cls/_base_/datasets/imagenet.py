# ImageNet-1k in the standard folder layout, STMixer's augmentation (timm with crop_pct 1.0, scale = ratio = 1:
# the largest centred square resized to 224, flip, RandAugment rand-m9-mstd0.5-inc1 with 2 ops, random erasing 0.25).
_base_ = ['./_classification.py']
data_root = 'data/imagenet'
train_pipeline = [
    dict(type='mmcv.LoadImageFromFile'),
    dict(type='RandomResizedCrop', size=224, scale=(1.0, 1.0), ratio=(1.0, 1.0), interpolation='bicubic'),
    dict(type='mmcv.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', num_ops=2, magnitude=9, magnitude_std=0.5, fill=(104, 116, 124)),  # BGR mean
    dict(type='RandomErasing', prob=0.25, fill=(104, 116, 124)),
    dict(type='PackClsInputs'),
]
test_pipeline = [
    dict(type='mmcv.LoadImageFromFile'),
    dict(type='mmcv.Resize', scale=(224, 1 << 16), keep_ratio=True, interpolation='bicubic'),  # shorter side 224
    dict(type='mmcv.CenterCrop', crop_size=224),
    dict(type='PackClsInputs'),
]
train_dataloader = dict(batch_size=128, num_workers=8,
                        dataset=dict(type='ImageFolder', data_root=data_root, split='train', pipeline=train_pipeline))
val_dataloader = dict(batch_size=128, num_workers=8,
                      dataset=dict(type='ImageFolder', data_root=data_root, split='val', pipeline=test_pipeline))
test_dataloader = val_dataloader
