# QKFormer HST-10-512 on ImageNet-1k, T = 1 (paper Table 2); recipe of the 10-384 config.
_base_ = ['./qkformer-10-384_8xb32x2-200e_in1k.py']
model = dict(backbone='qkformer-10-512')
