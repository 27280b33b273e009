# SDT-V3-M -> M + DSTSP on ImageNet-1k: P_s = 0.3 before stages 3 and 4 (paper Table 2).
_base_ = ['./sdtv3-m_8xb128-200e_in1k.py']
model = dict(backbone='sdtv3-m-m-dstsp')
