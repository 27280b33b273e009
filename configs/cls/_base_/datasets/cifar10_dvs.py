# CIFAR10-DVS through tonic: 9k/1k split per class, events binned into T frames of equal event count at 48 x 48,
# frames cached under <data_root>/frames_cache. Augmentation: random flip and shifts of up to 5 px.
_base_ = ['./_classification.py']
data_root = 'data/events'

train_pipeline = [dict(type='EventFrameAugment', flip_prob=0.5, max_shift=5), dict(type='PackClsInputs')]
test_pipeline = [dict(type='PackClsInputs')]
train_dataloader = dict(batch_size=16, dataset=dict(type='CIFAR10DVS', data_root=data_root, split='train',
                                                    time_steps=10, size=48, pipeline=train_pipeline))
val_dataloader = dict(batch_size=16, dataset=dict(type='CIFAR10DVS', data_root=data_root, split='test',
                                                  time_steps=10, size=48, pipeline=test_pipeline))
test_dataloader = val_dataloader
