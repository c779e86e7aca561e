"""The demo's data: scikit-learn's bundled digits, split once into train, validation and test.

1,797 8x8 images of handwritten digits ship with scikit-learn, so the demo runs offline with
no setup. They are split with a fixed seed, stratified by class: training (60 %), validation
(20 %, what the search optimises) and test (20 %, seen only by the final model).

>>> data = load_digits_splits()
>>> len(data.y_train), len(data.y_val), len(data.y_test)
(1077, 360, 360)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hyperscout.exceptions import require

__all__ = ["CLASSES", "FEATURE", "DigitsSplits", "load_digits_splits"]

#: What needs the optional dependencies, for the messages of a missing one.
FEATURE = "hyperscout demo"
#: The digits 0 to 9.
CLASSES = 10
# A fixed seed, so that every trial of every run sees the same images in each split.
_SPLIT_SEED = 0


@dataclass(frozen=True)
class DigitsSplits:
    """The digits data, split once: train (60 %), validation (20 %), test (20 %)."""

    x_train: NDArray[np.float32]
    y_train: NDArray[np.int64]
    x_val: NDArray[np.float32]
    y_val: NDArray[np.int64]
    x_test: NDArray[np.float32]
    y_test: NDArray[np.int64]


@functools.lru_cache(maxsize=1)
def load_digits_splits() -> DigitsSplits:
    """The digits data scaled to [0, 1] and split with a fixed seed, stratified by digit.

    Cached: every trial of a search trains on the same arrays.
    """
    require("sklearn", feature=FEATURE, extra="sklearn")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = np.asarray(x, dtype=np.float32) / 16.0  # pixel intensities are 0..16
    y = np.asarray(y, dtype=np.int64)
    x_dev, x_test, y_dev, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=_SPLIT_SEED
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_dev, y_dev, test_size=0.25, stratify=y_dev, random_state=_SPLIT_SEED
    )
    return DigitsSplits(x_train, y_train, x_val, y_val, x_test, y_test)
