"""The multi-fidelity peers with an ask/tell form: DEHB, SMAC3's Hyperband, Optuna's pruners.

Each peer is a class with the same two calls, so that the sequential benchmark (``run_peer``
below, used by ``methods.py``) and a simulation of parallel workers can drive it alike:

- ``ask() -> (PeerConfig, budget)``: the next configuration and the epochs to train it to;
- ``tell(config, budget, loss)``: its validation loss after ``budget`` epochs.

Several asks may be pending at once (the peer's own bookkeeping allows it for all three).
:class:`PeerConfig` carries the problem's ``values`` (the task's space, decoded), a ``key``
(the same key means the same configuration, so a higher budget may continue the model of a
lower one) and the peer's own ``handle`` for ``tell``.

The peers, with their published defaults:

- :class:`DehbPeer`: ``dehb.DEHB`` (differential evolution inside Hyperband's brackets;
  mutation factor 0.5, crossover 0.5, ``rand1_bin``, eta 3) through ``ask``/``tell``, the
  interface its documentation gives; ``key`` is DEHB's ``config_id``: in its first Hyperband
  iteration a rung promotes the lower rung's configurations (same id: the model continues),
  afterwards every job is a new mutant (a new id: trained from scratch).
- :class:`SmacHyperbandPeer`: SMAC3's ``MultiFidelityFacade`` (random forest, log EI,
  its random initial design) with its ``Hyperband`` intensifier (eta 3), through
  ``ask``/``tell``; ``key`` is the configuration itself: a promotion continues its model.
- :class:`OptunaPrunedPeer`: ``TPESampler`` with ``SuccessiveHalvingPruner()`` (its defaults:
  reduction factor 4, ``min_resource="auto"``, i.e. one epoch below 200) or
  ``HyperbandPruner``; an Optuna trial is one training that goes on until pruned, so a job
  trains it from its last report to the next step at which its pruner may stop it
  (``min_resource * factor**k``, and the full budget), reports, and asks the pruner.

Every peer library is imported inside the class that needs it, so that a missing one skips
only its methods. ``make_peer(name, task, seed, folder)`` builds one by method name.

:data:`SIM_METHODS` puts DEHB and SMAC3's Hyperband in the simulator of ``N`` parallel
workers (``simulate.py``, ``parallel_sim.py``) through :class:`PeerProposer`: each free
worker asks the peer for a job, so ``N`` asks are pending at once, which both allow.
"""

from __future__ import annotations

import logging
import math
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from benchmarks.harness.space import configspace_decode, configspace_space, optuna_suggest
from benchmarks.multi_fidelity.simulate import Proposer, SimMethod, Work
from benchmarks.multi_fidelity.tasks import BudgetMeter, Model, Task

__all__ = [
    "PEER_FACTORIES",
    "SIM_METHODS",
    "AskTell",
    "DehbPeer",
    "OptunaPrunedPeer",
    "PeerConfig",
    "PeerProposer",
    "SmacHyperbandPeer",
    "make_peer",
    "run_peer",
]


@dataclass(frozen=True, eq=False)
class PeerConfig:
    """One job's configuration: ``values`` for ``task.build``, ``key`` naming the
    configuration (equal keys: the same one, whose lower-budget model may be continued) and
    the peer's own ``handle``."""

    values: dict[str, Any]
    key: Hashable
    handle: Any = field(default=None, repr=False)


class AskTell(Protocol):
    """A multi-fidelity tuner driven one job at a time."""

    def ask(self) -> tuple[PeerConfig, int]: ...

    def tell(self, config: PeerConfig, budget: int, loss: float) -> None: ...

    def close(self) -> None: ...


def _epochs(budget: float, max_epochs: int) -> int:
    """A peer's (float) budget as whole epochs, within 1..max_epochs."""
    return min(max(round(budget), 1), max_epochs)


# -- DEHB ------------------------------------------------------------------------------------------
class DehbPeer:
    """``dehb.DEHB`` with its defaults, from one epoch to ``task.max_epochs`` with eta 3.

    DEHB writes a log (and, with its default ``save_freq="incumbent"``, its history as
    parquet) under ``output_path``; ``save_freq="end"`` keeps it from writing the history,
    which ``ask``/``tell`` never asks for at the end: it changes nothing it proposes.
    """

    def __init__(self, task: Task, seed: int, folder: Path, eta: int = 3) -> None:
        from dehb import DEHB

        self.space = task.space
        self.max_epochs = task.max_epochs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConfigSpace deprecations DEHB triggers
            self.dehb = DEHB(
                cs=configspace_space(task.space, seed),
                min_fidelity=1,
                max_fidelity=task.max_epochs,
                eta=eta,
                n_workers=1,
                seed=seed,
                output_path=str(folder / "dehb"),
                save_freq="end",
                log_level="ERROR",
            )

    def ask(self) -> tuple[PeerConfig, int]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            job = self.dehb.ask()
        values = configspace_decode(self.space, dict(job["config"]))
        return PeerConfig(values, ("dehb", int(job["config_id"])), job), _epochs(
            job["fidelity"], self.max_epochs
        )

    def tell(self, config: PeerConfig, budget: int, loss: float) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.dehb.tell(config.handle, {"fitness": float(loss), "cost": float(budget)})

    def close(self) -> None:
        """Stop the log sinks DEHB added to loguru's global logger (one has a thread)."""
        from loguru import logger

        logger.remove()


# -- SMAC3 -----------------------------------------------------------------------------------------
class SmacHyperbandPeer:
    """SMAC3's ``MultiFidelityFacade`` with its ``Hyperband`` intensifier (the facade's
    defaults: random forest, eta 3), budgets 1..``task.max_epochs``.

    ``n_trials`` only sizes SMAC's initial design (ten configurations per hyperparameter, at
    most a quarter of ``n_trials``): the benchmark's meter ends the run, so it is left large
    (10,000) and the initial design has its default size, ten per hyperparameter.
    """

    def __init__(self, task: Task, seed: int, folder: Path, n_trials: int = 10**4) -> None:
        from smac import MultiFidelityFacade, Scenario

        self.space = task.space
        self.max_epochs = task.max_epochs

        def target(config: Any, seed: int = 0, budget: float = 1.0) -> float:
            raise RuntimeError("driven through ask and tell")

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scenario = Scenario(
                configspace_space(task.space, seed),
                name="benchmark",
                output_directory=folder / "smac",
                deterministic=True,  # the task trains the same model for the same config
                n_trials=n_trials,
                min_budget=1,
                max_budget=task.max_epochs,
                seed=seed,
            )
            self.smac = MultiFidelityFacade(
                scenario,
                target,
                intensifier=MultiFidelityFacade.get_intensifier(scenario),
                overwrite=True,
                logging_level=logging.ERROR,
            )

    def ask(self) -> tuple[PeerConfig, int]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info = self.smac.ask()
        raw = dict(info.config)
        key = ("smac", tuple(sorted((k, repr(v)) for k, v in raw.items())))
        budget = _epochs(
            info.budget if info.budget is not None else self.max_epochs, self.max_epochs
        )
        return PeerConfig(configspace_decode(self.space, raw), key, info), budget

    def tell(self, config: PeerConfig, budget: int, loss: float) -> None:
        from smac.runhistory.dataclasses import TrialValue

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.smac.tell(config.handle, TrialValue(cost=float(loss)))

    def close(self) -> None:
        pass


# -- Optuna ----------------------------------------------------------------------------------------
class OptunaPrunedPeer:
    """Optuna's ``TPESampler`` (defaults, seeded) with a pruner, one job per stretch of
    training between two of the pruner's decision points.

    ``pruner="sha"``: ``SuccessiveHalvingPruner()`` with its defaults (reduction factor 4;
    ``min_resource="auto"``: the longest finished trial's steps // 100, at least 1).
    ``pruner="hyperband"``: ``HyperbandPruner(min_resource=1, max_resource=max_epochs,
    reduction_factor=3)``, as the ``optuna-tpe-hb`` method runs it. A trial reports at
    ``min_resource * factor**k`` epochs and at the full budget, which are all the steps at
    which either pruner decides (a report at every epoch would decide the same).
    """

    def __init__(self, task: Task, seed: int, folder: Path, pruner: str = "sha") -> None:
        import optuna

        optuna.logging.set_verbosity(logging.WARNING)
        self.space = task.space
        self.max_epochs = task.max_epochs
        if pruner == "sha":
            chosen: Any = optuna.pruners.SuccessiveHalvingPruner()
            min_resource, factor = max(task.max_epochs // 100, 1), 4
        elif pruner == "hyperband":
            chosen = optuna.pruners.HyperbandPruner(
                min_resource=1, max_resource=task.max_epochs, reduction_factor=3
            )
            min_resource, factor = 1, 3
        else:
            raise ValueError(f"pruner: expected 'sha' or 'hyperband', got {pruner!r}.")
        steps = []
        step = min_resource
        while step < task.max_epochs:
            steps.append(step)
            step *= factor
        self.steps = [*steps, task.max_epochs]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ExperimentalWarning and friends
            self.study = optuna.create_study(
                # HyperbandPruner puts a trial in a bracket by a hash of the study's name and
                # the trial's number: a fixed name makes a seed's run repeatable.
                study_name=f"benchmark-{pruner}-seed{seed}",
                direction="minimize",
                sampler=optuna.samplers.TPESampler(seed=seed),
                pruner=chosen,
            )
        self.ready: deque[tuple[PeerConfig, int]] = deque()  # trials that go on

    def _next_step(self, after: int) -> int:
        return next(s for s in self.steps if s > after)

    def ask(self) -> tuple[PeerConfig, int]:
        if self.ready:
            return self.ready.popleft()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial = self.study.ask()
            values = optuna_suggest(trial, self.space)
        return PeerConfig(values, ("optuna", trial.number), trial), self.steps[0]

    def tell(self, config: PeerConfig, budget: int, loss: float) -> None:
        import optuna

        trial = config.handle
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial.report(float(loss), budget)
            if budget >= self.max_epochs:
                self.study.tell(trial, float(loss))
            elif trial.should_prune():
                self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                self.ready.append((config, self._next_step(budget)))

    def close(self) -> None:
        pass


# -- the sequential driver -------------------------------------------------------------------------
PeerFactory = Callable[[Task, int, Path], AskTell]

PEER_FACTORIES: dict[str, PeerFactory] = {
    "dehb": DehbPeer,
    "smac-hb": SmacHyperbandPeer,
    "optuna-tpe-sha": lambda task, seed, folder: OptunaPrunedPeer(task, seed, folder, "sha"),
    "optuna-tpe-hb-at": lambda task, seed, folder: OptunaPrunedPeer(
        task, seed, folder, "hyperband"
    ),
}


def make_peer(name: str, task: Task, seed: int, folder: Path) -> AskTell:
    """The ask/tell peer of a method name (a key of :data:`PEER_FACTORIES`)."""
    try:
        factory = PEER_FACTORIES[name]
    except KeyError:
        raise ValueError(
            f"name: expected one of {', '.join(PEER_FACTORIES)}, got {name!r}."
        ) from None
    return factory(task, seed, folder)


def run_peer(peer: AskTell, task: Task, seed: int, meter: BudgetMeter, folder: Path) -> None:
    """Drive ``peer`` until the meter's budget ends (:class:`~.tasks.BudgetExhausted`).

    A job whose configuration (``key``) was trained before to at most its budget continues
    that model from its checkpoint and trains only the epochs it lacks; otherwise it starts
    from scratch (a lower budget than the saved one, or a new configuration).
    """
    checkpoints = folder / "peer-checkpoints"
    saved: dict[Hashable, tuple[int, Path]] = {}  # key -> (epochs, folder)
    try:
        while True:
            config, budget = peer.ask()
            previous = saved.get(config.key)
            model: Model
            if previous is not None and previous[0] <= budget:
                model = task.load(previous[1])
            else:
                model = task.build(config.values, seed)
            meter.start(continued=model.epoch > 0)
            loss = math.nan
            while model.epoch < budget:
                loss = meter.epoch(model)
            if math.isnan(loss):  # nothing left to train: asked again at the same budget
                loss = model.val_loss()
            own = previous[1] if previous is not None else checkpoints / str(len(saved))
            own.mkdir(parents=True, exist_ok=True)
            model.save(own)
            saved[config.key] = (model.epoch, own)
            peer.tell(config, budget, loss)
    finally:
        peer.close()


def peer_runner(name: str) -> Callable[[Task, int, BudgetMeter, Path], None]:
    """The benchmark's runner of a peer: ``make_peer`` then ``run_peer``."""

    def run(task: Task, seed: int, meter: BudgetMeter, folder: Path) -> None:
        run_peer(make_peer(name, task, seed, folder), task, seed, meter, folder)

    run.__name__ = f"run_{name.replace('-', '_')}"
    return run


# -- the simulator of N parallel workers -----------------------------------------------------------
class PeerProposer:
    """An ask/tell peer as a :class:`~.simulate.Proposer`: every free worker asks it for a job.

    As in :func:`run_peer`, a job whose configuration (``key``) ended a job before with at
    most its budget of epochs continues that model (the simulator copies it), otherwise it
    trains from scratch; the peer is told the loss when the job ends. The peers never stop a
    job between rungs, nor run out of jobs: the simulator's horizon ends the run. The peer is
    closed when the proposer is collected.
    """

    def __init__(self, peer: AskTell) -> None:
        self.peer = peer
        self.models: dict[Hashable, Model] = {}  # key -> the model its last finished job left
        weakref.finalize(self, peer.close)

    def propose(self) -> Work | None:
        config, budget = self.peer.ask()
        previous = self.models.get(config.key)
        resume = previous if previous is not None and previous.epoch <= budget else None

        def on_epoch(epoch: int, loss: float) -> bool:
            return False

        def on_end(model: Model, loss: float, stopped: bool) -> None:
            self.models[config.key] = model
            self.peer.tell(config, budget, loss)

        return Work(dict(config.values), budget, on_epoch, on_end, resume)


def _sim_factory(name: str) -> Callable[[Task, int, int, Path], Proposer]:
    def factory(task: Task, seed: int, workers: int, folder: Path) -> Proposer:
        return PeerProposer(make_peer(name, task, seed, folder))

    factory.__name__ = f"sim_{name.replace('-', '_')}"
    return factory


SIM_METHODS: dict[str, SimMethod] = {
    "dehb": SimMethod(
        "dehb",
        "DEHB",
        _sim_factory("dehb"),
        modules=("dehb",),
        note="dehb.DEHB defaults (eta 3) through ask/tell; N jobs pending at once",
    ),
    "smac-hb": SimMethod(
        "smac-hb",
        "SMAC3 MultiFidelityFacade + Hyperband",
        _sim_factory("smac-hb"),
        modules=("smac",),
        note="the facade's defaults (random forest, eta 3) through ask/tell; N jobs pending",
    ),
}
