"""The research harness around the zoo and the tasks: what the paper's claims are measured with, not what a user of a
model needs.

- :mod:`research.experiments`: the CPU-sized Fashion-MNIST runs, the main job (``tools/fashion_mnist.py``, ``make
  demo``) and the pruning ablations (``tools/ablate.py``); each run is trained and tested by :mod:`tasks.common.runs`
  (what ``tools/train.py`` and ``tools/test.py`` run), in a ``python -m tasks.common.runs`` process of its own.
- :mod:`research.analysis`: analyses of trained spiking models on real inputs (``tools/analyze.py``).
- :mod:`research.benchmark`: the training-cost benchmark of pruning settings (``tools/benchmark.py train``).
- :mod:`research.neuron_benchmark`: the zoo LIF against SpikingJelly's (``tools/benchmark.py neuron``).

Layers: ``zoo`` <- ``tasks`` <- ``research`` <- ``tools``; neither ``zoo`` nor ``tasks`` imports this package. Where a
module needs the repository's configs or sample data it takes the folder as an argument (the tools pass the
checkout's).
"""
