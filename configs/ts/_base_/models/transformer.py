# ANN baseline of Table 4: pre-norm Transformer encoder with the spiking models' width, depth, heads and FFN.
model = dict(
    type='Forecaster',
    net=dict(type='TransformerForecaster', embed_dim=256, depth=2, num_heads=8, mlp_hidden=1024, dropout=0.1))
