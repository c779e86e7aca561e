"""One fit on one fold: fit a clone on the training rows, score it, keep the error of a failure.

:func:`_fit_and_score` runs in joblib's workers; :class:`_Data` is what every fit of one search
shares.
"""

from __future__ import annotations

import contextlib
import inspect
import time
import traceback
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperscout.exceptions import InvalidArgumentError


# -- one fit on one fold ---------------------------------------------------------------------
@dataclass
class _Fold:
    """What fitting and scoring one configuration on one fold gave."""

    fit_time: float
    score_time: float = 0.0
    test: dict[str, float] | None = None  # None: the fit (or a single scorer) failed
    train: dict[str, float] | None = None
    error: str | None = None
    fit_failed: bool = False  # the estimator's fit raised (not only a scorer)


def _rows(data: Any, rows: np.ndarray, columns: np.ndarray | None = None) -> Any:
    """``data[rows]``; for a precomputed kernel or distance matrix also ``[:, columns]``."""
    from sklearn.utils import _safe_indexing

    if columns is None:
        return _safe_indexing(data, rows)
    if hasattr(data, "iloc"):
        return data.iloc[rows, columns]
    if hasattr(data, "tocsr"):
        return data.tocsr()[rows][:, columns]
    return np.asarray(data)[np.ix_(rows, columns)]


def _as_score(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"scoring: the scorer {name!r} returned {value!r}; expected a number."
        ) from None


def _takes_sample_weight(scorer: Any) -> bool:
    """Whether a scorer weighs its score by ``sample_weight`` (GridSearchCV's rule)."""
    accepts = getattr(scorer, "_accept_sample_weight", None)  # scikit-learn's scorers know
    if callable(accepts):
        return bool(accepts())
    try:
        return "sample_weight" in inspect.signature(scorer).parameters
    except (TypeError, ValueError):
        return False


def _score(
    estimator: Any, X: Any, y: Any, scorer: Any, error_score: Any, weights: Any = None
) -> tuple[dict[str, float] | None, str | None]:
    """The scores of ``estimator`` on ``(X, y)``: by name, and the error of a failing scorer.

    ``weights`` (the rows' ``sample_weight``) go to the scorers that take them.
    """

    def call(one: Any) -> Any:
        if weights is not None and _takes_sample_weight(one):
            return one(estimator, X, y, sample_weight=weights)
        return one(estimator, X, y)

    if isinstance(scorer, dict):
        scores: dict[str, float] = {}
        errors: list[str] = []
        for name, one in scorer.items():
            try:
                value = call(one)
            except Exception:
                if error_score == "raise":
                    raise
                scores[name] = float(error_score)
                errors.append(traceback.format_exc())
                continue
            scores[name] = _as_score(value, name)
        return scores, "\n".join(errors) or None
    try:
        value = call(scorer)
    except Exception:
        if error_score == "raise":
            raise
        return None, traceback.format_exc()
    if isinstance(value, Mapping):
        return {str(k): _as_score(v, str(k)) for k, v in value.items()}, None
    return {"score": _as_score(value, "score")}, None


def _fit_and_score(
    estimator: Any,
    X: Any,
    y: Any,
    train: np.ndarray,
    test: np.ndarray,
    params: Mapping[str, Any],
    fit_params: Mapping[str, Any],
    scorer: Any,
    *,
    n_samples: int,
    return_train_score: bool,
    error_score: Any,
    pairwise: bool,
    quiet_convergence: bool,
) -> _Fold:
    """Fit a clone with ``params`` on the ``train`` rows and score it (runs in a joblib worker).

    A failing fit, or scorer, gives ``error_score`` instead of a score and keeps the error,
    unless ``error_score="raise"``.
    """
    from sklearn.exceptions import ConvergenceWarning

    estimator.set_params(**params)
    x_train = _rows(X, train, train if pairwise else None)
    x_test = _rows(X, test, train if pairwise else None)
    y_train = None if y is None else _rows(y, train)
    y_test = None if y is None else _rows(y, test)
    fold_params = {k: _fold_param(v, train, n_samples) for k, v in fit_params.items()}
    start = time.perf_counter()
    try:
        # A partial budget of iterations does not converge, by design. (The filters are only
        # touched then: catch_warnings is process-wide, and joblib may run fits in threads.)
        with warnings.catch_warnings() if quiet_convergence else contextlib.nullcontext():
            if quiet_convergence:
                warnings.simplefilter("ignore", ConvergenceWarning)
            if y_train is None:
                estimator.fit(x_train, **fold_params)
            else:
                estimator.fit(x_train, y_train, **fold_params)
    except Exception:
        if error_score == "raise":
            raise
        return _Fold(time.perf_counter() - start, error=traceback.format_exc(), fit_failed=True)
    fit_time = time.perf_counter() - start
    start = time.perf_counter()
    weights = fit_params.get("sample_weight")
    test_weights = None if weights is None else _fold_param(weights, test, n_samples)
    test_scores, error = _score(estimator, x_test, y_test, scorer, error_score, test_weights)
    score_time = time.perf_counter() - start
    train_scores = None
    if return_train_score:
        train_weights = fold_params.get("sample_weight")
        train_scores, train_error = _score(
            estimator, x_train, y_train, scorer, error_score, train_weights
        )
        error = error or train_error
    return _Fold(fit_time, score_time, test_scores, train_scores, error)


def _n_rows(value: Any) -> int | None:
    """The number of rows of an array-like, or None for anything else."""
    if isinstance(value, (str, bytes, Mapping)):
        return None
    shape = getattr(value, "shape", None)
    if shape is not None:
        return int(shape[0]) if len(shape) > 0 else None
    if hasattr(value, "__len__") and hasattr(value, "__getitem__"):
        return len(value)
    return None


def _fold_param(value: Any, rows: np.ndarray, n_samples: int) -> Any:
    """A fit parameter with one entry per sample (``sample_weight``) is split like X."""
    from sklearn.utils import _safe_indexing

    if _n_rows(value) == n_samples:
        return _safe_indexing(value, rows)
    return value


@dataclass
class _Data:
    """What every fit of one search shares."""

    X: Any
    y: Any
    splits: list[tuple[np.ndarray, np.ndarray]]
    fit_params: dict[str, Any]
    n_samples: int
    pairwise: bool
    base: Any  # the unfitted estimator clone
    scorer: Any


def _clone(estimator: Any, *, safe: bool = True) -> Any:
    from sklearn.base import clone

    return clone(estimator, safe=safe)
