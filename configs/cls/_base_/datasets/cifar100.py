# CIFAR-100 (fine labels) from the official python batches; same augmentation as CIFAR-10 (STMixer's cifar100.yml).
_base_ = ['./cifar10.py']
data_root = 'data/cifar100'
train_dataloader = dict(dataset=dict(type='CIFAR100', data_root=data_root))
val_dataloader = dict(dataset=dict(type='CIFAR100', data_root=data_root))
test_dataloader = val_dataloader
