"""Drop-ins for scikit-learn's and skopt's searches: their signatures, hyperscout underneath.

Each class keeps its model's constructor (names, order, defaults), maps it onto a
:class:`SearchCV` when ``fit`` is called, and copies the fitted attributes back, so that a
user changes only the import. The halving classes live in ``_halving``.
"""

from __future__ import annotations

import importlib.util
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from hyperscout._validation import check, check_int, fail, is_int, plain
from hyperscout.integrations.sklearn._checks import _named_as
from hyperscout.integrations.sklearn._fitted import _FittedSearch, _tags_of
from hyperscout.integrations.sklearn._search import (
    _HALVING_ATTRIBUTES,
    SearchCV,
    _require_sklearn,
)
from hyperscout.integrations.sklearn._space import Float, Int

if TYPE_CHECKING or importlib.util.find_spec("sklearn") is not None:
    from sklearn.base import BaseEstimator, MetaEstimatorMixin
else:  # pragma: no cover - stand-ins so that the module imports without scikit-learn

    class BaseEstimator:
        """Stand-in: constructing a search asks for scikit-learn."""

    class MetaEstimatorMixin:
        """Stand-in: constructing a search asks for scikit-learn."""


#: What a fitted search copies from the SearchCV that ran it.
_FITTED = (
    "cv_results_",
    "best_index_",
    "best_score_",
    "best_params_",
    "best_estimator_",
    "refit_time_",
    "scorer_",
    "multimetric_",
    "n_splits_",
    "feature_names_in_",
    "trials_",
    *_HALVING_ATTRIBUTES,
)


def _seed(owner: str, random_state: Any) -> int | None:
    """``random_state`` as SearchCV's seed: an int as it is; a RandomState gives a draw."""
    if random_state is None:
        return None
    if is_int(plain(random_state), 0):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        # A draw consumes the generator, so that two fits differ, as in scikit-learn.
        return int(random_state.randint(2**31 - 1))
    fail(owner, "random_state", random_state, "None, an int >= 0 or a numpy RandomState")


class _DropInSearch(_FittedSearch, MetaEstimatorMixin, BaseEstimator):  # type: ignore[misc]
    """A search with another library's signature that runs as a :class:`SearchCV`."""

    estimator: Any
    #: The drop-in's names of SearchCV's arguments, for error messages.
    _renames: ClassVar[Mapping[str, str]] = {}

    def _search(self, X: Any, y: Any, params: dict[str, Any]) -> SearchCV:
        """The SearchCV that runs this search (``params``: fit's, which it may complete)."""
        raise NotImplementedError

    def fit(self, X: Any, y: Any = None, **params: Any) -> Any:
        """Run the search (see :meth:`SearchCV.fit`) and keep its fitted attributes.

        Args:
            X: the training data.
            y: the targets (None for unsupervised estimators).
            **params: passed to the estimator's ``fit`` (``sample_weight`` split with the
                folds); ``groups`` goes to the splitter.

        Returns:
            The fitted search.
        """
        owner = type(self).__name__
        for name in _FITTED:  # nothing stale from an earlier fit
            self.__dict__.pop(name, None)
        with _named_as(owner, self._renames):
            search = self._search(X, y, params)
            search.fit(X, y, **params)
        for name in _FITTED:
            if hasattr(search, name):
                setattr(self, name, getattr(search, name))
        return self

    def _keep(self, arguments: Mapping[str, Any]) -> None:
        """Keep each of ``__init__``'s arguments (its ``locals()``) under its own name.

        A scikit-learn constructor does nothing else, so that ``get_params``, ``set_params``
        and ``clone`` find every argument as it was given.
        """
        _require_sklearn()
        for name, value in arguments.items():
            if name not in ("self", "__class__"):
                setattr(self, name, value)

    def _common(self) -> dict[str, Any]:
        """SearchCV's arguments that scikit-learn's searches share."""
        return {
            "scoring": self.scoring,
            "n_jobs": self.n_jobs,
            "refit": self.refit,
            "cv": self.cv,
            "verbose": self.verbose,
            "error_score": self.error_score,
            "return_train_score": self.return_train_score,
        }

    def __sklearn_tags__(self) -> Any:
        """The estimator's kind (classifier, regressor ...) and input tags."""
        return _tags_of(super().__sklearn_tags__(), self.estimator)


class GridSearchCV(_DropInSearch):
    """scikit-learn's ``GridSearchCV``, run by hyperscout: change only the import.

    Every combination of ``param_grid`` (a dict, or a list of dicts: the grids one after the
    other) is cross-validated, in ``ParameterGrid``'s order; ``cv_results_``,
    ``best_params_``, ``best_estimator_`` ... are scikit-learn's. Each configuration is also
    a trial of a hyperscout study (``trials_``). The arguments are scikit-learn's; see
    :class:`SearchCV` for what each does.

    >>> from sklearn.datasets import load_iris
    >>> from sklearn.svm import SVC
    >>> X, y = load_iris(return_X_y=True)
    >>> grid = [{"kernel": ["linear"], "C": [1, 10]}, {"kernel": ["rbf"], "C": [1, 10]}]
    >>> search = GridSearchCV(SVC(), grid, cv=3).fit(X, y)
    >>> len(search.cv_results_["params"]), search.best_params_["kernel"] in ("linear", "rbf")
    (4, True)
    """

    _renames: ClassVar[Mapping[str, str]] = {"space": "param_grid"}

    def __init__(
        self,
        estimator: Any,
        param_grid: Any,
        *,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: int | str = "2*n_jobs",
        error_score: Any = np.nan,
        return_train_score: bool = False,
    ) -> None:
        self._keep(locals())

    def _search(self, X: Any, y: Any, params: dict[str, Any]) -> SearchCV:
        return SearchCV(
            self.estimator,
            self.param_grid,
            strategy="grid",
            pre_dispatch=self.pre_dispatch,
            **self._common(),
        )


class RandomizedSearchCV(_DropInSearch):
    """scikit-learn's ``RandomizedSearchCV``, run by hyperscout: change only the import.

    ``n_iter`` configurations are drawn from ``param_distributions`` (lists, and scipy.stats
    distributions: ``uniform``, ``loguniform`` and ``randint`` as ranges, any other through
    its quantiles; a list of dicts picks a dict at random first), seeded by
    ``random_state``. The draws are hyperscout's (a finite space is never drawn twice), so
    they differ from scikit-learn's for the same ``random_state``.

    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> search = RandomizedSearchCV(LogisticRegression(max_iter=500),
    ...                             {"C": loguniform(1e-2, 1e2)}, n_iter=4, cv=3,
    ...                             random_state=0).fit(X, y)
    >>> len(search.cv_results_["params"]), 1e-2 <= search.best_params_["C"] <= 1e2
    (4, True)
    """

    _renames: ClassVar[Mapping[str, str]] = {
        "space": "param_distributions",
        "seed": "random_state",
        "n_trials": "n_iter",
    }

    def __init__(
        self,
        estimator: Any,
        param_distributions: Any,
        *,
        n_iter: int = 10,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: int | str = "2*n_jobs",
        random_state: Any = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
    ) -> None:
        self._keep(locals())

    def _search(self, X: Any, y: Any, params: dict[str, Any]) -> SearchCV:
        return SearchCV(
            self.estimator,
            self.param_distributions,
            strategy="random",
            n_trials=self.n_iter,
            seed=_seed(type(self).__name__, self.random_state),
            pre_dispatch=self.pre_dispatch,
            **self._common(),
        )


# -- skopt's BayesSearchCV ---------------------------------------------------------------------
_PRIORS = {"uniform": "linear", "log-uniform": "log"}


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _dimension(value: Any) -> Any:
    """One skopt dimension as SearchCV's space takes it.

    ``(low, high)`` and ``(low, high, "uniform" | "log-uniform")`` are ranges (integers when
    both bounds are ints, bounds included); other tuples and lists are categories; anything
    else (a scipy distribution, ``Float(...)``) is taken as it is.
    """
    if isinstance(value, tuple) and len(value) in (2, 3):
        low, high, *rest = value
        prior = rest[0] if rest else "uniform"
        if _is_number(low) and _is_number(high) and isinstance(prior, str) and prior in _PRIORS:
            if isinstance(low, numbers.Integral) and isinstance(high, numbers.Integral):
                return Int(int(low), int(high), sampling=_PRIORS[prior])
            return Float(float(low), float(high), sampling=_PRIORS[prior])
    if isinstance(value, tuple):
        return list(value)
    return value


class BayesSearchCV(_DropInSearch):
    """skopt's ``BayesSearchCV``, run by hyperscout's Gaussian process: change only the import.

    ``search_spaces`` is skopt's: a dict of ``(low, high)`` or ``(low, high, "log-uniform")``
    ranges (ints give integers), lists of categories and scipy.stats distributions (skopt's
    ``Real``/``Integer``/``Categorical`` objects are not accepted: skopt is not needed; use
    tuples, or :func:`Float`/:func:`Int`); or a list of such dicts, or of ``(dict, n_iter)``
    pairs, which become one conditional space searched for the sum of their ``n_iter``.
    ``optimizer_kwargs`` takes ``n_initial_points`` (and ``base_estimator="GP"``);
    ``n_points`` and ``iid`` are accepted for compatibility: configurations are proposed
    ``ceil(n_jobs / n_splits)`` at a time, as in :class:`SearchCV`.

    >>> from sklearn.datasets import load_iris
    >>> from sklearn.svm import SVC
    >>> X, y = load_iris(return_X_y=True)
    >>> search = BayesSearchCV(SVC(), {"C": (1e-2, 1e2, "log-uniform"), "degree": (1, 4),
    ...                                "kernel": ["linear", "poly", "rbf"]},
    ...                        n_iter=6, cv=3, random_state=0).fit(X, y)
    >>> len(search.cv_results_["params"]), search.total_iterations
    (6, 6)
    """

    _renames: ClassVar[Mapping[str, str]] = {
        "space": "search_spaces",
        "seed": "random_state",
        "n_trials": "n_iter",
    }

    def __init__(
        self,
        estimator: Any,
        search_spaces: Any,
        optimizer_kwargs: Mapping[str, Any] | None = None,
        n_iter: int = 50,
        scoring: Any = None,
        fit_params: Mapping[str, Any] | None = None,
        n_jobs: int | None = 1,
        n_points: int = 1,
        iid: bool = True,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: int | str = "2*n_jobs",
        random_state: Any = None,
        error_score: Any = "raise",
        return_train_score: bool = False,
    ) -> None:
        self._keep(locals())

    @property
    def total_iterations(self) -> int:
        """The configurations the search evaluates: ``n_iter`` per space, summed."""
        return self._spaces()[1]

    def _spaces(self) -> tuple[Any, int]:
        """SearchCV's space and number of trials for ``search_spaces``."""
        owner = type(self).__name__
        spaces = self.search_spaces
        if isinstance(spaces, Mapping):
            return {k: _dimension(v) for k, v in spaces.items()}, int(self.n_iter)
        if isinstance(spaces, list) and spaces:
            grids, total = [], 0
            for item in spaces:
                space, n = item, self.n_iter
                if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Mapping):
                    space, n = item
                ok = isinstance(space, Mapping) and is_int(plain(n), 1)
                check(owner, "search_spaces", item, ok, "dicts or (dict, n_iter) pairs")
                grids.append({k: _dimension(v) for k, v in space.items()})
                total += int(n)
            return grids, total
        fail(
            owner,
            "search_spaces",
            spaces,
            "a dict of parameter names to dimensions, or a non-empty list of dicts or of "
            "(dict, n_iter) pairs",
        )

    def _initial_points(self) -> int | None:
        owner, name = type(self).__name__, "optimizer_kwargs"
        options = dict(self.optimizer_kwargs or {})
        unknown = sorted(set(options) - {"n_initial_points", "base_estimator"})
        expected = "only n_initial_points and base_estimator='GP' (what hyperscout maps)"
        check(owner, name, unknown, not unknown, expected)
        model = options.get("base_estimator", "GP")
        expected = "base_estimator='GP' (the model is a Gaussian process)"
        check(owner, name, options, str(model).upper() == "GP", expected)
        n = options.get("n_initial_points")
        ok = n is None or is_int(plain(n), 1)
        check(owner, name, options, ok, "n_initial_points, if given, an int >= 1")
        return None if n is None else int(n)

    def _search(self, X: Any, y: Any, params: dict[str, Any]) -> SearchCV:
        owner = type(self).__name__
        check_int(owner, "n_points", plain(self.n_points), minimum=1)
        fit_params = self.fit_params
        ok = fit_params is None or isinstance(fit_params, Mapping)
        check(owner, "fit_params", fit_params, ok, "None or a dict")
        for name, value in (self.fit_params or {}).items():
            params.setdefault(name, value)  # fit's own parameters win
        space, n_trials = self._spaces()
        search = _BayesSearch(
            self.estimator,
            space,
            strategy="bayes",
            n_trials=n_trials,
            seed=_seed(owner, self.random_state),
            pre_dispatch=self.pre_dispatch,
            **self._common(),
        )
        search.initial_points = self._initial_points()
        return search


class _BayesSearch(SearchCV):
    """SearchCV with skopt's ``n_initial_points`` when one is given."""

    initial_points: int | None = None

    def _initial_points(self, n_trials: int) -> int:
        if self.initial_points is not None:
            return self.initial_points
        return super()._initial_points(n_trials)
