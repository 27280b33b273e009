"""The CPU-sized Fashion-MNIST experiments behind ``tools/fashion_mnist.py`` (the main job) and ``tools/ablate.py``.

- :mod:`.settings`: the command-line settings and where configs/cls/smixer{,-dstsp}_fmnist.py hold them; builds a
  run's config from the repository config and the settings the user changed.
- :mod:`.runs`: one run: ``tools/train.py`` and ``tools/test.py`` in separate processes, then its costs.
- :mod:`.measure`: training speed (and the epochs that fit a time budget), bytes saved for backward, energy.
- :mod:`.mainjob`: the main job (both variants), its table and training-curve figure.
- :mod:`.ablation`: the pruning ablations (Table 6, Fig. 7, Table 8) and the paper's orderings.

Not imported by ``tasks.classification``: only these tools need it.
"""
