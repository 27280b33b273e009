# SMixer + DSTSP before the first block. The paper gives no time-series pruning settings. Here the tokens are the
# window's time positions and the T = 4 steps are 4 different convolution maps of the window (not 4 copies of one
# input, as for static images), so two choices differ from the image models (docs/timeseries.md has the runs):
# - mixer_weight='crop' with order='original': the kept positions are mixed by the full L x L matrix cropped at
#   their positions, in time order. With the image default (a static L' x L' matrix indexed by rank among the kept
#   tokens) a token's mixing weights no longer belong to its time position, and the forecaster learned far less.
# - P_t = 0.5 keeps 2 of the 4 maps (pruning steps removes input features), P_s = 0.3 prunes 30% of the positions.
# Other options are the zoo's defaults (low-SIV pruning in training and inference, softmatch merge).
_base_ = ['./smixer.py']
model = dict(net=dict(pruning=dict(_delete_=True, type='DSTSP', spatial_ratio=0.3, temporal_ratio=0.5,
                                   mixer_weight='crop', order='original')))
