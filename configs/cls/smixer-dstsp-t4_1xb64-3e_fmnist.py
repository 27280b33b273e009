# The main job's DSTSP model at T = 4, pruned to one step inside the stem (P_t = 0.75, placement IS) and P_s = 0.3
# (49 -> 34 tokens): the equal-time comparison of docs/classification.md.
_base_ = ['./smixer-dstsp-t2_1xb64-3e_fmnist.py']
model = dict(backbone_args=dict(time_steps=4, dstsp=dict(temporal_ratio=0.75)))
