"""The drop-ins: scikit-learn's and skopt's search classes whose import is all that changes.

Each test uses an idiom the way scikit-learn's model-selection examples do, and compares with
scikit-learn's own class where the results must agree.
"""

from __future__ import annotations

import inspect
import itertools
import math
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import hyperscout as hs

sklearn = pytest.importorskip("sklearn", reason="needs the sklearn extra")

from scipy import stats  # noqa: E402
from sklearn import model_selection as sk  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin, clone  # noqa: E402
from sklearn.datasets import (  # noqa: E402
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.experimental import enable_halving_search_cv  # noqa: E402, F401
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from hyperscout.integrations.sklearn import (  # noqa: E402
    BayesSearchCV,
    Float,
    GridSearchCV,
    HalvingGridSearchCV,
    HalvingRandomSearchCV,
    RandomizedSearchCV,
    SearchCV,
)

OURS_AND_THEIRS = [
    (GridSearchCV, sk.GridSearchCV),
    (RandomizedSearchCV, sk.RandomizedSearchCV),
    (HalvingGridSearchCV, sk.HalvingGridSearchCV),
    (HalvingRandomSearchCV, sk.HalvingRandomSearchCV),
]


def _parameters(cls: type) -> list[tuple[str, Any, Any]]:
    """(name, kind, default) of a constructor; NaN defaults compare equal as the string 'nan'."""
    out = []
    for p in inspect.signature(cls).parameters.values():
        default = p.default
        if isinstance(default, float) and math.isnan(default):
            default = "nan"
        out.append((p.name, p.kind, default))
    return out


# -- signatures ------------------------------------------------------------------------------
@pytest.mark.parametrize(("ours", "theirs"), OURS_AND_THEIRS, ids=lambda c: c.__name__)
def test_the_constructor_is_scikit_learns(ours: type, theirs: type) -> None:
    assert _parameters(ours) == _parameters(theirs)


def test_bayes_search_takes_skopts_arguments() -> None:
    names = [(name, default) for name, _, default in _parameters(BayesSearchCV)]
    assert names == [
        ("estimator", inspect.Parameter.empty),
        ("search_spaces", inspect.Parameter.empty),
        ("optimizer_kwargs", None),
        ("n_iter", 50),
        ("scoring", None),
        ("fit_params", None),
        ("n_jobs", 1),
        ("n_points", 1),
        ("iid", True),
        ("refit", True),
        ("cv", None),
        ("verbose", 0),
        ("pre_dispatch", "2*n_jobs"),
        ("random_state", None),
        ("error_score", "raise"),
        ("return_train_score", False),
    ]


# -- scikit-learn's estimator checks ---------------------------------------------------------
SCIKIT_LEARNS_OWN_FAILURE = {
    # GridSearchCV(SVC(), error_score="raise") fails it in scikit-learn too: SVC's error for
    # data whose positive weights are one class does not name sample_weight, which the check
    # asks of meta-estimators whose fit takes **params.
    "check_classifiers_one_label_sample_weights": (
        "scikit-learn's GridSearchCV(SVC(), error_score='raise') fails it the same way: SVC's "
        "own error is raised, and it does not name sample_weight"
    ),
}

CHECKED = [
    # As GridSearchCV(SVC()) passes every check, with the default error_score=nan ...
    GridSearchCV(SVC(), {"C": [0.1, 1.0]}, cv=2),
    # ... and with error_score="raise", as scikit-learn configures its searches for the checks.
    GridSearchCV(SVC(), {"C": [0.1, 1.0]}, cv=2, error_score="raise"),
    RandomizedSearchCV(
        Ridge(),
        {"alpha": stats.loguniform(0.1, 1.0)},
        n_iter=2,
        cv=2,
        error_score="raise",
        random_state=0,
    ),
    HalvingGridSearchCV(
        LogisticRegression(),
        {"C": [0.1, 1.0]},
        cv=2,
        error_score="raise",
        min_resources="smallest",
        random_state=0,
    ),
    HalvingRandomSearchCV(
        Pipeline([("pca", PCA()), ("logisticregression", LogisticRegression())]),
        {"logisticregression__C": [0.1, 1.0]},
        cv=2,
        error_score="raise",
        random_state=0,
    ),
    BayesSearchCV(Ridge(), {"alpha": (0.1, 1.0, "log-uniform")}, n_iter=2, cv=2),
]


def _expected_failures(search: Any) -> dict[str, str]:
    if isinstance(search.estimator, SVC) and search.error_score == "raise":
        return dict(SCIKIT_LEARNS_OWN_FAILURE)
    return {}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
# With error_score=nan the checks' bad data makes fits fail, which a search reports with a
# FitFailedWarning (as GridSearchCV does) before the estimator's own error comes at refit.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.FitFailedWarning")
@parametrize_with_checks(CHECKED, expected_failed_checks=_expected_failures, xfail_strict=True)
def test_sklearn_estimator_checks(estimator: Any, check: Callable[[Any], None]) -> None:
    check(estimator)


def test_fits_that_work_with_a_failing_scorer_go_on_as_in_scikit_learn() -> None:
    """Fits that work and scorers that fail are not 'all fits failed': the refit tells why."""
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(40, 4)).astype(object)
    y = np.arange(40) % 2
    X[0, 0] = {"not": "a number"}  # in one test fold, and in the other folds' training rows
    for search in (
        sk.GridSearchCV(SVC(), {"C": [0.1, 1.0]}, cv=2),
        GridSearchCV(SVC(), {"C": [0.1, 1.0]}, cv=2),
    ):
        with pytest.warns(Warning), pytest.raises(TypeError, match="argument must be"):
            search.fit(X, y)


# -- GridSearchCV: a list of grids over a pipeline -------------------------------------------
def test_grid_search_with_a_list_of_grids_and_a_pipeline_matches_scikit_learn() -> None:
    X, y = load_wine(return_X_y=True)
    pipe = Pipeline([("scale", StandardScaler()), ("svc", SVC())])
    grids = [
        {"svc__kernel": ["linear"], "svc__C": [0.01, 0.1, 1.0]},
        {"svc__kernel": ["rbf"], "svc__C": [1.0, 10.0], "svc__gamma": [1e-3, 1e-2, "scale"]},
    ]
    options: dict[str, Any] = {
        "cv": 4,
        "scoring": {"acc": "accuracy", "bal": "balanced_accuracy"},
        "refit": "bal",
        "return_train_score": True,
    }
    theirs = sk.GridSearchCV(pipe, grids, **options).fit(X, y)
    ours = GridSearchCV(pipe, grids, **options).fit(X, y)

    results, expected = ours.cv_results_, theirs.cv_results_
    assert list(results) == list(expected)
    assert results["params"] == expected["params"]  # the grids in order, 3 + 6 rows
    assert len(results["params"]) == 9
    for key, value in expected.items():
        if key.startswith("param_"):
            assert results[key].tolist() == value.tolist(), key
            assert list(results[key].mask) == list(value.mask), key
        elif key.startswith(("split", "mean_t", "std_t", "rank_")):
            np.testing.assert_allclose(results[key], value, err_msg=key)
    assert ours.best_params_ == theirs.best_params_
    assert ours.best_score_ == pytest.approx(theirs.best_score_)
    assert isinstance(ours.best_estimator_, Pipeline)
    assert ours.best_estimator_.get_params()["svc__C"] == ours.best_params_["svc__C"]
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y))  # refit's metric: bal
    # Each configuration is a trial of the study: a grid is picked, then its parameters.
    assert [t.values["#grid"] for t in ours.trials_] == [0] * 3 + [1] * 6


def test_a_list_of_grids_gives_conditional_random_draws() -> None:
    X, y = load_iris(return_X_y=True)
    grids = [
        {"kernel": ["linear"], "C": stats.loguniform(1e-2, 1e2)},
        {"kernel": ["rbf"], "C": stats.loguniform(1e-2, 1e2), "gamma": stats.expon(scale=0.1)},
    ]
    search = RandomizedSearchCV(SVC(), grids, n_iter=12, cv=3, random_state=0).fit(X, y)
    params = search.cv_results_["params"]
    kernels = {p["kernel"] for p in params}
    assert kernels == {"linear", "rbf"}  # both grids drawn
    for p in params:
        assert ("gamma" in p) == (p["kernel"] == "rbf")
        assert 1e-2 <= p["C"] <= 1e2
    gamma = search.cv_results_["param_gamma"]
    assert list(gamma.mask) == [p["kernel"] == "linear" for p in params]


# -- RandomizedSearchCV: scipy.stats distributions, n_iter, random_state ---------------------
def test_randomized_search_draws_n_iter_configurations_from_scipy_distributions() -> None:
    X, y = load_digits(return_X_y=True)
    X, y = X[:400], y[:400]
    space = {
        "sgdclassifier__alpha": stats.loguniform(1e-5, 1e-1),
        "sgdclassifier__l1_ratio": stats.uniform(0, 1),
        "sgdclassifier__average": [True, False],
        "sgdclassifier__max_iter": stats.randint(5, 30),
        "sgdclassifier__eta0": stats.expon(scale=0.01),  # unbounded: drawn through quantiles
    }
    pipe = make_pipeline(
        StandardScaler(), SGDClassifier(penalty="elasticnet", learning_rate="adaptive")
    )
    search = RandomizedSearchCV(pipe, space, n_iter=7, cv=3, random_state=0)
    with pytest.warns(sklearn.exceptions.ConvergenceWarning):
        search.fit(X, y)

    params = search.cv_results_["params"]
    assert len(params) == 7 and len(search.trials_) == 7
    for p in params:
        assert 1e-5 <= p["sgdclassifier__alpha"] <= 1e-1
        assert 0.0 <= p["sgdclassifier__l1_ratio"] <= 1.0
        assert p["sgdclassifier__max_iter"] in range(5, 30)
        assert isinstance(p["sgdclassifier__max_iter"], int)
        assert p["sgdclassifier__eta0"] > 0.0 and math.isfinite(p["sgdclassifier__eta0"])
    assert search.best_estimator_.named_steps["sgdclassifier"].alpha == pytest.approx(
        search.best_params_["sgdclassifier__alpha"]
    )
    assert search.cv_results_["rank_test_score"][search.best_index_] == 1


def test_random_state_seeds_the_draws_as_in_scikit_learn() -> None:
    X, y = load_iris(return_X_y=True)
    space = {"C": stats.loguniform(1e-3, 1e3), "gamma": stats.loguniform(1e-4, 1e0)}

    def drawn(random_state: Any, search: RandomizedSearchCV | None = None) -> list[Any]:
        search = search or RandomizedSearchCV(SVC(), space, n_iter=4, cv=2)
        search.set_params(random_state=random_state)
        return list(search.fit(X, y).cv_results_["params"])

    assert drawn(0) == drawn(0)
    assert drawn(0) != drawn(1)
    assert drawn(np.random.RandomState(3)) == drawn(np.random.RandomState(3))
    # One RandomState object is consumed by each fit, so refitting draws anew.
    shared = RandomizedSearchCV(SVC(), space, n_iter=4, cv=2)
    generator = np.random.RandomState(3)
    assert drawn(generator, shared) != drawn(generator, shared)


def test_parallel_fits_give_the_sequential_draws() -> None:
    from joblib import parallel_config

    X, y = load_iris(return_X_y=True)
    space = {"alpha": stats.loguniform(1e-3, 1e2)}
    sequential = RandomizedSearchCV(Ridge(), space, n_iter=6, cv=2, random_state=5).fit(X, y)
    with parallel_config(backend="threading"):
        parallel = clone(sequential).set_params(n_jobs=4).fit(X, y)
    assert parallel.cv_results_["params"] == sequential.cv_results_["params"]


# -- successive halving ----------------------------------------------------------------------
HALVING_ATTRIBUTES = (
    "n_candidates_",
    "n_resources_",
    "n_iterations_",
    "n_required_iterations_",
    "n_possible_iterations_",
    "n_remaining_candidates_",
    "min_resources_",
    "max_resources_",
)


def fit_alike(
    search: type, estimator: Any, space: Any, X: Any, y: Any, **options: Any
) -> tuple[Any, Any]:
    """Fit ``search`` and scikit-learn's class of its name alike; the schedules must agree.

    Returns:
        (scikit-learn's fitted search, ours).
    """
    theirs = getattr(sk, search.__name__)(estimator, space, **options).fit(X, y)
    ours = search(estimator, space, **options).fit(X, y)
    for name in HALVING_ATTRIBUTES:
        assert getattr(ours, name) == getattr(theirs, name), name
    return theirs, ours


@pytest.mark.slow
def test_the_successive_halving_iterations_example_tries_scikit_learns_candidates() -> None:
    """plot_successive_halving_iterations.py's idiom: only the import differs."""
    X, y = make_classification(n_samples=700, random_state=0)
    forest = RandomForestClassifier(n_estimators=10, random_state=0)
    distributions = {
        "max_depth": [3, None],
        "max_features": stats.randint(1, 6),
        "min_samples_split": stats.randint(2, 11),
        "bootstrap": [True, False],
        "criterion": ["gini", "entropy"],
    }
    theirs, ours = fit_alike(
        HalvingRandomSearchCV, forest, distributions, X, y, factor=2, random_state=0
    )
    assert ours.n_candidates_ == [35, 18, 9, 5, 3, 2]  # 72 configurations, not 4
    assert ours.n_resources_ == [20, 40, 80, 160, 320, 640]
    results = ours.cv_results_
    assert set(theirs.cv_results_) == set(results)  # train scores included by default
    iterations = np.asarray(results["iter"])
    for i, (n, resources) in enumerate(zip(ours.n_candidates_, ours.n_resources_, strict=True)):
        assert np.sum(iterations == i) == n
        assert set(np.asarray(results["n_resources"])[iterations == i]) == {resources}
    # Each iteration runs configurations of the previous one: the best ceil(n / 2).
    params = [str(p) for p in results["params"]]
    rows = [{p for p, it in zip(params, iterations, strict=True) if it == i} for i in range(6)]
    for lower, upper in itertools.pairwise(rows):
        assert set(upper) <= set(lower)
    assert iterations[ours.best_index_] == 5
    assert ours.best_score_ == results["mean_test_score"][ours.best_index_]
    assert ours.best_estimator_.get_params()["max_depth"] == ours.best_params_["max_depth"]
    assert ours.best_score_ > 0.85

    # SearchCV's own halving tries as many: its budgets are the training rows of each fold
    # (the 700 samples' folds train on 560), so 16 ... 512 rows where scikit-learn counts
    # 20 ... 640 samples of X.
    own = SearchCV(
        forest, param_distributions=distributions, strategy="halving", factor=2, random_state=0
    ).fit(X, y)
    assert own.n_candidates_ == theirs.n_candidates_
    assert own.n_resources_ == [16, 32, 64, 128, 256, 512]


class RowCounter(ClassifierMixin, BaseEstimator):
    """A classifier whose score is the number of rows its fit saw, plus ``alpha``'s bonus."""

    def __init__(self, alpha: float = 0.0) -> None:
        self.alpha = alpha

    def fit(self, X: Any, y: Any) -> RowCounter:
        self.classes_ = np.unique(y)
        self.rows_ = len(X)
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.full(len(X), self.classes_[0])

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        return float(self.rows_) + self.alpha


def test_halving_grid_on_n_samples_gives_scikit_learns_subsample_sizes() -> None:
    X, y = load_iris(return_X_y=True)
    grid = {"alpha": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]}
    options: dict[str, Any] = {"factor": 3, "cv": 3, "min_resources": 30, "random_state": 0}
    theirs, ours = fit_alike(HalvingGridSearchCV, RowCounter(), grid, X, y, **options)
    assert ours.n_resources_ == [30, 90] and ours.n_candidates_ == [9, 3]
    results = ours.cv_results_
    # A budget of 30 of the 150 samples keeps int(30 / 150 * 100) = 20 training rows a fold.
    for k in range(3):
        rows = np.floor(results[f"split{k}_test_score"])
        assert list(rows) == [20] * 9 + [60] * 3
    # The best alpha of each iteration goes on: 0.8, 0.7, 0.6.
    assert [p["alpha"] for p in results["params"][9:]] == [0.8, 0.7, 0.6]
    assert ours.best_params_ == theirs.best_params_ == {"alpha": 0.8}
    assert ours.best_estimator_.rows_ == 150  # the refit sees every sample


def test_halving_on_an_estimator_parameter_refits_with_the_last_iterations_value() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), RandomForestClassifier(random_state=0))
    grid = {"randomforestclassifier__max_depth": [2, 4, 8, None]}
    options: dict[str, Any] = {
        "resource": "randomforestclassifier__n_estimators",
        "max_resources": 30,
        "min_resources": 3,
        "factor": 3,
        "cv": 3,
        "random_state": 0,
    }
    _, ours = fit_alike(HalvingGridSearchCV, pipe, grid, X, y, **options)
    assert ours.n_resources_ == [3, 9] and ours.n_candidates_ == [4, 2]
    trees = [p["randomforestclassifier__n_estimators"] for p in ours.cv_results_["params"]]
    assert trees == [3] * 4 + [9] * 2
    best = ours.best_params_
    assert best["randomforestclassifier__n_estimators"] == 9  # as scikit-learn refits
    forest = ours.best_estimator_.named_steps["randomforestclassifier"]
    assert len(forest.estimators_) == 9
    assert forest.max_depth == best["randomforestclassifier__max_depth"]


def test_aggressive_elimination_stays_on_the_first_budget_as_in_scikit_learn() -> None:
    X, y = load_digits(return_X_y=True)
    tree = DecisionTreeClassifier(random_state=0)
    space = {"max_depth": stats.randint(2, 40), "min_samples_leaf": stats.randint(1, 20)}
    options: dict[str, Any] = {
        "n_candidates": 30,
        "max_resources": 400,
        "aggressive_elimination": True,
        "cv": 3,
        "random_state": 0,
    }
    _, ours = fit_alike(HalvingRandomSearchCV, tree, space, X, y, **options)
    assert ours.n_resources_ == [60, 60, 60, 180] and ours.n_candidates_ == [30, 10, 4, 2]
    # n_candidates and min_resources may be the same number (only both "exhaust" is refused).
    same = HalvingRandomSearchCV(tree, space, n_candidates=30, min_resources=30, cv=3)
    assert same.fit(X, y).n_candidates_[0] == 30


# -- BayesSearchCV: skopt's space descriptions -----------------------------------------------
class FitRecorder(ClassifierMixin, BaseEstimator):
    """A classifier that scores its parameters (best at C=1, degree=3, kernel='rbf')."""

    def __init__(self, C: float = 1.0, degree: int = 1, kernel: str = "linear") -> None:
        self.C = C
        self.degree = degree
        self.kernel = kernel

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> FitRecorder:
        self.classes_ = np.unique(y)
        self.weighted_ = sample_weight is not None
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.full(len(X), self.classes_[0])

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        return -(math.log10(self.C) ** 2) - abs(self.degree - 3) + (self.kernel == "rbf")


def test_bayes_search_takes_skopt_space_descriptions() -> None:
    X, y = load_iris(return_X_y=True)
    spaces = {
        "C": (1e-3, 1e3, "log-uniform"),
        "degree": (1, 6),
        "kernel": ["linear", "poly", "rbf"],
    }
    weights = np.ones(len(y))
    search = BayesSearchCV(
        FitRecorder(),
        spaces,
        n_iter=16,
        cv=2,
        random_state=0,
        fit_params={"sample_weight": weights},
    ).fit(X, y)

    params = search.cv_results_["params"]
    assert len(params) == 16 == search.total_iterations
    for p in params:
        assert 1e-3 <= p["C"] <= 1e3 and isinstance(p["C"], float)
        assert p["degree"] in range(1, 7) and isinstance(p["degree"], int)
        assert p["kernel"] in ("linear", "poly", "rbf")
    assert search.best_estimator_.weighted_  # fit_params reach fit
    assert search.best_params_["kernel"] == "rbf" and search.best_params_["degree"] == 3
    assert search.best_score_ > 0.5  # near the optimum: -log10(C)**2 + 1 with C close to 1


def test_bayes_search_with_several_spaces_runs_each_for_its_n_iter() -> None:
    X, y = load_iris(return_X_y=True)
    spaces = [({"C": (0.1, 10.0), "kernel": ["linear"]}, 3), {"C": (0.1, 10.0), "kernel": ("rbf",)}]
    search = BayesSearchCV(FitRecorder(), spaces, n_iter=4, cv=2, random_state=0)
    assert search.total_iterations == 7
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 7
    assert {p["kernel"] for p in search.cv_results_["params"]} <= {"linear", "rbf"}


# -- errors, estimator conventions -----------------------------------------------------------
@pytest.mark.parametrize(
    ("search", "match"),
    [
        (
            RandomizedSearchCV(Ridge(), {"alpha": [1.0, 2.0]}, n_iter=0),
            r"^RandomizedSearchCV\(n_iter=\.\.\.\): expected an int >= 1.*got 0",
        ),
        (
            RandomizedSearchCV(Ridge(), {"alpha": [1.0]}, random_state="zero"),
            r"^RandomizedSearchCV\(random_state=\.\.\.\): expected None, an int.*'zero'",
        ),
        (GridSearchCV(Ridge(), {"alpha": 1.0}), r"^param_grid\['alpha'\]: expected a list"),
        (GridSearchCV(Ridge(), []), r"^param_grid: the list of grids is empty"),
        (
            HalvingRandomSearchCV(Ridge(), {"alpha": [1.0]}, min_resources="exhaust"),
            r"n_candidates='exhaust', min_resources='exhaust'",
        ),
        (HalvingGridSearchCV(Ridge(), {"alpha": [1.0]}, factor=1), r"\(factor=\.\.\.\).*> 1"),
        (
            HalvingGridSearchCV(Ridge(), {"alpha": [1.0]}, resource="max_iter"),
            r"max_resources='auto'.*resource must be 'n_samples'",
        ),
        (
            BayesSearchCV(Ridge(), {"alpha": (0.1, 1.0)}, optimizer_kwargs={"acq_func": "EI"}),
            r"optimizer_kwargs=.*\['acq_func'\]",
        ),
        (BayesSearchCV(Ridge(), "alpha"), r"^BayesSearchCV\(search_spaces=\.\.\.\)"),
    ],
)
def test_errors_use_the_drop_ins_names(search: Any, match: str) -> None:
    X, y = load_iris(return_X_y=True)
    with pytest.raises((hs.InvalidArgumentError, hs.InvalidSpaceError), match=match) as info:
        search.fit(X, y)
    assert "SearchCV(" not in str(info.value).replace(type(search).__name__, "")


def test_get_params_clone_and_pickle_round_trip() -> None:
    X, y = load_iris(return_X_y=True)
    search = HalvingRandomSearchCV(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": [1, 2, 3, 4]},
        cv=3,
        random_state=0,
    )
    params = search.get_params()
    assert params["n_candidates"] == "exhaust" and params["min_resources"] == "smallest"
    assert "estimator__max_depth" in params
    copy = clone(search).set_params(factor=2)
    assert copy.factor == 2 and search.factor == 3
    copy.fit(X, y)
    restored = pickle.loads(pickle.dumps(copy))
    np.testing.assert_array_equal(restored.predict(X), copy.predict(X))
    assert restored.n_candidates_ == copy.n_candidates_ == [4, 2, 1]
    assert (
        repr(GridSearchCV(SVC(), {"C": [1]}))
        == "GridSearchCV(estimator=SVC(), param_grid={'C': [1]})"
    )


def test_searchcv_takes_a_list_of_grids_with_its_own_strategies() -> None:
    X, y = load_iris(return_X_y=True)
    grids = [{"alpha": Float(0.01, 1.0, sampling="log")}, {"alpha": [5.0, 50.0], "solver": ["svd"]}]
    search = SearchCV(Ridge(), grids, strategy="bayes", n_trials=8, cv=2, seed=0).fit(X, y)
    for p in search.cv_results_["params"]:
        assert ("solver" in p) == (p["alpha"] in (5.0, 50.0))
    assert {"solver" in p for p in search.cv_results_["params"]} == {True, False}
