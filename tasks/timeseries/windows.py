"""Sliding windows and the chronological train / valid / test split of the reference (SeqSNN ``TSMSDataset``).

Sample ``i`` has inputs rows ``[i, i + window)`` and targets rows ``[i + window, i + window + horizon)``.
``total = n - window - horizon + 1`` samples; ``train = int(total * train_ratio)``, ``test = int(total *
test_ratio)``, ``valid = total - train - test``; train comes first, then valid, then test. As in the reference,
when ``train_ratio + test_ratio == 1`` there is no validation part and ``valid`` means the test part.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

__all__ = ["SPLITS", "SplitRange", "split_ranges"]

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class SplitRange:
    """Samples ``start .. start + length - 1`` of the window sequence."""

    start: int
    length: int

    @property
    def stop(self) -> int:
        return self.start + self.length


def split_ranges(num_rows: int, window: int, horizon: int, train_ratio: float,
                 test_ratio: float) -> Dict[str, SplitRange]:
    """The three sample ranges of a series with ``num_rows`` rows."""
    if window < 1 or horizon < 1:
        raise ValueError(f"window and horizon must be >= 1, got window={window}, horizon={horizon}")
    if not (0 < train_ratio < 1 and 0 < test_ratio < 1 and train_ratio + test_ratio <= 1):
        raise ValueError(f"need 0 < train_ratio, test_ratio < 1 and train_ratio + test_ratio <= 1, got "
                         f"{train_ratio}, {test_ratio}")
    total = num_rows - window - horizon + 1
    if total < 1:
        raise ValueError(f"{num_rows} rows give no window of {window} inputs + {horizon} targets")
    train = int(total * train_ratio)
    test = int(total * test_ratio)
    valid = total - test - train
    ranges = {"train": SplitRange(0, train), "valid": SplitRange(train, valid),
              "test": SplitRange(train + valid, test)}
    if train_ratio + test_ratio == 1:
        ranges["valid"] = ranges["test"]
    return ranges
