"""The budgets of halving and Hyperband: the resource, its range, and nested subsamples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hyperscout._validation import check, is_int, plain
from hyperscout.exceptions import InvalidArgumentError
from hyperscout.integrations.sklearn._fit import _Data
from hyperscout.integrations.sklearn._space import _Space

if TYPE_CHECKING:
    from hyperscout.integrations.sklearn._search import SearchCV


@dataclass(frozen=True)
class _Budget:
    """What the budget of a halving or Hyperband trial is, and its range."""

    resource: str  # "n_samples" or an estimator parameter such as "max_iter"
    min_resources: int
    max_resources: int
    orders: tuple[np.ndarray, ...] = ()  # n_samples: each fold's training rows, nested order
    # n_samples counted over the whole data set (scikit-learn's halving): a budget of ``b``
    # samples out of ``total`` keeps ``int(b / total * len(train))`` rows of each fold.
    total: int | None = None

    def train_rows(self, fold: int, train: np.ndarray, budget: int | None) -> np.ndarray:
        """The training rows of ``fold`` for a trial with ``budget`` (n_samples only)."""
        if self.resource != "n_samples" or budget is None:
            return train
        if self.total is not None:
            budget = int(budget / self.total * len(train))
        if budget >= len(train):
            return train
        return np.sort(train[self.orders[fold][:budget]])

    def is_partial(self, budget: int | None) -> bool:
        """True for an iteration budget below the full one (convergence is not expected)."""
        return self.resource != "n_samples" and budget is not None and budget < self.max_resources


def _nested_order(n: int, labels: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """A random order of a fold's ``n`` training rows whose every prefix is a fair subsample.

    With class labels the first rows hold one sample of each class, and the others are
    spread so that every prefix keeps the class proportions (a stratified subsample). The
    subsample of a larger budget contains that of a smaller one.

    >>> order = _nested_order(6, np.array([0, 0, 0, 0, 1, 1]), np.random.default_rng(0))
    >>> sorted({0, 1} & {int(c) for c in np.array([0, 0, 0, 0, 1, 1])[order[:2]]})
    [0, 1]
    """
    perm = rng.permutation(n)
    if labels is None or labels.ndim != 1 or n == 0:
        return perm
    _, inverse = np.unique(labels[perm], return_inverse=True)
    key = np.empty(n)
    for c in range(int(inverse.max()) + 1):
        members = np.flatnonzero(inverse == c)
        key[members] = (np.arange(len(members)) + 0.5) / len(members)
        key[members[0]] = -1.0  # one of each class comes first
    return perm[np.argsort(key, kind="stable")]


def _budget_for(search: SearchCV, space: _Space, data: _Data, seed: int) -> _Budget:
    """The budget of a halving or Hyperband ``search``: its resource and range."""
    from sklearn.base import is_classifier
    from sklearn.utils import _safe_indexing

    params = search.estimator.get_params(deep=True)
    resource = search.resource
    if resource == "auto":  # an int max_iter, of the estimator or of exactly one step
        iterations = [
            k for k in params if k.split("__")[-1] == "max_iter" and is_int(plain(params[k]), 1)
        ]
        resource = iterations[0] if len(iterations) == 1 else "n_samples"
    check(
        "SearchCV",
        "resource",
        search.resource,
        resource == "n_samples" or resource in params,
        "'auto', 'n_samples' or a parameter of the estimator, such as 'max_iter'",
    )
    if resource in space.names:
        raise InvalidArgumentError(
            f"SearchCV(resource={resource!r}): {resource!r} is the budget of "
            f"strategy={search.strategy!r}, so space cannot search it too; remove it from "
            "space or choose another resource."
        )
    floor, orders, smallest = 1, [], 1
    if resource == "n_samples":
        classifier = is_classifier(search.estimator) and data.y is not None
        for k, (train, _) in enumerate(data.splits):
            labels = np.asarray(_safe_indexing(data.y, train)) if classifier else None
            orders.append(_nested_order(len(train), labels, np.random.default_rng([seed, k])))
        if classifier and np.asarray(data.y).ndim == 1:
            floor = 2 * len(np.unique(np.asarray(data.y)))
        default_max = max(len(train) for train, _ in data.splits)
        # scikit-learn's min_resources="smallest": 2 samples per fold and class, out of the
        # whole data; as training rows of the largest fold.
        n_splits = len(data.splits)
        smallest = int(max(floor, 2) * n_splits / max(data.n_samples, 1) * default_max)
    else:
        default_max = params[resource]
        if search.max_resources == "auto" and not is_int(plain(default_max), 1):
            raise InvalidArgumentError(
                f"SearchCV(max_resources='auto'): the budget is the estimator's "
                f"{resource!r}, which is {default_max!r}, not an int >= 1; pass "
                "max_resources= yourself."
            )
    max_r = int(default_max if search.max_resources == "auto" else search.max_resources)
    if search.min_resources == "auto" and search.strategy == "halving":
        min_r = min(max(smallest, 1), max_r)
    elif search.min_resources == "auto":
        min_r = min(max(max_r // int(search.factor) ** 2, floor), max_r)
    else:
        min_r = int(search.min_resources)
    expected = f"at most max_resources={max_r} ({resource})"
    check("SearchCV", "min_resources", min_r, min_r <= max_r, expected)
    return _Budget(resource, min_r, max_r, tuple(orders))


def _whole(budget: float | None) -> int | None:
    """A trial's budget as a whole number of samples or iterations."""
    return None if budget is None else int(budget)
