# N-Fashion-MNIST (simulated saccades; docs/events.md): Fashion-MNIST's 70k images turned into events by simulating
# N-MNIST's three saccades on a 34 x 34 DVS pixel array, written in N-MNIST's format and layout by
# `python tools/make_nfmnist.py --out data/nfmnist` (data_root None: $DATA_ROOT/nfmnist, else data/nfmnist).
# T frames of equal duration (the 315 ms of three saccades split evenly), downsampled from 34 x 34 to 32 x 32 (the
# 4x stems need a multiple of 4), cached under <data_root>/frames_cache. Augmentation: shifts of up to 2 px, no
# flip (a flip would reverse the saccades' horizontal motion). The real N-MNIST (or any set in its format and
# layout) trains unchanged with type='NMNIST' and its data_root (the folder that holds NMNIST/).
_base_ = ['./_classification.py']
dataset_type = 'NFashionMNIST'
data_root = None
train_pipeline = [dict(type='EventFrameAugment', flip_prob=0.0, max_shift=2), dict(type='PackClsInputs')]
test_pipeline = [dict(type='PackClsInputs')]
train_dataloader = dict(batch_size=64, num_workers=2,
                        dataset=dict(type=dataset_type, data_root=data_root, split='train', time_steps=8, size=32,
                                     binning='time', pipeline=train_pipeline))
val_dataloader = dict(batch_size=128, num_workers=2,
                      dataset=dict(type=dataset_type, data_root=data_root, split='test', time_steps=8, size=32,
                                   binning='time', pipeline=test_pipeline))
test_dataloader = val_dataloader
