"""The :class:`SearchCV` estimator: cross-validate what the strategy proposes, refit the best.

The pieces it drives live beside it: the space (``_space``), the argument checks (``_checks``),
the budgets of halving and Hyperband (``_budget``), the trials of one fit, asked, cross-validated
and told (``_run``), one fit on one fold (``_fit``), ``cv_results_`` (``_results``) and the
refitted estimator's methods (``_fitted``).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from hyperscout._validation import check, is_int, plain
from hyperscout.exceptions import (
    InvalidArgumentError,
    require,
)
from hyperscout.integrations.sklearn._budget import _Budget, _budget_for
from hyperscout.integrations.sklearn._checks import (
    _check_arguments,
    _check_refit_metric,
    _named_as,
    _scorers,
)
from hyperscout.integrations.sklearn._fit import _clone, _Data, _n_rows
from hyperscout.integrations.sklearn._fitted import _FittedSearch, _tags_of
from hyperscout.integrations.sklearn._results import _cv_results, _Evaluation
from hyperscout.integrations.sklearn._run import (
    SEARCH_METRIC,
    _report_failures,
    _run_trials,
    _warn_non_finite,
)
from hyperscout.integrations.sklearn._schedule import (
    _halving_attributes,
    _n_configurations,
    _PlannedHalving,
    _schedule,
)
from hyperscout.integrations.sklearn._space import _compile_space, _Space
from hyperscout.objective import Objective
from hyperscout.samplers import RandomSampler
from hyperscout.tuner import Tuner
from hyperscout.tuner.presets import (
    BayesianOptimization,
    GridSearch,
    RandomSearch,
)
from hyperscout.tuner.strategies import STRATEGIES

if TYPE_CHECKING or importlib.util.find_spec("sklearn") is not None:
    from sklearn.base import BaseEstimator, MetaEstimatorMixin
else:  # pragma: no cover - stand-ins so that the module imports without scikit-learn

    class BaseEstimator:
        """Stand-in: constructing :class:`SearchCV` asks for scikit-learn."""

    class MetaEstimatorMixin:
        """Stand-in: constructing :class:`SearchCV` asks for scikit-learn."""


_FEATURE = "hyperscout.integrations.sklearn.SearchCV"
#: scikit-learn's attributes of a fitted halving search.
_HALVING_ATTRIBUTES = (
    "n_resources_",
    "n_candidates_",
    "n_iterations_",
    "n_required_iterations_",
    "n_possible_iterations_",
    "n_remaining_candidates_",
    "min_resources_",
    "max_resources_",
)


def _require_sklearn() -> None:
    require("sklearn", feature=_FEATURE, extra="sklearn")


class SearchCV(_FittedSearch, MetaEstimatorMixin, BaseEstimator):  # type: ignore[misc]
    """Cross-validated hyperparameter search with hyperscout's strategies, as an estimator.

    Args:
        estimator: a scikit-learn estimator (or pipeline) to tune; cloned, never changed.
        space: a dict of estimator parameter names (``"C"``, ``"clf__C"``) to a list of
            values, a range (:func:`Float`, :func:`Int`, :func:`Choice`, :func:`Boolean`,
            :func:`Fixed`), a hyperscout parameter, or a ``scipy.stats`` distribution
            (``uniform``, ``loguniform`` and ``randint`` as ranges, others through their
            quantiles); a list of such dicts (a grid is picked, then its parameters); or a
            function ``space(hp)`` that returns the parameters of one trial (conditional
            spaces).
        param_grid, param_distributions: scikit-learn's names for ``space`` (give one of
            the three).
        strategy: ``"bayes"`` (a Gaussian process, as :class:`~hyperscout.BayesianOptimization`),
            ``"random"``, ``"grid"`` (every combination, in GridSearchCV's order),
            ``"halving"`` (successive halving) or ``"hyperband"``.
        n_trials: configurations to evaluate; None: 10 for bayes and random, the whole grid,
            every rung of halving and Hyperband. ``n_iter``: scikit-learn's name for it.
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
        random_state: scikit-learn's name for ``seed``: an int, or a numpy ``RandomState``
            (each fit draws a seed from it, so refits differ, as in scikit-learn). ``seed``
            wins when both are given (scikit-learn's tools set ``random_state`` on any
            estimator that has one).
        resource: the budget of halving and Hyperband: ``"n_samples"`` (training rows of
            each fold: a seeded, stratified, nested subsample; the test folds stay whole),
            an estimator parameter such as ``"max_iter"`` or ``"clf__n_estimators"``, or
            ``"auto"`` (``max_iter`` when the estimator, or exactly one of its steps, has
            it; ``"n_samples"`` otherwise).
        min_resources, max_resources: the budget range. ``"auto"``: up to the largest
            training fold (or the estimator's own value of the parameter); down to, for
            halving, scikit-learn's ``"smallest"`` (two samples per fold and class of the
            data, as training rows; 1 for a parameter), and for Hyperband
            ``max_resources // factor**2`` (three rungs) and at least two samples per class.
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
        n_candidates_, n_resources_, n_iterations_, n_required_iterations_,
        n_possible_iterations_, n_remaining_candidates_, min_resources_, max_resources_:
            strategy="halving" only, as in scikit-learn's ``HalvingRandomSearchCV``.

    >>> from hyperscout.integrations.sklearn import Float
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
        space: Any = None,
        *,
        param_grid: Any = None,
        param_distributions: Any = None,
        strategy: str = "bayes",
        n_trials: int | None = None,
        n_iter: int | None = None,
        cv: Any = 5,
        scoring: Any = None,
        refit: bool | str | Callable[[dict[str, Any]], int] = True,
        n_jobs: int | None = None,
        seed: int | None = None,
        random_state: Any = None,
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
        self.param_grid = param_grid
        self.param_distributions = param_distributions
        self.strategy = strategy
        self.n_trials = n_trials
        self.n_iter = n_iter
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.n_jobs = n_jobs
        self.seed = seed
        self.random_state = random_state
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
    def _metric(self, names: list[str]) -> str:
        """The metric the strategy optimises and ``best_score_`` reports."""
        if isinstance(self.refit, str) and self.refit in names:
            return self.refit
        return names[0] if names else "score"

    # -- the study -----------------------------------------------------------------------
    def _n_trials(self) -> int | None:
        n = self.n_trials if self.n_trials is not None else self.n_iter
        if n is not None:
            return int(n)
        entry = STRATEGIES.get(self.strategy)
        return 10 if entry is not None and not entry.ends else None

    def _space_argument(self) -> tuple[str, Any]:
        """The space, and the name it was given by (space, param_grid, param_distributions)."""
        for name in ("space", "param_grid", "param_distributions"):
            if getattr(self, name) is not None:
                return name, getattr(self, name)
        return "space", None

    def _seed(self) -> int:
        """The seed of this fit: ``seed``, or one from ``random_state``, or a random one."""
        if self.seed is not None:
            return int(self.seed)
        if isinstance(self.random_state, np.random.RandomState):
            return int(self.random_state.randint(2**31 - 1))
        if self.random_state is not None:
            return int(self.random_state)
        return secrets.randbelow(2**31)

    def _initial_points(self, n_trials: int) -> int:
        """Random configurations before the Gaussian process takes over (strategy="bayes")."""
        return min(10, max(2, n_trials // 2))

    def _budget(self, space: _Space, data: _Data, seed: int) -> _Budget | None:
        """The budget of halving and Hyperband (None for the other strategies)."""
        return _budget_for(self, space, data, seed) if STRATEGIES[self.strategy].budgeted else None

    def _study(self, space: _Space, seed: int) -> dict[str, Any]:
        """The Tuner arguments every strategy shares: the objective, the space, the storage."""
        storage = self.storage
        if storage is None and self.directory is None:
            storage = "memory"
        return {
            "objective": Objective(SEARCH_METRIC, "max"),
            "hyperparameters": space.hyperparameters,
            "seed": seed,
            "storage": storage,
            "directory": self.directory,
            "project_name": self.project_name,
            "overwrite": True,
            "verbose": 0,
            "max_trials": None,  # SearchCV counts the trials itself (n_trials)
        }

    def _tuner(self, space: _Space, budget: _Budget | None, seed: int) -> Tuner:
        common = self._study(space, seed)
        if self.strategy == "bayes":
            n = self._n_trials() or 10
            return BayesianOptimization(None, num_initial_points=self._initial_points(n), **common)
        if self.strategy == "random":
            return RandomSearch(None, **common)
        if self.strategy == "grid":
            return GridSearch(None, **common)
        assert budget is not None  # a budgeted strategy
        if self.strategy != "halving":  # Hyperband, BOHB, ASHA as the registry makes them
            return STRATEGIES[self.strategy].make(
                None,
                max_budget=budget.max_resources,
                min_budget=budget.min_resources,
                factor=int(self.factor),
                **common,
            )
        # halving: scikit-learn's schedule, max // min candidates
        n = budget.max_resources // budget.min_resources
        n = int(min(n, _n_configurations(space)) if space.complete else n)
        schedule = _schedule(n, budget.min_resources, budget.max_resources, int(self.factor))
        scheduler = _PlannedHalving(schedule)
        return Tuner(None, sampler=RandomSampler(), scheduler=scheduler, **common)

    # -- fit -----------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> SearchCV:
        """Cross-validate the configurations the strategy proposes; refit the best.

        Args:
            X: the training data.
            y: the targets (None for unsupervised estimators).
            **fit_params: passed to the estimator's ``fit``, split with the folds when they
                have one entry per sample (``sample_weight``); ``groups`` goes to the
                splitter.

        Returns:
            The fitted search.

        Raises:
            InvalidArgumentError: a bad argument or space (the message names it).
            AllFitsFailedError: every fit of every configuration failed (a ValueError).
        """
        name, _ = self._space_argument()
        with _named_as("SearchCV", {} if name == "space" else {"space": name}):
            return self._fit(X, y, fit_params)

    def _fit(self, X: Any, y: Any, fit_params: dict[str, Any]) -> SearchCV:
        _check_arguments(self)
        space = _compile_space(self._space_argument()[1])
        for attribute in _HALVING_ATTRIBUTES:  # nothing stale from an earlier fit
            self.__dict__.pop(attribute, None)
        scorer, multimetric = _scorers(self)
        if multimetric:
            _check_refit_metric(self, list(scorer))
        data = self._data(X, y, fit_params, scorer)
        self.n_splits_ = len(data.splits)
        seed = self._seed()
        budget = self._budget(space, data, seed)
        tuner = self._tuner(space, budget, seed)
        names: list[str] = list(scorer) if multimetric else []
        try:
            evaluations = _run_trials(self, tuner, space, data, budget, names)
        finally:
            tuner.close()
        _report_failures(evaluations, self.error_score)
        names = names or ["score"]
        self.multimetric_ = multimetric or names != ["score"]
        if self.multimetric_ and not multimetric:  # a callable scorer gave several metrics
            _check_refit_metric(self, names)
        results = self._conclude(evaluations, names, data, budget, tuner)
        self.scorer_ = scorer
        self.cv_results_ = results
        self.trials_ = [e.trial for e in evaluations]
        return self

    def _data(self, X: Any, y: Any, fit_params: dict[str, Any], scorer: Any) -> _Data:
        """The data of this fit: indexable, its folds split once, fit parameters arrays."""
        from sklearn.base import is_classifier
        from sklearn.model_selection import check_cv
        from sklearn.utils import get_tags, indexable

        if y is None and get_tags(self.estimator).target_tags.required:
            # scikit-learn's estimator checks ask for these words, so not the template's.
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
        return _Data(
            X=X,
            y=y,
            splits=[(np.asarray(tr), np.asarray(te)) for tr, te in cv.split(X, y, groups)],
            fit_params=fit_params,
            n_samples=cast(int, _n_rows(X)),
            pairwise=bool(get_tags(self.estimator).input_tags.pairwise),
            base=_clone(self.estimator),
            scorer=scorer,
        )

    def _conclude(
        self,
        evaluations: list[_Evaluation],
        names: list[str],
        data: _Data,
        budget: _Budget | None,
        tuner: Tuner,
    ) -> dict[str, Any]:
        """``cv_results_``, with the best configuration chosen and refitted as asked."""
        extras: dict[str, list[Any]] = {}
        if budget is not None:
            extras["n_resources"] = [e.budget for e in evaluations]
            extras["iter"] = [int(e.attrs.get("rung", 0)) for e in evaluations]
            if self.strategy in ("hyperband", "bohb"):
                extras["bracket"] = [int(e.attrs.get("bracket", 0)) for e in evaluations]
        results = _cv_results(
            evaluations,
            names,
            n_splits=len(data.splits),
            error_score=self.error_score,
            return_train_score=bool(self.return_train_score),
            extras=extras,
        )
        _warn_non_finite(evaluations, results, names)
        if isinstance(tuner.scheduler, _PlannedHalving):
            attributes = _halving_attributes(tuner.scheduler.schedule, extras["iter"])
            for attribute, value in attributes.items():
                setattr(self, attribute, value)
        if self.refit is not False or not self.multimetric_:
            self._select_best(results, names, budgeted=budget is not None)
        if self.refit:
            self._refit(data, budget)
        return results

    def _select_best(self, results: dict[str, Any], names: list[str], *, budgeted: bool) -> None:
        n = len(results["params"])
        if callable(self.refit):
            index = self.refit(results)
            expected = f"a callable that returns a row of cv_results_ (an int from 0 to {n - 1})"
            check("SearchCV", "refit", index, is_int(plain(index), 0) and index < n, expected)
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

    def _refit_params(self, budget: _Budget | None) -> dict[str, Any]:
        """The parameters of the refit: the best ones, on the whole budget."""
        params = dict(self.best_params_)
        if budget is not None and budget.resource != "n_samples":
            params[budget.resource] = budget.max_resources  # the whole budget, as all the rows
        return params

    def _refit(self, data: _Data, budget: _Budget | None) -> None:
        params = self._refit_params(budget)
        self.best_estimator_ = _clone(data.base).set_params(**_clone(params, safe=False))
        start = time.perf_counter()
        if data.y is None:
            self.best_estimator_.fit(data.X, **data.fit_params)
        else:
            self.best_estimator_.fit(data.X, data.y, **data.fit_params)
        self.refit_time_ = time.perf_counter() - start
        if hasattr(self.best_estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.feature_names_in_

    # -- the fitted search (its other methods: _FittedSearch) ----------------------------
    def __sklearn_tags__(self) -> Any:
        """The estimator's kind (classifier, regressor ...) and input tags."""
        return _tags_of(super().__sklearn_tags__(), self.estimator)
