# SDT-V3 Efficient-transformer-M on ImageNet-1k, T = 1 x D = 4 (paper Table 2); recipe of the S config.
_base_ = ['./sdtv3-s_8xb128-200e_in1k.py']
model = dict(backbone='sdtv3-m')
