"""The tasks of the multi-fidelity benchmark, where the budget is epochs, and the budget meter.

A :class:`Task` is a search space (``benchmarks.harness.space.Param``, the description both
families share, so its adapters serve here too) and a model that trains one epoch at a time and
can be saved and restored in the middle: :meth:`Model.train_epoch`, :meth:`Model.val_loss`,
:meth:`Model.save`, and the task's ``load``. A configuration promoted to a higher budget
continues from its checkpoint and trains only the epochs it lacks; training ``a`` epochs,
saving, restoring and training ``b`` more gives exactly the model of ``a + b`` epochs in one go
(every random stream the training draws from is part of the checkpoint).

Tasks:

- ``mlp-digits``: scikit-learn's ``MLPClassifier`` trained with ``partial_fit`` (one epoch per
  call) on the digits data set; validation log loss.
- ``torch-digits``: a small PyTorch MLP (AdamW, dropout) on the digits data set; validation
  log loss.
- ``synth-rho<r>`` (``synth-rho0.9``, ``synth-rho0.5``, any ``0 < r <= 1``): a synthetic
  loss whose low-fidelity ranking agrees with the full-budget one to a chosen degree; its
  full-budget loss is a standardised Hartmann-6, scored by regret.
- ``mf2-<function>`` (:data:`MF2_TASKS`; needs the ``mf2`` package): the published
  bi-fidelity test functions of ``mf2`` (Hartmann-6, Borehole, Park91A, Currin, ...) and its
  adjustable-correlation ones (``mf2-branin-a0.5``: any parameter ``a``), with the budget
  mapped to fidelity by :func:`mf2_fidelity_weight`: ``b`` epochs out of ``B`` give
  ``(1 - t) f_low + t f_high`` with ``t = ln b / ln B``, so one epoch is the low fidelity and
  the full budget exactly the high one; scored by regret against the high fidelity's minimum.

Every task's full budget is ``max_epochs`` (:data:`MAX_EPOCHS`, 27, unless
``get_task(name, max_epochs)`` asks for another); the synthetic task's fidelity schedule
stretches with it.

:class:`BudgetMeter` counts the epochs every method actually trains (a continued
configuration counts only its new epochs), records the best validation loss so far against
that count, and raises :class:`BudgetExhausted` when the run's total is spent.
"""

from __future__ import annotations

import functools
import json
import math
import pickle
import re
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from benchmarks.harness.functions import hartmann6
from benchmarks.harness.space import Choice, Float, Int, Param

__all__ = [
    "ALL_TASKS",
    "DEFAULT_TASKS",
    "LOSS_CAP",
    "MF2_TASKS",
    "MAX_EPOCHS",
    "MIN_MAX_EPOCHS",
    "BudgetExhausted",
    "BudgetMeter",
    "Model",
    "Task",
    "get_task",
    "mf2_fidelity_correlation",
    "mf2_fidelity_weight",
    "mf2_function",
    "mf2_loss",
    "synthetic_correlation",
]

MAX_EPOCHS = 27  # the default full budget: Hyperband with factor 3 has rungs 1, 3, 9, 27
# A diverged network's log loss (NaN, inf or huge) is recorded as this: a finite value keeps
# every tuner's bookkeeping alike (hyperscout fails a NaN trial, Optuna would record it).
LOSS_CAP = 10.0
# The smallest full budget: the synthetic fidelity schedule divides by ln(max_epochs), and
# Hyperband with factor 3 needs two rungs at least.
MIN_MAX_EPOCHS = 3
DEFAULT_TASKS = ("mlp-digits", "torch-digits", "synth-rho0.9", "synth-rho0.5")
# The mf2 functions the benchmark runs by default (``--tasks mf2``), from nearly identical
# fidelities (Borehole, Currin: rank correlation 1.0 between low and high on random points)
# to misleading ones (the adjustable Branin at a = 0.5: 0.18); see ``report.py``.
MF2_TASKS = (
    "mf2-hartmann6",
    "mf2-borehole",
    "mf2-park91a",
    "mf2-currin",
    "mf2-hartmann3-a0.75",
    "mf2-branin-a0.5",
)
ALL_TASKS = DEFAULT_TASKS + MF2_TASKS
N_CLASSES = 10


class BudgetExhausted(BaseException):
    """The run's total budget is spent.

    A BaseException, so that no tuner records it as a failed trial: it passes through every
    tuner's ``except Exception`` and ends the search where it stands.
    """


class Model(Protocol):
    """A model being trained: ``epoch`` counts the epochs trained so far."""

    epoch: int

    def train_epoch(self) -> None: ...

    def val_loss(self) -> float: ...

    def save(self, folder: Path) -> None: ...


@dataclass(frozen=True)
class Task:
    """A space, a fresh model per configuration (``build(values, seed)``) and ``load(folder)``.

    ``optimum`` is the best full-budget loss when known (synthetic tasks, scored by regret);
    None for a real task (scored by its validation loss).
    """

    name: str
    title: str
    space: tuple[Param, ...]
    build: Callable[[Mapping[str, Any], int], Model]
    load: Callable[[Path], Model]
    max_epochs: int = MAX_EPOCHS
    optimum: float | None = None
    metric: str = "validation log loss"
    note: str = ""

    @property
    def is_synthetic(self) -> bool:
        return self.optimum is not None

    def score(self, loss: float) -> float:
        """Regret for a synthetic task, the loss itself for a real one."""
        return loss if self.optimum is None else max(loss - self.optimum, 0.0)

    def warm_up(self) -> None:
        """Load the data and run one epoch, so imports fall outside the timed run."""
        model = self.build(_middle(self.space), 0)
        model.train_epoch()
        model.val_loss()


def _middle(space: tuple[Param, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for p in space:
        if p.kind == "choice":
            values[p.name] = p.choices[0]
        elif p.log:
            mid = math.sqrt(p.low * p.high)
            values[p.name] = round(mid) if p.kind == "int" else mid
        else:
            mid = (p.low + p.high) / 2
            values[p.name] = round(mid) if p.kind == "int" else mid
    return values


def _capped(loss: float) -> float:
    return min(loss, LOSS_CAP) if math.isfinite(loss) else LOSS_CAP


def _log_loss(proba: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels, probabilities clipped as scikit-learn
    clips them (the float's eps), capped at :data:`LOSS_CAP`."""
    if not np.all(np.isfinite(proba)):
        return LOSS_CAP
    eps = np.finfo(proba.dtype).eps
    picked = np.clip(proba[np.arange(len(labels)), labels], eps, 1.0)
    return _capped(float(-np.mean(np.log(picked))))


# -- the budget meter ------------------------------------------------------------------------------
class BudgetMeter:
    """Counts epochs trained in one run and records the best validation loss against them.

    ``events`` holds ``(epochs spent, best full-budget loss, best loss at any budget)`` each
    time one of the two improves; ``None`` where there is none yet. A full-budget loss is that
    of a model trained to ``max_epochs`` (the Hyperband paper's "trained to completion").
    """

    def __init__(self, total: int, max_epochs: int) -> None:
        self.total = total
        self.max_epochs = max_epochs
        self.spent = 0
        self.best_full = math.inf
        self.best_any = math.inf
        self.events: list[tuple[int, float | None, float | None]] = []
        self.models = 0  # configurations started from scratch
        self.continued = 0  # models restored from a lower rung's checkpoint
        self.completed = 0  # models trained to max_epochs
        self._lock = threading.Lock()

    def start(self, *, continued: bool) -> None:
        with self._lock:
            if continued:
                self.continued += 1
            else:
                self.models += 1

    def epoch(self, model: Model) -> float:
        """Train ``model`` one epoch and return its validation loss.

        Raises:
            BudgetExhausted: the total is spent; nothing is trained.
        """
        with self._lock:  # reserve the epoch first, so that threads never overspend
            if self.spent >= self.total:
                raise BudgetExhausted
            self.spent += 1
            at = self.spent
        model.train_epoch()
        loss = model.val_loss()
        with self._lock:
            improved = loss < self.best_any
            self.best_any = min(self.best_any, loss)
            if model.epoch >= self.max_epochs:
                self.completed += 1
                improved |= loss < self.best_full
                self.best_full = min(self.best_full, loss)
            if improved:
                self.events.append((at, _finite(self.best_full), _finite(self.best_any)))
        return loss


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


# -- data ------------------------------------------------------------------------------------------
@functools.cache
def _digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits (8x8 images, 10 classes) scaled to [0, 1]: 1,197 to train, 600 to validate."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        x / 16.0, y, test_size=600, stratify=y, random_state=0
    )
    return x_train, x_val, y_train, y_val


# -- scikit-learn MLPClassifier with partial_fit ---------------------------------------------------
class SklearnMLP:
    """``MLPClassifier`` (Adam), one ``partial_fit`` call per epoch.

    Its ``random_state`` is a ``RandomState`` object, pickled with the model, so the
    shuffling of a continued model goes on where it stopped.
    """

    def __init__(self, values: Mapping[str, Any], seed: int) -> None:
        from sklearn.neural_network import MLPClassifier

        self.epoch = 0
        self.model = MLPClassifier(
            hidden_layer_sizes=(int(values["units"]),),
            activation=values["activation"],
            alpha=float(values["alpha"]),
            learning_rate_init=float(values["learning_rate_init"]),
            batch_size=int(values["batch_size"]),
            solver="adam",
            random_state=np.random.RandomState(seed),
        )

    def train_epoch(self) -> None:
        import sklearn

        x_train, _, y_train, _ = _digits()
        # The data are checked once, here: scikit-learn's per-call checks would cost a third
        # of an epoch.
        with (
            sklearn.config_context(assume_finite=True, skip_parameter_validation=True),
            warnings.catch_warnings(),
            np.errstate(all="ignore"),
        ):
            warnings.simplefilter("ignore")  # overflow in a diverging network is the point
            self.model.partial_fit(x_train, y_train, classes=np.arange(N_CLASSES))
        self.epoch += 1

    def val_loss(self) -> float:
        import sklearn

        _, x_val, _, y_val = _digits()
        with (
            sklearn.config_context(assume_finite=True, skip_parameter_validation=True),
            warnings.catch_warnings(),
            np.errstate(all="ignore"),
        ):
            warnings.simplefilter("ignore")
            proba = self.model.predict_proba(x_val)
        return _log_loss(proba, y_val)

    def save(self, folder: Path) -> None:
        (folder / "model.pkl").write_bytes(pickle.dumps(self))

    @staticmethod
    def load(folder: Path) -> Model:
        model: SklearnMLP = pickle.loads((folder / "model.pkl").read_bytes())
        return model


MLP_DIGITS = Task(
    "mlp-digits",
    "scikit-learn MLPClassifier on digits (5-D)",
    (
        Int("units", 16, 256, log=True),
        Float("alpha", 1e-6, 1e-1, log=True),
        Float("learning_rate_init", 1e-4, 1e-1, log=True),
        Int("batch_size", 32, 512, log=True),
        Choice("activation", ["relu", "tanh", "logistic"]),
    ),
    SklearnMLP,
    SklearnMLP.load,
    note="one hidden layer, Adam, one `partial_fit` call per epoch; 1,197 training and 600 "
    "validation images",
)


# -- a small PyTorch network -----------------------------------------------------------------------
class TorchMLP:
    """An MLP (ReLU, dropout) trained with AdamW; the checkpoint holds the weights, the
    optimiser's state and the random generator that shuffles and drops out."""

    def __init__(self, values: Mapping[str, Any], seed: int) -> None:
        import torch

        torch.set_num_threads(1)
        self.values = dict(values)
        self.epoch = 0
        width, layers = int(values["width"]), int(values["layers"])
        modules: list[torch.nn.Module] = []
        inputs = 64
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for _ in range(layers):
                modules += [
                    torch.nn.Linear(inputs, width),
                    torch.nn.ReLU(),
                    torch.nn.Dropout(float(values["dropout"])),
                ]
                inputs = width
            modules.append(torch.nn.Linear(inputs, N_CLASSES))
            self.net = torch.nn.Sequential(*modules)
            self.rng_state = torch.get_rng_state()
        self.optimizer = torch.optim.AdamW(
            self.net.parameters(),
            lr=float(values["lr"]),
            weight_decay=float(values["weight_decay"]),
        )
        self.batch_size = int(values["batch_size"])

    def train_epoch(self) -> None:
        import torch

        x_train, y_train = _torch_data()[:2]
        self.net.train()
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self.rng_state)
            order = torch.randperm(len(x_train))
            for start in range(0, len(x_train), self.batch_size):
                batch = order[start : start + self.batch_size]
                self.optimizer.zero_grad(set_to_none=True)
                loss = torch.nn.functional.cross_entropy(self.net(x_train[batch]), y_train[batch])
                loss.backward()
                self.optimizer.step()
            self.rng_state = torch.get_rng_state()
        self.epoch += 1

    def val_loss(self) -> float:
        import torch

        x_val, y_val = _torch_data()[2:]
        self.net.eval()
        with torch.no_grad():
            return _capped(float(torch.nn.functional.cross_entropy(self.net(x_val), y_val)))

    def save(self, folder: Path) -> None:
        import torch

        state = {
            "values": self.values,
            "epoch": self.epoch,
            "net": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng_state": self.rng_state,
        }
        torch.save(state, folder / "model.pt")

    @staticmethod
    def load(folder: Path) -> Model:
        import torch

        state = torch.load(folder / "model.pt", weights_only=False)
        model = TorchMLP(state["values"], 0)
        model.net.load_state_dict(state["net"])
        model.optimizer.load_state_dict(state["optimizer"])
        model.rng_state = state["rng_state"]
        model.epoch = int(state["epoch"])
        return model


@functools.cache
def _torch_data() -> tuple[Any, Any, Any, Any]:
    import torch

    x_train, x_val, y_train, y_val = _digits()
    return (
        torch.tensor(x_train, dtype=torch.float32),
        torch.tensor(y_train, dtype=torch.long),
        torch.tensor(x_val, dtype=torch.float32),
        torch.tensor(y_val, dtype=torch.long),
    )


TORCH_DIGITS = Task(
    "torch-digits",
    "PyTorch MLP on digits (6-D)",
    (
        Float("lr", 1e-4, 1e-1, log=True),
        Int("width", 16, 128, log=True),  # wider layers cost more and gain nothing here
        Int("layers", 1, 3),
        Float("dropout", 0.0, 0.6),
        Float("weight_decay", 1e-6, 1e-1, log=True),
        # From 64: at most 19 optimiser steps an epoch keeps an epoch within tens of ms.
        Int("batch_size", 64, 512, log=True),
    ),
    TorchMLP,
    TorchMLP.load,
    note="ReLU layers with dropout, AdamW, one thread; the same 1,197/600 split of digits",
)


# -- the synthetic task ----------------------------------------------------------------------------
# f_b(x) = g(x) + w(b) h(x) + KAPPA (b**-0.5 - B**-0.5), with g and h standardised and
# uncorrelated, w(b) = sqrt(1/rho**2 - 1) (1 - ln b / ln B): at b = B it is g; at b = 1 its
# correlation with g is rho (1: every budget ranks as the full one). The last term is a
# learning curve that every configuration shares.
KAPPA = 1.0
_HARTMANN_MIN = -3.32236801141551
SYNTH_PATTERN = re.compile(r"^synth-rho(\d*\.?\d+)$")


@functools.cache
def _hartmann_moments() -> tuple[float, float]:
    """Mean and standard deviation of Hartmann-6 over the unit cube (2**16 fixed draws)."""
    x = np.random.default_rng(12345).random((2**16, 6))
    values = np.array([hartmann6(row) for row in x])
    return float(values.mean()), float(values.std())


def _g(x: np.ndarray) -> float:
    mean, sd = _hartmann_moments()
    return (hartmann6(x) - mean) / sd


def _h(x: np.ndarray) -> float:
    """Hartmann-6 of the mirrored, reversed point: same shape, a different optimum."""
    mean, sd = _hartmann_moments()
    return (hartmann6(1.0 - x[::-1]) - mean) / sd


def synthetic_loss(x: np.ndarray, budget: int, rho: float, max_epochs: int = MAX_EPOCHS) -> float:
    """The synthetic loss of ``x`` after ``budget`` epochs out of ``max_epochs``."""
    weight = math.sqrt(1.0 / rho**2 - 1.0) * (1.0 - math.log(budget) / math.log(max_epochs))
    curve = KAPPA * (budget**-0.5 - max_epochs**-0.5)
    return _g(x) + weight * _h(x) + curve


class SyntheticModel:
    def __init__(self, values: Mapping[str, Any], rho: float, max_epochs: int = MAX_EPOCHS) -> None:
        self.x = np.array([float(values[f"x{i}"]) for i in range(6)])
        self.rho = rho
        self.max_epochs = max_epochs
        self.epoch = 0

    def train_epoch(self) -> None:
        self.epoch += 1

    def val_loss(self) -> float:
        return synthetic_loss(self.x, max(self.epoch, 1), self.rho, self.max_epochs)

    def save(self, folder: Path) -> None:
        state = {
            "x": self.x.tolist(),
            "rho": self.rho,
            "max_epochs": self.max_epochs,
            "epoch": self.epoch,
        }
        (folder / "model.json").write_text(json.dumps(state))

    @staticmethod
    def load(folder: Path) -> Model:
        state = json.loads((folder / "model.json").read_text())
        values = {f"x{i}": v for i, v in enumerate(state["x"])}
        model = SyntheticModel(values, state["rho"], int(state["max_epochs"]))
        model.epoch = int(state["epoch"])
        return model


def synthetic_task(rho: float, name: str | None = None, max_epochs: int = MAX_EPOCHS) -> Task:
    """The synthetic task with correlation ``rho`` and full budget ``max_epochs``."""
    if not 0.0 < rho <= 1.0:
        raise ValueError(f"synth-rho<r>: expected 0 < r <= 1, got {rho!r}.")
    _check_max_epochs(max_epochs)
    mean, sd = _hartmann_moments()
    return Task(
        name or f"synth-rho{rho:g}",
        f"Synthetic, rho = {rho:g} (6-D)",
        tuple(Float(f"x{i}", 0.0, 1.0) for i in range(6)),
        lambda values, seed: SyntheticModel(values, rho, max_epochs),
        SyntheticModel.load,
        max_epochs=max_epochs,
        optimum=(_HARTMANN_MIN - mean) / sd,
        metric="regret of the full-budget loss",
        note="full-budget loss: standardised Hartmann-6; at budget b it is shifted by "
        "w(b) times a second standardised Hartmann-6 (mirrored and reversed input) plus a "
        "learning curve shared by all configurations; w(1) makes the correlation between the "
        f"budget-1 and full-budget losses rho, w({max_epochs}) = 0",
    )


def synthetic_correlation(
    rho: float, n: int = 4000, max_epochs: int = MAX_EPOCHS
) -> tuple[float, float]:
    """Measured (Pearson, Spearman) correlation of budget-1 and full-budget losses."""
    from scipy.stats import pearsonr, spearmanr

    x = np.random.default_rng(7).random((n, 6))
    low = [synthetic_loss(row, 1, rho, max_epochs) for row in x]
    high = [synthetic_loss(row, max_epochs, rho, max_epochs) for row in x]
    return float(pearsonr(low, high)[0]), float(spearmanr(low, high)[0])


_REAL = {t.name: t for t in (MLP_DIGITS, TORCH_DIGITS)}


def _check_max_epochs(max_epochs: int) -> None:
    if not isinstance(max_epochs, int) or max_epochs < MIN_MAX_EPOCHS:
        raise ValueError(
            f"max_epochs: expected an integer >= {MIN_MAX_EPOCHS}, got {max_epochs!r}."
        )


def get_task(name: str, max_epochs: int = MAX_EPOCHS) -> Task:
    """A task by name (``mlp-digits``, ``torch-digits``, ``synth-rho<r>`` or ``mf2-<function>``)
    whose full budget is ``max_epochs`` epochs."""
    _check_max_epochs(max_epochs)
    if name in _REAL:
        task = _REAL[name]
        return task if max_epochs == task.max_epochs else replace(task, max_epochs=max_epochs)
    if name.startswith("mf2-"):
        return mf2_task(name, max_epochs)
    match = SYNTH_PATTERN.match(name)
    if match is None:
        known = ", ".join(
            [*_REAL, "synth-rho<r> (0 < r <= 1)", *MF2_FIXED, *(f"mf2-{f}-a<a>" for f in MF2_ADJ)]
        )
        raise ValueError(f"Unknown task {name!r}. Known: {known}.")
    return synthetic_task(float(match.group(1)), name, max_epochs)


# -- the mf2 functions -----------------------------------------------------------------------------
# Task name -> the attribute of the mf2 package: the bi-fidelity functions, and the
# adjustable ones (mf2.adjustable), which take a parameter ``a`` that sets the correlation of
# the low fidelity with the high one.
MF2_FIXED = {
    "mf2-hartmann6": "hartmann6",
    "mf2-borehole": "borehole",
    "mf2-park91a": "park91a",
    "mf2-park91b": "park91b",
    "mf2-currin": "currin",
    "mf2-bohachevsky": "bohachevsky",
    "mf2-booth": "booth",
    "mf2-himmelblau": "himmelblau",
    "mf2-six-hump-camelback": "six_hump_camelback",
}
MF2_ADJ = ("branin", "paciorek", "hartmann3", "trid")
MF2_ADJ_PATTERN = re.compile(r"^mf2-(branin|paciorek|hartmann3|trid)-a(-?\d*\.?\d+)$")


def _import_mf2() -> Any:
    """The mf2 package. Its ``__init__`` imports ``pkg_resources`` for its version string only;
    setuptools 81 and later no longer ship it, so a stand-in that answers from
    ``importlib.metadata`` is put in its place when it is missing."""
    import importlib.metadata
    import importlib.util
    import sys
    import types

    if "pkg_resources" not in sys.modules and importlib.util.find_spec("pkg_resources") is None:
        shim = types.ModuleType("pkg_resources")
        shim.get_distribution = lambda name: types.SimpleNamespace(  # type: ignore[attr-defined]
            version=importlib.metadata.version(name)
        )
        sys.modules["pkg_resources"] = shim
    try:
        import mf2
    except ImportError as exc:
        raise ImportError(
            "The mf2-* tasks need the mf2 package: pip install mf2 (it comes with "
            "hyperscout's bench extra)."
        ) from exc
    return mf2


@functools.cache
def mf2_function(name: str) -> Any:
    """The ``mf2.MultiFidelityFunction`` of a task name (``mf2-hartmann6``,
    ``mf2-branin-a0.5``)."""
    match = MF2_ADJ_PATTERN.match(name)
    if name not in MF2_FIXED and match is None:  # checked before mf2 is imported
        known = ", ".join([*MF2_FIXED, *(f"mf2-{f}-a<a>" for f in MF2_ADJ)])
        raise ValueError(f"Unknown task {name!r}. Known mf2 tasks: {known}.")
    mf2 = _import_mf2()
    if match is None:
        return getattr(mf2, MF2_FIXED[name])
    return getattr(mf2.adjustable, match.group(1))(float(match.group(2)))


def mf2_fidelity_weight(budget: int, max_epochs: int) -> float:
    """The weight ``t`` of the high fidelity after ``budget`` epochs: ``ln b / ln B``, 0 at one
    epoch (the low fidelity alone), 1 at the full budget (the high fidelity alone)."""
    return math.log(max(budget, 1)) / math.log(max_epochs)


def mf2_loss(name: str, x: np.ndarray, budget: int, max_epochs: int = MAX_EPOCHS) -> float:
    """The loss of ``x`` after ``budget`` epochs: ``(1 - t) f_low(x) + t f_high(x)``."""
    function = mf2_function(name)
    t = mf2_fidelity_weight(budget, max_epochs)
    high = float(function.high(x)[0])
    if t >= 1.0:
        return high
    return (1.0 - t) * float(function.low(x)[0]) + t * high


@functools.cache
def mf2_optimum(name: str) -> tuple[float, tuple[float, ...]]:
    """The high fidelity's minimum over its bounds and where it is: the best of mf2's
    ``x_opt`` (when it is given) and of L-BFGS-B from the best 16 of 4,096 fixed random
    points (mf2's ``x_opt`` is not always the minimum: Currin's is its maximum)."""
    from scipy.optimize import minimize

    function = mf2_function(name)
    low, high = function.l_bound, function.u_bound
    span = high - low

    def f(u: np.ndarray) -> float:  # on the unit cube, so that every input weighs alike
        return float(function.high(low + np.clip(u, 0.0, 1.0) * span)[0])

    points = np.random.default_rng(2024).random((4096, function.ndim))
    values = np.asarray(function.high(low + points * span), dtype=float)
    candidates = [(float(values[i]), points[i]) for i in np.argsort(values)[:16]]
    if function.x_opt is not None:
        u = (np.asarray(function.x_opt, dtype=float) - low) / span
        candidates.append((f(u), u))
    best_value, best_u = min(candidates, key=lambda c: c[0])
    for _, start in candidates:
        result = minimize(f, start, method="L-BFGS-B", bounds=[(0.0, 1.0)] * function.ndim)
        if result.fun < best_value:
            best_value, best_u = float(result.fun), np.clip(result.x, 0.0, 1.0)
    return best_value, tuple(float(v) for v in low + best_u * span)


def mf2_fidelity_correlation(
    name: str, n: int = 4000, max_epochs: int = MAX_EPOCHS
) -> tuple[float, float]:
    """Measured (Pearson, Spearman) correlation of budget-1 and full-budget losses."""
    from scipy.stats import pearsonr, spearmanr

    function = mf2_function(name)
    x = function.l_bound + np.random.default_rng(7).random((n, function.ndim)) * (
        function.u_bound - function.l_bound
    )
    low = [mf2_loss(name, row, 1, max_epochs) for row in x]
    high = [mf2_loss(name, row, max_epochs, max_epochs) for row in x]
    return float(pearsonr(low, high)[0]), float(spearmanr(low, high)[0])


class Mf2Model:
    """A point of an mf2 function whose loss moves from the low to the high fidelity as it
    trains (:func:`mf2_loss`)."""

    def __init__(self, name: str, x: np.ndarray, max_epochs: int = MAX_EPOCHS) -> None:
        self.name = name
        self.x = np.asarray(x, dtype=float)
        self.max_epochs = max_epochs
        self.epoch = 0

    def train_epoch(self) -> None:
        self.epoch += 1

    def val_loss(self) -> float:
        return mf2_loss(self.name, self.x, max(self.epoch, 1), self.max_epochs)

    def save(self, folder: Path) -> None:
        state = {
            "name": self.name,
            "x": self.x.tolist(),
            "max_epochs": self.max_epochs,
            "epoch": self.epoch,
        }
        (folder / "model.json").write_text(json.dumps(state))

    @staticmethod
    def load(folder: Path) -> Model:
        state = json.loads((folder / "model.json").read_text())
        model = Mf2Model(state["name"], np.array(state["x"]), int(state["max_epochs"]))
        model.epoch = int(state["epoch"])
        return model


def mf2_task(name: str, max_epochs: int = MAX_EPOCHS) -> Task:
    """The task of an mf2 function (``mf2-hartmann6``, ``mf2-branin-a0.5``, ...)."""
    _check_max_epochs(max_epochs)
    function = mf2_function(name)
    names = [f"x{i}" for i in range(function.ndim)]
    space = tuple(
        Float(n, float(lo), float(hi))
        for n, lo, hi in zip(names, function.l_bound, function.u_bound, strict=True)
    )

    def build(values: Mapping[str, Any], seed: int) -> Model:
        return Mf2Model(name, np.array([float(values[n]) for n in names]), max_epochs)

    optimum, _ = mf2_optimum(name)
    return Task(
        name,
        f"mf2 {function.name} ({function.ndim}-D)",
        space,
        build,
        Mf2Model.load,
        max_epochs=max_epochs,
        optimum=optimum,
        metric="regret of the full-budget loss",
        note="the `mf2` package's bi-fidelity function; after b epochs the loss is "
        f"(1 - t) f_low + t f_high with t = ln b / ln {max_epochs}: the low fidelity at one "
        f"epoch, the high fidelity alone at {max_epochs}; regret against the high fidelity's "
        f"minimum {optimum:.6g} (found by L-BFGS-B, see `mf2_optimum`)",
    )
