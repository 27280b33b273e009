# Electricity (electricity.txt: 26,304 hourly steps x 321 clients, kWh). Window 168, split 0.6 / 0.2 / 0.2,
# global z-score as in SeqSNN but fitted on the training rows; no timestamps.
_base_ = ['./loaders.py']
data_root = 'data/timeseries/'
window, in_channels, out_channels = 168, 321, 321
ts_data = dict(file=data_root + 'electricity.txt', window=window, expected_columns=out_channels, train_ratio=0.6,
               test_ratio=0.2, normalize='zscore', fit_on='train', calendar=False, zero_is_missing=False,
               fill='ffill')
train_dataloader = dict(dataset=ts_data)
val_dataloader = dict(dataset=ts_data)
test_dataloader = dict(dataset=ts_data)
