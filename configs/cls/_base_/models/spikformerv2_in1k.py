# Spikformer V2 on ImageNet-1k (zoo/models/spikformer_v2.py). No public code: Spikformer V1's ImageNet recipe
# (imagenet.yml): label smoothing 0.1, mixup 0.8 / cutmix 1.0, the STMixer augmentation of datasets/imagenet.py.
model = dict(
    type='SpikingClassifier',
    backbone='spikformerv2-8-384',
    backbone_args=dict(),
    label_smoothing=0.1,
    batch_augment=dict(mixup_alpha=0.8, cutmix_alpha=1.0, prob=1.0, switch_prob=0.5),
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           to_rgb=True),  # mmcv decodes BGR
)
