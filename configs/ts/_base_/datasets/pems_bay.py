# PEMS-BAY (pems-bay.h5: 52,116 5-minute steps x 325 sensors, speeds in mph, 0 = no reading). Same recipe as METR-LA.
_base_ = ['./loaders.py']
data_root = 'data/timeseries/'
window, in_channels, out_channels = 12, 325 + 5, 325
ts_data = dict(file=data_root + 'pems-bay.h5', window=window, expected_columns=out_channels, train_ratio=0.7,
               test_ratio=0.1, normalize='column_max', fit_on='train', calendar=True, zero_is_missing=True,
               fill='ffill')
train_dataloader = dict(dataset=ts_data)
val_dataloader = dict(dataset=ts_data)
test_dataloader = dict(dataset=ts_data)
