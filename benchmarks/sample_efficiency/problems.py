"""The problems of the sample-efficiency benchmark, each defined once, and its space adapters.

A problem is a search space (a tuple of :class:`Param`, hyperscout's vocabulary: a float, an
int with an optional step, a categorical choice; ``log=True`` for a log scale) and a function
of a dict of values to minimise. The adapters below turn that one description into each
tuner's own space: hyperscout ``HyperParameters`` and an objective ``f(hp)``, Optuna
``suggest_*`` calls, a Hyperopt space, scikit-optimize dimensions and KerasTuner
``HyperParameters``. Every tuner library is imported inside the adapter that needs it.

Synthetic problems have a known optimum and are scored by simple regret (best value found minus
the optimum); the two real tuning tasks (scikit-learn models on data sets that ship with
scikit-learn) have none and are scored by their loss, the 3-fold cross-validation error.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = [
    "PROBLEMS",
    "Param",
    "Problem",
    "hyperopt_decode",
    "hyperopt_space",
    "hyperscout_objective",
    "hyperscout_space",
    "keras_tuner_hyperparameters",
    "optuna_objective",
    "optuna_suggest",
    "skopt_decode",
    "skopt_dimensions",
]

Values = Mapping[str, Any]


# -- the space description -------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """One parameter: ``kind`` is ``"float"``, ``"int"`` or ``"choice"``.

    ``low``/``high`` bound numbers (both included), ``log`` puts them on a log scale, ``step``
    spaces an int's values ``low, low + step, ...`` (not with ``log``), ``choices`` lists a
    categorical parameter's values (unordered).
    """

    name: str
    kind: Literal["float", "int", "choice"]
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    step: int | None = None
    choices: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.kind == "choice":
            if len(self.choices) < 2:
                raise ValueError(f"Param {self.name!r}: a choice needs two values or more.")
            return
        if not self.low < self.high:
            raise ValueError(f"Param {self.name!r}: expected low < high.")
        if self.log and self.low <= 0:
            raise ValueError(f"Param {self.name!r}: a log scale needs low > 0.")
        if self.step is not None:
            if self.kind != "int" or self.log or self.step < 1:
                raise ValueError(f"Param {self.name!r}: step is for linear ints only, >= 1.")
            if (self.high - self.low) % self.step:
                raise ValueError(f"Param {self.name!r}: high - low must be a multiple of step.")

    @property
    def n_steps(self) -> int:
        """How many values a stepped int has."""
        return int((self.high - self.low) // (self.step or 1)) + 1


def Float(name: str, low: float, high: float, *, log: bool = False) -> Param:
    return Param(name, "float", low, high, log=log)


def Int(name: str, low: int, high: int, *, step: int | None = None, log: bool = False) -> Param:
    return Param(name, "int", low, high, log=log, step=step)


def Choice(name: str, choices: Sequence[Any]) -> Param:
    return Param(name, "choice", choices=tuple(choices))


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


# -- synthetic test functions (vectors in, float out) -----------------------------------------
def branin(x: np.ndarray) -> float:
    x1, x2 = x
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return float((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10)


_HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_HARTMANN_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_HARTMANN_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann6(x: np.ndarray) -> float:
    inner = np.sum(_HARTMANN_A * (x - _HARTMANN_P) ** 2, axis=1)
    return float(-np.sum(_HARTMANN_ALPHA * np.exp(-inner)))


def ackley(x: np.ndarray) -> float:
    d = len(x)
    return float(
        -20 * math.exp(-0.2 * math.sqrt(np.sum(x**2) / d))
        - math.exp(np.sum(np.cos(2 * math.pi * x)) / d)
        + 20
        + math.e
    )


def levy(x: np.ndarray) -> float:
    w = 1 + (x - 1) / 4
    head = math.sin(math.pi * w[0]) ** 2
    body = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return float(head + body + tail)


def rosenbrock(x: np.ndarray) -> float:
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (x[:-1] - 1) ** 2))


def styblinski_tang(x: np.ndarray) -> float:
    return float(0.5 * np.sum(x**4 - 16 * x**2 + 5 * x))


# The minimum of one Styblinski-Tang term, at x = -2.903534...
_STYBLINSKI_TANG_MIN = -39.16616570377142


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
            8 * _STYBLINSKI_TANG_MIN,
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


# -- adapters: hyperscout ------------------------------------------------------------------------
def _declare_hyperscout(hp: Any, p: Param) -> Any:
    sampling = "log" if p.log else "linear"
    if p.kind == "float":
        return hp.Float(p.name, float(p.low), float(p.high), sampling=sampling)
    if p.kind == "int":
        return hp.Int(p.name, int(p.low), int(p.high), step=p.step, sampling=sampling)
    return hp.Choice(p.name, list(p.choices))


def hyperscout_space(space: Sequence[Param]) -> Any:
    """The space as ``hs.HyperParameters``, declared ahead so a sampler sees all of it."""
    import hyperscout as hs

    hp = hs.HyperParameters()
    for p in space:
        _declare_hyperscout(hp, p)
    return hp


def hyperscout_objective(
    problem: Problem, fn: Callable[[Values], float] | None = None
) -> Callable[[Any], float]:
    """A hyperscout objective ``f(hp)`` that defines the space as it runs and returns the loss."""
    evaluate = fn or problem

    def objective(hp: Any) -> float:
        return evaluate({p.name: _declare_hyperscout(hp, p) for p in problem.space})

    return objective


# -- adapters: Optuna ----------------------------------------------------------------------------
def optuna_suggest(trial: Any, space: Sequence[Param]) -> dict[str, Any]:
    """The values of one Optuna trial, asked parameter by parameter."""
    values: dict[str, Any] = {}
    for p in space:
        if p.kind == "float":
            values[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
        elif p.kind == "int":
            values[p.name] = trial.suggest_int(
                p.name, int(p.low), int(p.high), step=p.step or 1, log=p.log
            )
        else:
            values[p.name] = trial.suggest_categorical(p.name, list(p.choices))
    return values


def optuna_objective(
    problem: Problem, fn: Callable[[Values], float] | None = None
) -> Callable[[Any], float]:
    """An Optuna objective ``f(trial)`` for ``study.optimize``."""
    evaluate = fn or problem
    return lambda trial: evaluate(optuna_suggest(trial, problem.space))


# -- adapters: Hyperopt --------------------------------------------------------------------------
def hyperopt_space(space: Sequence[Param]) -> dict[str, Any]:
    """A Hyperopt space; decode its samples with :func:`hyperopt_decode`.

    A stepped int is searched as the index of its value (``uniformint``), so that its values
    are exactly ``low + k * step``; a log int is a ``qloguniform`` rounded to integers.
    """
    from hyperopt import hp

    out: dict[str, Any] = {}
    for p in space:
        if p.kind == "choice":
            out[p.name] = hp.choice(p.name, list(p.choices))
        elif p.kind == "float" and p.log:
            out[p.name] = hp.loguniform(p.name, math.log(p.low), math.log(p.high))
        elif p.kind == "float":
            out[p.name] = hp.uniform(p.name, p.low, p.high)
        elif p.log:
            out[p.name] = hp.qloguniform(p.name, math.log(p.low), math.log(p.high), 1)
        else:
            out[p.name] = hp.uniformint(p.name, 0, p.n_steps - 1)
    return out


def _clip(p: Param, x: float) -> float:
    return min(max(x, p.low), p.high)


def hyperopt_decode(space: Sequence[Param], sample: Mapping[str, Any]) -> dict[str, Any]:
    """The problem's values from what Hyperopt passes to the objective."""
    values: dict[str, Any] = {}
    for p in space:
        raw = sample[p.name]
        if p.kind == "choice":
            values[p.name] = raw
        elif p.kind == "float":
            values[p.name] = _clip(p, float(raw))
        elif p.log:
            values[p.name] = int(_clip(p, round(float(raw))))
        else:
            values[p.name] = int(p.low) + round(float(raw)) * (p.step or 1)
    return values


# -- adapters: scikit-optimize -------------------------------------------------------------------
def skopt_dimensions(space: Sequence[Param]) -> list[Any]:
    """scikit-optimize dimensions; a stepped int is searched as the index of its value."""
    from skopt.space import Categorical, Integer, Real

    dims: list[Any] = []
    for p in space:
        prior = "log-uniform" if p.log else "uniform"
        if p.kind == "choice":
            dims.append(Categorical(list(p.choices), name=p.name))
        elif p.kind == "float":
            dims.append(Real(p.low, p.high, prior=prior, name=p.name))
        elif p.step is not None:
            dims.append(Integer(0, p.n_steps - 1, name=p.name))
        else:
            dims.append(Integer(int(p.low), int(p.high), prior=prior, name=p.name))
    return dims


def skopt_decode(space: Sequence[Param], x: Sequence[Any]) -> dict[str, Any]:
    """The problem's values from a point that scikit-optimize asks for."""
    values: dict[str, Any] = {}
    for p, raw in zip(space, x, strict=True):
        if p.kind == "choice":
            values[p.name] = raw.item() if isinstance(raw, np.generic) else raw
        elif p.kind == "float":
            values[p.name] = float(raw)
        elif p.step is not None:
            values[p.name] = int(p.low) + int(raw) * p.step
        else:
            values[p.name] = int(raw)
    return values


# -- adapters: KerasTuner ------------------------------------------------------------------------
def keras_tuner_hyperparameters(space: Sequence[Param]) -> Any:
    """The space as ``keras_tuner.HyperParameters`` for an oracle."""
    import keras_tuner as kt

    hp = kt.HyperParameters()
    for p in space:
        sampling = "log" if p.log else "linear"
        if p.kind == "float":
            hp.Float(p.name, float(p.low), float(p.high), sampling=sampling)
        elif p.kind == "int":
            hp.Int(p.name, int(p.low), int(p.high), step=p.step, sampling=sampling)
        else:
            hp.Choice(p.name, list(p.choices))
    return hp
