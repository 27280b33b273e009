# SpikeYOLO-m (widths 0.625 x (128, 256, 512, 1024), depths 0.5 x (3, 6, 9, 3) -> (2, 3, 4, 2)) whose stages 3
# and 4 are 4 and 2 SMixer blocks (paper §4.3 / E.3), I-LIF neurons with D = 4, T = 1.
neuron = dict(type='ILIF', max_value=4, decay=0.25)
model = dict(
    type='tasks.SpikingDetector',  # mmdet's SingleStageDetector + the pruners' auxiliary losses
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0],
                           bgr_to_rgb=True, pad_size_divisor=32, pad_value=114.0 / 255.0),
    backbone=dict(
        type='tasks.SpikeYOLOBackbone',
        widths=(80, 160, 320, 640),
        depths=(2, 3, 4, 2),
        stage_types=('allconv', 'allconv', 'smixer', 'smixer'),
        mlp_ratios=(4.0, 4.0, 4.0, 4.0),
        kernel_size=7,
        time_steps=1,
        train_size=640,  # token grids 40x40 (stage 3) and 20x20 (stage 4)
        num_heads=(1, 1, 1, 1),
        pruning=None,  # zoo.encoder.PruningOptions' dict(type=<pruner>, ...); children set it with _delete_=True
        neuron=neuron),
    neck=dict(type='tasks.SpikingPAN', in_channels=(160, 320, 640), channels=(160, 320), mlp_ratios=(4.0, 3.0, 2.0),
              kernel_size=7, neuron=neuron),
    bbox_head=dict(type='tasks.SpikeYOLOHead', num_classes=80, in_channels=(160, 320, 640), strides=(8, 16, 32),
                   reg_max=16, prior_image_size=640, neuron=neuron),
    train_cfg=dict(assigner=dict(type='tasks.InsideTaskAlignedAssigner', topk=10), alpha=0.5, beta=6.0),
    test_cfg=dict(nms_pre=30000, score_thr=0.001, nms=dict(type='nms', iou_threshold=0.7), max_per_img=300))
