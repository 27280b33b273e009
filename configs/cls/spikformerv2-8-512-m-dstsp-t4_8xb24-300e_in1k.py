# Spikformer V2-8-512 -> M + DSTSP on ImageNet-1k, T = 4 pruned to 1 step (P_t = 0.75), P_s = 0.3 (Table 2).
_base_ = ['./spikformerv2-8-512-m-dstsp-t1_8xb24-300e_in1k.py']
model = dict(backbone_args=dict(time_steps=4, dstsp=dict(spatial_ratio=0.3, temporal_ratio=0.75)))
