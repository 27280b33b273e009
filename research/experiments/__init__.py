"""The CPU-sized Fashion-MNIST experiments behind ``tools/fashion_mnist.py`` (the main job) and ``tools/ablate.py``.

- :mod:`.settings`: the command-line settings and where the configs (``configs/cls/smixer-t2_1xb64-2136it_fmnist.py``,
  ``configs/cls/smixer-dstsp-t2_1xb64-3e_fmnist.py``, ...) hold them; builds a run's config from the repository
  config and the settings the user changed. The configs folder is an argument (``config_dir``).
- :mod:`.runs`: one run: trained and tested by :mod:`tasks.common.runs` (what ``tools/train.py`` and
  ``tools/test.py`` run), each in a ``python -m tasks.common.runs`` process of its own, then its costs.
- :mod:`.measure`: training speed (and the epochs that fit a time budget), bytes saved for backward, energy.
- :mod:`.mainjob`: the main job (both variants), its table and training-curve figure.
- :mod:`.ablation`: the pruning ablations (Table 6, Fig. 7, Table 8) and the paper's orderings.
"""
