# Runtime shared by every forecasting config: the project's registry scope (tasks/registry.py) and task package, best
# checkpoint on the validation loss, early stopping (patience 30).
default_scope = 'tasks'
custom_imports = dict(imports=['tasks.timeseries'], allow_failed_imports=False)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # keeps the two newest checkpoints (for --resume) and the best one on the validation MSE (ts/mse); two, since
    # mmengine deletes the oldest kept one *before* writing the next: with one, a crash while writing leaves none
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2, save_best='ts/mse', rule='less'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
# early stopping whose patience count survives --resume; every dataset checked against the model before a run;
# checkpoints that load under torch's safe loading and are written atomically (tasks/common/checkpoint.py)
custom_hooks = [dict(type='ResumableEarlyStoppingHook', monitor='ts/mse', rule='less', patience=30, min_delta=0.0),
                dict(type='ForecastShapeCheckHook'), dict(type='SafeCheckpointHook')]
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl'))
log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=42)
