# SMixer + DSTSP before the first block. The paper gives no time-series pruning ratios; this uses its
# small-dataset setting (P_s = 0.3 of the window positions, P_t = 0.75: T = 4 -> 1 step), other options the
# zoo's defaults (low-SIV pruning in training and inference, static W_M', softmatch merge).
_base_ = ['./smixer.py']
model = dict(net=dict(dstsp=dict(_delete_=True, spatial_ratio=0.3, temporal_ratio=0.75)))
