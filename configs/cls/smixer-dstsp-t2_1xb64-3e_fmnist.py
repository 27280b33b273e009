# The main job's model with DSTSP (`make demo`, tools/fashion_mnist.py): T = 2 pruned to 1 step (P_t = 0.5) inside the
# stem (placement IS, Table 8: the full-resolution stem dominates the cost of this small model), P_s = 0.3 (49 -> 34
# tokens); the model and recipe of smixer-t2_1xb64-2136it_fmnist.py. Options: --spatial-ratio, --temporal-ratio,
# --placement.
_base_ = ['./smixer-t2_1xb64-2136it_fmnist.py']
model = dict(backbone='smixer-fmnist-dstsp',
             backbone_args=dict(dstsp=dict(spatial_ratio=0.3, temporal_ratio=0.5, temporal_placement='IS')))
# Its own schedule: 3 epochs fitted into the same 6.5-minute budget on the reference machine (docs/classification.md).
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, end_factor=1.0, begin=0, end=0.5, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=2.5, eta_min_ratio=1e-3, begin=0.5, end=3.0, by_epoch=True,
         convert_to_iter_based=True),
]
train_cfg = dict(_delete_=True, type='ResumableEpochBasedTrainLoop', max_epochs=3, val_interval=1, time_budget_s=390,
                 budget_clock='wall')
