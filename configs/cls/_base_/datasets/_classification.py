# What every classification dataset config shares: loaders, sampler, metric, loop.
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=False,  # ResumableEpochBasedTrainLoop tells the dataset its epoch before forking workers
    drop_last=True,  # mixup/cutmix pair each sample with the reversed batch: keep batches full
    sampler=dict(type='ResumableSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
val_cfg = dict()
test_cfg = dict()
# Prefixed: mmengine's Runner looks the wrapper's type up in the root registry itself (Runner.wrap_model), not in
# the default scope.
model_wrapper_cfg = dict(type='tasks.CpuCompatibleDDP', broadcast_buffers=False)
