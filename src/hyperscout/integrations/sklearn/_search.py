"""scikit-learn front end: :class:`SearchCV`, a search estimator driven by hyperscout's strategies.

``SearchCV`` keeps the conventions of scikit-learn's ``GridSearchCV``: ``fit`` cross-validates
every configuration the strategy proposes and refits the best one on the whole data; the
results are ``cv_results_`` (``GridSearchCV``'s keys), ``best_params_``, ``best_score_``,
``best_index_`` and ``best_estimator_``; ``predict``, ``predict_proba``, ``decision_function``,
``transform``, ``score`` ... go to the refitted estimator; ``get_params``, ``set_params`` and
``clone`` work as for any estimator. What differs is who proposes the configurations: a
hyperscout strategy (a Gaussian process, random draws, the grid, successive halving or
Hyperband), and each trial is also recorded in a hyperscout study (in memory by default).

The search space maps estimator parameters (``"C"``, or ``"clf__C"`` inside a pipeline) to:

- a list (or tuple, or 1-D array) of values, as in ``param_grid``: a choice among them, any
  objects (``None``, estimators, tuples) included;
- a range declared without a name, which the key gives: :func:`Int`, :func:`Float`,
  :func:`Choice`, :func:`Boolean`, :func:`Fixed` (the arguments of ``hp.Int`` ... without
  the name);
- a ``scipy.stats`` ``uniform``, ``loguniform`` or ``randint`` distribution, as in
  ``RandomizedSearchCV``'s ``param_distributions``;
- a hyperscout parameter object named like its key.

``space`` may instead be a function of ``hp`` that returns the parameters of one trial, for
conditional spaces (``hp.conditional_scope``) and values built from others.

>>> from sklearn.datasets import load_iris
>>> from sklearn.neighbors import KNeighborsClassifier
>>> X, y = load_iris(return_X_y=True)
>>> search = SearchCV(
...     KNeighborsClassifier(),
...     {"n_neighbors": Int(1, 30), "weights": ["uniform", "distance"]},
...     strategy="random", n_trials=5, cv=3, seed=0,
... ).fit(X, y)
>>> sorted(search.best_params_), len(search.cv_results_["params"])
(['n_neighbors', 'weights'], 5)
>>> float(search.best_score_) > 0.9
True
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import inspect
import math
import os
import secrets
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

from hyperscout import space as hs_space
from hyperscout.exceptions import (
    InvalidArgumentError,
    InvalidSpaceError,
    SearchFinished,
    TooManyFailedTrialsError,
    require,
)
from hyperscout.objective import Objective
from hyperscout.presets import (
    BayesianOptimization,
    GridSearch,
    Hyperband,
    RandomSearch,
    SuccessiveHalving,
)
from hyperscout.space import HyperParameters, Parameter
from hyperscout.trial import RunningTrial, Trial, TrialState
from hyperscout.tuner import Tuner

if TYPE_CHECKING or importlib.util.find_spec("sklearn") is not None:
    from sklearn.base import BaseEstimator, MetaEstimatorMixin
else:  # pragma: no cover - stand-ins so that the module imports without scikit-learn

    class BaseEstimator:
        """Stand-in: constructing :class:`SearchCV` asks for scikit-learn."""

    class MetaEstimatorMixin:
        """Stand-in: constructing :class:`SearchCV` asks for scikit-learn."""


__all__ = [
    "AllFitsFailedError",
    "Boolean",
    "Choice",
    "Fixed",
    "Float",
    "Int",
    "ParameterSpec",
    "SearchCV",
]

_FEATURE = "hyperscout.integrations.sklearn.SearchCV"
STRATEGIES = ("bayes", "random", "grid", "halving", "hyperband")
_BUDGETED = ("halving", "hyperband")
#: The metric the study of a search maximises: the mean test score of the refit metric.
SEARCH_METRIC = "mean_test_score"

_F = TypeVar("_F", bound=Callable[..., Any])


class AllFitsFailedError(TooManyFailedTrialsError, ValueError):
    """Every fit of every configuration failed, so there is no best one.

    A :class:`~hyperscout.TooManyFailedTrialsError`, and a ``ValueError`` as scikit-learn's
    searches raise in this case; the message shows the errors and the first traceback.
    """


def _require_sklearn() -> None:
    require("sklearn", feature=_FEATURE, extra="sklearn")


# -- parameters declared without a name ------------------------------------------------------
class ParameterSpec:
    """A hyperparameter declared without its name; the key of ``space`` names it.

    Made by :func:`Int`, :func:`Float`, :func:`Choice`, :func:`Boolean` and :func:`Fixed`.

    >>> spec = Float(1e-3, 1e2, sampling="log")
    >>> spec
    Float(0.001, 100.0, sampling='log')
    >>> spec.bind("C")
    Float('C', min_value=0.001, max_value=100.0, step=None, sampling='log', default=None)
    """

    def __init__(
        self, kind: type[Parameter], args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> None:
        self.kind = kind
        self.args = args
        self.kwargs = dict(kwargs)
        try:  # check the definition now, where the mistake was made
            self.bind("_")
        except InvalidSpaceError as exc:
            raise InvalidSpaceError(
                str(exc).replace(f"hp.{kind.__name__}('_')", repr(self))
            ) from None

    def bind(self, name: str) -> Parameter:
        """The hyperscout parameter named ``name``."""
        return self.kind(name, *self.args, **self.kwargs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParameterSpec) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))

    def __repr__(self) -> str:
        parts = [repr(a) for a in self.args]
        parts += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.kind.__name__}({', '.join(parts)})"


def _spec(kind: type[Parameter], args: tuple[Any, ...], **kwargs: Any) -> ParameterSpec:
    """A spec with the keyword arguments that differ from their defaults (for a short repr)."""
    defaults = {"step": None, "sampling": "linear", "default": None, "ordered": None}
    given = {k: v for k, v in kwargs.items() if not (k in defaults and v == defaults[k])}
    if kind is hs_space.Boolean and given.get("default") is False:
        given.pop("default")
    return ParameterSpec(kind, args, given)


def Int(
    min_value: int,
    max_value: int,
    step: int | None = None,
    sampling: str = "linear",
    default: int | None = None,
) -> ParameterSpec:
    """An integer range, as ``hp.Int`` without the name.

    >>> Int(1, 64, sampling="log")
    Int(1, 64, sampling='log')
    """
    return _spec(
        hs_space.Int, (min_value, max_value), step=step, sampling=sampling, default=default
    )


def Float(
    min_value: float,
    max_value: float,
    step: float | None = None,
    sampling: str = "linear",
    default: float | None = None,
) -> ParameterSpec:
    """A float range (``sampling`` linear, log or reverse_log), as ``hp.Float`` without the name.

    >>> Float(0.0, 1.0, step=0.25).bind("alpha").grid()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    return _spec(
        hs_space.Float, (min_value, max_value), step=step, sampling=sampling, default=default
    )


def Choice(
    values: Sequence[Any], ordered: bool | None = None, default: Any = None
) -> ParameterSpec:
    """One of a list of ints, floats, strs or bools, as ``hp.Choice`` without the name.

    A plain list in ``space`` is a choice too, and takes any objects; ``Choice`` adds
    ``ordered`` and ``default``.

    >>> Choice(["l1", "l2"], default="l2")
    Choice(['l1', 'l2'], default='l2')
    """
    return _spec(hs_space.Choice, (list(values),), ordered=ordered, default=default)


def Boolean(default: bool = False) -> ParameterSpec:
    """True or False, as ``hp.Boolean`` without the name.

    >>> Boolean()
    Boolean()
    """
    return _spec(hs_space.Boolean, (), default=default)


def Fixed(value: Any) -> ParameterSpec:
    """A constant recorded with each trial, as ``hp.Fixed`` without the name.

    >>> Fixed("saga")
    Fixed('saga')
    """
    return _spec(hs_space.Fixed, (value,))


# -- the search space ------------------------------------------------------------------------
@dataclass(frozen=True)
class _Entry:
    """One key of a mapping space: its hyperscout parameter and, for a list, the listed objects."""

    key: str
    parameter: Parameter
    objects: tuple[Any, ...] | None = None

    def value(self, hp_value: Any) -> Any:
        if self.objects is None:
            return hp_value
        choice = cast(hs_space.Choice, self.parameter)
        return self.objects[choice.index(hp_value)]


@dataclass
class _Space:
    """A compiled space: the hyperscout space declared ahead, and the parameters of one trial."""

    hyperparameters: HyperParameters
    build: Callable[[HyperParameters], dict[str, Any]]
    names: tuple[str, ...]  # the estimator parameters known ahead (for resource checks)


def _choice_values(values: list[Any]) -> list[Any] | None:
    """The values as a hyperscout Choice takes them (one plain type), or None."""
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return [bool(v) for v in values]
    numbers = [
        v
        for v in values
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    ]
    if len(numbers) == len(values) and all(math.isfinite(float(v)) for v in values):
        if all(isinstance(v, (int, np.integer)) for v in values):
            return [int(v) for v in values]
        return [float(v) for v in values]
    if all(isinstance(v, str) for v in values):
        return [str(v) for v in values]
    return None


def _list_entry(key: str, values: list[Any]) -> _Entry:
    if not values:
        raise InvalidSpaceError(f"space[{key!r}]: the list of values is empty; give at least one.")
    plain = _choice_values(values)
    if plain is not None:
        return _Entry(key, hs_space.Choice(key, plain), tuple(values))
    # Objects hyperscout cannot store (None, estimators, tuples, a mix of types): the study
    # records their position in the list, as an unordered choice.
    return _Entry(key, hs_space.Choice(key, list(range(len(values))), ordered=False), tuple(values))


def _distribution_entry(key: str, dist: Any) -> _Entry:
    name = getattr(getattr(dist, "dist", None), "name", None)
    low, high = dist.support()
    if name == "uniform":
        return _Entry(key, hs_space.Float(key, float(low), float(high)))
    if name in ("loguniform", "reciprocal"):
        return _Entry(key, hs_space.Float(key, float(low), float(high), sampling="log"))
    if name == "randint":
        return _Entry(key, hs_space.Int(key, int(low), int(high)))
    raise InvalidSpaceError(
        f"space[{key!r}]: the scipy.stats distribution {name!r} has no bounded hyperscout "
        "equivalent; expected uniform, loguniform or randint, or a range such as "
        "Float(0.0, 1.0)."
    )


def _entry(key: Any, value: Any) -> _Entry:
    if not isinstance(key, str) or not key:
        raise InvalidArgumentError(
            f"space: expected estimator parameter names (non-empty str) as keys, got {key!r}."
        )
    if isinstance(value, ParameterSpec):
        return _Entry(key, value.bind(key))
    if isinstance(value, Parameter):
        if value.name != key:
            raise InvalidSpaceError(
                f"space[{key!r}]: the parameter is named {value.name!r}; name it {key!r}, or "
                f"declare it without a name (Float(...), Int(...) ...) so that the key names it."
            )
        if value.conditions:
            raise InvalidSpaceError(
                f"space[{key!r}]: a parameter with conditions needs a space function of hp "
                "(with hp.conditional_scope); a dict space is flat."
            )
        return _Entry(key, value)
    if isinstance(value, (list, tuple)):
        return _list_entry(key, list(value))
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return _list_entry(key, list(value))
    if hasattr(value, "rvs") and hasattr(value, "support"):
        return _distribution_entry(key, value)
    raise InvalidSpaceError(
        f"space[{key!r}]: expected a list of values, a range such as Float(1e-3, 1e2, "
        "sampling='log') or Int(1, 10), a hyperscout parameter, or a scipy.stats uniform, "
        f"loguniform or randint distribution; got {value!r}. A constant goes in a list "
        f"([{value!r}]) or Fixed({value!r})."
    )


def _compile_space(space: Any) -> _Space:
    """Check ``space`` and turn it into a hyperscout space plus a builder of trial parameters."""
    if isinstance(space, Mapping):
        # Sorted keys, as scikit-learn's ParameterGrid: a grid runs in GridSearchCV's order.
        entries = [_entry(key, space[key]) for key in sorted(space, key=str)]
        hp = HyperParameters.from_dict({"parameters": [e.parameter.to_dict() for e in entries]})

        def build(hp: HyperParameters) -> dict[str, Any]:
            return {e.key: e.value(hp.get(e.key)) for e in entries}

        return _Space(hp, build, tuple(e.key for e in entries))
    if callable(space):
        function = cast(Callable[[HyperParameters], Any], space)

        def build(hp: HyperParameters) -> dict[str, Any]:
            params = function(hp)
            if not isinstance(params, Mapping) or not all(isinstance(k, str) and k for k in params):
                raise InvalidArgumentError(
                    f"space: the function {getattr(function, '__name__', function)!r} must "
                    f"return a dict of estimator parameters (name -> value), got {params!r}."
                )
            return dict(params)

        # One call with every parameter at its default registers the parameters it meets.
        declared = HyperParameters()
        names = tuple(build(declared))
        return _Space(declared, build, names)
    raise InvalidArgumentError(
        "space: expected a dict of estimator parameter names to values (a list, Float(...), "
        f"Int(...) ...) or a function of hp that returns the parameters, got {space!r}."
    )


# -- one fit on one fold ---------------------------------------------------------------------
@dataclass
class _Fold:
    """What fitting and scoring one configuration on one fold gave."""

    fit_time: float
    score_time: float = 0.0
    test: dict[str, float] | None = None  # None: the fit (or a single scorer) failed
    train: dict[str, float] | None = None
    error: str | None = None


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
        return _Fold(time.perf_counter() - start, error=traceback.format_exc())
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


# -- cv_results_ -----------------------------------------------------------------------------
@dataclass
class _Evaluation:
    """One configuration cross-validated: one trial of the study, one row of ``cv_results_``."""

    params: dict[str, Any]
    folds: list[_Fold]
    budget: int | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    trial: Trial | None = None

    def scores(self, name: str, error_score: Any, *, train: bool = False) -> list[float]:
        missing = math.nan if isinstance(error_score, str) else float(error_score)
        out = []
        for fold in self.folds:
            scores = fold.train if train else fold.test
            out.append(missing if scores is None else scores.get(name, missing))
        return out

    @property
    def failed_fits(self) -> int:
        return sum(fold.test is None or fold.error is not None for fold in self.folds)


def _column_dtype(values: list[Any]) -> np.dtype[Any]:
    """Numbers keep a numeric dtype; strings and objects are stored as objects."""
    try:
        array = np.asarray(values)
    except (ValueError, TypeError):
        return np.dtype(object)
    if array.ndim == 1 and array.dtype.kind in "biufcmM":
        return array.dtype
    return np.dtype(object)


def _param_columns(candidates: list[dict[str, Any]]) -> Iterator[tuple[str, np.ma.MaskedArray]]:
    """A masked array per parameter name: masked where a configuration lacks the parameter."""
    names = list(dict.fromkeys(name for params in candidates for name in params))
    for name in names:
        present = [(i, params[name]) for i, params in enumerate(candidates) if name in params]
        dtype = _column_dtype([value for _, value in present])
        column: np.ma.MaskedArray = np.ma.MaskedArray(
            np.empty(len(candidates), dtype=dtype), mask=True
        )
        for i, value in present:
            column[i] = value
        yield f"param_{name}", column


def _rank(means: np.ndarray) -> np.ndarray:
    """Ranks, 1 the best (ties share the smaller rank); NaN means come last, tied together."""
    from scipy.stats import rankdata

    if np.isnan(means).all():
        return np.ones(len(means), dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1.0, means)
    return cast(np.ndarray, rankdata(-filled, method="min").astype(np.int32))


def _put_stats(results: dict[str, Any], key: str, array: np.ndarray) -> None:
    results[f"mean_{key}"] = array.mean(axis=1)
    results[f"std_{key}"] = array.std(axis=1)


def _cv_results(
    evaluations: list[_Evaluation],
    names: list[str],
    *,
    n_splits: int,
    error_score: Any,
    return_train_score: bool,
    extras: Mapping[str, list[Any]],
) -> dict[str, Any]:
    """``cv_results_`` in GridSearchCV's layout, one row per evaluation."""
    results: dict[str, Any] = {key: np.asarray(column) for key, column in extras.items()}
    for key in ("fit_time", "score_time"):
        times = np.array(
            [[getattr(f, key) for f in e.folds] for e in evaluations], dtype=np.float64
        )
        _put_stats(results, key, times)
    candidates = [e.params for e in evaluations]
    results.update(_param_columns(candidates))
    results["params"] = candidates
    for name in names:
        for split in ("test", "train") if return_train_score else ("test",):
            scores = np.array(
                [e.scores(name, error_score, train=split == "train") for e in evaluations],
                dtype=np.float64,
            ).reshape(len(evaluations), n_splits)
            for k in range(n_splits):
                results[f"split{k}_{split}_{name}"] = scores[:, k]
            _put_stats(results, f"{split}_{name}", scores)
            if split == "test":
                results[f"rank_test_{name}"] = _rank(results[f"mean_test_{name}"])
    return results


# -- budgets ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Budget:
    """What the budget of a halving or Hyperband trial is, and its range."""

    resource: str  # "n_samples" or an estimator parameter such as "max_iter"
    min_resources: int
    max_resources: int
    orders: tuple[np.ndarray, ...] = ()  # n_samples: each fold's training rows, nested order

    def train_rows(self, fold: int, train: np.ndarray, budget: int | None) -> np.ndarray:
        """The training rows of ``fold`` for a trial with ``budget`` (n_samples only)."""
        if self.resource != "n_samples" or budget is None or budget >= len(train):
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


# -- the estimator ---------------------------------------------------------------------------
def _check(name: str, value: Any, ok: bool, expected: str) -> None:
    """The one template of SearchCV's argument errors."""
    if not ok:
        raise InvalidArgumentError(f"SearchCV({name}=...): expected {expected}, got {value!r}.")


def _is_int(value: Any, minimum: int) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, np.integer))
        and int(value) >= minimum
    )


def _delegates(attr: str) -> Callable[[Any], bool]:
    """True when the refitted estimator (before fit: the estimator) has ``attr``."""

    def check(search: Any) -> bool:
        if not search.refit:
            raise AttributeError(
                f"{type(search).__name__} has no {attr} with refit=False: no estimator is "
                "refitted. Build one from best_params_."
            )
        inner = getattr(search, "best_estimator_", search.estimator)
        getattr(inner, attr)  # AttributeError when it lacks it
        return True

    return check


def _available_if(check: Callable[[Any], bool]) -> Callable[[_F], _F]:
    """scikit-learn's ``available_if``: the method exists only while ``check`` passes."""
    try:
        from sklearn.utils.metaestimators import available_if
    except ImportError:  # pragma: no cover - without scikit-learn, SearchCV() asks for it
        return lambda method: method
    return cast(Callable[[_F], _F], available_if(check))


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


class SearchCV(MetaEstimatorMixin, BaseEstimator):  # type: ignore[misc]
    """Cross-validated hyperparameter search with hyperscout's strategies, as an estimator.

    Args:
        estimator: a scikit-learn estimator (or pipeline) to tune; cloned, never changed.
        space: a dict of estimator parameter names (``"C"``, ``"clf__C"``) to a list of
            values, a range (:func:`Float`, :func:`Int`, :func:`Choice`, :func:`Boolean`,
            :func:`Fixed`), a hyperscout parameter, or a ``scipy.stats`` ``uniform``,
            ``loguniform`` or ``randint`` distribution; or a function ``space(hp)`` that
            returns the parameters of one trial (conditional spaces).
        strategy: ``"bayes"`` (a Gaussian process, as :class:`~hyperscout.BayesianOptimization`),
            ``"random"``, ``"grid"`` (every combination, in GridSearchCV's order),
            ``"halving"`` (successive halving) or ``"hyperband"``.
        n_trials: configurations to evaluate; None: 10 for bayes and random, the whole grid,
            every rung of halving and Hyperband.
        cv: folds (an int), a splitter or an iterable of splits, as in scikit-learn. The
            splits are made once per fit: every configuration sees the same folds.
        scoring: None (the estimator's ``score``), a scorer name, a callable, or a list or
            dict of them (multi-metric).
        refit: True (refit the best configuration on all the data), a metric name (several
            metrics: the one to optimise and refit on), a callable ``cv_results_ -> index``,
            or False.
        n_jobs: joblib workers for the fits: the folds of a configuration, and several
            configurations at once when workers outnumber folds. None: one; -1: every core.
        seed: seeds the strategy and the subsamples of halving and Hyperband; None: random.
        resource: the budget of halving and Hyperband: ``"n_samples"`` (training rows of
            each fold: a seeded, stratified, nested subsample; the test folds stay whole),
            an estimator parameter such as ``"max_iter"`` or ``"clf__n_estimators"``, or
            ``"auto"`` (``max_iter`` when the estimator, or exactly one of its steps, has
            it; ``"n_samples"`` otherwise).
        min_resources, max_resources: the budget range. ``"auto"``: up to the largest
            training fold (or the estimator's own value of the parameter), down to
            ``max_resources // factor**2`` (three rungs), and at least two samples per class.
        factor: the ratio between the budgets of successive rungs.
        error_score: the score of a failing fit. A number or NaN (the default): the failure
            is recorded, a ``FitFailedWarning`` says why after the search, and the search goes
            on. ``"raise"``: the error is raised.
        return_train_score: also score on the training folds.
        verbose: 0 silent, 1 a line per trial.
        pre_dispatch: joblib's ``pre_dispatch``.
        storage: where the study is kept: None (in memory, or an SQLite file under
            ``directory`` when one is given), ``"memory"``, or a database URL such as
            ``"sqlite:///search.db"``.
        directory: a folder for the study (``directory/project_name/hyperscout.db``).
        project_name: the study's name; each ``fit`` starts it over.

    Attributes:
        cv_results_: GridSearchCV's dict: ``mean_fit_time``, ``std_fit_time``,
            ``mean_score_time``, ``std_score_time``, ``param_<name>`` (masked arrays),
            ``params``, ``split<k>_test_<metric>``, ``mean_test_<metric>``,
            ``std_test_<metric>``, ``rank_test_<metric>`` (``<metric>`` is ``score`` for one
            metric), and the train scores with ``return_train_score``. Halving and Hyperband
            add ``n_resources`` (the budget) and ``iter`` (the rung); Hyperband ``bracket``.
        best_params_, best_score_, best_index_, best_estimator_, refit_time_: as in
            GridSearchCV. Under halving and Hyperband the best is chosen among the
            configurations run on the largest budget.
        scorer_, multimetric_, n_splits_, classes_, n_features_in_, feature_names_in_: as in
            GridSearchCV.
        trials_: the study's :class:`~hyperscout.Trial` records, one per row of
            ``cv_results_``.

    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> pipe = make_pipeline(StandardScaler(), LogisticRegression())
    >>> search = SearchCV(pipe, {"logisticregression__C": Float(1e-3, 1e2, sampling="log")},
    ...                   n_trials=8, cv=3, seed=0).fit(X, y)
    >>> float(search.best_score_) > 0.95, search.predict(X[:3]).shape
    (True, (3,))
    """

    def __init__(
        self,
        estimator: Any,
        space: Mapping[str, Any] | Callable[[HyperParameters], Mapping[str, Any]],
        *,
        strategy: str = "bayes",
        n_trials: int | None = None,
        cv: Any = 5,
        scoring: Any = None,
        refit: bool | str | Callable[[dict[str, Any]], int] = True,
        n_jobs: int | None = None,
        seed: int | None = None,
        resource: str = "auto",
        min_resources: int | str = "auto",
        max_resources: int | str = "auto",
        factor: int = 3,
        error_score: float | str = np.nan,
        return_train_score: bool = False,
        verbose: int = 0,
        pre_dispatch: int | str = "2*n_jobs",
        storage: str | None = None,
        directory: str | os.PathLike[str] | None = None,
        project_name: str = "searchcv",
    ) -> None:
        _require_sklearn()
        self.estimator = estimator
        self.space = space
        self.strategy = strategy
        self.n_trials = n_trials
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.n_jobs = n_jobs
        self.seed = seed
        self.resource = resource
        self.min_resources = min_resources
        self.max_resources = max_resources
        self.factor = factor
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.verbose = verbose
        self.pre_dispatch = pre_dispatch
        self.storage = storage
        self.directory = directory
        self.project_name = project_name

    # -- argument checks (at fit, as scikit-learn's conventions ask) -------------------------
    def _check_arguments(self) -> None:
        def is_number(value: Any) -> bool:
            return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)

        def is_text(value: Any, *allowed: str) -> bool:
            return isinstance(value, str) and (not allowed or value in allowed)

        s = self
        rules: list[tuple[str, bool, str]] = [
            ("estimator", hasattr(s.estimator, "fit"), "an estimator"),
            (
                "strategy",
                is_text(s.strategy, *STRATEGIES),
                "one of " + ", ".join(map(repr, STRATEGIES)),
            ),
            ("n_trials", s.n_trials is None or _is_int(s.n_trials, 1), "an int >= 1 or None"),
            (
                "refit",
                isinstance(s.refit, (bool, str)) or callable(s.refit),
                "True, False, a metric name or a callable",
            ),
            (
                "n_jobs",
                s.n_jobs is None or (_is_int(s.n_jobs, -(2**31)) and s.n_jobs != 0),
                "an int other than 0, or None",
            ),
            ("seed", s.seed is None or _is_int(s.seed, 0), "an int >= 0 or None"),
            ("resource", is_text(s.resource), "a str"),
            (
                "min_resources",
                is_text(s.min_resources, "auto") or _is_int(s.min_resources, 1),
                "'auto' or an int >= 1",
            ),
            (
                "max_resources",
                is_text(s.max_resources, "auto") or _is_int(s.max_resources, 1),
                "'auto' or an int >= 1",
            ),
            ("factor", _is_int(s.factor, 2), "an int >= 2"),
            (
                "error_score",
                is_text(s.error_score, "raise") or is_number(s.error_score),
                "'raise' or a number",
            ),
            (
                "return_train_score",
                isinstance(s.return_train_score, (bool, np.bool_)),
                "True or False",
            ),
            ("verbose", _is_int(s.verbose, 0), "an int >= 0"),
            (
                "storage",
                s.storage is None or is_text(s.storage),
                "None, 'memory' or a database URL such as 'sqlite:///search.db' (a Storage "
                "object cannot be cloned by scikit-learn)",
            ),
            (
                "directory",
                s.directory is None or isinstance(s.directory, (str, os.PathLike)),
                "a folder or None",
            ),
            ("project_name", is_text(s.project_name) and bool(s.project_name), "a non-empty str"),
        ]
        for name, ok, expected in rules:
            _check(name, getattr(self, name), ok, expected)

    def _scorers(self) -> tuple[Any, bool]:
        """The scorer, or a dict of named scorers, and whether several metrics were named."""
        from sklearn.metrics import check_scoring

        scoring = self.scoring
        if scoring is None or isinstance(scoring, str) or callable(scoring):
            return check_scoring(self.estimator, scoring=scoring), False
        if isinstance(scoring, (list, tuple)):
            names = list(scoring)
            _check(
                "scoring",
                scoring,
                bool(names)
                and all(isinstance(n, str) for n in names)
                and len(set(names)) == len(names),
                "a non-empty list of distinct scorer names",
            )
            return {n: check_scoring(self.estimator, scoring=n) for n in names}, True
        if isinstance(scoring, Mapping):
            _check(
                "scoring",
                scoring,
                bool(scoring)
                and all(isinstance(k, str) for k in scoring)
                and all(isinstance(v, str) or callable(v) for v in scoring.values()),
                "a non-empty dict of names to scorer names or callables",
            )
            return {k: check_scoring(self.estimator, scoring=v) for k, v in scoring.items()}, True
        raise InvalidArgumentError(
            f"SearchCV(scoring=...): expected None, a scorer name, a callable, or a list or "
            f"dict of them, got {scoring!r}."
        )

    def _check_refit_metric(self, names: list[str]) -> None:
        if self.refit is False or callable(self.refit):
            return
        _check(
            "refit",
            self.refit,
            isinstance(self.refit, str) and self.refit in names,
            f"with several metrics, one of their names {names} (or False, or a callable)",
        )

    def _metric(self, names: list[str]) -> str:
        """The metric the strategy optimises and ``best_score_`` reports."""
        if isinstance(self.refit, str) and self.refit in names:
            return self.refit
        return names[0] if names else "score"

    # -- budgets -------------------------------------------------------------------------
    def _budget(self, space: _Space, data: _Data, seed: int) -> _Budget:
        from sklearn.base import is_classifier
        from sklearn.utils import _safe_indexing

        params = self.estimator.get_params(deep=True)
        resource = self.resource
        if resource == "auto":  # an int max_iter, of the estimator or of exactly one step
            iterations = [
                k for k in params if k.split("__")[-1] == "max_iter" and _is_int(params[k], 1)
            ]
            resource = iterations[0] if len(iterations) == 1 else "n_samples"
        _check(
            "resource",
            self.resource,
            resource == "n_samples" or resource in params,
            "'auto', 'n_samples' or a parameter of the estimator, such as 'max_iter'",
        )
        if resource in space.names:
            raise InvalidArgumentError(
                f"SearchCV(resource={resource!r}): {resource!r} is the budget of "
                f"strategy={self.strategy!r}, so space cannot search it too; remove it from "
                "space or choose another resource."
            )
        floor, orders = 1, []
        if resource == "n_samples":
            classifier = is_classifier(self.estimator) and data.y is not None
            for k, (train, _) in enumerate(data.splits):
                labels = np.asarray(_safe_indexing(data.y, train)) if classifier else None
                orders.append(_nested_order(len(train), labels, np.random.default_rng([seed, k])))
            if classifier and np.asarray(data.y).ndim == 1:
                floor = 2 * len(np.unique(np.asarray(data.y)))
            default_max = max(len(train) for train, _ in data.splits)
        else:
            default_max = params[resource]
            if self.max_resources == "auto" and not _is_int(default_max, 1):
                raise InvalidArgumentError(
                    f"SearchCV(max_resources='auto'): the budget is the estimator's "
                    f"{resource!r}, which is {default_max!r}, not an int >= 1; pass "
                    "max_resources= yourself."
                )
        max_r = int(default_max if self.max_resources == "auto" else self.max_resources)
        if self.min_resources == "auto":
            min_r = min(max(max_r // int(self.factor) ** 2, floor), max_r)
        else:
            min_r = int(self.min_resources)
        if min_r > max_r:
            raise InvalidArgumentError(
                f"SearchCV(min_resources=...): expected at most max_resources={max_r} "
                f"({resource}), got {min_r}."
            )
        return _Budget(resource, min_r, max_r, tuple(orders))

    # -- the study -----------------------------------------------------------------------
    def _n_trials(self) -> int | None:
        if self.n_trials is not None:
            return int(self.n_trials)
        return 10 if self.strategy in ("bayes", "random") else None

    def _tuner(self, space: _Space, budget: _Budget | None, seed: int) -> Tuner:
        storage = self.storage
        if storage is None and self.directory is None:
            storage = "memory"
        common: dict[str, Any] = {
            "objective": Objective(SEARCH_METRIC, "max"),
            "hyperparameters": space.hyperparameters,
            "seed": seed,
            "storage": storage,
            "directory": self.directory,
            "project_name": self.project_name,
            "overwrite": True,
            "verbose": 0,
        }
        if self.strategy == "bayes":
            n = self._n_trials() or 10
            return BayesianOptimization(None, num_initial_points=min(10, max(2, n // 2)), **common)
        if self.strategy == "random":
            return RandomSearch(None, **common)
        if self.strategy == "grid":
            return GridSearch(None, **common)
        assert budget is not None  # a budgeted strategy
        if self.strategy == "halving":
            return SuccessiveHalving(
                None,
                min_budget=budget.min_resources,
                max_budget=budget.max_resources,
                factor=int(self.factor),
                **common,
            )
        return Hyperband(
            None,
            max_epochs=budget.max_resources,
            min_epochs=budget.min_resources,
            factor=int(self.factor),
            **common,
        )

    def _ask(
        self, tuner: Tuner, space: _Space, data: _Data, budget: _Budget | None, room: int
    ) -> list[tuple[RunningTrial, dict[str, Any]]]:
        """Up to ``room`` new trials with their estimator parameters (fewer: the strategy
        waits for results, or has nothing left)."""
        batch: list[tuple[RunningTrial, dict[str, Any]]] = []
        while len(batch) < room:
            try:
                hp, trial = tuner.ask()
            except SearchFinished:
                break
            try:
                params = space.build(hp)
                if budget is not None and budget.resource != "n_samples":
                    params[budget.resource] = _whole(trial.budget)
                try:  # a misspelt name fails here, before any fit
                    _clone(data.base).set_params(**params)
                except ValueError as exc:
                    raise InvalidArgumentError(
                        f"space: the estimator does not take these parameters: {exc}"
                    ) from None
            except BaseException as exc:
                for pending, _ in [*batch, (trial, {})]:
                    tuner.tell(pending, state=TrialState.FAILED, error=f"{exc}")
                raise
            batch.append((trial, params))
        return batch

    def _tell(
        self, tuner: Tuner, trial: RunningTrial, evaluation: _Evaluation, names: list[str]
    ) -> Trial:
        """Record an evaluation in the study: its mean score, or a failure."""
        metric = self._metric(names)
        means = {name: float(np.mean(evaluation.scores(name, self.error_score))) for name in names}
        mean = means.get(metric, math.nan)
        if self.verbose:
            budget = "" if evaluation.budget is None else f" on budget {evaluation.budget}"
            print(
                f"[SearchCV] trial {trial.number}{budget}: mean_test_{metric}={mean:.5g} "
                f"for {evaluation.params}"
            )
        if not math.isfinite(mean):
            failed = evaluation.failed_fits
            reason = (
                f"{failed} of {len(evaluation.folds)} fits failed"
                if failed
                else f"the mean test score is {mean}"
            )
            error = f"No score: {reason} (error_score={self.error_score!r})."
            return tuner.tell(trial, state=TrialState.FAILED, error=error)
        metrics = {SEARCH_METRIC: mean}
        metrics.update({f"mean_test_{n}": v for n, v in means.items() if n != "score"})
        metrics["mean_fit_time"] = float(np.mean([f.fit_time for f in evaluation.folds]))
        return tuner.tell(trial, metrics)

    def _evaluate(
        self,
        parallel: Any,
        batch: list[tuple[RunningTrial, dict[str, Any]]],
        data: _Data,
        budget: _Budget | None,
    ) -> list[list[_Fold]]:
        """Cross-validate a batch of configurations; the folds of each, in order."""
        from sklearn.utils.parallel import delayed

        jobs = []
        for trial, params in batch:
            for k, (train, test) in enumerate(data.splits):
                rows = (
                    train if budget is None else budget.train_rows(k, train, _whole(trial.budget))
                )
                jobs.append(
                    delayed(_fit_and_score)(
                        _clone(data.base),
                        data.X,
                        data.y,
                        rows,
                        test,
                        _clone(params, safe=False),
                        data.fit_params,
                        data.scorer,
                        n_samples=data.n_samples,
                        return_train_score=bool(self.return_train_score),
                        error_score=self.error_score,
                        pairwise=data.pairwise,
                        quiet_convergence=budget is not None
                        and budget.is_partial(_whole(trial.budget)),
                    )
                )
        folds = list(parallel(jobs))
        n = len(data.splits)
        return [folds[i : i + n] for i in range(0, len(folds), n)]

    # -- fit -----------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> SearchCV:
        """Cross-validate the configurations the strategy proposes; refit the best.

        Args:
            X: the training data.
            y: the targets (None for unsupervised estimators).
            **fit_params: passed to the estimator's ``fit``, split with the folds when they
                have one entry per sample (``sample_weight``); ``groups`` goes to the
                splitter.

        Raises:
            InvalidArgumentError: a bad argument or space (the message names it).
            AllFitsFailedError: every fit of every configuration failed (a ValueError).
        """
        from joblib import effective_n_jobs  # type: ignore[import-untyped]
        from sklearn.base import is_classifier
        from sklearn.model_selection import check_cv
        from sklearn.utils import get_tags, indexable
        from sklearn.utils.parallel import Parallel

        self._check_arguments()
        space = _compile_space(self.space)
        scorer, multimetric = self._scorers()
        if multimetric:
            self._check_refit_metric(list(scorer))
        if y is None and get_tags(self.estimator).target_tags.required:
            raise InvalidArgumentError(
                f"SearchCV.fit(): {type(self.estimator).__name__} requires y to be passed, but "
                "the target y is None."
            )
        groups = fit_params.pop("groups", None)
        X, y, groups = indexable(X, y, groups)  # noqa: N806 - scikit-learn's names
        fit_params = {
            # Array-likes without a length (only __array__) become arrays, to be split.
            k: np.asarray(v) if hasattr(v, "__array__") and _n_rows(v) is None else v
            for k, v in fit_params.items()
        }
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        data = _Data(
            X=X,
            y=y,
            splits=[(np.asarray(tr), np.asarray(te)) for tr, te in cv.split(X, y, groups)],
            fit_params=fit_params,
            n_samples=cast(int, _n_rows(X)),
            pairwise=bool(get_tags(self.estimator).input_tags.pairwise),
            base=_clone(self.estimator),
            scorer=scorer,
        )
        self.n_splits_ = len(data.splits)
        seed = int(self.seed) if self.seed is not None else secrets.randbelow(2**31)
        budget = self._budget(space, data, seed) if self.strategy in _BUDGETED else None
        tuner = self._tuner(space, budget, seed)
        n_trials = self._n_trials()
        batch_size = max(1, -(-effective_n_jobs(self.n_jobs) // len(data.splits)))
        names: list[str] = list(scorer) if multimetric else []
        evaluations: list[_Evaluation] = []
        try:
            with Parallel(n_jobs=self.n_jobs, pre_dispatch=self.pre_dispatch) as parallel:
                while n_trials is None or len(evaluations) < n_trials:
                    room = batch_size
                    if n_trials is not None:
                        room = min(room, n_trials - len(evaluations))
                    batch = self._ask(tuner, space, data, budget, room)
                    if not batch:
                        break
                    try:
                        all_folds = self._evaluate(parallel, batch, data, budget)
                    except BaseException as exc:  # error_score="raise", Ctrl-C ...
                        for trial, _ in batch:
                            tuner.tell(trial, state=TrialState.FAILED, error=f"{exc!r}")
                        raise
                    for (trial, params), folds in zip(batch, all_folds, strict=True):
                        for fold in folds:
                            names.extend(n for n in fold.test or {} if n not in names)
                        evaluation = _Evaluation(
                            params, folds, _whole(trial.budget), dict(trial.attrs)
                        )
                        evaluation.trial = self._tell(tuner, trial, evaluation, names)
                        evaluations.append(evaluation)
        finally:
            tuner.close()

        self._report_failures(evaluations)
        names = names or ["score"]
        self.multimetric_ = multimetric or names != ["score"]
        if self.multimetric_ and not multimetric:  # a callable scorer gave several metrics
            self._check_refit_metric(names)
        extras: dict[str, list[Any]] = {}
        if budget is not None:
            extras["n_resources"] = [e.budget for e in evaluations]
            extras["iter"] = [int(e.attrs.get("rung", 0)) for e in evaluations]
            if self.strategy == "hyperband":
                extras["bracket"] = [int(e.attrs.get("bracket", 0)) for e in evaluations]
        results = _cv_results(
            evaluations,
            names,
            n_splits=len(data.splits),
            error_score=self.error_score,
            return_train_score=bool(self.return_train_score),
            extras=extras,
        )
        self._warn_non_finite(evaluations, results, names)
        if self.refit is not False or not self.multimetric_:
            self._select_best(results, names, budgeted=budget is not None)
        if self.refit:
            self._refit(data, budget)
        self.scorer_ = scorer
        self.cv_results_ = results
        self.trials_ = [e.trial for e in evaluations]
        return self

    def _report_failures(self, evaluations: list[_Evaluation]) -> None:
        """One FitFailedWarning for the whole search; an error when nothing could be fitted."""
        from sklearn.exceptions import FitFailedWarning

        errors = [f.error for e in evaluations for f in e.folds if f.error is not None]
        n_fits = sum(len(e.folds) for e in evaluations)
        if not errors:
            return
        by_reason = Counter(_reason(error) for error in errors)
        first = next(e for e in errors if _reason(e) == by_reason.most_common(1)[0][0])
        summary = "\n".join(f"  {n} x {reason}" for reason, n in by_reason.most_common(5))
        if all(f.test is None for e in evaluations for f in e.folds):
            raise AllFitsFailedError(
                f"All {n_fits} fits of the {len(evaluations)} configurations failed, so there "
                f"is no best one. The errors:\n{summary}\nThe first traceback:\n{first}"
            )
        warnings.warn(
            f"{len(errors)} of {n_fits} fits failed; their scores are error_score="
            f"{self.error_score!r} and the search went on (error_score='raise' raises "
            f"instead). The errors:\n{summary}\nThe first traceback:\n{first}",
            FitFailedWarning,
            stacklevel=3,
        )

    def _warn_non_finite(
        self, evaluations: list[_Evaluation], results: Mapping[str, Any], names: list[str]
    ) -> None:
        """Warn about scores that are not finite although every fit worked."""
        for name in names:
            means = results[f"mean_test_{name}"]
            odd = [
                i
                for i, e in enumerate(evaluations)
                if not e.failed_fits and not math.isfinite(float(means[i]))
            ]
            if odd:
                warnings.warn(
                    f"{len(odd)} configurations have non-finite mean_test_{name} although "
                    f"every fit worked (rows {odd[:10]} of cv_results_): the scorer returned "
                    "NaN or infinity.",
                    UserWarning,
                    stacklevel=3,
                )

    def _select_best(self, results: dict[str, Any], names: list[str], *, budgeted: bool) -> None:
        n = len(results["params"])
        if callable(self.refit):
            index = self.refit(results)
            if not _is_int(index, 0) or index >= n:
                raise InvalidArgumentError(
                    f"SearchCV(refit=...): the callable must return the index of a row of "
                    f"cv_results_ (an int from 0 to {n - 1}), got {index!r}."
                )
            self.best_index_ = int(index)
        else:
            metric = self._metric(names)
            ranks = results[f"rank_test_{metric}"]
            rows = np.arange(n)
            if budgeted:  # scores on smaller budgets do not compete with full ones
                budgets = np.asarray(results["n_resources"])
                rows = np.flatnonzero(budgets == budgets.max())
            self.best_index_ = int(rows[np.argmin(ranks[rows])])
            self.best_score_ = float(results[f"mean_test_{metric}"][self.best_index_])
        self.best_params_ = results["params"][self.best_index_]

    def _refit(self, data: _Data, budget: _Budget | None) -> None:
        params = dict(self.best_params_)
        if budget is not None and budget.resource != "n_samples":
            params[budget.resource] = budget.max_resources  # the whole budget, as all the rows
        self.best_estimator_ = _clone(data.base).set_params(**_clone(params, safe=False))
        start = time.perf_counter()
        if data.y is None:
            self.best_estimator_.fit(data.X, **data.fit_params)
        else:
            self.best_estimator_.fit(data.X, data.y, **data.fit_params)
        self.refit_time_ = time.perf_counter() - start
        if hasattr(self.best_estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.feature_names_in_

    # -- the fitted search ---------------------------------------------------------------
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "cv_results_")

    def __sklearn_tags__(self) -> Any:
        """The estimator's kind (classifier, regressor ...) and input tags."""
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = copy.deepcopy(inner.classifier_tags)
        tags.regressor_tags = copy.deepcopy(inner.regressor_tags)
        tags.transformer_tags = copy.deepcopy(inner.transformer_tags)
        tags.target_tags = copy.deepcopy(inner.target_tags)
        tags.input_tags.pairwise = inner.input_tags.pairwise
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags

    def _fitted_estimator(self, method: str) -> Any:
        from sklearn.utils.validation import check_is_fitted

        _delegates(method)(self)
        check_is_fitted(self)
        return self.best_estimator_

    @_available_if(_delegates("predict"))
    def predict(self, X: Any) -> Any:
        """``predict`` of the refitted best estimator."""
        return self._fitted_estimator("predict").predict(X)

    @_available_if(_delegates("predict_proba"))
    def predict_proba(self, X: Any) -> Any:
        """``predict_proba`` of the refitted best estimator."""
        return self._fitted_estimator("predict_proba").predict_proba(X)

    @_available_if(_delegates("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> Any:
        """``predict_log_proba`` of the refitted best estimator."""
        return self._fitted_estimator("predict_log_proba").predict_log_proba(X)

    @_available_if(_delegates("decision_function"))
    def decision_function(self, X: Any) -> Any:
        """``decision_function`` of the refitted best estimator."""
        return self._fitted_estimator("decision_function").decision_function(X)

    @_available_if(_delegates("score_samples"))
    def score_samples(self, X: Any) -> Any:
        """``score_samples`` of the refitted best estimator."""
        return self._fitted_estimator("score_samples").score_samples(X)

    @_available_if(_delegates("transform"))
    def transform(self, X: Any) -> Any:
        """``transform`` of the refitted best estimator."""
        return self._fitted_estimator("transform").transform(X)

    @_available_if(_delegates("transform"))
    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Search on ``X``, then ``transform`` it with the refitted best estimator."""
        return self.fit(X, y, **fit_params).transform(X)

    @_available_if(_delegates("inverse_transform"))
    def inverse_transform(self, X: Any) -> Any:
        """``inverse_transform`` of the refitted best estimator."""
        return self._fitted_estimator("inverse_transform").inverse_transform(X)

    def score(self, X: Any, y: Any = None) -> float:
        """The score of the refitted best estimator: by ``scoring`` (``refit``'s metric when
        there are several), else the estimator's own ``score``."""
        estimator = self._fitted_estimator("fit")
        scorer = self.scorer_
        if isinstance(scorer, dict):
            return float(scorer[self.refit](estimator, X, y))
        value = scorer(estimator, X, y)
        if self.multimetric_:
            value = value[self.refit]
        return float(value)

    @property
    def classes_(self) -> Any:
        """The class labels of the refitted best estimator."""
        return self._fitted_estimator("classes_").classes_

    @property
    def n_features_in_(self) -> int:
        """The number of features seen by ``fit`` (refitted searches only)."""
        if not self.__sklearn_is_fitted__() or not hasattr(self, "best_estimator_"):
            raise AttributeError(
                f"{type(self).__name__} has no n_features_in_ before fit, or with refit=False."
            )
        return int(self.best_estimator_.n_features_in_)


def _clone(estimator: Any, *, safe: bool = True) -> Any:
    from sklearn.base import clone

    return clone(estimator, safe=safe)


def _whole(budget: float | None) -> int | None:
    """A trial's budget as a whole number of samples or iterations."""
    return None if budget is None else int(budget)


def _reason(error: str) -> str:
    """The exception line of a traceback (``ValueError: ...``), without the frames."""
    lines = error.splitlines()
    start = max((i for i, line in enumerate(lines) if line.startswith("Traceback ")), default=-1)
    for line in lines[start + 1 :]:
        if line and not line[0].isspace():
            return line
    return lines[-1] if lines else error
