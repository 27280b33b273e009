# Real data shipped in the repo: UCI appliances energy, 19,735 10-minute steps x 28 sensors (data/timeseries/).
# Window 48 (8 h; shorter than the paper's 168 to keep CPU time low), split 0.6 / 0.2 / 0.2, per-column z-score
# fitted on the training rows (the columns have different units). Calendar inputs: hour of day and day of week
# (the 4.5 months of data give test days of year that never occur in training).
_base_ = ['./loaders.py']
data_root = 'data/timeseries/'
window_norm = 'mean'  # forecast relative to each window's mean (Forecaster.window_norm; not in the paper)
train_stride = 4  # CPU demo: every 4th training window (10-minute steps: neighbours overlap in all but one step)
calendar = ('hour_of_day', 'day_of_week')
window, in_channels, out_channels = 48, 28 + len(calendar), 28
ts_data = dict(file=data_root + 'appliances_energy.csv.xz', window=window, time_column='date',
               expected_columns=out_channels, train_ratio=0.6, test_ratio=0.2, normalize='column_zscore',
               fit_on='train', calendar=calendar, zero_is_missing=False, fill='ffill')
train_dataloader = dict(dataset=ts_data)
val_dataloader = dict(dataset=ts_data)
test_dataloader = dict(dataset=ts_data)
