# The main job's model and recipe, without DSTSP (`make demo`, tools/fashion_mnist.py; tools/ablate.py starts from it
# too): a small SMixer (I-LIF) for Fashion-MNIST on a 2-core CPU, 28 x 28 input, 4x stem -> 7 x 7 = 49 tokens. The DSTSP
# variant is smixer-dstsp-t2_1xb64-3e_fmnist.py. These two files hold every setting of the main job: the tools apply
# only the options given on their command line (research/experiments/settings.py maps each option to its key here), so
# `python tools/train.py configs/cls/smixer-t2_1xb64-2136it_fmnist.py` trains what `make demo` trains.
_base_ = ['./_base_/datasets/fashion_mnist.py', './_base_/default_runtime.py']
# Short CPU schedules learn faster with batch 64 and a horizontal flip only (no random crop): see
# docs/classification.md, "Short runs". (--batch-size, --augment)
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=[dict(type='mmcv.RandomFlip', prob=0.5,
                                                                  direction='horizontal'),
                                                             dict(type='PackClsInputs')]))
model = dict(
    type='SpikingClassifier',
    backbone='smixer-fmnist',  # zoo/models/smixer.py: the main job's model
    # --embed-dim, --depth, --num-heads, --time-steps (T: the image is repeated T times)
    backbone_args=dict(num_classes=10, img_size=28, in_chans=1, embed_dim=64, depth=2, num_heads=8, mlp_ratio=4.0,
                       time_steps=2),
    label_smoothing=0.1,  # --label-smoothing
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[72.94], std=[90.02]),
)
# AdamW (--lr, --weight-decay), no weight decay on norms and biases.
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
# Schedule: half an epoch of linear warm-up (--warmup-epochs), then cosine decay to lr / 1000, both stepped per
# iteration, ending at epoch 2.28 = iteration 2,136 of batch 64 over the 60k images: what fitted into the time budget
# below on the reference machine (docs/classification.md). The main job's default (--epochs auto) measures each
# variant's training speed and sets its length to the epochs that fit into the budget. --epochs N sets N;
# research/experiments/settings.py:set_schedule rewrites these four numbers.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, end_factor=1.0, begin=0, end=0.5, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=1.78, eta_min_ratio=1e-3, begin=0.5, end=2.28, by_epoch=True,
         convert_to_iter_based=True),
]
# Every variant trains for the same time: training (data loading and steps, no validation) stops after 6.5 minutes
# (--time-budget-min) on the wall clock (--clock cpu: CPU time of the training process), or at the end of the
# schedule, whichever comes first.
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=3, stop_at_iter=2136, val_interval=1,
                 time_budget_s=390, budget_clock='wall')
default_hooks = dict(logger=dict(interval=20))
custom_hooks = [dict(type='TrainingCurveHook')] + _base_.custom_hooks  # + SafeCheckpointHook
# Seed (--seed) in default_runtime.py; data loading (--num-workers, --data-root) in _base_/datasets/fashion_mnist.py.
