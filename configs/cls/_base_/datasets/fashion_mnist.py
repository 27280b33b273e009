# Fashion-MNIST from the idx files (data_root None: $DATA_ROOT/fashion-mnist, then Debian's
# /usr/share/datasets/fashion-mnist from `apt-get install -y dataset-fashion-mnist`). 28 x 28 grey images.
# Augmentation: random crop after 2 px zero padding and horizontal flip.
_base_ = ['./_classification.py']
train_pipeline = [
    dict(type='RandomCrop', size=28, padding=2),
    dict(type='mmcv.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
test_pipeline = [dict(type='PackClsInputs')]
train_dataloader = dict(batch_size=128, num_workers=1,
                        dataset=dict(type='FashionMNIST', data_root=None, split='train', pipeline=train_pipeline))
val_dataloader = dict(batch_size=500, num_workers=1,
                      dataset=dict(type='FashionMNIST', data_root=None, split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
