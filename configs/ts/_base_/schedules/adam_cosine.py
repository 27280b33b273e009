# Paper appendix E.4: Adam, lr 1e-4 with a cosine schedule, MSE loss, batch 64 (set by the dataset configs);
# gradient-norm clipping at 1 as in SeqSNN. Early stopping (default_runtime.py) usually ends training first.
max_epochs = 300
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4), clip_grad=dict(max_norm=1.0))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs,
                        convert_to_iter_based=True)]
# the zoo's loop (tasks/common/engine.py): --resume after a crash continues exactly, even mid-epoch
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
