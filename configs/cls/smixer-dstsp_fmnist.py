# The main job's model with DSTSP (`make demo`, tools/fashion_mnist.py): T = 2 pruned to 1 step (P_t = 0.5) inside
# the stem (placement IS, Table 8: the full-resolution stem dominates the cost of this small model), P_s = 0.3
# (49 -> 34 tokens); the model and recipe of smixer_fmnist.py. Options: --spatial-ratio, --temporal-ratio,
# --placement.
_base_ = ['./smixer_fmnist.py']
model = dict(backbone='smixer-fmnist-dstsp',
             backbone_args=dict(dstsp=dict(spatial_ratio=0.3, temporal_ratio=0.5, temporal_placement='IS')))
