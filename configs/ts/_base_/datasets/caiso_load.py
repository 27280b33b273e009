# Real data shipped in the repo: California ISO hourly load 2018, 8,736 steps x 5 utilities (data/timeseries/).
# Window 168 (one week, the paper's window for hourly Electricity), split 0.6 / 0.2 / 0.2, per-column z-score fitted
# on the training rows. Calendar inputs: hour of day and day of week only. The series covers one year, so with a
# chronological split the day-of-year (and day-of-month) values of the test months never occur in training.
_base_ = ['./loaders.py']
data_root = 'data/timeseries/'
window_norm = 'mean'  # forecast relative to each window's mean (Forecaster.window_norm; not in the paper)
train_stride = 2  # CPU demo: every 2nd training window
calendar = ('hour_of_day', 'day_of_week')
window, in_channels, out_channels = 168, 5 + len(calendar), 5
ts_data = dict(file=data_root + 'caiso_hourly_load_2018.csv.xz', window=window, time_column='date',
               expected_columns=out_channels, train_ratio=0.6, test_ratio=0.2, normalize='column_zscore',
               fit_on='train', calendar=calendar, zero_is_missing=False, fill='ffill')
train_dataloader = dict(dataset=ts_data)
val_dataloader = dict(dataset=ts_data)
test_dataloader = dict(dataset=ts_data)
