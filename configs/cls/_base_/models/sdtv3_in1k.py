# SDT-V3 (E-SpikeFormer) on ImageNet-1k (zoo/models/sdtv3.py), its code's recipe (main_finetune.py, MAE-style):
# label smoothing 0.1, mixup 0.8 / cutmix 1.0; the augmentation of datasets/imagenet.py.
model = dict(
    type='SpikingClassifier',
    backbone='sdtv3-s',
    backbone_args=dict(),
    label_smoothing=0.1,
    batch_augment=dict(mixup_alpha=0.8, cutmix_alpha=1.0, prob=1.0, switch_prob=0.5),
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           to_rgb=True),  # mmcv decodes BGR
)
