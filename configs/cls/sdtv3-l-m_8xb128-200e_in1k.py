# SDT-V3-L -> M on ImageNet-1k: all 8 linear attentions replaced by 8-head Spiking-token Mixers (Table 2).
_base_ = ['./sdtv3-l_8xb128-200e_in1k.py']
model = dict(backbone='sdtv3-l-m')
