"""The methods of the multi-fidelity benchmark: one runner per tuner, every epoch metered.

A runner tunes a :class:`~.tasks.Task` from ``seed`` and trains every epoch through the run's
:class:`~.tasks.BudgetMeter`, which raises :class:`~.tasks.BudgetExhausted` when the total is
spent; the caller catches it. A runner that returns on its own (its strategy ran
out) leaves budget unspent, which the record shows.

- hyperscout: full-budget ``RandomSearch`` and ``BayesianOptimization`` (each trial trains
  ``max_epochs``); ``SuccessiveHalving`` (its one bracket repeated with fresh configurations
  until the budget is spent: the preset runs a single bracket), ``Hyperband``, ``BOHB`` and
  ``ASHAScheduler`` (promotion form) with checkpoints: a promoted configuration restores its
  lower rung's model from ``trial.previous_checkpoint_dir`` and trains only the epochs it
  lacks. ``BOHB`` runs three ways: with its default model (the GP on the largest budget with
  enough results), with TPE (the paper's model), and with ``model_budgets="all"`` (the GP on
  every budget, the budget as an input). Everything runs with one worker (the default
  ``InlineExecutor``), so ASHA's promotions are deterministic.
- Optuna: ``TPESampler`` with ``HyperbandPruner`` (min 1, max ``max_epochs``, factor 3); each
  trial trains from scratch epoch by epoch, reports, and stops when pruned (Optuna has no
  checkpoints to continue from, and needs none: a trial that goes on just keeps training).
- DEHB, SMAC3's multi-fidelity facade (Hyperband with its random forest) and Optuna TPE with
  ``SuccessiveHalvingPruner``: through their ask/tell interfaces (``peers.py``), with their
  published defaults; a job whose configuration the peer trained before at a lower budget
  continues that model (DEHB's promotions within its first Hyperband iteration, SMAC's
  promotions, an Optuna trial that survives a rung), any other job trains from scratch.
- KerasTuner: ``HyperbandOracle`` driven directly, as ``keras_tuner.Hyperband`` drives it:
  a trial trains from ``tuner/initial_epoch`` to ``tuner/epochs``, continuing the model of
  ``tuner/trial_id``; the same trainer as every other method, so no Keras model is involved
  (see the report's notes for why).
"""

from __future__ import annotations

import functools
import importlib
import logging
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hyperscout as hs
from benchmarks.harness.space import hyperscout_space, keras_tuner_hyperparameters, optuna_suggest
from benchmarks.multi_fidelity.peers import peer_runner
from benchmarks.multi_fidelity.tasks import BudgetMeter, Model, Task

os.environ.setdefault("KERAS_BACKEND", "torch")

__all__ = ["METHODS", "Method", "hyperband_iteration_budget", "successive_halving_rungs"]

FACTOR = 3
Runner = Callable[[Task, int, BudgetMeter, Path], None]


# -- hyperscout ------------------------------------------------------------------------------------
def hyperscout_objective(task: Task, seed: int, meter: BudgetMeter) -> Callable[..., Any]:
    """An objective ``(hp, trial)`` that trains to ``trial.budget``, continuing a lower rung."""

    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> dict[str, float]:
        budget = task.max_epochs if trial.budget is None else int(trial.budget)
        previous = trial.previous_checkpoint_dir
        model: Model = task.load(previous) if previous is not None else task.build(hp.values, seed)
        if previous is not None and model.epoch != trial.previous_budget:
            raise RuntimeError(
                f"trial {trial.number}: the checkpoint holds {model.epoch} epochs, the "
                f"tuner says {trial.previous_budget}."
            )
        meter.start(continued=previous is not None)
        loss = None
        while model.epoch < budget:
            loss = meter.epoch(model)
            trial.report(model.epoch, val_loss=loss)
            if trial.should_stop():
                break
        if loss is None:  # nothing left to train: the budget was reached below
            loss = model.val_loss()
        model.save(trial.checkpoint_dir)
        return {"val_loss": loss}

    return objective


def _common(task: Task, seed: int, meter: BudgetMeter, folder: Path, name: str) -> dict[str, Any]:
    return {
        "objective": "val_loss",
        "hyperparameters": hyperscout_space(task.space),
        "seed": seed,
        "storage": "memory",
        "directory": folder,
        "project_name": name,
        "verbose": 0,
    }


def hyperband_iteration_budget(max_epochs: int, factor: int = FACTOR) -> int:
    """Epochs one Hyperband iteration trains when promotions continue their checkpoints."""
    total = 0
    for bracket in hs.HyperbandScheduler(1, max_epochs, factor=factor).brackets():
        below = 0
        for rung in bracket.rungs:
            total += int(rung.n_configs * (rung.budget - below))
            below = int(rung.budget)
    return total


def successive_halving_rungs(max_epochs: int, factor: int = FACTOR) -> str:
    """The one bracket of ``SuccessiveHalving`` from 1 epoch, as ``27 at 1, 9 at 3, ...``."""
    rungs = hs.SuccessiveHalvingScheduler(1, max_epochs, factor=factor).brackets()[0].rungs
    return ", ".join(f"{r.n_configs} at {r.budget:g}" for r in rungs)


def _iterations(task: Task, meter: BudgetMeter) -> int:
    """Hyperband iterations enough to spend the whole budget (the meter ends the run first)."""
    return math.ceil(meter.total / hyperband_iteration_budget(task.max_epochs)) + 1


def run_hs_full(kind: str, task: Task, seed: int, meter: BudgetMeter, folder: Path) -> None:
    """Random search or Bayesian optimisation, every trial at the full budget."""
    common = _common(task, seed, meter, folder, kind)
    objective = hyperscout_objective(task, seed, meter)
    max_trials = meter.total // task.max_epochs + 2
    tuner: hs.Tuner
    if kind == "random":
        tuner = hs.RandomSearch(objective, max_trials=max_trials, **common)
    else:
        tuner = hs.BayesianOptimization(objective, max_trials=max_trials, **common)
    with tuner:
        tuner.search()


def run_hs_successive_halving(task: Task, seed: int, meter: BudgetMeter, folder: Path) -> None:
    """``hs.SuccessiveHalving``'s one bracket (``max_epochs`` at 1 epoch ... 1 at
    ``max_epochs`` when it is a power of 3), run again and again."""
    repeat = 0
    while meter.spent < meter.total:
        name = f"sh{repeat}"
        common = _common(task, seed * 1000 + repeat, meter, folder, name)
        with hs.SuccessiveHalving(
            hyperscout_objective(task, seed, meter),
            min_budget=1,
            max_budget=task.max_epochs,
            factor=FACTOR,
            **common,
        ) as tuner:
            tuner.search()
        repeat += 1


def run_hs_hyperband(task: Task, seed: int, meter: BudgetMeter, folder: Path) -> None:
    with hs.Hyperband(
        hyperscout_objective(task, seed, meter),
        max_epochs=task.max_epochs,
        factor=FACTOR,
        hyperband_iterations=_iterations(task, meter),
        **_common(task, seed, meter, folder, "hyperband"),
    ) as tuner:
        tuner.search()


def run_hs_bohb(
    task: Task,
    seed: int,
    meter: BudgetMeter,
    folder: Path,
    *,
    sampler: str = "auto",
    model_budgets: str = "largest",
) -> None:
    with hs.BOHB(
        hyperscout_objective(task, seed, meter),
        max_epochs=task.max_epochs,
        factor=FACTOR,
        hyperband_iterations=_iterations(task, meter),
        sampler=sampler,
        model_budgets=model_budgets,
        **_common(task, seed, meter, folder, "bohb"),
    ) as tuner:
        tuner.search()


def run_hs_asha(task: Task, seed: int, meter: BudgetMeter, folder: Path) -> None:
    """ASHA's promotion form with one worker: no limit on configurations; the meter stops it."""
    with hs.Tuner(
        hyperscout_objective(task, seed, meter),
        sampler=hs.RandomSampler(),
        scheduler=hs.ASHAScheduler(1, task.max_epochs, factor=FACTOR, mode="promotion"),
        run_until_stopped=True,  # no end of its own: the budget meter stops it
        **_common(task, seed, meter, folder, "asha"),
    ) as tuner:
        tuner.search()


# -- Optuna ----------------------------------------------------------------------------------------
def run_optuna_tpe_hyperband(task: Task, seed: int, meter: BudgetMeter, folder: Path) -> None:
    """TPE with ``HyperbandPruner`` through ask and tell; every trial starts from scratch."""
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ExperimentalWarning and friends
        study = optuna.create_study(
            direction="minimize",
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.HyperbandPruner(
                min_resource=1, max_resource=task.max_epochs, reduction_factor=FACTOR
            ),
        )
        while True:
            trial = study.ask()
            model = task.build(optuna_suggest(trial, task.space), seed)
            meter.start(continued=False)
            loss = math.inf
            pruned = False
            while model.epoch < task.max_epochs:
                loss = meter.epoch(model)
                trial.report(loss, model.epoch)
                if trial.should_prune():
                    pruned = True
                    break
            if pruned:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(trial, loss)


# -- KerasTuner ------------------------------------------------------------------------------------
def run_keras_tuner_hyperband(task: Task, seed: int, meter: BudgetMeter, folder: Path) -> None:
    """KerasTuner's ``HyperbandOracle``, driven as its ``Hyperband`` tuner drives it.

    Its seed is ``seed + 1`` because KerasTuner takes a seed of 0 for "no seed". Unlimited
    iterations: the meter ends the run.
    """
    import keras_tuner as kt

    names = [p.name for p in task.space]
    checkpoints = folder / "kt-checkpoints"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oracle = kt.oracles.HyperbandOracle(
            objective=kt.Objective("val_loss", direction="min"),
            max_epochs=task.max_epochs,
            factor=FACTOR,
            hyperband_iterations=10**6,
            seed=seed + 1,
            hyperparameters=keras_tuner_hyperparameters(task.space),
        )
        oracle._set_project_dir(str(folder), "kt-oracle")
        oracle.verbose = 0
        while True:
            trial = oracle.create_trial("benchmark")
            if trial.status != kt.engine.trial.TrialStatus.RUNNING:
                return  # STOPPED (IDLE needs a second worker)
            hp = trial.hyperparameters.values
            epochs, initial = int(hp["tuner/epochs"]), int(hp["tuner/initial_epoch"])
            parent = hp.get("tuner/trial_id")
            model: Model | None = None
            if parent is not None and initial > 0 and (checkpoints / parent).is_dir():
                model = task.load(checkpoints / parent)
            if model is None:
                model = task.build({n: hp[n] for n in names}, seed)
            meter.start(continued=model.epoch > 0)
            loss = math.inf
            while model.epoch < epochs:
                loss = meter.epoch(model)
            own = checkpoints / trial.trial_id
            own.mkdir(parents=True, exist_ok=True)
            model.save(own)
            oracle.update_trial(trial.trial_id, {"val_loss": loss}, step=epochs)
            trial.status = kt.engine.trial.TrialStatus.COMPLETED
            oracle.end_trial(trial)


# -- the registry ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Method:
    """A tuner under test; ``note`` is a template of its settings (see :meth:`settings`)."""

    name: str
    label: str
    runner: Runner
    modules: tuple[str, ...]
    note: str

    @property
    def ours(self) -> bool:
        return self.name.startswith("hs-")

    def unavailable(self) -> str | None:
        """Why this method cannot run here, or None when it can."""
        for module in self.modules:
            try:
                importlib.import_module(module)
            except Exception as exc:  # an optional library may fail in many ways
                return f"{module} does not import ({type(exc).__name__}: {exc})"
        return None

    def run(self, task: Task, seed: int, meter: BudgetMeter, folder: Path) -> None:
        self.runner(task, seed, meter, folder)

    def settings(self, max_epochs: int) -> str:
        """The note with the full budget filled in: ``{E}`` is ``max_epochs``, ``{F}`` the
        factor and ``{sh}`` successive halving's rungs."""
        return self.note.format(
            E=max_epochs, F=FACTOR, sh=successive_halving_rungs(max_epochs, FACTOR)
        )


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "hs-random",
            "hyperscout RandomSearch (full budget)",
            functools.partial(run_hs_full, "random"),
            ("hyperscout",),
            "every trial trains {E} epochs",
        ),
        Method(
            "hs-bo",
            "hyperscout BayesianOptimization (full budget)",
            functools.partial(run_hs_full, "bo"),
            ("hyperscout",),
            'default sampler ("auto": the GP below 250 trials), 10 initial points; every trial '
            "trains {E} epochs",
        ),
        Method(
            "hs-sh",
            "hyperscout SuccessiveHalving",
            run_hs_successive_halving,
            ("hyperscout",),
            "min 1, max {E}, factor {F} ({sh}); the one bracket "
            "repeated with new random configurations",
        ),
        Method(
            "hs-hyperband",
            "hyperscout Hyperband",
            run_hs_hyperband,
            ("hyperscout",),
            "max_epochs {E}, factor {F}, random configurations, iterations until the budget ends",
        ),
        Method(
            "hs-asha",
            "hyperscout ASHA",
            run_hs_asha,
            ("hyperscout",),
            "ASHAScheduler(1, {E}) promotion form, random configurations, one worker",
        ),
        Method(
            "hs-bohb",
            "hyperscout BOHB",
            run_hs_bohb,
            ("hyperscout",),
            'Hyperband as above, configurations from the preset\'s default model ("auto": '
            "the GP) on the largest budget with enough results, a third of them random",
        ),
        Method(
            "hs-bohb-tpe",
            "hyperscout BOHB with TPE",
            functools.partial(run_hs_bohb, sampler="tpe"),
            ("hyperscout",),
            'as hs-bohb with sampler="tpe" (the paper\'s model)',
        ),
        Method(
            "hs-bohb-all",
            "hyperscout BOHB, all budgets",
            functools.partial(run_hs_bohb, model_budgets="all"),
            ("hyperscout",),
            'as hs-bohb with model_budgets="all": the GP learns from every budget, the '
            "budget as an input, and proposes for the full budget",
        ),
        Method(
            "optuna-tpe-hb",
            "Optuna TPE + HyperbandPruner",
            run_optuna_tpe_hyperband,
            ("optuna",),
            "TPESampler defaults; HyperbandPruner(min_resource=1, max_resource={E}, "
            "reduction_factor={F}); no checkpoints: a trial that survives a rung keeps training",
        ),
        Method(
            "optuna-tpe-sha",
            "Optuna TPE + SuccessiveHalvingPruner",
            peer_runner("optuna-tpe-sha"),
            ("optuna",),
            "TPESampler defaults; SuccessiveHalvingPruner() defaults (reduction_factor=4, "
            'min_resource="auto": 1 epoch); a trial trains on from rung to rung until pruned',
        ),
        Method(
            "dehb",
            "DEHB",
            peer_runner("dehb"),
            ("dehb",),
            "DEHB(min_fidelity=1, max_fidelity={E}, eta=3) defaults (mutation 0.5, crossover "
            "0.5, rand1_bin), ask/tell; first-iteration promotions continue their model, later "
            "mutants train from scratch",
        ),
        Method(
            "smac-hb",
            "SMAC3 Hyperband (MultiFidelityFacade)",
            peer_runner("smac-hb"),
            ("smac",),
            "MultiFidelityFacade defaults (random forest, log EI, random initial design) with "
            "its Hyperband intensifier (eta=3), budgets 1..{E}, ask/tell; promotions continue "
            "their model",
        ),
        Method(
            "kt-hyperband",
            "KerasTuner Hyperband",
            run_keras_tuner_hyperband,
            ("keras_tuner",),
            "HyperbandOracle(max_epochs={E}, factor={F}), random configurations; promoted trials "
            "continue the checkpoint of `tuner/trial_id`",
        ),
    )
}
