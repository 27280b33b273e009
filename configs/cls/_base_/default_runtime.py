# Runtime shared by the classification configs: the project's registry scope (tasks/registry.py) and task package,
# hooks, logging, environment, randomness.
default_scope = 'tasks'
custom_imports = dict(imports=['tasks.classification'], allow_failed_imports=False)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
# Checkpoints that load under torch's safe loading and are written atomically (tasks/common/checkpoint.py). Lists
# replace, not merge: a config that sets custom_hooks keeps this hook by adding to _base_.custom_hooks.
custom_hooks = [dict(type='SafeCheckpointHook')]
# gloo works on CPUs and GPUs; on GPUs pass --cfg-options env_cfg.dist_cfg.backend=nccl for speed.
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='gloo'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=True, window_size=50)
log_level = 'INFO'
load_from = None
resume = False
# A fixed seed makes runs reproducible and resumed runs identical to uninterrupted ones.
randomness = dict(seed=0, deterministic=False)
