# STMixer on ImageNet-1k (T = 1): label smoothing 0.1, mixup 0.8 / cutmix 1.0 (STMixer's imagenet.yml).
model = dict(
    type='SpikingClassifier',
    backbone='stmixer-8-512',
    backbone_args=dict(),
    label_smoothing=0.1,
    batch_augment=dict(mixup_alpha=0.8, cutmix_alpha=1.0, prob=1.0, switch_prob=0.5),
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           to_rgb=True),  # mmcv decodes BGR
)
