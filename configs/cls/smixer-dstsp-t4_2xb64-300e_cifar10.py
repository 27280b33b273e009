# SMixer + DSTSP on CIFAR-10: T = 4 pruned to 1 step (P_t = 0.75), P_s = 0.3 (paper Tables 3 and 6, last row).
_base_ = ['./smixer-t4_2xb64-300e_cifar10.py']
model = dict(backbone='smixer-cifar10-dstsp')
