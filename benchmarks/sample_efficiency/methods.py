"""The methods of the sample-efficiency benchmark: one runner per tuner, all timed alike.

Each runner minimises a :class:`~problems.Problem` for ``budget`` trials from ``seed`` and
returns a :class:`RunResult`: the value of every trial in order and three timings per trial:

- ``propose_s``: the method's own proposal time, measured where the method proposes
  (hyperscout: the sampler's ``sample()`` through :class:`TimingSampler`; Optuna:
  ``study.ask()`` plus the ``suggest_*`` calls; scikit-optimize: ``Optimizer.ask()`` plus the
  ``tell()`` before it, which fits the model that chose the point; KerasTuner: the oracle's
  ``create_trial``; Hyperopt, which has no ask/tell: the loop time outside the objective);
- ``gap_s``: all the loop's time outside the objective before the trial (bookkeeping and
  storage included), measured the same way for every method;
- ``eval_s``: the objective's own time.

Optional libraries are imported inside their runner; :meth:`Method.unavailable` says why a
method cannot run here (its library does not import yet), so callers skip it with a note.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import hyperscout as hs
from benchmarks.harness.space import (
    hyperopt_decode,
    hyperopt_space,
    hyperscout_space,
    keras_tuner_hyperparameters,
    optuna_suggest,
    skopt_decode,
    skopt_dimensions,
)
from benchmarks.sample_efficiency.problems import Problem, hyperscout_objective
from hyperscout.samplers import Sampler

# KerasTuner needs a Keras backend; torch is the one the bench extra installs.
os.environ.setdefault("KERAS_BACKEND", "torch")

__all__ = [
    "METHODS",
    "Method",
    "Recorder",
    "RunResult",
    "TimingSampler",
    "hyperscout_default_method",
    "warm_up",
]


@dataclass
class RunResult:
    values: list[float] = field(default_factory=list)
    propose_s: list[float] = field(default_factory=list)
    gap_s: list[float] = field(default_factory=list)
    eval_s: list[float] = field(default_factory=list)


class Recorder:
    """Wraps a problem: records each value, the objective's time and the loop's time before it."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.result = RunResult()
        self._last = time.perf_counter()

    def restart(self) -> None:
        """Start the loop's clock: call it just before the method's loop begins."""
        self._last = time.perf_counter()

    def __call__(self, values: Mapping[str, Any]) -> float:
        started = time.perf_counter()
        value = self.problem(values)
        ended = time.perf_counter()
        self.result.gap_s.append(started - self._last)
        self.result.eval_s.append(ended - started)
        self.result.values.append(value)
        self._last = ended
        return value


def warm_up(problem: Problem) -> None:
    """Evaluate the problem once, untimed, so imports and data loading fall outside the runs."""
    values: dict[str, Any] = {}
    for p in problem.space:
        if p.kind == "choice":
            values[p.name] = p.choices[0]
        elif p.log:
            mid = float(np.sqrt(p.low * p.high))
            values[p.name] = round(mid) if p.kind == "int" else mid
        elif p.kind == "int":
            values[p.name] = int(p.low) + (p.n_steps // 2) * (p.step or 1)
        else:
            values[p.name] = (p.low + p.high) / 2
    problem(values)


# -- hyperscout ------------------------------------------------------------------------------------
class TimingSampler(Sampler):
    """A proxy that times every proposal of the sampler it wraps: one entry in ``times`` each."""

    def __init__(self, inner: Sampler) -> None:
        self.inner = inner
        self.times: list[float] = []

    def sample(self, space: Any, history: Any, rng: np.random.Generator) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.sample(space, history, rng)
        finally:
            self.times.append(time.perf_counter() - started)

    def sample_new(self, param: Any, values: Mapping[str, Any], rng: np.random.Generator) -> Any:
        # Only for a parameter the declared space lacks (never here): counted with the
        # proposal of the trial that defines it.
        started = time.perf_counter()
        try:
            return self.inner.sample_new(param, values, rng)
        finally:
            if self.times:
                self.times[-1] += time.perf_counter() - started

    def __getattr__(self, name: str) -> Any:
        # Anything else a preset or scheduler asks of the sampler comes from the real one.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"TimingSampler({self.inner!r})"


def _has_preset() -> bool:
    return hasattr(hs, "BayesianOptimization")


def hyperscout_default_method() -> tuple[str, str]:
    """The method name of ``hs.BayesianOptimization``'s default sampler, and a note.

    Read from the preset's signature, so the report follows the preset as it changes.
    """
    preset = getattr(hs, "BayesianOptimization", None)
    if preset is None:
        return "hs-gp", "hs.BayesianOptimization is not there yet: GPSampler stands in"
    default = inspect.signature(preset).parameters.get("sampler")
    name = default.default if default is not None else None
    if isinstance(name, str) and f"hs-{name}" in METHODS:
        return f"hs-{name}", f'hs.BayesianOptimization(sampler="{name}") is the default'
    return "hs-gp", f"hs.BayesianOptimization's default sampler is {name!r}: compared as GP"


def run_hyperscout(
    strategy: str, problem: Problem, seed: int, budget: int, initial: int | None
) -> RunResult:
    """hyperscout through ``search()``: the preset when it is there, else the sampler itself."""
    recorder = Recorder(problem)
    objective = hyperscout_objective(problem, recorder)
    common: dict[str, Any] = {
        "max_trials": budget,
        "seed": seed,
        "storage": "memory",
        "verbose": 0,
        "hyperparameters": hyperscout_space(problem.space),
    }
    if strategy == "random":
        tuner = hs.RandomSearch(objective, **common)
    elif _has_preset():
        if initial is not None:
            common["num_initial_points"] = initial
        tuner = hs.BayesianOptimization(objective, sampler=strategy, **common)
    else:
        startup = {} if initial is None else {"n_startup_trials": initial}
        if strategy == "gp":
            from hyperscout.samplers.gp import GPSampler

            sampler = GPSampler(**startup)
        elif strategy == "tpe":
            from hyperscout.samplers.tpe import TPESampler

            sampler = TPESampler(**startup)
        else:
            raise RuntimeError(f"hyperscout {strategy!r} needs hs.BayesianOptimization.")
        tuner = hs.Tuner(objective, sampler=sampler, **common)
    timing = TimingSampler(tuner.sampler)
    tuner.sampler = timing
    recorder.restart()
    tuner.search()
    states = {t.state.name for t in tuner.trials}
    if len(recorder.result.values) != budget or states != {"COMPLETE"}:
        raise RuntimeError(
            f"hyperscout {strategy}: expected {budget} COMPLETE trials, got "
            f"{len(recorder.result.values)} evaluations and states {sorted(states)}."
        )
    recorder.result.propose_s = list(timing.times[:budget])
    tuner.close()
    return recorder.result


# -- Optuna --------------------------------------------------------------------------------------
def run_optuna(
    kind: str, problem: Problem, seed: int, budget: int, initial: int | None
) -> RunResult:
    """Optuna through ask and tell, on its in-memory storage."""
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)
    startup = {} if initial is None else {"n_startup_trials": initial}
    recorder = Recorder(problem)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExperimentalWarning and friends
        if kind == "gp":
            sampler = optuna.samplers.GPSampler(seed=seed, **startup)
        else:
            sampler = optuna.samplers.TPESampler(seed=seed, **startup)
        study = optuna.create_study(direction="minimize", sampler=sampler)
        recorder.restart()
        for _ in range(budget):
            started = time.perf_counter()
            trial = study.ask()
            values = optuna_suggest(trial, problem.space)
            recorder.result.propose_s.append(time.perf_counter() - started)
            study.tell(trial, recorder(values))
    return recorder.result


# -- Hyperopt ------------------------------------------------------------------------------------
def run_hyperopt(problem: Problem, seed: int, budget: int, initial: int | None) -> RunResult:
    """Hyperopt's ``fmin`` with TPE; a proposal is the loop time outside the objective."""
    from hyperopt import Trials, fmin, tpe

    algo = tpe.suggest
    if initial is not None:
        algo = functools.partial(tpe.suggest, n_startup_jobs=initial)
    recorder = Recorder(problem)
    space = hyperopt_space(problem.space)

    def objective(sample: Mapping[str, Any]) -> float:
        return recorder(hyperopt_decode(problem.space, sample))

    recorder.restart()
    fmin(
        objective,
        space,
        algo=algo,
        max_evals=budget,
        trials=Trials(),
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    recorder.result.propose_s = list(recorder.result.gap_s)
    return recorder.result


# -- scikit-optimize -----------------------------------------------------------------------------
def run_skopt(problem: Problem, seed: int, budget: int, initial: int | None) -> RunResult:
    """``gp_minimize``'s defaults, built as ``gp_minimize`` builds them, run by ask and tell."""
    from sklearn.utils import check_random_state
    from skopt import Optimizer
    from skopt.utils import cook_estimator, normalize_dimensions

    rng = check_random_state(seed)
    space = normalize_dimensions(skopt_dimensions(problem.space))
    estimator = cook_estimator(
        "GP", space=space, random_state=rng.randint(0, np.iinfo(np.int32).max), noise="gaussian"
    )
    optimizer = Optimizer(
        space,
        estimator,
        n_initial_points=10 if initial is None else initial,
        initial_point_generator="random",
        n_jobs=1,
        acq_func="gp_hedge",
        acq_optimizer="auto",
        random_state=rng,
        acq_optimizer_kwargs={"n_points": 10000, "n_restarts_optimizer": 5, "n_jobs": 1},
        acq_func_kwargs={"xi": 0.01, "kappa": 1.96},
    )
    recorder = Recorder(problem)
    told_s = 0.0  # the last tell() fitted the model and chose the next point
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "The objective has been evaluated at this point"
        recorder.restart()
        for _ in range(budget):
            started = time.perf_counter()
            x = optimizer.ask()
            recorder.result.propose_s.append(told_s + time.perf_counter() - started)
            y = recorder(skopt_decode(problem.space, x))
            started = time.perf_counter()
            optimizer.tell(x, y)
            told_s = time.perf_counter() - started
    return recorder.result


# -- KerasTuner ----------------------------------------------------------------------------------
def run_keras_tuner(problem: Problem, seed: int, budget: int, initial: int | None) -> RunResult:
    """KerasTuner's ``BayesianOptimizationOracle`` driven directly: no Keras model is trained.

    The oracle writes a small JSON file per trial to a temporary project folder, as it does in
    a real search; that is part of its ``create_trial`` time. Its seed is ``seed + 1``
    because KerasTuner takes a seed of 0 for "no seed" and draws one at random.
    """
    import keras_tuner as kt

    recorder = Recorder(problem)
    with warnings.catch_warnings(), tempfile.TemporaryDirectory(prefix="kt-oracle-") as folder:
        # scikit-learn's GP warns when a length scale reaches its bound; that is not news here.
        warnings.simplefilter("ignore")
        oracle = kt.oracles.BayesianOptimizationOracle(
            objective=kt.Objective("loss", direction="min"),
            max_trials=budget,
            num_initial_points=initial,
            seed=seed + 1,
            hyperparameters=keras_tuner_hyperparameters(problem.space),
        )
        oracle._set_project_dir(folder, "oracle")
        oracle.verbose = 0
        recorder.restart()
        for number in range(budget):
            started = time.perf_counter()
            trial = oracle.create_trial("benchmark")
            recorder.result.propose_s.append(time.perf_counter() - started)
            if trial.status != kt.engine.trial.TrialStatus.RUNNING:
                raise RuntimeError(
                    f"KerasTuner stopped after {number} trials (status {trial.status})."
                )
            value = recorder(dict(trial.hyperparameters.values))
            oracle.update_trial(trial.trial_id, {"loss": value})
            trial.status = kt.engine.trial.TrialStatus.COMPLETED
            oracle.end_trial(trial)
    return recorder.result


# -- the registry --------------------------------------------------------------------------------
Runner = Callable[[Problem, int, int, "int | None"], RunResult]


@dataclass(frozen=True)
class Method:
    name: str
    label: str
    family: str  # "gp", "tpe" or "random": which --timing sweep it joins
    runner: Runner
    modules: tuple[str, ...]
    default_initial: str  # what the method does for initial points when not told

    def unavailable(self) -> str | None:
        """Why this method cannot run here, or None when it can."""
        for module in self.modules:
            try:
                importlib.import_module(module)
            except Exception as exc:  # an optional library may fail in many ways
                return f"{module} does not import ({type(exc).__name__}: {exc})"
        if self.name == "hs-auto" and not _has_preset():
            return "hs.BayesianOptimization is not there yet (sampler='auto' lives in it)"
        return None

    def run(self, problem: Problem, seed: int, budget: int, initial: int | None) -> RunResult:
        return self.runner(problem, seed, budget, initial)


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "hs-gp",
            "hyperscout GP",
            "gp",
            functools.partial(run_hyperscout, "gp"),
            ("hyperscout", "hyperscout.samplers.gp"),
            "10 (Sobol)",
        ),
        Method(
            "hs-tpe",
            "hyperscout TPE",
            "tpe",
            functools.partial(run_hyperscout, "tpe"),
            ("hyperscout", "hyperscout.samplers.tpe"),
            "10 (random)",
        ),
        Method(
            "hs-auto",
            "hyperscout auto",
            "gp",
            functools.partial(run_hyperscout, "auto"),
            ("hyperscout",),
            "10 (Sobol for the GP, random for TPE)",
        ),
        Method(
            "hs-random",
            "hyperscout random",
            "random",
            functools.partial(run_hyperscout, "random"),
            ("hyperscout",),
            "all random",
        ),
        Method(
            "optuna-tpe",
            "Optuna TPESampler",
            "tpe",
            functools.partial(run_optuna, "tpe"),
            ("optuna",),
            "10 (random)",
        ),
        Method(
            "optuna-gp",
            "Optuna GPSampler",
            "gp",
            functools.partial(run_optuna, "gp"),
            ("optuna", "torch"),
            "10 (random)",
        ),
        Method(
            "hyperopt-tpe",
            "Hyperopt TPE",
            "tpe",
            run_hyperopt,
            ("hyperopt",),
            "20 (random)",
        ),
        Method(
            "skopt-gp",
            "scikit-optimize gp_minimize",
            "gp",
            run_skopt,
            ("skopt",),
            "10 (random)",
        ),
        Method(
            "keras-bo",
            "KerasTuner BayesianOptimization",
            "gp",
            run_keras_tuner,
            ("keras_tuner",),
            "3 x dimensions (random)",
        ),
    )
}
