# SMixer + DSTSP on dvs128, T = 10 pruned to 1 step (P_t = 0.9), P_s = 0.3 (paper Table 3).
_base_ = ['./smixer-t10_1xb16-106e_dvs128.py']
model = dict(backbone='smixer-dvs128-dstsp')
