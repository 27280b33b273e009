# SpikeYOLO-m with SMixer stages 3-4 on COCO 2017 (paper Table 5, "SMixer"):
#   python tools/train.py configs/det/spikeyolo-m-smixer_4xb16-300e_coco.py
#   python tools/test.py configs/det/spikeyolo-m-smixer_4xb16-300e_coco.py \
#       work_dirs/spikeyolo-m-smixer_4xb16-300e_coco/best_coco_bbox_mAP_epoch_N.pth
_base_ = [
    './_base_/models/spikeyolo_smixer_m.py',
    './_base_/datasets/coco_detection.py',
    './_base_/schedules/sgd_300e.py',
    './_base_/default_runtime.py',
]

custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0001, update_buffers=True, priority=49),
    dict(type='PipelineSwitchHook', switch_epoch=_base_.max_epochs - _base_.close_mosaic_epochs,
         switch_pipeline=_base_.train_pipeline_stage2),
] + _base_.custom_hooks
