# QKFormer on ImageNet-1k (zoo/models/qkformer.py), its code's recipe (imagenet/train.py): label smoothing 0.1, no
# mixup / cutmix; RandAugment m9 and random erasing 0.25 as in datasets/imagenet.py.
model = dict(
    type='SpikingClassifier',
    backbone='qkformer-10-384',
    backbone_args=dict(),
    label_smoothing=0.1,
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           to_rgb=True),  # mmcv decodes BGR
)
