# METR-LA (metr-la.h5: 34,272 5-minute steps x 207 loop detectors, speeds in mph, 0 = no reading).
# Window 12, split 0.7 / 0.2 / 0.1, calendar features appended (207 + 5 inputs), per-sensor max scaling as in
# SeqSNN but fitted on the training rows; zeros are missing: filled forward in the inputs, not scored as targets.
_base_ = ['./loaders.py']
data_root = 'data/timeseries/'
window, in_channels, out_channels = 12, 207 + 5, 207
ts_data = dict(file=data_root + 'metr-la.h5', window=window, expected_columns=out_channels, train_ratio=0.7,
               test_ratio=0.1, normalize='column_max', fit_on='train', calendar=True, zero_is_missing=True,
               fill='ffill')
train_dataloader = dict(dataset=ts_data)
val_dataloader = dict(dataset=ts_data)
test_dataloader = dict(dataset=ts_data)
