# Spikformer V2-8-512 -> M + DSTSP on ImageNet-1k, T = 1: P_s = 0.3 (paper Table 2).
_base_ = ['./spikformerv2-8-512-t1_8xb24-300e_in1k.py']
model = dict(backbone='spikformerv2-8-512-m-dstsp')
