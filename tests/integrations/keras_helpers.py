"""What the Keras tests share: Keras on PyTorch, one torch thread, a warning mark, digits.

Importing this module skips the importing test module when the keras extra or torch is
missing. A test module imports :func:`one_torch_thread` (an autouse fixture: importing it is
enough) and puts :data:`IGNORE_TENSOR_ARRAY_WARNING` in its ``pytestmark``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

# Imported before Keras: it picks the PyTorch backend when none is configured (CI sets none).
hk = pytest.importorskip("hyperscout.integrations.keras")
keras = pytest.importorskip("keras", reason="needs the keras extra")
torch = pytest.importorskip("torch", reason="Keras runs on the PyTorch backend in these tests")

#: torch's Tensor.__array__ has no copy= keyword; NumPy 2 warns each time Keras turns a
#: tensor into an array (every batch). Nothing of ours: Keras calls np.array(tensor).
IGNORE_TENSOR_ARRAY_WARNING = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

#: Training features and labels, then validation features and labels.
Digits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    """Tiny models train fastest on one thread, and CI's cores are shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def digit_split(n_train: int, n_val: int, seed: int) -> Digits:
    """``n_train`` training and ``n_val`` validation digits (drawn by ``seed``), 64 features.

    The features are scaled to [0, 1], as float32.
    """
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    order = np.random.default_rng(seed).permutation(len(x))
    train, val = order[:n_train], order[n_train : n_train + n_val]
    return x[train], y[train], x[val], y[val]
