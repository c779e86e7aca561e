"""Tune a scikit-learn pipeline with SearchCV, next to GridSearchCV, on the breast cancer data.

The same pipeline (scaling, then an RBF support vector machine) is tuned three ways:

- ``GridSearchCV`` over a 6 x 6 grid of ``C`` and ``gamma`` (36 configurations);
- ``SearchCV(strategy="bayes")``: a Gaussian process proposes 15 configurations over the
  continuous, log-scaled ranges;
- ``SearchCV(strategy="hyperband")``: an ``SGDClassifier`` whose budget is its number of
  epochs (``max_iter``), so that poor configurations stop after a few.

Each prints its best cross-validated accuracy, how many fits it made, and the accuracy of its
refitted best model on a held-out test set. The data ship with scikit-learn (no download).

Run it::

    python examples/sklearn_search.py
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from hyperscout.integrations.sklearn import Float, SearchCV


def report(name: str, search: Any, x_test: np.ndarray, y_test: np.ndarray, took: float) -> None:
    """Print the best configuration, its cross-validated and test accuracy, and the cost."""
    best = {k.split("__")[-1]: v for k, v in search.best_params_.items()}
    shown = ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.items()
    )
    print(
        f"{name} best {shown}: cv accuracy {search.best_score_:.4f}, "
        f"{len(search.cv_results_['params'])} configurations in {took:.1f} s, "
        f"test accuracy: {search.score(x_test, y_test):.4f}"
    )


def main() -> None:
    data, target = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        data, target, test_size=0.25, random_state=0, stratify=target
    )
    svm = make_pipeline(StandardScaler(), SVC())

    start = time.perf_counter()
    grid = GridSearchCV(
        svm,
        {"svc__C": np.logspace(-2, 3, 6), "svc__gamma": np.logspace(-4, 1, 6)},
        cv=5,
    ).fit(x_train, y_train)
    report("GridSearchCV", grid, x_test, y_test, time.perf_counter() - start)

    start = time.perf_counter()
    bayes = SearchCV(
        svm,
        {
            "svc__C": Float(1e-2, 1e3, sampling="log"),
            "svc__gamma": Float(1e-4, 1e1, sampling="log"),
        },
        strategy="bayes",
        n_trials=15,
        cv=5,
        seed=0,
    ).fit(x_train, y_train)
    report("SearchCV(bayes)", bayes, x_test, y_test, time.perf_counter() - start)

    sgd = make_pipeline(StandardScaler(), SGDClassifier(max_iter=27, tol=None, random_state=0))
    start = time.perf_counter()
    with warnings.catch_warnings():
        # The full budget of 27 epochs may stop short of convergence for some alphas.
        warnings.simplefilter("ignore", ConvergenceWarning)
        hyperband = SearchCV(
            sgd,
            {
                "sgdclassifier__alpha": Float(1e-6, 1e-1, sampling="log"),
                "sgdclassifier__loss": ["hinge", "log_loss", "modified_huber"],
            },
            strategy="hyperband",  # resource="auto": the pipeline's sgdclassifier__max_iter
            cv=5,
            seed=0,
        ).fit(x_train, y_train)
    report("SearchCV(hyperband)", hyperband, x_test, y_test, time.perf_counter() - start)
    budgets = hyperband.cv_results_["n_resources"]
    print(
        "  hyperband epochs per configuration: "
        + ", ".join(
            f"{n} x {b}" for b, n in zip(*np.unique(budgets, return_counts=True), strict=True)
        )
    )


if __name__ == "__main__":
    main()
