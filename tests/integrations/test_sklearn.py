"""The scikit-learn front end: SearchCV, GridSearchCV's conventions over hyperscout's strategies."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.space import Float as NamedFloat
from hyperscout.storage import open_storage
from hyperscout.storage.sql import sqlite_url
from hyperscout.trial import TrialState

sklearn = pytest.importorskip("sklearn", reason="needs the sklearn extra")

from scipy import stats  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone  # noqa: E402
from sklearn.datasets import load_iris, load_wine  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.exceptions import FitFailedWarning, NotFittedError  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from hyperscout.integrations.sklearn import (  # noqa: E402
    AllFitsFailedError,
    Boolean,
    Choice,
    Fixed,
    Float,
    Int,
    SearchCV,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_iris(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def wine() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_wine(return_X_y=True)
    return X, y


# -- small estimators whose scores tell what they were given ---------------------------------
class Recorder(ClassifierMixin, BaseEstimator):
    """A classifier whose score says what its fit saw.

    ``report="rows"``: the number of training rows; ``"classes"``: the number of classes in
    them; ``"quality"``: a smooth function of ``alpha`` (best at 0.3) that improves with
    ``max_iter``. ``fail=True`` makes fit raise.
    """

    def __init__(
        self, alpha: float = 1.0, max_iter: int = 27, report: str = "rows", fail: bool = False
    ) -> None:
        self.alpha = alpha
        self.max_iter = max_iter
        self.report = report
        self.fail = fail

    def fit(self, X: Any, y: Any) -> Recorder:
        if self.fail:
            raise RuntimeError("this configuration cannot be fitted")
        self.classes_ = np.unique(y)
        self.n_rows_ = len(X)
        self.n_classes_seen_ = len(self.classes_)
        self.iterations_ = self.max_iter
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.full(len(X), self.classes_[0])

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        if self.report == "rows":
            return float(self.n_rows_)
        if self.report == "classes":
            return float(self.n_classes_seen_)
        return -((math.log10(self.alpha) - math.log10(0.3)) ** 2) - 1.0 / self.iterations_


class Bowl(RegressorMixin, BaseEstimator):
    """A regressor whose cross-validated score is a smooth bowl in ``alpha``, best at 0.3."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def fit(self, X: Any, y: Any) -> Bowl:
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.zeros(len(X))

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        return -((math.log10(self.alpha) - math.log10(0.3)) ** 2)


# -- scikit-learn's estimator checks ---------------------------------------------------------
CHECKED = [
    # GridSearchCV's conventions with the Gaussian process proposing, default error_score.
    SearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, strategy="bayes", n_trials=2, cv=2, seed=0),
    # A regressor over a log-scaled range; errors raised as they come (as scikit-learn
    # configures its own searches for these checks).
    SearchCV(
        Ridge(),
        {"alpha": Float(0.1, 10.0, sampling="log")},
        strategy="random",
        n_trials=2,
        cv=2,
        seed=0,
        error_score="raise",
    ),
    # Hyperband on the iterations of a pipeline's last step, refitted on the full budget.
    SearchCV(
        make_pipeline(StandardScaler(), LogisticRegression()),
        {"logisticregression__C": [0.1, 1.0]},
        strategy="hyperband",
        cv=2,
        seed=0,
        error_score="raise",
    ),
    # A transformer: transform, fit_transform and inverse_transform go to the best PCA.
    SearchCV(PCA(), {"whiten": [False, True]}, strategy="grid", cv=2, error_score="raise"),
]


#: Checks that do not apply to an unsupervised search of PCA, and why.
NOT_APPLICABLE_TO_PCA = {
    "check_estimator_sparse_tag": (
        "SearchCV copies PCA's sparse=True tag, and PCA fits sparse data, but PCA.score (the "
        "score of an unsupervised search without scoring=) takes dense data only"
    ),
}


def _expected_failures(search: SearchCV) -> dict[str, str]:
    failures: dict[str, str] = {}
    if isinstance(search.estimator, PCA):
        failures.update(NOT_APPLICABLE_TO_PCA)
    return failures


@pytest.mark.slow
# Raised inside scikit-learn while a check casts a target of infinities; nothing of ours.
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
# With error_score=nan the checks' bad data makes fits fail, which a search reports with a
# FitFailedWarning (as GridSearchCV does) before the estimator's own error comes at refit.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.FitFailedWarning")
@parametrize_with_checks(CHECKED, expected_failed_checks=_expected_failures, xfail_strict=True)
def test_sklearn_estimator_checks(estimator: SearchCV, check: Callable[[Any], None]) -> None:
    check(estimator)


# -- GridSearchCV parity ---------------------------------------------------------------------
def _assert_same_results(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert list(ours) == list(theirs)
    assert ours["params"] == theirs["params"]
    for key, value in theirs.items():
        if key.startswith("param_"):
            assert ours[key].dtype == value.dtype, key
            assert list(np.ma.getmaskarray(ours[key])) == list(np.ma.getmaskarray(value)), key
            assert ours[key].tolist() == value.tolist(), key
        elif key.startswith(("split", "mean_t", "std_t", "rank_")):
            np.testing.assert_allclose(ours[key], value, err_msg=key)


def test_grid_matches_gridsearchcv_multimetric_with_train_scores(
    wine: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = wine
    grid = {
        "kneighborsclassifier__n_neighbors": [1, 5, 15],
        "kneighborsclassifier__weights": ["uniform", "distance"],
        "kneighborsclassifier__p": np.array([1.0, 2.0]),
    }
    options: dict[str, Any] = {
        "cv": StratifiedKFold(3, shuffle=True, random_state=0),
        "scoring": ["accuracy", "f1_macro"],
        "refit": "f1_macro",
        "return_train_score": True,
    }
    pipe = make_pipeline(StandardScaler(), KNeighborsClassifier())
    theirs = GridSearchCV(pipe, grid, **options).fit(X, y)
    ours = SearchCV(pipe, grid, strategy="grid", **options).fit(X, y)

    _assert_same_results(ours.cv_results_, theirs.cv_results_)
    assert len(ours.cv_results_["params"]) == 12  # the whole grid, nothing more
    assert ours.best_index_ == theirs.best_index_
    assert ours.best_params_ == theirs.best_params_
    assert ours.best_score_ == pytest.approx(theirs.best_score_)
    assert ours.multimetric_ and ours.n_splits_ == theirs.n_splits_ == 3
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y))  # refit's metric: f1_macro


def test_grid_matches_gridsearchcv_with_none_values(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    grid = {"max_depth": [None, 1, 3], "criterion": ["gini", "entropy"]}
    tree = DecisionTreeClassifier(random_state=0)
    theirs = GridSearchCV(tree, grid, cv=3).fit(X, y)
    ours = SearchCV(tree, grid, strategy="grid", cv=3).fit(X, y)

    _assert_same_results(ours.cv_results_, theirs.cv_results_)
    assert ours.cv_results_["param_max_depth"].dtype == object
    assert ours.best_params_ == theirs.best_params_
    assert ours.best_score_ == pytest.approx(theirs.best_score_)
    # The study records the position of a None-bearing value, the estimator gets the value.
    assert [t.values for t in ours.trials_[:3]] == [
        {"criterion": "gini", "max_depth": i} for i in (0, 1, 2)
    ]


def test_grid_matches_gridsearchcv_with_sample_weight_and_groups(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    from sklearn.linear_model import RidgeClassifier
    from sklearn.model_selection import GroupKFold

    X, y = iris
    weights = np.linspace(0.1, 3.0, len(y))  # split with the folds, and weighing the scores
    groups = np.arange(len(y)) % 4
    grid = {"alpha": [0.1, 1.0, 10.0]}
    options: dict[str, Any] = {
        "cv": GroupKFold(4),
        "scoring": ["accuracy", "balanced_accuracy"],
        "refit": "accuracy",
        "return_train_score": True,
    }
    fit_params = {"sample_weight": weights, "groups": groups}
    theirs = GridSearchCV(RidgeClassifier(), grid, **options).fit(X, y, **fit_params)
    ours = SearchCV(RidgeClassifier(), grid, strategy="grid", **options).fit(X, y, **fit_params)

    _assert_same_results(ours.cv_results_, theirs.cv_results_)
    assert ours.best_params_ == theirs.best_params_
    np.testing.assert_allclose(ours.best_estimator_.coef_, theirs.best_estimator_.coef_)


# -- the space -------------------------------------------------------------------------------
class Sink(RegressorMixin, BaseEstimator):
    """A regressor that takes parameters a to k and m of any kind, and scores them all 0."""

    def __init__(
        self,
        a: Any = None,
        b: Any = None,
        c: Any = None,
        d: Any = None,
        e: Any = None,
        f: Any = None,
        g: Any = None,
        h: Any = None,
        i: Any = None,
        j: Any = None,
        k: Any = None,
        m: Any = None,
    ) -> None:
        self.a, self.b, self.c, self.d, self.e, self.f = a, b, c, d, e, f
        self.g, self.h, self.i, self.j, self.k, self.m = g, h, i, j, k, m

    def fit(self, X: Any, y: Any) -> Sink:
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.zeros(len(X))

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        return 0.0


def test_every_form_of_the_space_gives_values_in_range(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    first, second = Bowl(), Bowl()
    space = {
        "a": Float(1e-3, 1e2, sampling="log"),
        "b": Int(2, 5),
        "c": Choice(["x", "y"]),
        "d": Boolean(),
        "e": Fixed("saga"),
        "f": stats.loguniform(1e-2, 1.0),
        "g": stats.randint(1, 4),
        "h": stats.uniform(2.0, 3.0),
        "i": (None, "balanced"),
        "j": [first, second],
        "k": np.linspace(0.0, 1.0, 3),
        "m": NamedFloat("m", 0.5, 0.6),
    }
    search = SearchCV(Sink(), space, strategy="random", n_trials=12, cv=2, seed=0).fit(X, y)

    candidates = search.cv_results_["params"]
    assert len(candidates) == 12
    for params in candidates:
        assert list(params) == sorted(space)
        assert 1e-3 <= params["a"] <= 1e2 and isinstance(params["a"], float)
        assert params["b"] in {2, 3, 4, 5} and isinstance(params["b"], int)
        assert params["c"] in {"x", "y"} and isinstance(params["d"], bool)
        assert params["e"] == "saga"
        assert 1e-2 <= params["f"] <= 1.0 and params["g"] in {1, 2, 3}
        assert 2.0 <= params["h"] <= 5.0 and params["i"] in (None, "balanced")
        assert params["j"] is first or params["j"] is second  # the listed objects themselves
        assert params["k"] in (0.0, 0.5, 1.0) and isinstance(params["k"], np.floating)
        assert 0.5 <= params["m"] <= 0.6
    assert {params["i"] for params in candidates} == {None, "balanced"}
    assert {id(params["j"]) for params in candidates} == {id(first), id(second)}
    assert search.best_estimator_.j is not first and search.best_estimator_.j is not second


def test_a_space_function_makes_conditional_parameters(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris

    def space(hp: hs.HyperParameters) -> dict[str, Any]:
        params = {"alpha": hp.Choice("alpha", [0.1, 1.0])}
        if hp.Boolean("deep"):
            with hp.conditional_scope("deep", [True]):
                params["max_iter"] = hp.Choice("iterations", [9, 27])
        return params

    shallow = Recorder(report="quality", max_iter=3)
    search = SearchCV(shallow, space, strategy="grid", cv=2).fit(X, y)

    results = search.cv_results_
    # Reachable combinations only: alpha x (shallow, or deep x two iteration counts).
    assert len(results["params"]) == 2 * (1 + 2)
    assert len({str(p) for p in results["params"]}) == 6
    masked = np.ma.getmaskarray(results["param_max_iter"])
    assert list(masked) == ["max_iter" not in p for p in results["params"]]
    assert masked.sum() == 2
    assert search.best_params_ == {"alpha": 0.1, "max_iter": 27}


def test_nested_pipeline_parameters_reach_their_step(wine: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = wine
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    search = SearchCV(
        pipe, {"clf__C": Float(1e-2, 1e1, sampling="log")}, n_trials=4, cv=3, seed=0
    ).fit(X, y)

    best_c = search.best_params_["clf__C"]
    assert isinstance(search.best_estimator_, Pipeline)
    assert best_c == search.best_estimator_.named_steps["clf"].C
    assert pipe.named_steps["clf"].C == 1.0  # the given pipeline is left alone
    manual = clone(pipe).set_params(clf__C=best_c).fit(X, y)
    np.testing.assert_allclose(search.predict_proba(X), manual.predict_proba(X))
    assert all(1e-2 <= p["clf__C"] <= 1e1 for p in search.cv_results_["params"])


# -- estimator conventions -------------------------------------------------------------------
def test_get_params_set_params_and_clone_round_trip() -> None:
    search = SearchCV(LogisticRegression(C=2.0), {"C": Float(0.1, 10.0)}, strategy="random")
    params = search.get_params()
    assert params["strategy"] == "random" and params["estimator__C"] == 2.0
    assert params["space"] == {"C": Float(0.1, 10.0)}

    search.set_params(strategy="grid", n_trials=4, estimator__C=3.0)
    copy = clone(search)
    assert copy.get_params(deep=False).keys() == search.get_params(deep=False).keys()
    assert copy.strategy == "grid" and copy.n_trials == 4 and copy.estimator.C == 3.0
    assert copy.estimator is not search.estimator
    assert "Float(0.1, 10.0)" in repr(copy)


def test_scikit_learns_argument_names_work_in_searchcv(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    grids = [{"alpha": [0.1, 0.3]}, {"alpha": [3.0]}]
    by_grid = SearchCV(Bowl(), param_grid=grids, strategy="grid", cv=2).fit(X, y)
    assert [p["alpha"] for p in by_grid.cv_results_["params"]] == [0.1, 0.3, 3.0]
    assert by_grid.best_params_ == {"alpha": 0.3}

    space = {"alpha": stats.loguniform(1e-2, 1e1)}
    named = SearchCV(
        Bowl(), param_distributions=space, strategy="random", n_iter=5, random_state=3, cv=2
    ).fit(X, y)
    ours = SearchCV(Bowl(), space, strategy="random", n_trials=5, seed=3, cv=2).fit(X, y)
    assert named.cv_results_["params"] == ours.cv_results_["params"]  # two names, one meaning
    assert len(named.cv_results_["params"]) == 5
    assert clone(named).get_params()["n_iter"] == 5

    generator = np.random.RandomState(0)
    shared = SearchCV(Bowl(), param_distributions=space, n_iter=3, cv=2, random_state=generator)
    first = shared.fit(X, y).cv_results_["params"]
    assert shared.fit(X, y).cv_results_["params"] != first  # the RandomState is consumed

    with pytest.raises(hs.InvalidSpaceError, match=r"^param_grid\['alpha'\]: expected a list"):
        SearchCV(Bowl(), param_grid={"alpha": 1.0}).fit(X, y)
    with pytest.raises(hs.InvalidArgumentError, match=r"exactly one of space, param_grid"):
        SearchCV(Bowl(), {"alpha": [1.0]}, param_grid={"alpha": [1.0]}).fit(X, y)
    with pytest.raises(hs.InvalidArgumentError, match=r"n_iter=.*None when n_trials is given"):
        SearchCV(Bowl(), {"alpha": [1.0]}, n_trials=2, n_iter=2).fit(X, y)


def test_methods_delegate_to_the_refitted_estimator(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    search = SearchCV(
        make_pipeline(StandardScaler(), LogisticRegression()),
        {"logisticregression__C": [0.1, 1.0, 10.0]},
        strategy="grid",
        cv=3,
    )
    with pytest.raises(NotFittedError):
        search.predict(X)
    search.fit(X, y)
    best = search.best_estimator_
    for method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
        np.testing.assert_allclose(getattr(search, method)(X), getattr(best, method)(X))
    assert search.score(X, y) == pytest.approx(best.score(X, y))
    np.testing.assert_array_equal(search.classes_, [0, 1, 2])
    assert search.n_features_in_ == 4
    assert search.refit_time_ >= 0.0
    assert not hasattr(search, "transform")  # the pipeline ends with a classifier
    restored = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(restored.predict(X), search.predict(X))

    pca = SearchCV(PCA(), {"n_components": [1, 2, 3]}, strategy="grid", cv=3).fit(X)
    np.testing.assert_allclose(pca.transform(X), pca.best_estimator_.transform(X))
    np.testing.assert_allclose(
        pca.inverse_transform(pca.transform(X)),
        pca.best_estimator_.inverse_transform(pca.best_estimator_.transform(X)),
    )
    assert not hasattr(SearchCV(Ridge(), {"alpha": [1.0]}), "predict_proba")


def test_refit_false_keeps_the_results_and_offers_no_predictions(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    search = SearchCV(Bowl(), {"alpha": [0.1, 0.3, 3.0]}, strategy="grid", cv=2, refit=False)
    assert not hasattr(search, "predict")
    search.fit(X, y)
    assert search.best_params_ == {"alpha": 0.3}  # one metric: best_* still there
    assert not hasattr(search, "best_estimator_") and not hasattr(search, "predict")
    assert not hasattr(search, "n_features_in_")


def test_several_metrics_refit_on_the_named_one(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    scoring = {"acc": "accuracy", "neg_loss": "neg_log_loss"}
    space = {"logisticregression__C": [0.01, 1.0]}
    model = make_pipeline(StandardScaler(), LogisticRegression())
    search = SearchCV(model, space, strategy="grid", cv=3, scoring=scoring, refit="neg_loss").fit(
        X, y
    )
    results = search.cv_results_
    assert search.best_score_ == results["mean_test_neg_loss"][search.best_index_]
    assert search.best_index_ == int(np.argmax(results["mean_test_neg_loss"]))
    assert search.score(X, y) == pytest.approx(search.scorer_["neg_loss"](search, X, y))
    assert [t.value for t in search.trials_] == pytest.approx(list(results["mean_test_neg_loss"]))

    picked = SearchCV(model, space, strategy="grid", cv=3, scoring=scoring, refit=lambda r: 0).fit(
        X, y
    )
    assert picked.best_index_ == 0 and not hasattr(picked, "best_score_")
    assert picked.best_params_ == {"logisticregression__C": 0.01}

    with pytest.raises(hs.InvalidArgumentError, match=r"refit=.*'acc', 'neg_loss'.*'nope'"):
        SearchCV(model, space, scoring=scoring, refit="nope").fit(X, y)


# -- strategies ------------------------------------------------------------------------------
def test_bayes_finds_the_optimum_and_a_seed_repeats_the_search(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    space = {"alpha": Float(1e-3, 1e2, sampling="log")}

    def run(seed: int) -> SearchCV:
        return SearchCV(Bowl(), space, strategy="bayes", n_trials=14, cv=2, seed=seed).fit(X, y)

    first, again, other = run(0), run(0), run(1)
    assert abs(math.log10(first.best_params_["alpha"]) - math.log10(0.3)) < 0.15
    assert first.cv_results_["params"] == again.cv_results_["params"]
    assert first.cv_results_["params"] != other.cv_results_["params"]
    assert len(first.trials_) == 14
    assert all(t.state is TrialState.COMPLETE for t in first.trials_)


def test_halving_gives_early_trials_fewer_training_rows(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    search = SearchCV(
        Recorder(report="rows"),
        {"alpha": Float(0.01, 1.0, sampling="log")},
        strategy="halving",
        resource="n_samples",
        cv=3,
        seed=0,
    ).fit(X, y)

    results = search.cv_results_
    # Three folds of 100 training rows. scikit-learn's smallest start, 2 samples per fold
    # and class of the 150 (18), is 12 training rows; 100 // 12 = 8 candidates, the best
    # ceil(8 / 3) = 3 on 36 rows, and no third iteration, which would need 9 candidates.
    assert list(results["n_resources"]) == [12] * 8 + [36] * 3
    assert list(results["iter"]) == [0] * 8 + [1] * 3
    for k in range(3):  # the score is the number of rows the fit saw
        np.testing.assert_array_equal(results[f"split{k}_test_score"], results["n_resources"])
    assert [t.budget for t in search.trials_] == list(results["n_resources"])
    assert results["n_resources"][search.best_index_] == 36
    assert search.best_estimator_.n_rows_ == 150  # the refit uses every row
    # As many candidates as scikit-learn's HalvingRandomSearchCV (which counts samples of X).
    theirs = _sklearn_halving(Recorder(report="rows"), {"alpha": stats.loguniform(0.01, 1.0)})
    theirs.set_params(cv=3, random_state=0).fit(X, y)
    assert search.n_candidates_ == theirs.n_candidates_ == [8, 3]
    assert search.n_resources_ == [12, 36] and theirs.n_resources_ == [18, 54]
    assert search.n_iterations_ == theirs.n_iterations_ == 2
    assert search.n_required_iterations_ == theirs.n_required_iterations_
    assert search.n_possible_iterations_ == theirs.n_possible_iterations_


def _sklearn_halving(estimator: Any, distributions: dict[str, Any]) -> Any:
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV

    return HalvingRandomSearchCV(estimator, distributions)


def test_subsamples_are_stratified(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    search = SearchCV(
        Recorder(report="classes"),
        {"alpha": Float(0.01, 1.0)},
        strategy="halving",
        resource="n_samples",
        min_resources=3,
        max_resources=9,
        cv=3,
        seed=0,
    ).fit(X, y)
    results = search.cv_results_
    assert list(results["n_resources"]) == [3, 3, 3, 9]
    for k in range(3):  # three rows, one of each class
        np.testing.assert_array_equal(results[f"split{k}_test_score"], 3.0)


def test_hyperband_budgets_max_iter_and_refits_on_the_full_budget(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    search = SearchCV(
        Recorder(report="quality"),  # max_iter=27: the budget, found by resource="auto"
        {"alpha": Float(0.01, 10.0, sampling="log")},
        strategy="hyperband",
        cv=2,
        seed=0,
    ).fit(X, y)

    results = search.cv_results_
    budgets = list(results["n_resources"])
    assert sorted(set(budgets)) == [3, 9, 27]  # 27 // 3**2 = 3: three rungs
    assert [p["max_iter"] for p in results["params"]] == budgets
    assert list(results["bracket"]) == [2] * 13 + [1] * 6 + [0] * 3
    assert budgets[:9] == [3] * 9  # the most aggressive bracket starts on the least
    assert results["n_resources"][search.best_index_] == 27
    assert search.best_estimator_.iterations_ == 27
    assert [t.budget for t in search.trials_] == budgets


@pytest.mark.parametrize("strategy", ["bohb", "asha"])
def test_every_budgeted_strategy_of_the_registry_runs_in_searchcv(
    strategy: str, iris: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = iris
    search = SearchCV(
        Recorder(report="quality"),
        {"alpha": Float(0.01, 10.0, sampling="log")},
        strategy=strategy,
        n_trials=16 if strategy == "asha" else None,
        cv=2,
        seed=0,
    ).fit(X, y)
    budgets = list(search.cv_results_["n_resources"])
    assert set(budgets) <= {3, 9, 27} and 3 in budgets
    assert [p["max_iter"] for p in search.cv_results_["params"]] == budgets
    if strategy == "asha":
        assert len(budgets) == 16
    else:  # BOHB runs Hyperband's brackets: 13 + 6 + 3 trials
        assert len(budgets) == 22 and budgets.count(27) >= 3
        assert "bracket" in search.cv_results_


def test_an_unknown_strategy_lists_the_registry(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    with pytest.raises(hs.InvalidArgumentError) as info:
        SearchCV(Recorder(), {"alpha": Float(0.01, 10.0)}, strategy="anneal").fit(X, y)
    message = str(info.value)
    assert message.startswith("SearchCV(strategy=...): expected one of 'bayes', 'random'")
    assert "'bohb'" in message and "'asha'" in message


# -- failures --------------------------------------------------------------------------------
def test_failing_fits_are_recorded_and_the_search_goes_on(
    iris: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = iris
    space = {"fail": [False, True], "alpha": [0.1, 0.3]}
    search = SearchCV(Recorder(report="quality"), space, strategy="grid", cv=2)
    with pytest.warns(
        FitFailedWarning,
        match=r"(?s)4 of 8 fits failed.*4 x RuntimeError: this configuration cannot be fitted",
    ):
        search.fit(X, y)

    results = search.cv_results_
    failed = np.array([p["fail"] for p in results["params"]])
    assert np.isnan(results["mean_test_score"][failed]).all()
    assert np.isfinite(results["mean_test_score"][~failed]).all()
    assert (results["rank_test_score"][failed] > results["rank_test_score"][~failed].max()).all()
    assert search.best_params_ == {"alpha": 0.3, "fail": False}
    states = [t.state for t in search.trials_]
    assert states == [TrialState.FAILED if f else TrialState.COMPLETE for f in failed]
    assert "2 of 2 fits failed" in (search.trials_[int(np.argmax(failed))].error or "")

    low = clone(search).set_params(error_score=-100.0)
    with pytest.warns(FitFailedWarning):
        low.fit(X, y)
    assert (low.cv_results_["split0_test_score"][failed] == -100.0).all()
    assert low.best_params_ == search.best_params_

    with pytest.raises(RuntimeError, match="cannot be fitted"):
        clone(search).set_params(error_score="raise").fit(X, y)

    with pytest.raises(AllFitsFailedError, match=r"(?s)All 4 fits .*cannot be fitted") as info:
        clone(search).set_params(space={"fail": [True], "alpha": [0.1, 0.3]}).fit(X, y)
    assert isinstance(info.value, ValueError) and isinstance(info.value, hs.HyperscoutError)


# -- argument errors -------------------------------------------------------------------------
class RvsOnly:
    """A distribution scikit-learn would sample (it has rvs) without a ppf to map it."""

    def rvs(self, random_state: Any = None) -> float:
        return 1.0


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"strategy": "bayesian"}, hs.InvalidArgumentError, r"strategy=.*'bayesian'"),
        ({"n_trials": 0}, hs.InvalidArgumentError, r"n_trials=.*an int >= 1.*got 0"),
        ({"space": {"C": 1.0}}, hs.InvalidSpaceError, r"space\['C'\].*got 1\.0.*\[1\.0\]"),
        ({"space": {"solver": "lbfgs"}}, hs.InvalidSpaceError, r"space\['solver'\].*'lbfgs'"),
        ({"space": {"C": []}}, hs.InvalidSpaceError, r"space\['C'\].*empty"),
        ({"space": {"C": [1.0, 1.0]}}, hs.InvalidSpaceError, r"'C'.*distinct"),
        ({"space": {"CC": [1.0]}}, hs.InvalidArgumentError, r"space.*'CC'"),
        ({"space": {"C": RvsOnly()}}, hs.InvalidSpaceError, r"space\['C'\].*has rvs but no ppf"),
        ({"space": {"C": NamedFloat("D", 1.0, 2.0)}}, hs.InvalidSpaceError, r"named 'D'"),
        ({"space": lambda hp: [1]}, hs.InvalidArgumentError, r"must return a dict.*\[1\]"),
        ({"space": 3}, hs.InvalidArgumentError, r"space: expected a dict.*got 3"),
        (
            {"strategy": "halving", "resource": "epochs"},
            hs.InvalidArgumentError,
            r"resource=.*'epochs'",
        ),
        (
            {"strategy": "halving", "space": {"max_iter": [5, 10]}},
            hs.InvalidArgumentError,
            r"'max_iter' is the budget",
        ),
        (
            {"strategy": "halving", "min_resources": 500, "max_resources": 100},
            hs.InvalidArgumentError,
            r"min_resources=.*at most max_resources=100.*got 500",
        ),
        ({"scoring": 5}, hs.InvalidArgumentError, r"scoring=.*got 5"),
        ({"storage": hs.MemoryStorage()}, hs.InvalidArgumentError, r"storage=.*cannot be cloned"),
    ],
)
def test_bad_arguments_name_the_argument_and_the_value(
    iris: tuple[np.ndarray, np.ndarray], options: dict[str, Any], error: type, match: str
) -> None:
    X, y = iris
    arguments: dict[str, Any] = {"space": {"C": [0.1, 1.0]}, "cv": 2, "n_trials": 2, **options}
    search = SearchCV(LogisticRegression(), **arguments)  # constructing checks nothing
    with pytest.raises(error, match=match):
        search.fit(X, y)


def test_ranges_are_checked_where_they_are_written() -> None:
    with pytest.raises(hs.InvalidSpaceError, match=r"Float\(1\.0, 0\.0\): min_value must be <="):
        Float(1.0, 0.0)
    with pytest.raises(hs.InvalidSpaceError, match=r"Int\(0, 5, sampling='log'\).*min_value > 0"):
        Int(0, 5, sampling="log")


# -- the study, parallel fits, verbosity -----------------------------------------------------
def test_the_study_is_in_memory_unless_a_directory_is_given(
    iris: tuple[np.ndarray, np.ndarray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = iris
    monkeypatch.chdir(tmp_path)
    space = {"alpha": [0.1, 0.3, 3.0]}
    SearchCV(Bowl(), space, strategy="grid", cv=2).fit(X, y)
    assert list(tmp_path.iterdir()) == []

    search = SearchCV(
        Bowl(), space, strategy="grid", cv=2, directory=tmp_path / "runs", project_name="bowl"
    )
    search.fit(X, y)
    search.fit(X, y)  # each fit starts the study over
    storage = open_storage(sqlite_url(tmp_path / "runs" / "bowl" / "hyperscout.db"))
    try:
        study = storage.load_study("bowl")
        assert study is not None
        trials = storage.trials(study.id)
    finally:
        storage.close()
    assert len(trials) == 3
    assert [t.value for t in trials] == pytest.approx(list(search.cv_results_["mean_test_score"]))
    assert [t.values for t in trials] == [{"alpha": a} for a in space["alpha"]]


@pytest.fixture
def threads() -> Iterator[None]:
    """Joblib on threads: parallel fits without starting processes on a shared machine."""
    from joblib import parallel_config

    with parallel_config(backend="threading"):
        yield


def test_parallel_fits_give_the_sequential_results(
    iris: tuple[np.ndarray, np.ndarray], threads: None
) -> None:
    X, y = iris
    search = SearchCV(
        Bowl(),
        {"alpha": Float(1e-2, 1e1, sampling="log")},
        strategy="random",
        n_trials=6,
        cv=2,
        seed=3,
    )
    sequential = clone(search).fit(X, y)
    parallel = clone(search).set_params(n_jobs=4).fit(X, y)  # two configurations at a time
    assert parallel.cv_results_["params"] == sequential.cv_results_["params"]
    np.testing.assert_allclose(
        parallel.cv_results_["mean_test_score"], sequential.cv_results_["mean_test_score"]
    )


def test_verbose_prints_a_line_per_trial(
    iris: tuple[np.ndarray, np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    X, y = iris
    SearchCV(Bowl(), {"alpha": [0.1, 3.0]}, strategy="grid", cv=2, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[1] == "[SearchCV] trial 1: mean_test_score=-1 for {'alpha': 3.0}"


def test_without_scikit_learn_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(hs.MissingDependencyError, match=r"pip install 'hyperscout\[sklearn\]'"):
        SearchCV(object(), {})


def test_the_module_imports_without_scikit_learn() -> None:
    """Doctest collection imports every module, installed extras or not."""
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "import hyperscout as hs\n"
        "import hyperscout.integrations.sklearn as m\n"
        "print(m.Float(0.0, 1.0))\n"
        "try:\n"
        "    m.SearchCV(None, {})\n"
        "except hs.MissingDependencyError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        "Float(0.0, 1.0)",
        "MissingDependencyError hyperscout.integrations.sklearn.SearchCV needs sklearn. Install "
        "it with: pip install 'hyperscout[sklearn]'",
    ]


@pytest.mark.slow
def test_the_example_runs(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / "sklearn_search.py")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "GridSearchCV best" in out and "SearchCV(bayes) best" in out
    accuracy = float(out.split("test accuracy: ")[1].split()[0])
    assert 0.9 < accuracy <= 1.0
