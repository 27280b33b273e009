# SpikeYOLO-m itself (SpikeYOLO's snn_yolov8.yaml at scale m): stages 3-4 are 4 and 2 MS_ConvBlocks with expansion
# 3 and 2. The baseline whose stages 3-4 the SMixer hybrid replaces; 47.8 M parameters as SpikeYOLO reports.
_base_ = './spikeyolo-m-smixer_4xb16-300e_coco.py'

model = dict(backbone=dict(stage_types=('allconv', 'allconv', 'conv', 'conv'), mlp_ratios=(4.0, 4.0, 3.0, 2.0)))
