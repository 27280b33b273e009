# SMixer 2-256 on 2-polarity event frames at 48 x 48 (I-LIF). The STMixer code has no neuromorphic recipe; this is
# the Spikformer CIFAR10-DVS script's: label smoothing 0.1, mixup 0.5 applied to half of the batches, no cutmix.
model = dict(
    type='SpikingClassifier',
    backbone='smixer-cifar10dvs',
    backbone_args=dict(time_steps=10),
    label_smoothing=0.1,
    batch_augment=dict(mixup_alpha=0.5, cutmix_alpha=0.0, prob=0.5),
    data_preprocessor=dict(type='ClsDataPreprocessor'),  # event counts are fed as they are
)
