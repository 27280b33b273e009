# QKFormer HST-10-512 -> M + DSTSP on ImageNet-1k, T = 1: P_s = 0.3 before stage 3 (paper Table 2).
_base_ = ['./qkformer-10-512_8xb32x2-200e_in1k.py']
model = dict(backbone='qkformer-10-512-m-dstsp')
