# SDT-V3-M -> M on ImageNet-1k: all 8 linear attentions replaced by 8-head Spiking-token Mixers (Table 2).
_base_ = ['./sdtv3-m_8xb128-200e_in1k.py']
model = dict(backbone='sdtv3-m-m')
