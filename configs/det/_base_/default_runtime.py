# Runtime shared by the detection configs (mmdet 3.x conventions). They stay in mmdet's registry scope (CocoDataset,
# CocoMetric, losses, assigners) and name the project's parts with its scope's prefix: type='tasks.SpikeYOLOHead'
# (tasks/registry.py).
default_scope = 'mmdet'
custom_imports = dict(imports=['tasks.detection'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3, save_best='coco/bbox_mAP', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'))
# Checkpoints that load under torch's safe loading and are written atomically (tasks/common/checkpoint.py). Lists
# replace, not merge: a config that sets custom_hooks keeps this hook by adding to _base_.custom_hooks.
custom_hooks = [dict(type='tasks.SafeCheckpointHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
