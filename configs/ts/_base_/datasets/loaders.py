# Dataloaders and metrics shared by the forecasting datasets: batch 64 (paper E.4), chronological splits.
loader = dict(batch_size=64, num_workers=0, collate_fn=dict(type='default_collate'))
# ResumableSampler: DefaultSampler that can skip the batches an interrupted epoch already trained (--resume)
train_dataloader = dict(**loader, sampler=dict(type='ResumableSampler', shuffle=True),
                        dataset=dict(type='ForecastDataset', split='train'))
val_dataloader = dict(**loader, sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(type='ForecastDataset', split='valid'))
test_dataloader = dict(**loader, sampler=dict(type='DefaultSampler', shuffle=False),
                       dataset=dict(type='ForecastDataset', split='test'))
# R², RSE in original units (Eq. 15, 16), MAE, RMSE, and the validation MSE `ts/mse` for early stopping;
# the test also reports SeqSNN's global-mean R² (`ts/r2_global`) for comparison with its numbers.
val_evaluator = dict(type='ForecastMetric')
test_evaluator = dict(type='ForecastMetric', r2_global=True)
