# CIFAR-10 from the official python batches, STMixer's augmentation (timm: flip, RandAugment rand-m9-n1-mstd0.4-inc1,
# random erasing 0.25 with the mean colour; its RandomResizedCrop with scale = ratio = 1 is the identity at 32 px).
_base_ = ['./_classification.py']
data_root = 'data/cifar10'
train_pipeline = [
    dict(type='mmcv.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', num_ops=1, magnitude=9, magnitude_std=0.4, fill=(125, 123, 114)),
    dict(type='RandomErasing', prob=0.25, fill=(125, 123, 114)),
    dict(type='PackClsInputs'),
]
test_pipeline = [dict(type='PackClsInputs')]
train_dataloader = dict(dataset=dict(type='CIFAR10', data_root=data_root, split='train', pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type='CIFAR10', data_root=data_root, split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
