"""Sliding windows and the chronological train / valid / test split of the reference (SeqSNN ``TSMSDataset``).

Sample ``i`` has inputs rows ``[i, i + window)`` and targets rows ``[i + window, i + window + horizon)``.
``total = n - window - horizon + 1`` samples; ``train = int(total * train_ratio)``, ``test = int(total *
test_ratio)``, ``valid = total - train - test``; train comes first, then valid, then test. As in the reference,
when ``train_ratio + test_ratio == 1`` there is no validation part and ``valid`` means the test part.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

from .checks import positive_int, ratio

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


def split_ranges(num_rows: int, window: int, horizon: int, train_ratio: float, test_ratio: float,
                 owner: str = "split_ranges") -> Dict[str, SplitRange]:
    """The three sample ranges of a series with ``num_rows`` rows (``owner`` names the caller in errors)."""
    window, horizon = positive_int(owner, "window", window), positive_int(owner, "horizon", horizon)
    train_ratio, test_ratio = ratio(owner, "train_ratio", train_ratio), ratio(owner, "test_ratio", test_ratio)
    if train_ratio + test_ratio > 1:
        raise ValueError(f"{owner}: train_ratio + test_ratio = {train_ratio} + {test_ratio} > 1; lower one of them "
                         f"(the validation part gets the rest)")
    total = num_rows - window - horizon + 1
    if total < 1:
        raise ValueError(f"{num_rows} rows give no window of {window} inputs + {horizon} targets; shorten the window "
                         f"or the horizon, or use a longer series")
    train = int(total * train_ratio)
    test = int(total * test_ratio)
    valid = total - test - train
    ranges = {"train": SplitRange(0, train), "valid": SplitRange(train, valid),
              "test": SplitRange(train + valid, test)}
    if train_ratio + test_ratio == 1:
        ranges["valid"] = ranges["test"]
    return ranges
