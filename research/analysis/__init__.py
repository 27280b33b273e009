"""Analyses of trained spiking models on real inputs, behind ``tools/analyze.py`` (docs/analysis.md).

- :mod:`.hooks`: forward hooks that record each neuron's spikes, rewrite them, and record the kept tokens.
- :mod:`.inputs`: Fashion-MNIST images and event recordings binned into the DVS models' frames.
- :mod:`.models`: loading a model, re-building it with inference-time token pruning, accuracy.
- :mod:`.siv`: spike intensity per token and per step, layer by layer: the imbalance of the paper's Figure 3.
- :mod:`.highlow`: accuracy from only the high-SIV vs only the low-SIV tokens (§3.2).
- :mod:`.retention`: RIE and MS-SSIM of LP / HP / RP pruning (appendix C, Figure 4).
- :mod:`.tokens`: pictures of kept and pruned tokens and steps (Figures 2 and 6).
- :mod:`.sparsity`: firing rates and sparsity per layer, dense vs DSTSP (Table 7).
- :mod:`.jitter`: spike-timing errors (jitter, delay, drop) against SSA and the token mixer.
- :mod:`.report`: the JSON record every analysis writes (result, models, inputs, command, machine).

Imported by no task package: only ``tools/analyze.py`` and the tests need it.
"""
