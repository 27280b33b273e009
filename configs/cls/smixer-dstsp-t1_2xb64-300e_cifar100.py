# SMixer + DSTSP on CIFAR-100, T = 1: spatial pruning only (P_s = 0.3; one step has nothing to prune in time).
_base_ = ['./smixer-t4_2xb64-300e_cifar100.py']
model = dict(backbone='smixer-cifar100-dstsp',
             backbone_args=dict(time_steps=1, dstsp=dict(spatial_ratio=0.3, temporal_ratio=0.0)))
