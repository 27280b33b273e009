# The main job's model without DSTSP, run at T = 1 (the equal-time comparison of docs/classification.md): for a
# static image repeated over time, DSTSP's temporal pruning inside the stem to T' = 1 keeps an input that is the
# same at every step, so this is what DSTSP's P_t alone amounts to; the comparison shows what its P_s adds.
_base_ = ['./smixer-t2_1xb64-2136it_fmnist.py']
model = dict(backbone_args=dict(time_steps=1))
