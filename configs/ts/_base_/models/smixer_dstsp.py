# SMixer + DSTSP before the first block. The paper gives no time-series pruning ratios. Here the T = 4 time steps
# are 4 different convolution maps of the window (not 4 copies of one input, as for static images), so pruning
# steps removes input features: P_t = 0.5 keeps 2 of the 4 maps (the setting paper appendix E.5 finds best on
# CIFAR-100 at half the steps), P_s = 0.3 prunes 30% of the window positions. Other options are the zoo's
# defaults (low-SIV pruning in training and inference, static W_M', softmatch merge). docs/timeseries.md has the
# measured cost of P_t = 0.75.
_base_ = ['./smixer.py']
model = dict(net=dict(dstsp=dict(_delete_=True, spatial_ratio=0.3, temporal_ratio=0.5)))
