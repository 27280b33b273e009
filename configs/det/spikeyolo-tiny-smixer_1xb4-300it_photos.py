# Overfit check on the 4 real photos in data/detection (17 boxes, 6 classes): a narrow SpikeYOLO + SMixer (same
# block types as the COCO model, widths / 10, one block per stage, 3x3 depth-wise kernels) trained and evaluated
# on the same images at 352 px. Proves that data pipeline, assigner, losses, NMS and the COCO metric learn.
# 352 px, not less: the bottle (19 x 54 px in a 500 px photo, inside a person's box) must cover more than one
# column of stride-8 points to get enough positives (docs/detection.md).
#   python tools/train.py configs/det/spikeyolo-tiny-smixer_1xb4-300it_photos.py
#   python tools/test.py configs/det/spikeyolo-tiny-smixer_1xb4-300it_photos.py \
#       work_dirs/spikeyolo-tiny-smixer_1xb4-300it_photos/iter_300.pth
_base_ = './spikeyolo-m-smixer_4xb16-300e_coco.py'

data_root = 'data/detection/'
metainfo = dict(classes=('person', 'bottle', 'bus', 'car', 'chair', 'sofa'))
img_scale = (352, 352)
max_iters = 300

model = dict(
    backbone=dict(widths=(8, 16, 32, 64), depths=(1, 1, 1, 1), kernel_size=3, train_size=352),
    neck=dict(in_channels=(16, 32, 64), channels=(16, 32), kernel_size=3),
    bbox_head=dict(num_classes=6, in_channels=(16, 32, 64), prior_image_size=352))

pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
dataset = dict(type='tasks.CheckedCocoDataset', data_root=data_root, metainfo=metainfo, ann_file='annotations.json',
               data_prefix=dict(img='images/'), pipeline=pipeline)
train_dataloader = dict(_delete_=True, batch_size=4, num_workers=0, persistent_workers=False,
                        sampler=dict(type='InfiniteSampler', shuffle=True), dataset=dataset)
val_dataloader = dict(_delete_=True, batch_size=4, num_workers=0, persistent_workers=False, drop_last=False,
                      sampler=dict(type='DefaultSampler', shuffle=False), dataset=dict(dataset, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations.json')
test_evaluator = val_evaluator

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.1, by_epoch=False, begin=20, end=max_iters),
]
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1, save_best=None))
log_processor = dict(by_epoch=False, window_size=20)
custom_hooks = [dict(type='tasks.SafeCheckpointHook')]  # no EMA, no pipeline switch
randomness = dict(seed=0)
