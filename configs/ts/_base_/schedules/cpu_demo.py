# CPU-sized schedule for the real-data demos (docs/timeseries.md): the paper's recipe (Adam, cosine, MSE, clipping,
# early stopping on the validation MSE, best checkpoint) with fewer epochs, lr 1e-3 (the SeqSNN configs' rate),
# patience 5. The real-data dataset configs also thin the training windows (train_stride).
_base_ = ['./adam_cosine.py', '../default_runtime.py']
max_epochs = 20
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs,
                        convert_to_iter_based=True)]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [dict(type='ResumableEarlyStoppingHook', monitor='ts/mse', rule='less', patience=5, min_delta=0.0),
                dict(type='ForecastShapeCheckHook'), dict(type='SafeCheckpointHook')]
