# QKFormer HST-10-384 -> M on ImageNet-1k, T = 1: stage-3 SSA replaced by 16-head Spiking-token Mixers (Table 2).
_base_ = ['./qkformer-10-384_8xb32x2-200e_in1k.py']
model = dict(backbone='qkformer-10-384-m')
