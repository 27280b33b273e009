# SpikeYOLO's recipe (Ultralytics YOLOv8 defaults): SGD lr 0.01, momentum 0.937 (warm-up from 0.8), Nesterov,
# weight decay 5e-4 on weights only, 3 warm-up epochs, linear decay to 0.01 x lr over 300 epochs, EMA of the
# weights, mosaic off for the last 10 epochs, gradient-norm clip 10. Batch 16 per GPU x 4 GPUs = 64 (nominal).
max_epochs = 300
close_mosaic_epochs = 10
warmup_epochs = 3
base_lr = 0.01

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10,
                 dynamic_intervals=[(max_epochs - close_mosaic_epochs, 1)])
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=base_lr, momentum=0.937, weight_decay=5e-4, nesterov=True),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=10.0))

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='LinearMomentum', start_factor=0.8 / 0.937, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.01, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]

# EMA and the mosaic switch are in the top-level configs (they need the dataset's stage-2 pipeline).
