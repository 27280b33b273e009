# spikformer-t2_1xb64-2136it_fmnist.py trained with STATA (zoo/pruning/stata.py): an anchor token per time step, whose
# attention row keeps 70% of the tokens (the fraction DSTSP's P_s = 0.3 keeps) before block floor(L/3) + 1 = 1 of the 2
# blocks, and the attention-alignment losses (alpha = beta = 1e-2). The equal-time comparison of docs/classification.md.
_base_ = ['./spikformer-t2_1xb64-2136it_fmnist.py']
model = dict(backbone_args=dict(pruning=dict(type='STATA', keep_ratio=0.7)))
