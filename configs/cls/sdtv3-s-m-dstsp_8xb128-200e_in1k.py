# SDT-V3-S -> M + DSTSP on ImageNet-1k: P_s = 0.3 before stages 3 and 4 (paper Table 2).
_base_ = ['./sdtv3-s_8xb128-200e_in1k.py']
model = dict(backbone='sdtv3-s-m-dstsp')
