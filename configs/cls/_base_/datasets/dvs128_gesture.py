# DVS128 Gesture through tonic (official user split), T frames of equal event count at 48 x 48, cached.
# No horizontal flip: left- and right-hand gestures are different classes.
_base_ = ['./_classification.py']
data_root = 'data/events'
train_pipeline = [dict(type='EventFrameAugment', flip_prob=0.0, max_shift=5), dict(type='PackClsInputs')]
test_pipeline = [dict(type='PackClsInputs')]
train_dataloader = dict(batch_size=16, dataset=dict(type='DVS128Gesture', data_root=data_root, split='train',
                                                    time_steps=16, size=48, pipeline=train_pipeline))
val_dataloader = dict(batch_size=16, dataset=dict(type='DVS128Gesture', data_root=data_root, split='test',
                                                  time_steps=16, size=48, pipeline=test_pipeline))
test_dataloader = val_dataloader
