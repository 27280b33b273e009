# The main job's model (T = 2) trained with TP-Spikformer token pruning (zoo/pruning/tp_spikformer.py, paper
# reading): before each block 70% of the tokens are kept per time step (the fraction DSTSP's P_s = 0.3 keeps) and the
# rest pass the block unchanged; the token mixer's W_M is cropped at the kept positions. The equal-time comparison
# of docs/classification.md.
_base_ = ['./smixer-t2_1xb64-2136it_fmnist.py']
model = dict(backbone_args=dict(pruning=dict(type='TPSpikformer', keep_ratio=0.7), mixer_weight='crop'))
