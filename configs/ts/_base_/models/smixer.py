# SMixer forecaster (paper E.4): spike encoder (T = 4) -> CPG linear -> 2 SMixer blocks (D 256, FFN 1024, 8 heads)
# on the L window positions as tokens -> mean over T and tokens -> Linear(D -> horizon x series).
# Neuron: zoo LIF, decay 0.5 (tau 2), threshold 1, ATan surrogate, detached reset. SeqSNN's exact SpikingJelly neuron
# (which halves the input current) is v_threshold=2.0, alpha=1.0 (SJ_LIF_TAU2 in tasks/timeseries/forecasters.py).
# window / in_channels / out_channels / horizon come from the dataset config and the leaf config.
model = dict(
    type='Forecaster',
    net=dict(type='SpikingForecaster', mixer='stm', embed_dim=256, depth=2, num_heads=8, mlp_hidden=1024,
             time_steps=4,
             neuron=dict(type='LIF', decay=0.5, v_threshold=1.0, surrogate='atan', alpha=2.0, detach_reset=True),
             pruning=None, encoder_kernel=3, cpg_neurons=10, cpg_w_max=10000.0, dropout=0.1))
