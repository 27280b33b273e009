# Spikformer V2-8-512 on ImageNet-1k, T = 1 (paper Table 2); recipe of the 8-384 config.
_base_ = ['./spikformerv2-8-384-t1_8xb24-300e_in1k.py']
model = dict(backbone='spikformerv2-8-512')
