# SMixer + DSTSP on COCO (paper Table 5, "SMixer + DSTSP"): 20% of the tokens pruned at the entry of each SMixer
# stage (static N' x N' mixing matrices), time "pruned to 1" (T = 1 already, so no temporal pruning is left).
_base_ = './spikeyolo-m-smixer_4xb16-300e_coco.py'

model = dict(backbone=dict(pruning=dict(_delete_=True, type='DSTSP', spatial_ratio=0.2, temporal_ratio=0.0)))
