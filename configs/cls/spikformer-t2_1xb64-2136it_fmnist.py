# The main job's model with Spikformer's spiking self-attention in place of the token mixer (mixer='ssa'), T = 2:
# the unpruned SSA baseline of the equal-time comparison in docs/classification.md.
_base_ = ['./smixer-t2_1xb64-2136it_fmnist.py']
model = dict(backbone_args=dict(mixer='ssa'))
