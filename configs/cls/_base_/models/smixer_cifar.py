# SMixer 4-384 on CIFAR (I-LIF, 4x stem, 64 tokens): label smoothing 0.01, mixup 0.5 / cutmix 0.5 switched off
# from epoch 200 (STMixer's cifar10.yml / cifar100.yml).
model = dict(
    type='SpikingClassifier',
    backbone='smixer-cifar10',
    backbone_args=dict(time_steps=4),
    label_smoothing=0.01,
    batch_augment=dict(mixup_alpha=0.5, cutmix_alpha=0.5, prob=1.0, switch_prob=0.5, off_epoch=200),
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[125.307, 122.961, 113.8575],
                           std=[62.985, 62.0925, 66.708]),
)
