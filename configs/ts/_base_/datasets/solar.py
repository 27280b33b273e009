# Solar-Energy (solar_AL.txt: 52,560 10-minute steps x 137 PV plants, MW; zeros at night are real values).
# Window 168, split 0.6 / 0.2 / 0.2, global max scaling as in SeqSNN but fitted on the training rows; no timestamps.
_base_ = ['./loaders.py']
data_root = 'data/timeseries/'
window, in_channels, out_channels = 168, 137, 137
ts_data = dict(file=data_root + 'solar_AL.txt', window=window, expected_columns=out_channels, train_ratio=0.6,
               test_ratio=0.2, normalize='global_max', fit_on='train', calendar=False, zero_is_missing=False,
               fill='ffill')
train_dataloader = dict(dataset=ts_data)
val_dataloader = dict(dataset=ts_data)
test_dataloader = dict(dataset=ts_data)
