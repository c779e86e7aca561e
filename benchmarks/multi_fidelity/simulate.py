"""N workers in simulated time: an event-driven simulator of parallel multi-fidelity tuning.

The literature's way of measuring parallel tuners without a cluster (the "simulated
wall-clock" of tabular and surrogate benchmarks in the HpBandSter, DEHB and SMAC papers):
every epoch of training takes one unit of simulated time, whatever the machine, and ``N``
simulated workers train at once. A priority queue holds the time at which each running
trial finishes its next epoch. Whenever workers are free (at the start, and after every
batch of epochs ending at the same time) each asks the method for work in turn; a method
with nothing to start now (a synchronous rung waiting for its stragglers) leaves the worker
idle until the next epoch ends anywhere. A trial reports its validation loss after every
epoch and the method may stop it there (Optuna's pruner, ASHA's stopping form). A promoted
configuration continues its lower rung's model and pays only for the epochs it lacks, as in
the sequential benchmark (``run.py``); ``continue_promoted=False`` makes it train from
scratch instead.

The models themselves are trained for real (the tasks of ``tasks.py``); only the clock is
simulated, so a run's results do not depend on the machine or its load. The time a method
spends proposing is not counted in simulated time (it is recorded, in real seconds, beside).

What a run measures (:class:`SimResult`): the best full-budget loss (the task's score:
regret on a synthetic task) against simulated time, the epochs trained, and the share of
worker time spent idle.

Methods are :class:`Proposer` objects. :class:`HyperscoutProposer` drives any hyperscout
tuner through ``tuner.ask()`` / ``tuner.tell()`` (README, "Ask and tell"), with ``N`` trials
open at once; :class:`OptunaProposer` drives an Optuna study through ``study.ask()`` /
``study.tell()``. :data:`SIM_METHODS` names those the benchmark runs
(``parallel_sim.py``); :func:`register` adds another (the hook for the peers of
``peers.py``: any tuner with an ask/tell form fits a :class:`Proposer`).
"""

from __future__ import annotations

import copy
import heapq
import itertools
import logging
import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import hyperscout as hs
from benchmarks.harness.space import hyperscout_space, optuna_suggest
from benchmarks.multi_fidelity.tasks import Model, Task

__all__ = [
    "SIM_METHODS",
    "HyperscoutProposer",
    "OptunaProposer",
    "Proposer",
    "SimMethod",
    "SimResult",
    "Work",
    "register",
    "simulate",
]

FACTOR = 3


class SearchDone(Exception):  # noqa: N818 - a signal, like StopIteration
    """The method has nothing more to propose, now or later."""


@dataclass
class Work:
    """One trial handed to a worker: train ``values`` until the model has ``budget`` epochs.

    ``resume`` is the lower rung's model that a promoted configuration continues (the
    simulator copies it first), or None to build a fresh one. After each epoch the simulator
    calls ``on_epoch(epoch, loss)``, which returns True to stop the trial there; when the
    trial ends (its budget reached, or stopped) it calls ``on_end(model, loss, stopped)``.
    """

    values: Mapping[str, Any]
    budget: int
    on_epoch: Callable[[int, float], bool]
    on_end: Callable[[Model, float, bool], None]
    resume: Model | None = None


class Proposer(Protocol):
    """A method under simulation: the next trial for a free worker.

    ``propose`` returns a :class:`Work`, None when nothing can start now (ask again when a
    running trial has ended), or raises :class:`SearchDone` when the method is finished.
    """

    def propose(self) -> Work | None: ...


@dataclass
class SimResult:
    """What one simulated run saw.

    ``trace`` holds ``(time, best full-budget score)`` each time the score improves;
    ``end`` is the simulated time the run stopped (the horizon, or when the method had
    nothing more to do); ``busy`` the worker time spent training (epochs, including the part
    of those cut by the horizon), so ``idle_fraction = 1 - busy / (workers * end)``.
    """

    workers: int
    horizon: float
    end: float
    busy: float
    epochs: int
    trace: list[tuple[float, float]]
    trials: int = 0
    finished_trials: int = 0
    full_budget_models: int = 0
    propose_seconds: float = 0.0
    done: bool = False  # the method finished before the horizon

    @property
    def idle_fraction(self) -> float:
        capacity = self.workers * self.end
        return 0.0 if capacity <= 0 else max(0.0, 1.0 - self.busy / capacity)

    def best_at(self, t: float) -> float:
        """The best full-budget score reached by simulated time ``t`` (inf: none yet)."""
        best = math.inf
        for when, score in self.trace:
            if when > t:
                break
            best = score
        return best


@dataclass(order=True)
class _Event:
    time: float
    seq: int
    job: _Job = field(compare=False)


@dataclass
class _Job:
    worker: int
    work: Work
    model: Model
    started: float


def simulate(
    task: Task,
    proposer: Proposer,
    *,
    workers: int,
    horizon: float,
    seed: int = 0,
    continue_promoted: bool = True,
) -> SimResult:
    """Run ``proposer`` on ``task`` with ``workers`` simulated workers until ``horizon``.

    Each epoch takes one unit of simulated time. Epochs that end at the same time are all
    recorded (and their trials told) before any free worker asks for work, in the order the
    epochs were started; free workers then ask in the order of their numbers. The run ends
    at ``horizon`` (epochs in progress there count as busy time up to it, but give no
    result), or earlier when the method raises :class:`SearchDone` with nothing running.
    ``seed`` seeds the models (``task.build(values, seed)``).
    """
    if workers < 1:
        raise ValueError(f"simulate(workers=...): expected an integer >= 1, got {workers!r}.")
    if not horizon > 0:
        raise ValueError(f"simulate(horizon=...): expected a number > 0, got {horizon!r}.")
    queue: list[_Event] = []
    seq = itertools.count()
    free = list(range(workers))
    result = SimResult(workers, float(horizon), 0.0, 0.0, 0, [])
    best = math.inf
    done = False
    now = 0.0

    def record(model: Model, loss: float, at: float) -> None:
        nonlocal best
        if model.epoch >= task.max_epochs:
            result.full_budget_models += 1
            score = task.score(loss)
            if score < best:
                best = score
                result.trace.append((at, score))

    def finish(job: _Job, loss: float, stopped: bool, at: float) -> None:
        started = time.perf_counter()
        job.work.on_end(job.model, loss, stopped)
        result.propose_seconds += time.perf_counter() - started
        result.finished_trials += 1
        free.append(job.worker)

    def start(worker: int, work: Work, at: float) -> None:
        model = (
            copy.deepcopy(work.resume)
            if continue_promoted and work.resume is not None
            else task.build(work.values, seed)
        )
        job = _Job(worker, work, model, at)
        result.trials += 1
        if model.epoch >= work.budget:  # nothing left to train: ends at once
            loss = model.val_loss()
            finish(job, loss, False, at)
            return
        heapq.heappush(queue, _Event(at + 1.0, next(seq), job))

    def fill(at: float) -> None:
        nonlocal done
        while free and not done:
            free.sort()
            started = time.perf_counter()
            try:
                work = proposer.propose()
            except SearchDone:
                work, done = None, True
            result.propose_seconds += time.perf_counter() - started
            if work is None:
                return  # nothing to start now: the free workers wait for the next event
            start(free.pop(0), work, at)

    fill(now)
    while queue:
        now = queue[0].time
        if now > horizon:
            break
        while queue and queue[0].time == now:
            job = heapq.heappop(queue).job
            job.model.train_epoch()
            loss = job.model.val_loss()
            result.epochs += 1
            result.busy += 1.0
            record(job.model, loss, now)
            stop = job.work.on_epoch(job.model.epoch, loss)
            if stop or job.model.epoch >= job.work.budget:
                finish(job, loss, bool(stop) and job.model.epoch < job.work.budget, now)
            else:
                heapq.heappush(queue, _Event(now + 1.0, next(seq), job))
        fill(now)
        if done and not queue:
            break
    if queue:  # cut by the horizon: the epochs in progress were busy until then
        result.end = float(horizon)
        result.busy += sum(max(0.0, horizon - (e.time - 1.0)) for e in queue)
    else:
        result.end = min(now, float(horizon))
        result.done = done
    return result


# -- hyperscout through ask and tell ---------------------------------------------------------------
class HyperscoutProposer:
    """A hyperscout tuner driven by ``ask()`` / ``tell()``, with many trials open at once.

    A trial reports ``val_loss`` at its rung (the epoch its budget names; after every epoch
    with ``every_epoch=True``, which the schedulers that stop trials between rungs need:
    ASHA's stopping form, median stopping) and stops when the scheduler says so
    (``trial.should_stop()``); it is told COMPLETE, or PRUNED when stopped. The methods of
    :data:`SIM_METHODS` promote rather than stop, so the rung's report is all they read (and
    each report costs a read of the study's history, which with many trials open dominates
    the run).
    A promoted trial (``attrs["promoted_from"]``) continues the model its lower rung ended
    with. ``ask()`` raising :class:`hyperscout.SearchFinished` while trials run means "wait"
    (a synchronous rung is not finished); with nothing running, the search is done.
    """

    def __init__(self, tuner: hs.Tuner, task: Task, *, every_epoch: bool = False) -> None:
        self.tuner = tuner
        self.task = task
        self.every_epoch = every_epoch
        self.running = 0
        self.models: dict[int, Model] = {}  # the model each finished trial ended with

    def propose(self) -> Work | None:
        try:
            hp, trial = self.tuner.ask()
        except hs.SearchFinished:
            if self.running:
                return None
            raise SearchDone from None
        self.running += 1
        budget = self.task.max_epochs if trial.budget is None else int(trial.budget)
        parent = trial.attrs.get("promoted_from")
        resume = None if parent is None else self.models.get(int(parent))
        if resume is not None and resume.epoch != trial.previous_budget:
            raise RuntimeError(
                f"trial {trial.number}: its lower rung's model has {resume.epoch} epochs, the "
                f"tuner says {trial.previous_budget}."
            )

        def on_epoch(epoch: int, loss: float) -> bool:
            if self.every_epoch or epoch >= budget:
                trial.report(epoch, val_loss=loss)
            return trial.should_stop()

        def on_end(model: Model, loss: float, stopped: bool) -> None:
            self.running -= 1
            self.models[trial.number] = model
            state = hs.TrialState.PRUNED if stopped else None
            self.tuner.tell(trial, {"val_loss": loss}, state=state)

        return Work(dict(hp.values), budget, on_epoch, on_end, resume)


def _hyperscout_tuner(
    name: str, task: Task, seed: int, folder: Path, **kwargs: Any
) -> dict[str, Any]:
    return {
        "objective": "val_loss",
        "hyperparameters": hyperscout_space(task.space),
        "seed": seed,
        "storage": "memory",
        "directory": folder,
        "project_name": name,
        "verbose": 0,
        **kwargs,
    }


UNLIMITED = 10**6  # trials: the simulator's horizon ends every run


def hs_random(task: Task, seed: int, workers: int, folder: Path) -> Proposer:
    tuner = hs.RandomSearch(max_trials=UNLIMITED, **_hyperscout_tuner("random", task, seed, folder))
    return HyperscoutProposer(tuner, task)


def hs_bo(task: Task, seed: int, workers: int, folder: Path) -> Proposer:
    tuner = hs.BayesianOptimization(
        max_trials=UNLIMITED, **_hyperscout_tuner("bo", task, seed, folder)
    )
    return HyperscoutProposer(tuner, task)


def hs_hyperband(task: Task, seed: int, workers: int, folder: Path) -> Proposer:
    tuner = hs.Hyperband(
        max_epochs=task.max_epochs,
        factor=FACTOR,
        hyperband_iterations=None,
        max_trials=UNLIMITED,
        **_hyperscout_tuner("hyperband", task, seed, folder),
    )
    return HyperscoutProposer(tuner, task)


def hs_bohb(task: Task, seed: int, workers: int, folder: Path) -> Proposer:
    tuner = hs.BOHB(
        max_epochs=task.max_epochs,
        factor=FACTOR,
        hyperband_iterations=None,
        max_trials=UNLIMITED,
        **_hyperscout_tuner("bohb", task, seed, folder),
    )
    return HyperscoutProposer(tuner, task)


def hs_asha(task: Task, seed: int, workers: int, folder: Path) -> Proposer:
    tuner = hs.Tuner(
        sampler=hs.RandomSampler(),
        scheduler=hs.ASHAScheduler(1, task.max_epochs, factor=FACTOR, mode="promotion"),
        **_hyperscout_tuner("asha", task, seed, folder),
    )
    return HyperscoutProposer(tuner, task)


def hs_asha_bohb(
    task: Task, seed: int, workers: int, folder: Path, sampler: str = "auto"
) -> Proposer:
    """Asynchronous BOHB: ASHA's promotions, new configurations from BOHB's model (the
    largest budget with enough results, a third at random)."""
    model: hs.Sampler = hs.AutoSampler() if sampler == "auto" else hs.TPESampler()
    tuner = hs.Tuner(
        sampler=model,
        scheduler=hs.BOHBScheduler(
            hs.ASHAScheduler(1, task.max_epochs, factor=FACTOR, mode="promotion")
        ),
        **_hyperscout_tuner("asha-bohb", task, seed, folder),
    )
    return HyperscoutProposer(tuner, task)


# -- Optuna through ask and tell -------------------------------------------------------------------
class OptunaProposer:
    """An Optuna study (TPE and a pruner by default) through ``ask()`` / ``tell()``.

    Every trial trains from scratch to the full budget, reports after each epoch and stops
    when pruned (Optuna has no promotions: a trial that survives a rung keeps training).
    """

    def __init__(self, task: Task, seed: int, pruner: str = "hyperband") -> None:
        import optuna

        optuna.logging.set_verbosity(logging.WARNING)
        self.optuna = optuna
        self.task = task
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if pruner == "hyperband":
                chosen: Any = optuna.pruners.HyperbandPruner(
                    min_resource=1, max_resource=task.max_epochs, reduction_factor=FACTOR
                )
            else:
                chosen = optuna.pruners.SuccessiveHalvingPruner(
                    min_resource=1, reduction_factor=FACTOR
                )
            self.study = optuna.create_study(
                direction="minimize",
                sampler=optuna.samplers.TPESampler(seed=seed),
                pruner=chosen,
            )

    def propose(self) -> Work | None:
        optuna = self.optuna
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial = self.study.ask()
            values = optuna_suggest(trial, self.task.space)

        def on_epoch(epoch: int, loss: float) -> bool:
            trial.report(loss, epoch)
            return bool(trial.should_prune())

        def on_end(model: Model, loss: float, stopped: bool) -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if stopped:
                    self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                else:
                    self.study.tell(trial, loss)

        return Work(values, self.task.max_epochs, on_epoch, on_end)


def optuna_tpe_hb(task: Task, seed: int, workers: int, folder: Path) -> Proposer:
    return OptunaProposer(task, seed, "hyperband")


# -- the registry ----------------------------------------------------------------------------------
Factory = Callable[[Task, int, int, Path], Proposer]


@dataclass(frozen=True)
class SimMethod:
    """A method of the simulated benchmark: ``factory(task, seed, workers, folder)`` builds a
    fresh :class:`Proposer` for one run; ``modules`` must import for it to run."""

    name: str
    label: str
    factory: Factory
    modules: tuple[str, ...] = ("hyperscout",)
    note: str = ""

    @property
    def ours(self) -> bool:
        return self.name.startswith("hs-")

    def unavailable(self) -> str | None:
        import importlib

        for module in self.modules:
            try:
                importlib.import_module(module)
            except Exception as exc:  # an optional library may fail in many ways
                return f"{module} does not import ({type(exc).__name__}: {exc})"
        return None


SIM_METHODS: dict[str, SimMethod] = {}


def register(method: SimMethod) -> None:
    """Add a method to :data:`SIM_METHODS` (a peer with an ask/tell form, say)."""
    SIM_METHODS[method.name] = method


for _method in (
    SimMethod(
        "hs-random",
        "hyperscout RandomSearch (full budget)",
        hs_random,
        note="every trial trains the full budget",
    ),
    SimMethod(
        "hs-bo",
        "hyperscout BayesianOptimization (full budget)",
        hs_bo,
        note='sampler "auto" (the GP, a constant liar for running trials)',
    ),
    SimMethod(
        "hs-hyperband",
        "hyperscout Hyperband (synchronous)",
        hs_hyperband,
        note="factor 3; a free worker blocked by a running rung starts the next bracket's work",
    ),
    SimMethod(
        "hs-bohb",
        "hyperscout BOHB (synchronous)",
        hs_bohb,
        note="the preset's defaults (the GP on the largest budget with enough results) over "
        "synchronous Hyperband as above",
    ),
    SimMethod(
        "hs-asha",
        "hyperscout ASHA",
        hs_asha,
        note="ASHAScheduler(1, max, factor 3) promotion form, random configurations",
    ),
    SimMethod(
        "hs-asha-bohb",
        "hyperscout asynchronous BOHB (ASHA + model)",
        hs_asha_bohb,
        note="BOHBScheduler(ASHAScheduler(...)) with the preset's model: ASHA's promotions, "
        "new configurations from the GP on the largest budget with enough results",
    ),
    SimMethod(
        "optuna-tpe-hb",
        "Optuna TPE + HyperbandPruner",
        optuna_tpe_hb,
        modules=("optuna",),
        note="TPESampler defaults, HyperbandPruner(1, max, 3); N trials open at once",
    ),
):
    register(_method)


def add_peers() -> list[str]:
    """Register the peers of ``peers.py`` that have an ask/tell form, if that module is here.

    The hook for the DEHB and SMAC adapters (branch h-mfpeers): when
    ``benchmarks.multi_fidelity.peers`` defines ``SIM_METHODS`` (a mapping of names to
    :class:`SimMethod`, whose factories return :class:`Proposer` objects), they join the
    simulated benchmark. Returns the names added.
    """
    try:
        from benchmarks.multi_fidelity import peers  # type: ignore[attr-defined]
    except ImportError:
        return []
    added = []
    for name, method in dict(getattr(peers, "SIM_METHODS", {})).items():
        if isinstance(method, SimMethod):
            register(method)
            added.append(name)
    return added
