# Spikformer forecaster: the SMixer forecaster with spiking self-attention (SSA) as the token mixer.
_base_ = ['./smixer.py']
model = dict(net=dict(mixer='ssa'))
