# SMixer + DSTSP on cifar10dvs, T = 16 pruned to 1 step (P_t = 0.9), P_s = 0.3 (paper Table 3).
_base_ = ['./smixer-t16_1xb16-106e_cifar10dvs.py']
model = dict(backbone='smixer-cifar10dvs-dstsp')
