# QKFormer HST-10-384 -> M + DSTSP on ImageNet-1k, T = 1: P_s = 0.3 before stage 3 (paper Table 2).
_base_ = ['./qkformer-10-384_8xb32x2-200e_in1k.py']
model = dict(backbone='qkformer-10-384-m-dstsp')
