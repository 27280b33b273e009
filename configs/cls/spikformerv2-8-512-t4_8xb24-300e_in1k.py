# Spikformer V2-8-512 on ImageNet-1k, T = 4 (paper Table 2).
_base_ = ['./spikformerv2-8-512-t1_8xb24-300e_in1k.py']
model = dict(backbone_args=dict(time_steps=4))
