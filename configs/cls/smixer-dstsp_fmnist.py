# The Fashion-MNIST SMixer with DSTSP: T = 2 pruned to 1 step (P_t = 0.5) inside the stem (placement IS, Table 8:
# the full-resolution stem dominates the cost of this small model), P_s = 0.3 (49 -> 34 tokens).
_base_ = ['./smixer_fmnist.py']
model = dict(backbone='smixer-cifar10-dstsp',
             backbone_args=dict(dstsp=dict(spatial_ratio=0.3, temporal_ratio=0.5, temporal_placement='IS')))
