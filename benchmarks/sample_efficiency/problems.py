"""The problems of the sample-efficiency benchmark, each defined once.

A problem is a search space (a tuple of :class:`~benchmarks.harness.space.Param`) and a function
of a dict of values to minimise; ``benchmarks/harness/space.py`` turns that one space into each
tuner's own. The objectives below wrap a problem for hyperscout (``f(hp)``) and Optuna
(``f(trial)``).

Synthetic problems have a known optimum and are scored by simple regret (best value found minus
the optimum); the two real tuning tasks (scikit-learn models on data sets that ship with
scikit-learn) have none and are scored by their loss, the 3-fold cross-validation error.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.harness.functions import (
    STYBLINSKI_TANG_MIN,
    ackley,
    branin,
    hartmann6,
    levy,
    rosenbrock,
    styblinski_tang,
)
from benchmarks.harness.space import (
    Choice,
    Float,
    Int,
    Param,
    Values,
    declare_hyperscout,
    optuna_suggest,
)

__all__ = ["PROBLEMS", "Problem", "hyperscout_objective", "optuna_objective"]


@dataclass(frozen=True)
class Problem:
    """A function to minimise over a space; ``optimum`` is None for a real tuning task."""

    name: str
    title: str
    space: tuple[Param, ...]
    fn: Callable[[Values], float]
    optimum: float | None
    note: str = ""

    @property
    def is_synthetic(self) -> bool:
        return self.optimum is not None

    @property
    def dim(self) -> int:
        return len(self.space)

    def __call__(self, values: Values) -> float:
        return float(self.fn(values))

    def score(self, value: float) -> float:
        """Simple regret for a synthetic problem (never below 0), the loss for a real task."""
        if self.optimum is None:
            return value
        return max(value - self.optimum, 0.0)


def _box(bounds: Sequence[tuple[float, float]]) -> tuple[Param, ...]:
    return tuple(Float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(bounds))


def _vector_fn(f: Callable[[np.ndarray], float], d: int) -> Callable[[Values], float]:
    names = [f"x{i}" for i in range(d)]

    def fn(values: Values) -> float:
        return f(np.array([float(values[n]) for n in names]))

    fn.__name__ = f.__name__
    return fn


def _synthetic(
    name: str,
    title: str,
    f: Callable[[np.ndarray], float],
    bounds: Sequence[tuple[float, float]],
    optimum: float,
    note: str = "",
) -> Problem:
    return Problem(name, title, _box(bounds), _vector_fn(f, len(bounds)), optimum, note)


# -- a mixed space with a known optimum ----------------------------------------------------------
_ACTIVATION_PENALTY = {"gelu": 0.0, "relu": 0.3, "tanh": 0.6, "sigmoid": 1.0}
_OPTIMIZER_PENALTY = {"adam": 0.0, "rmsprop": 0.2, "sgd": 0.5}
# The best learning rate depends on the optimiser, so the space does not separate.
_BEST_LOG_LR = {"adam": -3.0, "rmsprop": -3.0, "sgd": -2.0}


def mixed(values: Values) -> float:
    """A made-up "training loss" over a typical neural-network space; 0 at the optimum.

    Optimum: ``optimizer="adam"``, ``lr=1e-3``, ``units=96``, ``batch_size=64``,
    ``dropout=0.1``, ``activation="gelu"``. Every term is a square or a penalty that is 0
    there and positive elsewhere.
    """
    optimizer = values["optimizer"]
    lr_term = (math.log10(values["lr"]) - _BEST_LOG_LR[optimizer]) / 2
    units_term = (values["units"] - 96) / 128
    batch_term = (math.log2(values["batch_size"]) - 6) / 3
    dropout_term = (values["dropout"] - 0.1) / 0.4
    return (
        lr_term**2
        + units_term**2
        + batch_term**2
        + dropout_term**2
        # Wide layers want the right dropout more than narrow ones: an interaction.
        + (2 * units_term * dropout_term) ** 2
        + _ACTIVATION_PENALTY[values["activation"]]
        + _OPTIMIZER_PENALTY[optimizer]
    )


MIXED_SPACE = (
    Float("lr", 1e-5, 1e-1, log=True),
    Int("units", 16, 512, step=16),
    Int("batch_size", 8, 512, log=True),
    Float("dropout", 0.0, 0.5),
    Choice("activation", ["relu", "tanh", "gelu", "sigmoid"]),
    Choice("optimizer", ["adam", "sgd", "rmsprop"]),
)


# -- real tuning tasks on data that ships with scikit-learn --------------------------------------
@functools.cache
def _breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    return x, y


@functools.cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return x / 16.0, y


def _cv_error(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    # Fixed folds: the loss is a deterministic function of the configuration.
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        # Short training budgets are the point of the task; their warnings are not news.
        warnings.simplefilter("ignore")
        return float(1.0 - cross_val_score(model, x, y, cv=folds).mean())


def svc_breast_cancer(values: Values) -> float:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    model = make_pipeline(
        StandardScaler(),
        SVC(
            C=values["C"],
            gamma=values["gamma"],
            kernel=values["kernel"],
            max_iter=100_000,  # a bound on libsvm's rare slow cases (large C)
        ),
    )
    return _cv_error(model, *_breast_cancer())


def mlp_digits(values: Values) -> float:
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        hidden_layer_sizes=(int(values["units"]),),
        activation=values["activation"],
        alpha=values["alpha"],
        learning_rate_init=values["learning_rate_init"],
        batch_size=int(values["batch_size"]),
        max_iter=8,  # a few epochs keep one evaluation near 0.2 s on one core
        random_state=0,
    )
    return _cv_error(model, *_digits())


# -- the registry ------------------------------------------------------------------------------
PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in (
        _synthetic("branin", "Branin (2-D)", branin, [(-5, 10), (0, 15)], 0.397887357729739),
        _synthetic("hartmann6", "Hartmann (6-D)", hartmann6, [(0, 1)] * 6, -3.32236801141551),
        _synthetic(
            "ackley5",
            "Ackley (5-D)",
            ackley,
            [(-5, 10)] * 5,
            0.0,
            "on [-5, 10]^5 rather than the usual [-32.768, 32.768]^5: in the wide box the "
            "function is flat noise around the optimum at 100 trials, and the off-centre box "
            "keeps the optimum away from the middle of the space",
        ),
        _synthetic("levy4", "Levy (4-D)", levy, [(-10, 10)] * 4, 0.0),
        _synthetic("rosenbrock4", "Rosenbrock (4-D)", rosenbrock, [(-5, 10)] * 4, 0.0),
        _synthetic(
            "styblinski_tang8",
            "Styblinski-Tang (8-D)",
            styblinski_tang,
            [(-5, 5)] * 8,
            8 * STYBLINSKI_TANG_MIN,
        ),
        Problem(
            "mixed",
            "Mixed space (6-D)",
            MIXED_SPACE,
            mixed,
            0.0,
            "a log float, a stepped int, a log int, a float and two categoricals; a made-up "
            "loss with an optimiser/learning-rate interaction, 0 at adam, lr=1e-3, units=96, "
            "batch_size=64, dropout=0.1, gelu",
        ),
        Problem(
            "svc_cancer",
            "SVC on breast cancer (3-D, 3-fold CV error)",
            (
                Float("C", 1e-3, 1e3, log=True),
                Float("gamma", 1e-5, 1e1, log=True),
                Choice("kernel", ["rbf", "sigmoid", "linear"]),
            ),
            svc_breast_cancer,
            None,
            "scaled features; about 0.03 s an evaluation",
        ),
        Problem(
            "mlp_digits",
            "MLP on digits (5-D, 3-fold CV error)",
            (
                Int("units", 8, 128, log=True),
                Float("alpha", 1e-6, 1e-1, log=True),
                Float("learning_rate_init", 1e-4, 0.3, log=True),
                Int("batch_size", 64, 256, log=True),
                Choice("activation", ["relu", "tanh", "logistic"]),
            ),
            mlp_digits,
            None,
            "one hidden layer, 8 epochs of Adam; about 0.1-0.3 s an evaluation",
        ),
    )
}


# -- adapters that need a Problem ---------------------------------------------------------------
def hyperscout_objective(
    problem: Problem, fn: Callable[[Values], float] | None = None
) -> Callable[[Any], float]:
    """A hyperscout objective ``f(hp)`` that defines the space as it runs and returns the loss."""
    evaluate = fn or problem

    def objective(hp: Any) -> float:
        return evaluate({p.name: declare_hyperscout(hp, p) for p in problem.space})

    return objective


def optuna_objective(
    problem: Problem, fn: Callable[[Values], float] | None = None
) -> Callable[[Any], float]:
    """An Optuna objective ``f(trial)`` for ``study.optimize``."""
    evaluate = fn or problem
    return lambda trial: evaluate(optuna_suggest(trial, problem.space))
