"""Seeds derived from integer keys, and a block that seeds the global generators and restores them after."""
from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np

__all__ = ["sample_seed", "seeded"]


def sample_seed(*keys: int) -> int:
    """A 32-bit seed derived from integer keys (``SeedSequence`` mixing, so neighbouring keys are unrelated)."""
    return int(np.random.SeedSequence([int(k) & 0xFFFFFFFF for k in keys]).generate_state(1)[0])


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed numpy's and Python's global generators inside the block; restore their previous states after it."""
    np_state, py_state = np.random.get_state(), random.getstate()
    np.random.seed(seed)
    random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
