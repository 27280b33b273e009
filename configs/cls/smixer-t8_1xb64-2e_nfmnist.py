# SMixer on N-Fashion-MNIST (simulated saccades; docs/events.md): T = 8 event frames of 2 polarities at 32 x 32
# (4x stem -> 8 x 8 = 64 tokens), 2 blocks x 32 channels, I-LIF (zoo variant smixer-nfmnist). Make the data first:
# `python tools/make_nfmnist.py --out data/nfmnist`. For the real N-MNIST:
# --cfg-options train_dataloader.dataset.type=NMNIST train_dataloader.dataset.data_root=<folder holding NMNIST/>
# (and the same for val_dataloader). The equal-time study of docs/events.md starts from this file and
# smixer-dstsp-t8_1xb64-2e_nfmnist.py (research/experiments/events.py).
_base_ = ['./_base_/datasets/nfmnist.py', './_base_/default_runtime.py']
model = dict(
    type='SpikingClassifier',
    backbone='smixer-nfmnist',  # zoo/models/smixer.py
    backbone_args=dict(num_classes=10, time_steps=8),  # T: also the dataset's time_steps (below)
    label_smoothing=0.1,
    data_preprocessor=dict(type='ClsDataPreprocessor'),  # event counts are fed as they are
)
# AdamW as the main job (smixer-t2_1xb64-2136it_fmnist.py): half an epoch of linear warm-up, cosine decay to
# lr / 1000 at the end of epoch 2, stepped per iteration.
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, end_factor=1.0, begin=0, end=0.5, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=1.5, eta_min_ratio=1e-3, begin=0.5, end=2, by_epoch=True,
         convert_to_iter_based=True),
]
# An optional training-time budget (time_budget_s, on budget_clock 'wall' or 'cpu'), as the Fashion-MNIST configs.
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=2, val_interval=1, time_budget_s=None,
                 budget_clock='wall')
default_hooks = dict(logger=dict(interval=20))
custom_hooks = [dict(type='TrainingCurveHook')] + _base_.custom_hooks  # + SafeCheckpointHook
