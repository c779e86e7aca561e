"""scikit-learn's ``HalvingGridSearchCV`` and ``HalvingRandomSearchCV``, run by hyperscout.

:func:`_plan` computes scikit-learn's schedule from the drop-in's arguments and the data
(``min_resources_``, ``max_resources_`` and the candidates of the first iteration, in
scikit-learn's units: samples of ``X``), and a :class:`SearchCV` runs it with the
``_schedule`` module's scheduler, so that the same number of candidates meets the same
resources as in scikit-learn.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import numpy as np

from hyperscout._validation import check, check_number, is_int, plain
from hyperscout.exceptions import InvalidArgumentError
from hyperscout.integrations.sklearn._budget import _Budget, _budget_for
from hyperscout.integrations.sklearn._dropin import _DropInSearch, _seed
from hyperscout.integrations.sklearn._fit import _Data, _n_rows
from hyperscout.integrations.sklearn._schedule import (
    _n_configurations,
    _PlannedHalving,
    _Schedule,
    _schedule,
)
from hyperscout.integrations.sklearn._search import SearchCV
from hyperscout.integrations.sklearn._space import _compile_space, _Space
from hyperscout.samplers import GridSampler, RandomSampler
from hyperscout.tuner import Tuner


@dataclass(frozen=True)
class _Plan:
    """A drop-in's schedule, and how its budgets map to training rows."""

    grid: bool  # the first iteration runs the whole grid (else random draws)
    resource: str
    n_samples: int
    schedule: _Schedule


def _plan(search: _HalvingSearchCV, X: Any, y: Any, n_splits: int, space: _Space) -> _Plan:
    """The schedule of ``search`` on ``(X, y)``, by scikit-learn's formulas."""
    from sklearn.base import is_classifier
    from sklearn.utils.multiclass import check_classification_targets

    owner = type(search).__name__
    n_samples = cast(int, _n_rows(X))
    grid = isinstance(search, HalvingGridSearchCV)
    min_r: Any = search.min_resources
    if min_r in ("smallest", "exhaust"):
        min_r = 1
        if search.resource == "n_samples":
            classes = 1
            if is_classifier(search.estimator) and y is not None:
                check_classification_targets(y)  # the estimator's own error for bad targets
                classes = len(np.unique(np.asarray(y)))
            min_r = n_splits * 2 * classes
    if min_r < 1:
        raise InvalidArgumentError(
            f"{owner}.fit(): min_resources_ is {min_r} because X has {n_samples} samples; "
            "expected a non-empty data set."
        )
    max_r: Any = search.max_resources
    if max_r == "auto":
        if search.resource != "n_samples":
            raise InvalidArgumentError(
                f"{owner}(max_resources='auto'): the maximum is the number of samples, so "
                f"resource must be 'n_samples', got resource={search.resource!r}; give "
                "max_resources= (the largest value of the resource)."
            )
        max_r = n_samples
    if min_r > max_r:
        raise InvalidArgumentError(
            f"{owner}(min_resources=...): min_resources_={min_r} is greater than "
            f"max_resources_={max_r} (X has {n_samples} samples)."
        )
    available = _n_configurations(space)
    if grid:
        n = int(available)
    else:
        n = max_r // min_r if search.n_candidates == "exhaust" else int(search.n_candidates)
        n = int(min(n, available))
    schedule = _schedule(
        n,
        min_r,
        int(max_r),
        search.factor,
        exhaust=search.min_resources == "exhaust",
        aggressive=bool(search.aggressive_elimination),
    )
    return _Plan(grid, search.resource, n_samples, schedule)


class _HalvingRun(SearchCV):
    """SearchCV on a planned schedule; the refit keeps the best iteration's resource."""

    plan: _Plan

    def _budget(self, space: _Space, data: _Data, seed: int) -> _Budget | None:
        budget = _budget_for(self, space, data, seed)
        total = self.plan.n_samples if budget.resource == "n_samples" else None
        return dataclasses.replace(budget, total=total)

    def _tuner(self, space: _Space, budget: _Budget | None, seed: int) -> Tuner:
        plan = self.plan
        return Tuner(
            None,
            sampler=GridSampler() if plan.grid else RandomSampler(),
            scheduler=_PlannedHalving(plan.schedule),
            **self._study(space, seed),
        )

    def _refit_params(self, budget: _Budget | None) -> dict[str, Any]:
        # scikit-learn refits best_params_ as they are: a parameter resource keeps the value
        # of the last iteration.
        return dict(self.best_params_)


class _HalvingSearchCV(_DropInSearch):
    """What both halving searches share: their checks, and the plan of the SearchCV they run."""

    estimator: Any
    resource: str
    min_resources: Any
    max_resources: Any
    factor: Any
    aggressive_elimination: bool
    n_candidates: Any = "exhaust"  # HalvingGridSearchCV: the whole grid
    random_state: Any

    def _space(self) -> Any:
        raise NotImplementedError

    def _check(self) -> None:
        owner = type(self).__name__
        check_number(owner, "factor", plain(self.factor), minimum=1, above=True)
        rules = [
            ("resource", self.resource, isinstance(self.resource, str), "a str"),
            (
                "min_resources",
                self.min_resources,
                self.min_resources in ("smallest", "exhaust")
                or is_int(plain(self.min_resources), 1),
                "'smallest', 'exhaust' or an int >= 1",
            ),
            (
                "max_resources",
                self.max_resources,
                self.max_resources == "auto" or is_int(plain(self.max_resources), 1),
                "'auto' or an int >= 1",
            ),
            (
                "aggressive_elimination",
                self.aggressive_elimination,
                isinstance(self.aggressive_elimination, (bool, np.bool_)),
                "True or False",
            ),
            (
                "n_candidates",
                self.n_candidates,
                self.n_candidates == "exhaust" or is_int(plain(self.n_candidates), 1),
                "'exhaust' or an int >= 1",
            ),
        ]
        for name, value, ok, expected in rules:
            check(owner, name, value, ok, expected)
        both = self.n_candidates == "exhaust" and self.min_resources == "exhaust"
        if isinstance(self, HalvingRandomSearchCV) and both:
            raise InvalidArgumentError(
                f"{owner}(n_candidates='exhaust', min_resources='exhaust'): one of them must "
                "be given, since each is computed from the other."
            )

    def _search(self, X: Any, y: Any, params: dict[str, Any]) -> SearchCV:
        from sklearn.base import is_classifier
        from sklearn.model_selection import check_cv
        from sklearn.utils import indexable

        self._check()
        space = _compile_space(self._space())
        groups = params.get("groups")
        X, y, groups = indexable(X, y, groups)  # noqa: N806 - scikit-learn's names
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        plan = _plan(self, X, y, cv.get_n_splits(X, y, groups), space)
        search = _HalvingRun(
            self.estimator,
            self._space(),
            strategy="halving",
            seed=_seed(type(self).__name__, self.random_state),
            resource=plan.resource,
            min_resources=max(1, int(plan.schedule.min_resources)),
            max_resources=plan.schedule.max_resources,
            **{**self._common(), "cv": cv},  # the checked splitter: a generator splits once
        )
        search.plan = plan
        return search


class HalvingGridSearchCV(_HalvingSearchCV):
    """scikit-learn's ``HalvingGridSearchCV``, run by hyperscout: change only the import.

    The whole grid starts on ``min_resources_``; each iteration keeps the best
    ``ceil(n / factor)`` on ``factor`` times more resources, on scikit-learn's schedule
    (``n_resources_``, ``n_candidates_``, ``n_iterations_`` ... as scikit-learn reports
    them). ``resource="n_samples"`` subsamples the training part of each fold (seeded by
    ``random_state``, stratified for classifiers, nested); the test folds stay whole.

    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> search = HalvingGridSearchCV(DecisionTreeClassifier(random_state=0),
    ...                              {"max_depth": [1, 2, 3, 4, 5, 6]}, cv=3, factor=2,
    ...                              random_state=0).fit(X, y)
    >>> search.n_candidates_, search.n_resources_
    ([6, 3, 2], [37, 74, 148])
    """

    _renames: ClassVar[Mapping[str, str]] = {"space": "param_grid", "seed": "random_state"}

    def __init__(
        self,
        estimator: Any,
        param_grid: Any,
        *,
        factor: float = 3,
        resource: str = "n_samples",
        max_resources: int | str = "auto",
        min_resources: int | str = "exhaust",
        aggressive_elimination: bool = False,
        cv: Any = 5,
        scoring: Any = None,
        refit: Any = True,
        error_score: Any = np.nan,
        return_train_score: bool = True,
        random_state: Any = None,
        n_jobs: int | None = None,
        verbose: int = 0,
    ) -> None:
        self._keep(locals())

    def _space(self) -> Any:
        return self.param_grid


class HalvingRandomSearchCV(_HalvingSearchCV):
    """scikit-learn's ``HalvingRandomSearchCV``, run by hyperscout: change only the import.

    ``n_candidates`` configurations are drawn from ``param_distributions`` (``"exhaust"``:
    ``max_resources_ // min_resources_`` of them, as in scikit-learn) and halved on
    scikit-learn's schedule; see :class:`HalvingGridSearchCV`.

    >>> from scipy.stats import randint
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> space = {"max_depth": randint(2, 40), "min_samples_leaf": randint(1, 20)}
    >>> search = HalvingRandomSearchCV(DecisionTreeClassifier(random_state=0), space, cv=3,
    ...                                random_state=0).fit(X, y)
    >>> search.n_candidates_, search.n_resources_
    ([29, 10, 4, 2], [60, 180, 540, 1620])
    """

    _renames: ClassVar[Mapping[str, str]] = {"space": "param_distributions", "seed": "random_state"}

    def __init__(
        self,
        estimator: Any,
        param_distributions: Any,
        *,
        n_candidates: int | str = "exhaust",
        factor: float = 3,
        resource: str = "n_samples",
        max_resources: int | str = "auto",
        min_resources: int | str = "smallest",
        aggressive_elimination: bool = False,
        cv: Any = 5,
        scoring: Any = None,
        refit: Any = True,
        error_score: Any = np.nan,
        return_train_score: bool = True,
        random_state: Any = None,
        n_jobs: int | None = None,
        verbose: int = 0,
    ) -> None:
        self._keep(locals())

    def _space(self) -> Any:
        return self.param_distributions
