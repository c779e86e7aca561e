"""The tuner: ask the scheduler, run the trial, record it. No algorithm and no SQL here.

:class:`Tuner` pairs a sampler with a scheduler; the presets users know from the lecture and
from KerasTuner (``GridSearch``, ``RandomSearch``, ``BayesianOptimization``, ``Hyperband`` ...)
live in :mod:`hyperscout.presets`.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import inspect
import os
import secrets
import shutil
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from hyperscout._checks import (
    check_bool,
    check_enqueued,
    check_enqueued_read,
    check_int,
    check_result,
    check_same_objective,
    check_seconds,
    check_tuner_arguments,
    objective_changed,
)
from hyperscout._ledger import Ledger
from hyperscout._limits import (
    DeadlinePassed,
    HardStop,
    search_timeout_reason,
    trial_timeout_reason,
)
from hyperscout._oracle import OracleView
from hyperscout._paths import check_project_name, claim_checkpoint_root, make_folder
from hyperscout._provenance import check_resume, check_same_seed, new_provenance
from hyperscout._results import BadResultError, average, metrics_of
from hyperscout._workers import (
    Heartbeat,
    abandon_trial,
    check_lease,
    fail_dead_trials,
    worker_stamp,
)
from hyperscout.console import SearchProgress
from hyperscout.exceptions import (
    ClaimTakenError,
    InvalidArgumentError,
    InvalidSpaceError,
    SearchFinished,
    StorageError,
    TooManyFailedTrialsError,
    TrialPruned,
    UsageError,
)
from hyperscout.executors import Executor, InlineExecutor
from hyperscout.history import History, rank_configurations
from hyperscout.hypermodel import (
    HyperModel,
    ModelAdapter,
    accepts_arguments,
    adapter_name_for,
    as_hypermodel,
    build_model,
    load_adapter,
    looks_like_builder,
    not_a_model,
    run_trial_metrics,
)
from hyperscout.objective import Objective
from hyperscout.report import (
    BudgetAgreement,
    budget_agreement,
    budgets_table,
    printable,
    space_table,
    trials_table,
)
from hyperscout.samplers import RandomSampler, Sampler
from hyperscout.schedulers import Decision, FIFOScheduler, Scheduler, Stop, Suggestion, Wait
from hyperscout.space import HyperParameters, Parameter
from hyperscout.storage import Storage, open_storage
from hyperscout.storage.sql import sqlite_url
from hyperscout.trial import (
    Bookkeeping,
    RunningTrial,
    Trial,
    TrialState,
    checkpoint_path,
    config_key,
)

# check_int lives in hyperscout._checks; it is re-exported here for the presets.
__all__ = ["DATABASE_FILE", "Tuner", "check_int"]

DATABASE_FILE = "hyperscout.db"


class Tuner:
    """Runs a search: a sampler proposes, a scheduler budgets, storage keeps every trial.

    Args:
        hypermodel: the objective, a function ``f(hp)`` or ``f(hp, trial)`` that returns a
            float or a dict of metrics; arguments given to :meth:`search` are passed after.
            Or a hypermodel that builds a model: a function ``build_model(hp)`` that returns a
            compiled Keras model, or an :class:`~hyperscout.HyperModel`; :meth:`search`'s
            arguments then go to the model's ``fit`` (:mod:`hyperscout.integrations.keras`).
            None for a tuner driven only by :meth:`ask` and :meth:`tell`.
        objective: the metric to optimise: a name whose direction is inferred (``"val_loss"``,
            ``"val_accuracy"``), an :class:`Objective`, or None for a bare float, minimised.
            A list of them is KerasTuner's multi-objective: the sum of the ``min`` metrics
            minus the ``max`` ones, minimised as ``"multi_objective"``.
        sampler: proposes configurations (default :class:`RandomSampler`).
        scheduler: gives budgets and stops trials (default :class:`FIFOScheduler`).
        max_trials: trials to finish, counting those of earlier runs; None: until the
            strategy stops (a grid is exhausted, the brackets of Hyperband have run) or
            ``timeout``. A search with none of these ends is refused unless
            ``run_until_stopped=True``.
        seed: seeds every random choice; None draws one and keeps it with the study.
        hyperparameters: a space declared ahead; the objective may still add to it. Its
            definitions stand over the objective's of the same name (KerasTuner's "restrict
            the search space": the objective's ``hp.Choice("lr", ...)`` returns the value of
            the declared ``hp.Choice("lr", ...)`` or ``hp.Fixed("lr", ...)``).
        tune_new_entries: False fixes every parameter the objective defines that is not in
            ``hyperparameters`` at its default, in every trial (recorded, never searched).
        allow_new_entries: False stops the search at a parameter the objective defines that
            is not in ``hyperparameters``.
        directory, project_name: the study lives in ``directory/project_name/`` (an SQLite
            file ``hyperscout.db``) unless ``storage`` says otherwise. ``project_name`` is one
            folder name of letters, digits, ``-``, ``_`` and ``.`` (None: ``untitled_project``).
        storage: a :class:`Storage` or a database URL (``"sqlite:///..."``,
            ``"postgresql+psycopg://..."``, ``"memory"``); the study is named ``project_name``.
        overwrite: delete the study's trials and start over. Only hyperscout's own files go
            (the trials' checkpoint folders), never a file of yours in the project folder.
        executions_per_trial: runs of the objective per trial; their metrics are averaged.
        max_retries_per_trial: reruns of a configuration whose objective failed.
        max_consecutive_failed_trials: stop with :class:`TooManyFailedTrialsError` after this
            many failed trials in a row.
        verbose: 0 silent, 1 a progress bar on a terminal, 2 also a line per trial.
        timeout: seconds after which the search stops: no new trial starts, and the trials
            still running are stopped as by ``trial_timeout`` and given up (recorded FAILED
            with the reason, and run again when the search resumes).
        trial_timeout: seconds a trial may run; one running longer is stopped and recorded
            FAILED with the reason. The objective sees ``trial.should_stop()`` turn True at
            the deadline; in this process's main thread (the default executor, on Unix) it is
            also interrupted there, as by Ctrl-C (hyperscout's storage writes finish first);
            in a thread it cannot be interrupted: the trial is recorded at the deadline, the
            search goes on in a fresh thread, and what the objective returns later is dropped.
        run_until_stopped: True for a search meant to run until it is stopped (Ctrl-C, a
            signal), with no ``max_trials``, no ``timeout`` and a strategy that never stops
            by itself (random search, Bayesian optimization); :meth:`search` refuses such a
            search otherwise.
        executor: where trials run (default: this process, one at a time).
        trial_lease: seconds without a heartbeat after which other workers of the study take
            a trial of this tuner for dead (its machine crashed, its process was killed): they
            mark it FAILED and run its configuration again. While this tuner runs trials, a
            thread beats for them every :attr:`heartbeat_interval` seconds; the lease must be
            at least twice that.

    >>> import hyperscout as hs
    >>> def objective(hp):
    ...     x = hp.Float("x", -2.0, 2.0)
    ...     return (x - 1.0) ** 2
    >>> tuner = hs.RandomSearch(objective, max_trials=20, seed=0, storage="memory", verbose=0)
    >>> tuner.search()
    >>> abs(tuner.get_best_hyperparameters()[0]["x"] - 1.0) < 0.2
    True
    """

    def __init__(
        self,
        hypermodel: Callable[..., Any] | None = None,
        *,
        objective: Objective | str | list[Objective | str] | None = None,
        sampler: Sampler | None = None,
        scheduler: Scheduler | None = None,
        max_trials: int | None = None,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        directory: str | os.PathLike[str] | None = None,
        project_name: str | None = None,
        storage: Storage | str | None = None,
        overwrite: bool = False,
        executions_per_trial: int = 1,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        verbose: int = 1,
        timeout: float | None = None,
        trial_timeout: float | None = None,
        run_until_stopped: bool = False,
        executor: Executor | None = None,
        trial_lease: float = 120.0,
    ) -> None:
        check_tuner_arguments(
            hypermodel=hypermodel,
            max_trials=max_trials,
            seed=seed,
            executions_per_trial=executions_per_trial,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
            verbose=verbose,
            timeout=timeout,
            hyperparameters=hyperparameters,
            sampler=sampler,
            scheduler=scheduler,
            executor=executor,
        )
        check_lease(trial_lease, None)
        check_bool("tune_new_entries", tune_new_entries)
        check_bool("allow_new_entries", allow_new_entries)
        check_seconds("trial_timeout", trial_timeout)
        check_bool("run_until_stopped", run_until_stopped)
        #: The hypermodel; a function is wrapped so that ``tuner.hypermodel.build(hp)`` works.
        self.hypermodel: Any = as_hypermodel(hypermodel)
        self.objective = Objective.resolve(objective)
        self.sampler = sampler or RandomSampler()
        self.scheduler = scheduler or FIFOScheduler()
        self.executor = executor or InlineExecutor()
        self.max_trials = max_trials
        self.executions_per_trial = executions_per_trial
        self.max_retries_per_trial = max_retries_per_trial
        self.max_consecutive_failed_trials = max_consecutive_failed_trials
        self.verbose = verbose
        self.timeout = timeout
        self.trial_timeout = trial_timeout
        self.run_until_stopped = run_until_stopped
        #: The running trials' handles (their deadlines), by number; the search's deadline.
        self._handles: dict[int, RunningTrial] = {}
        self._search_deadline: float | None = None
        self._hard_stop = HardStop()
        #: Seconds between looks at the storage while waiting for other workers' trials.
        self.poll_interval = 0.5
        self.project_name = check_project_name(project_name)
        self.directory = Path(directory if directory is not None else ".")
        self.project_dir = self.directory / self.project_name
        #: Trials keep checkpoints in ``checkpoint_root/trial_NNNNN/``: under the project
        #: folder, or a temporary folder for a storage given without a ``directory``.
        self.checkpoint_root = self.project_dir / "checkpoints"
        self._temporary_checkpoints = directory is None and storage is not None
        if self._temporary_checkpoints:  # removed by close()
            self.checkpoint_root = Path(tempfile.mkdtemp(prefix="hyperscout-checkpoints-"))
        self._passes_trial = hypermodel is not None and _takes_trial(hypermodel)
        #: Trains the models the hypermodel builds; found when the first model is built.
        self._adapter: ModelAdapter | None = None

        if isinstance(storage, Storage):
            self.storage = storage
        elif storage is not None:
            self.storage = open_storage(storage)
        else:
            make_folder(self.project_dir, f"Tuner(directory={os.fspath(self.directory)!r})")
            self.storage = open_storage(sqlite_url(self.project_dir / DATABASE_FILE))
        if overwrite:
            old = self.storage.load_study(self.project_name)
            if old is not None and self.storage.trials(old.id):
                # The study's own checkpoints (maybe of a hyperscout without markers): the new
                # study below removes its trial folders, and only those.
                claim_checkpoint_root(self.checkpoint_root, new_study=False)
            self.storage.delete_study(self.project_name)

        space = (hyperparameters or HyperParameters()).to_dict()
        meta: dict[str, Any] = {
            "objective": self.objective.to_dict(),
            "seed": seed if seed is not None else secrets.randbelow(2**31),
        }
        meta["provenance"] = new_provenance(
            preset=type(self).__name__,
            sampler=self.sampler,
            scheduler=self.scheduler,
            seed=meta["seed"],
            space=space,
        )
        study = self.storage.get_or_create_study(self.project_name, space=space, meta=meta)
        if objective_changed(self.objective, study.meta) and _only_given_up(
            self.storage.trials(study.id)
        ):
            # No result yet, only trials given up (a usage error such as a missing objective=,
            # or Ctrl-C): the study may still choose its objective. It starts over, same seed.
            self.storage.delete_study(self.project_name)
            meta["seed"] = seed if seed is not None else study.meta.get("seed", meta["seed"])
            meta["provenance"]["seed"] = meta["seed"]
            study = self.storage.get_or_create_study(self.project_name, space=space, meta=meta)
        check_same_objective(self.project_name, self.objective, study.meta)
        check_same_seed(self.project_name, study.meta.get("seed"), seed)
        self.seed = seed if seed is not None else int(study.meta.get("seed") or 0)
        self._study_id = study.id
        self._provenance = self._resume_provenance(study.meta, meta["provenance"])
        self._space = HyperParameters.from_dict(study.space)
        #: The parameters earlier runs of the study defined: another definition is refused.
        self._stored_names = frozenset(self._space.names)
        if hyperparameters is not None:
            try:
                self._space.merge(hyperparameters)
            except InvalidSpaceError as exc:
                raise self._space_changed(exc) from None
            self._save_space()
        if hyperparameters is not None or not (tune_new_entries and allow_new_entries):
            # Every trial's hp is a copy of this space, so the rules hold in every trial.
            self._space._declare_ahead(
                hyperparameters.names if hyperparameters is not None else (),
                tune_new_entries=tune_new_entries,
                allow_new_entries=allow_new_entries,
            )
        self._space_lock = threading.Lock()
        self._asked: dict[int, HyperParameters] = {}
        self._queue: list[dict[str, Any]] = []
        self._ledger = Ledger(self.objective)
        self._ledger_lock = threading.Lock()
        self._trial_lease = float(trial_lease)
        self._heartbeat = Heartbeat(
            self.storage, self._study_id, interval=min(10.0, self._trial_lease / 4)
        )
        self._fail_dead_trials(self.storage.trials(self._study_id, states=[TrialState.RUNNING]))
        if not self._temporary_checkpoints:
            # A new study removes the trial folders an older study of the same name left,
            # and never a file hyperscout did not make (see claim_checkpoint_root).
            new_study = not self.storage.trials(self._study_id)
            claim_checkpoint_root(self.checkpoint_root, new_study=new_study)

    # -- setup helpers -------------------------------------------------------------------
    @property
    def provenance(self) -> dict[str, Any]:
        """How the study was made: hyperscout and Python versions, ``preset``, ``sampler`` and
        ``scheduler`` (each a ``class`` and its ``settings``), ``seed``, the declared
        ``space``, ``host`` and ``created_at`` (UTC). A study made before hyperscout kept
        provenance has the values of the run that first resumed it, and
        ``recorded_on_resume`` True."""
        return copy.deepcopy(self._provenance)

    def _resume_provenance(
        self, stored_meta: Mapping[str, Any], new: dict[str, Any]
    ) -> dict[str, Any]:
        """The study's provenance, checked against this tuner's strategy (recorded if none)."""
        stored = stored_meta.get("provenance")
        if stored:
            check_resume(self.project_name, stored, new)
            return dict(stored)
        # A study older than provenance: how it was made is unknown; record it from now on.
        new.update(
            seed=stored_meta.get("seed", new["seed"]),
            recorded_on_resume=True,
            recorded_at=new["created_at"],
            created_at=None,
        )
        self.storage.save_meta(self._study_id, {**stored_meta, "provenance": new})
        return new

    def _space_changed(self, exc: InvalidSpaceError) -> InvalidArgumentError:
        """The error for a parameter defined otherwise than earlier runs of the study did."""
        return InvalidArgumentError(
            f"Project {self.project_name!r} was searched with another definition of a "
            f"parameter: {exc} Its trials would mix two spaces. Define the parameter as "
            "before, use another project_name (--project-name on the command line), or pass "
            "overwrite=True (--overwrite) to start over."
        )

    @property
    def trial_lease(self) -> float:
        """Seconds without a heartbeat after which other workers take a trial of ours for dead."""
        return self._trial_lease

    @property
    def heartbeat_interval(self) -> float:
        """Seconds between two heartbeats of the trials this tuner runs.

        10 s, or a quarter of :attr:`trial_lease` when that is shorter. Setting it checks that
        :attr:`trial_lease` is at least twice as long.
        """
        return self._heartbeat.interval

    @heartbeat_interval.setter
    def heartbeat_interval(self, seconds: float) -> None:
        check_lease(self._trial_lease, seconds)
        self._heartbeat.interval = float(seconds)

    def _save_space(self) -> None:
        self.storage.save_space(self._study_id, self._space.to_dict())

    # -- reading results -----------------------------------------------------------------
    @property
    def trials(self) -> list[Trial]:
        """Every trial of the study, in order, earlier runs included."""
        return self.storage.trials(self._study_id)

    @property
    def hyperparameters(self) -> HyperParameters:
        """The search space as known so far (it grows as objectives define parameters)."""
        return self._space.copy()

    @property
    def oracle(self) -> OracleView:
        """KerasTuner's ``tuner.oracle``, read-only: ``get_best_trials(n)``, ``trials`` by
        ``trial_id``, ``get_trial(trial_id)``, ``objective``, ``get_space()``."""
        return OracleView(self)

    def _history(self) -> History:
        with self._ledger_lock:
            return self._ledger.refresh(self.storage.trials(self._study_id))

    def get_best_trials(self, num_trials: int = 1) -> list[Trial]:
        """The ``num_trials`` best configurations' COMPLETE trials, best first.

        Without budgets, the best complete trials by value (ties: the earlier first). Under
        successive halving, Hyperband, BOHB or ASHA, one trial per configuration, the one on
        the highest budget it completed; the configurations that completed the highest
        budget come first, then the others by budget and value
        (:func:`~hyperscout.budgets.rank_configurations` states the rule).
        """
        return rank_configurations(self._history(), self.objective)[:num_trials]

    def get_best_hyperparameters(self, num_trials: int = 1) -> list[HyperParameters]:
        """The hyperparameters of the best configurations (as :meth:`get_best_trials` ranks
        them), best first: ``best.values`` is a dict."""
        return [self._space.with_values(t.values) for t in self.get_best_trials(num_trials)]

    def get_best_models(self, num_models: int = 1) -> list[Any]:
        """The models of the best trials, best first, built again and given their best weights.

        The trials are those of :meth:`get_best_trials`: under budgets, each configuration's
        trial on the highest budget it completed, so its model is the longest-trained one.

        Only a hypermodel that builds models (a Keras ``build_model(hp)`` or an
        :class:`~hyperscout.HyperModel`) keeps them: each trial saves the weights of its best
        epoch in its checkpoint folder.

        Raises:
            InvalidArgumentError: a best trial was run by an objective that returns metrics.
            StorageError: a trial's weights are gone (a temporary checkpoint folder closed).
        """
        check_int("num_models", num_models, minimum=1)
        models = []
        for trial in self.get_best_trials(num_models):
            name = trial.attrs.get("model")
            if self.hypermodel is None or name is None:
                raise InvalidArgumentError(
                    f"get_best_models(): trial {trial.number} was run by an objective that "
                    "returns metrics, so it kept no model. Only a hypermodel that builds models "
                    "(build_model(hp) returning a Keras model, or an hs.HyperModel) keeps them; "
                    "build yours again from get_best_hyperparameters()."
                )
            if self._adapter is None or self._adapter.name != name:
                self._adapter = load_adapter(name, self.hypermodel, self.objective)
            model = build_model(self.hypermodel, self._space.with_values(trial.values))
            folder = checkpoint_path(self.checkpoint_root, trial.number)
            models.append(self._adapter.load_best(model, folder))
        return models

    def results_summary(self, num_trials: int = 10, *, console: Console | None = None) -> None:
        """Print a table of the ``num_trials`` best configurations, ranked as
        :meth:`get_best_trials` ranks them, with each one's budget ("full" without budgets).

        A table wider than the console becomes one block per trial; no value is cut.
        """
        all_trials = self.trials
        ranked = rank_configurations(all_trials, self.objective)
        best = ranked[:num_trials]
        counts = {s: sum(t.state is s for t in all_trials) for s in TrialState}
        states = (
            f"{counts[TrialState.COMPLETE]} complete, {counts[TrialState.PRUNED]} pruned, "
            f"{counts[TrialState.FAILED]} failed"
        )
        if any(t.budget is not None for t in ranked):
            title = (
                f"{self.project_name}: best {len(best)} of {len(ranked)} configurations "
                f"({len(all_trials)} trials: {states}), each on the highest budget it completed"
            )
        else:
            title = f"{self.project_name}: best {len(best)} of {len(all_trials)} trials ({states})"
        (console or Console()).print(trials_table(best, self.objective, title=title))

    def budget_summary(self, *, console: Console | None = None) -> list[BudgetAgreement]:
        """Print, and return, how well each budget ranked the configurations as higher ones.

        For searches whose configurations run on several budgets (successive halving,
        Hyperband, BOHB, ASHA's promotion form): each budget against the next and against
        the largest, the Spearman rank correlation over the configurations complete at both
        (see :mod:`hyperscout.budgets`). A correlation near zero or below means the
        low budget misleads the early stopping.
        """
        rows = budget_agreement(self.trials)
        out = console or Console()
        if rows:
            out.print(budgets_table(rows, title=f"{self.project_name}: budgets"))
        else:
            text = f"{self.project_name}: no configuration has results on two budgets yet."
            out.print(printable(text), markup=False, highlight=False)
        return rows

    def search_space_summary(self, *, console: Console | None = None) -> None:
        """Print a table of the search space; before the first trial, learn it if that is cheap.

        As KerasTuner does, a hypermodel that only builds models (an :class:`HyperModel`, or a
        function of ``hp`` whose code compiles a model and trains none, see
        :func:`~hyperscout.hypermodel.looks_like_builder`) is built once with the default
        values, and the parameters it defines join the space. Any other objective may train,
        so it is not called: the table shows what is declared so far (``hyperparameters=``,
        earlier trials) and a line says that the rest is learnt as trials run.
        """
        out = console or Console()
        if not self.storage.trials(self._study_id) and looks_like_builder(self.hypermodel):
            assert self.hypermodel is not None  # looks_like_builder checked it
            hp = self._space.with_values({})
            build_model(self.hypermodel, hp)
            self._merge_space(hp)
        if len(self._space):
            out.print(space_table(self._space))
        if not self.storage.trials(self._study_id) and not looks_like_builder(self.hypermodel):
            known = f"{len(self._space)} parameters declared so far" if self._space else "none"
            out.print(
                f"Search space: {known}. The objective defines its parameters as it runs "
                "(hp.Int, hp.Float ...), so the rest of the space is learnt as trials run; it "
                "is not called just to learn it."
            )

    # -- the loop ------------------------------------------------------------------------
    def _counted(self) -> int:
        """Finished trials that count toward ``max_trials`` (reruns and leftovers do not)."""
        return self._ledger.counted

    def _next(self, history: History) -> Suggestion | Wait | Stop:
        """What this worker starts next: a rerun, an enqueued configuration, or a new slot.

        Every trial that is not a rerun fills the search's next slot, ``slot/k`` for the
        ``k``-th such trial of the study, and storage starts at most one trial per claim. So
        workers that read the same history cannot both start a trial: the one that loses the
        claim reads the history again (now holding the other's trial) and proposes anew. That
        makes ``max_trials`` exact for the whole study (slot ``max_trials`` is never taken),
        keeps a configuration from being proposed twice, and seeds proposal ``k`` from the
        seed and ``k`` alone, whichever worker draws it and however often the search resumed.

        The search ends (Stop) only when nothing runs anywhere: a running trial may still fail
        and need its rerun, or its worker may die and its trial be reclaimed.
        """
        rerun = self._ledger.rerun_suggestion()
        if rerun is not None:
            return rerun
        # Counted in the history the strategy reads, not in the ledger (which another call
        # of _history(), e.g. from a trial's report, may have brought further): a slot
        # claimed from an older history would let a strategy repeat what it cannot see.
        slot = sum(1 for t in history if t.retry_of is None)
        if self.max_trials is not None and slot >= self.max_trials:
            return self._unless_running(Stop(f"max_trials={self.max_trials} reached"), history)
        while self._queue:
            values = self._queue[0]
            key = config_key(values)
            if key not in self._ledger.enqueued:
                return self._in_slot(Suggestion(values, None, {"enqueued": key}), slot)
            self._queue.pop(0)
        rng = np.random.default_rng([self.seed, slot])
        self._load_new_parameters()
        with self._space_lock:
            space = self._space.copy()
        step = self.scheduler.next(space, history, self.sampler, rng)
        if isinstance(step, Stop):
            return self._unless_running(step, history)
        if isinstance(step, Wait):
            return step
        return self._in_slot(step, slot)

    def _load_new_parameters(self) -> None:
        """Learn the parameters that other workers' trials defined (define-by-run)."""
        with self._space_lock:
            if self._ledger.names.issubset(self._space.names):
                return
        study = self.storage.load_study(self.project_name)
        if study is not None:
            with self._space_lock:
                self._space.merge(HyperParameters.from_dict(study.space))

    @staticmethod
    def _unless_running(stop: Stop, history: History) -> Stop | Wait:
        """``stop``, or Wait while trials run anywhere in the study (they may need a rerun)."""
        if any(t.state is TrialState.RUNNING for t in history):
            return Wait(f"{stop.reason}; waiting for the trials still running")
        return stop

    @staticmethod
    def _in_slot(suggestion: Suggestion, slot: int) -> Suggestion:
        """``suggestion`` as the search's slot ``slot`` (its strategy's claim kept in attrs)."""
        attrs = dict(suggestion.attrs)
        attrs[Bookkeeping.SLOT] = slot
        if suggestion.claim is not None:
            attrs[Bookkeeping.STRATEGY_CLAIM] = suggestion.claim
        return dataclasses.replace(suggestion, attrs=attrs, claim=f"slot/{slot}")

    def search(self, *args: Any, **kwargs: Any) -> None:
        """Run trials until ``max_trials`` count, the strategy stops, or ``timeout`` passes.

        Finished trials of earlier runs count; a resumed search goes on where it stopped.
        Arguments are passed to the objective after ``hp`` (and ``trial``); for a hypermodel
        that builds models, to the model's ``fit`` (``search(x, y, validation_data=...,
        epochs=...)``, see :mod:`hyperscout.integrations.keras`).

        Raises:
            TooManyFailedTrialsError: ``max_consecutive_failed_trials`` failures in a row, or
                the search ended with failed trials and no successful one in the study.
            UsageError: a trial showed a mistake in how the search is set up (an objective
                that returns metrics without the one optimised, say); no result was recorded.
            KeyboardInterrupt: after recording what finished (Ctrl-C).
        """
        if self.hypermodel is None and not self._overrides_run_trial():
            raise InvalidArgumentError(
                "search() needs a hypermodel (the objective function), or a subclass of the "
                "tuner that overrides run_trial(self, trial, *args, **kwargs); a tuner built "
                "with hypermodel=None is otherwise driven by ask() and tell()."
            )
        self._check_has_end()
        started = time.monotonic()
        self._search_deadline = None if self.timeout is None else started + self.timeout
        history = self._history()
        progress = SearchProgress(
            self.objective,
            total=self.max_trials,
            enabled=self.verbose >= 1,
            per_trial=self.verbose >= 2,
        )
        running: dict[Future[Trial], int] = {}
        failures_in_row = 0
        with progress:
            best = [t.value for t in self.get_best_trials(1)]
            progress.start(self._counted(), best[0] if best else None)
            try:
                while True:
                    stop = self._should_stop(started, history, len(running))
                    while stop is None and len(running) < self.executor.n_workers:
                        step = self._next(history)
                        if isinstance(step, Stop):
                            stop = step
                            break
                        if isinstance(step, Wait):
                            break
                        try:
                            trial = self._start_trial(step)
                        except ClaimTakenError:  # another worker took that slot: look again
                            history = self._history()
                            continue
                        future = self.executor.submit(self._run_trial, trial, args, kwargs)
                        running[future] = trial.number
                        if len(running) < self.executor.n_workers:
                            history = self._history()
                        stop = self._should_stop(started, history, len(running))
                    if not running:
                        if stop is not None:
                            break
                        # The scheduler waits for trials that other workers run (a shared
                        # storage): look again shortly.
                        self._wait_for_others(history)
                        history = self._history()
                        continue
                    done, _ = wait(
                        list(running),
                        timeout=self._time_to_deadline(running),
                        return_when=FIRST_COMPLETED,
                    )
                    for future in done:
                        running.pop(future)
                        finished = future.result()
                        progress.advance(finished)
                        failures_in_row = self._count_failure(finished, failures_in_row)
                    for finished in self._give_up_late(running):
                        progress.advance(finished)
                        failures_in_row = self._count_failure(finished, failures_in_row)
                    history = self._history()
            except (KeyboardInterrupt, UsageError) as exc:
                self.executor.cancel()
                for number in running.values():
                    self._abandon(number, _stopped_by(exc))
                raise
            finally:
                self.executor.close()
        self._check_some_trial_succeeded()

    def _check_has_end(self) -> None:
        """Refuse a search that would never end by itself (before any trial)."""
        if self.max_trials is not None or self.timeout is not None or self.run_until_stopped:
            return
        if self.scheduler.has_end(self.sampler):
            return
        raise InvalidArgumentError(
            f"{type(self).__name__}(max_trials=None, timeout=None): this search has no end: "
            f"{self.scheduler!r} runs what {self.sampler!r} proposes, and that never runs "
            "out. Give max_trials= (trials to finish) or timeout= (seconds), or "
            "run_until_stopped=True for a search meant to run until it is stopped (Ctrl-C)."
        )

    def _time_to_deadline(self, running: Mapping[Future[Trial], int]) -> float | None:
        """Seconds until the next deadline of the search or of a running trial; None: none."""
        deadlines = [] if self._search_deadline is None else [self._search_deadline]
        unseen = False  # a trial whose thread has not started yet: its deadline is not set
        for number in running.values():
            handle = self._handles.get(number)
            if handle is None:
                unseen = True
            elif handle.deadline is not None:
                deadlines.append(handle.deadline)
        if unseen and self.trial_timeout is not None:
            deadlines.append(time.monotonic() + min(1.0, self.trial_timeout))
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - time.monotonic()) + 0.001

    def _give_up_late(self, running: dict[Future[Trial], int]) -> list[Trial]:
        """Record the running trials past their deadline; the executor cannot stop them.

        Only an executor that runs trials elsewhere (threads) leaves such trials: the
        default one interrupts them itself (see :mod:`hyperscout._limits`). Returns the
        trials failed by ``trial_timeout``; those given up at the search's ``timeout`` run
        again on resume and are not returned.
        """
        now = time.monotonic()
        failed: list[Trial] = []
        for future, number in list(running.items()):
            if future.done():
                continue
            handle = self._handles.get(number)
            late = self._deadline_passed(handle, now)
            if late is None and self._search_deadline is not None and now >= self._search_deadline:
                late = "search"  # a trial whose thread has not even started
            if late is None:
                continue
            running.pop(future)
            if handle is not None:
                handle.revoke()  # its late result and reports are dropped
            self.executor.give_up(future)
            if late == "trial":
                hp = self._trial_hp(self.storage.get_trial(self._study_id, number))
                reason = trial_timeout_reason(self.trial_timeout or 0.0)
                failed.append(self._finish(number, hp, TrialState.FAILED, error=reason))
            else:
                self._abandon(number, search_timeout_reason(self.timeout or 0.0))
        return failed

    def _deadline_passed(self, handle: RunningTrial | None, now: float) -> str | None:
        """Which deadline the trial of ``handle`` passed: ``"trial"``, ``"search"`` or None."""
        if handle is None or handle.deadline is None or now < handle.deadline:
            return None
        if self._search_deadline is not None and handle.deadline >= self._search_deadline:
            return "search"
        return "trial"

    def _wait_for_others(self, history: History) -> None:
        """Sleep while trials of other workers run; fail if the scheduler waits for nothing.

        A trial whose worker died would be waited for forever: it is marked FAILED (to run
        again) instead of sleeping, and the loop looks at the history again at once.
        """
        if not any(t.state is TrialState.RUNNING for t in history):
            raise RuntimeError(
                f"{self.scheduler!r} asked to wait while no trial runs anywhere; this is a bug "
                "in the scheduler."
            )
        if self._fail_dead_trials(history):
            return
        time.sleep(self.poll_interval)

    def _fail_dead_trials(self, trials: Iterable[Trial]) -> list[int]:
        """Mark FAILED the RUNNING trials of dead workers; the numbers of those marked."""
        return fail_dead_trials(
            self.storage,
            self._study_id,
            trials,
            lease=self._trial_lease,
            own=self._heartbeat.numbers,
        )

    def _should_stop(self, started: float, history: History, n_running: int) -> Stop | None:
        # max_trials is kept by the slots of _next(), for every worker of the study at once.
        if self.timeout is not None and time.monotonic() - started >= self.timeout:
            return Stop(f"timeout={self.timeout}s reached")
        return None

    def _check_some_trial_succeeded(self) -> None:
        """At the end of a search: fail when trials failed and none of the study succeeded.

        ``max_consecutive_failed_trials`` may never be reached (``max_trials`` below it, a
        timeout, a small grid); a search that produced nothing but failures still says so.
        """
        trials = self.storage.trials(self._study_id)
        if any(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials):
            return
        failed = [t for t in trials if t.state is TrialState.FAILED and "abandoned" not in t.attrs]
        if failed:
            raise TooManyFailedTrialsError(
                f"The search ended and no trial succeeded: all {len(failed)} finished trials "
                "of the study failed (before max_consecutive_failed_trials="
                f"{self.max_consecutive_failed_trials} failures in a row stopped it). Every "
                f"trial is kept in the study. The last failure, trial {failed[-1].number}:"
                f"\n\n{failed[-1].error}"
            )

    def _count_failure(self, trial: Trial, failures_in_row: int) -> int:
        if trial.state is not TrialState.FAILED:
            return 0
        if trial.is_rerun:
            return failures_in_row  # it runs again; only its last attempt counts
        failures_in_row += 1
        if failures_in_row >= self.max_consecutive_failed_trials:
            raise TooManyFailedTrialsError(
                f"{failures_in_row} trials failed in a row (max_consecutive_failed_trials="
                f"{self.max_consecutive_failed_trials}); the search stops. Every trial is kept "
                f"in the study. The last failure, trial {trial.number}:\n\n{trial.error}"
            )
        return failures_in_row

    def _start_trial(self, suggestion: Suggestion) -> Trial:
        attrs = {**suggestion.attrs, Bookkeeping.WORKER: worker_stamp(self._trial_lease)}
        trial = self.storage.create_trial(
            self._study_id,
            values=suggestion.values,
            budget=suggestion.budget,
            attrs=attrs,
            claim=suggestion.claim,
        )
        self._heartbeat.add(trial.number)  # until _finish() or _abandon()
        return trial

    def _abandon(self, number: int, reason: str) -> None:
        error = reason + " Its configuration runs again when the search resumes."
        abandon_trial(self.storage, self._study_id, number, error)
        self._heartbeat.discard(number)

    def _trial_hp(self, trial: Trial) -> HyperParameters:
        rngs: list[np.random.Generator] = []

        def new_value(param: Parameter, values: Mapping[str, Any]) -> Any:
            if not rngs:  # made on first need: most trials meet no new parameter
                # Seeded by the slot, not the trial number, so that a rerun (after a crash or
                # on another worker) draws what the first attempt drew.
                slot = trial.slot
                rngs.append(np.random.default_rng([self.seed, slot, 1]))
            return self.sampler.sample_new(param, values, rngs[0])

        with self._space_lock:
            return self._space.with_values(trial.values, new_value=new_value)

    def _running_trial(self, trial: Trial) -> RunningTrial:
        watches = type(self.scheduler).on_report is not Scheduler.on_report

        def on_report(step: int, metrics: dict[str, float]) -> bool:
            # A deadline's hard stop waits for hyperscout's own writes and reads to end.
            with self._hard_stop.writing():
                return record_report(step, metrics)

        def record_report(step: int, metrics: dict[str, float]) -> bool:
            metrics = self.objective.with_value(metrics)  # objective=[...]: its sum kept too
            try:
                self.storage.report(self._study_id, trial.number, step, metrics)
            except StorageError:
                # Finished elsewhere before a heartbeat told us: the trial is no longer ours.
                if not self.storage.get_trial(self._study_id, trial.number).is_finished:
                    raise
                handle.revoke()
                return True
            if not watches:
                return False
            current = self.storage.get_trial(self._study_id, trial.number)
            return self.scheduler.on_report(current, self._history()) is Decision.STOP

        previous = None
        parent = trial.promoted_from
        if parent is not None:
            with contextlib.suppress(StorageError):
                previous = (int(parent), self.storage.get_trial(self._study_id, int(parent)).budget)
        handle = RunningTrial(
            trial.number,
            trial.budget,
            attrs=trial.attrs,
            on_report=on_report,
            checkpoint_root=self.checkpoint_root,
            previous=previous,
        )
        # Taken for dead by another worker (our heartbeats did not reach the storage for
        # longer than the lease): the objective sees should_stop() and its result is dropped.
        self._heartbeat.watch(trial.number, handle.revoke)
        return handle

    def _run_trial(self, trial: Trial, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Trial:
        """Run the objective for one trial and record the outcome. Runs inside the executor."""
        try:
            return self._run_started_trial(trial, args, kwargs)
        finally:
            self._heartbeat.discard(trial.number)  # however it ended
            self._handles.pop(trial.number, None)

    def _run_started_trial(
        self, trial: Trial, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Trial:
        hp = self._trial_hp(trial)
        handle = self._running_trial(trial)
        deadlines = [] if self._search_deadline is None else [self._search_deadline]
        if self.trial_timeout is not None:
            deadlines.append(time.monotonic() + self.trial_timeout)
        handle.deadline = min(deadlines, default=None)
        self._handles[trial.number] = handle
        interrupted = False
        try:
            try:
                with self._hard_stop.armed(handle.deadline):
                    state, metrics, error, attrs = self._outcome(hp, handle, args, kwargs)
            except DeadlinePassed:  # interrupted at its deadline (see HardStop)
                state, metrics, error, attrs = TrialState.FAILED, None, None, None
                interrupted = True
            if "enqueued" in trial.attrs:
                check_enqueued_read(trial.values, hp)
        except KeyboardInterrupt:
            self._merge_space(hp)
            self._abandon(trial.number, "The search was interrupted (Ctrl-C) during this trial.")
            raise
        except UsageError as exc:
            # A mistake in how the search is set up, not a result: give the trial up (it runs
            # again on resume) and stop the search with the error.
            with contextlib.suppress(InvalidSpaceError):
                self._merge_space(hp)
            self._abandon(trial.number, f"The search stopped at this trial on a usage error: {exc}")
            raise
        if handle.revoked:
            return self._keep_theirs(trial.number, hp)
        now = time.monotonic()
        if interrupted and handle.deadline is not None:
            now = max(now, handle.deadline)
        late = self._deadline_passed(handle, now)
        if late == "search":
            # Stopped by the search's timeout, not by a fault of its own: it runs again.
            self._merge_space(hp)
            self._abandon(trial.number, search_timeout_reason(self.timeout or 0.0))
            return self.storage.get_trial(self._study_id, trial.number)
        if late == "trial":
            state, metrics, attrs = TrialState.FAILED, None, None
            error = trial_timeout_reason(self.trial_timeout or 0.0)
        if handle.notes:  # e.g. checkpoint_missing, from the checkpoint helpers
            attrs = {**handle.notes, **(attrs or {})}
        return self._finish(trial.number, hp, state, metrics=metrics, error=error, attrs=attrs)

    def _outcome(
        self,
        hp: HyperParameters,
        handle: RunningTrial,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> tuple[TrialState, dict[str, Any] | None, str | None, dict[str, Any] | None]:
        """Run the objective for one trial: the state, metrics, error and attrs to record.

        A failure of the trial (the objective raised, returned NaN) is an outcome; a
        :class:`UsageError` (and Ctrl-C) is raised.
        """
        try:
            runs = []
            for execution in range(self.executions_per_trial):
                runs.append(self._execute(hp, handle, args, kwargs, execution))
        except TrialPruned:
            last = handle.reports[max(handle.reports)] if handle.reports else {}
            return TrialState.PRUNED, dict(last), None, None
        except UsageError:
            raise
        except InvalidSpaceError as exc:
            # A parameter defined wrongly (a bad range, one name defined two ways) is how the
            # objective is written: every trial that reaches it fails the same way.
            if exc.parameter in self._stored_names:
                raise UsageError(str(self._space_changed(exc))) from exc
            raise UsageError(f"The objective defined a hyperparameter wrongly: {exc}") from exc
        except BadResultError as exc:
            return TrialState.FAILED, None, str(exc), None
        except Exception as exc:
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            reason = f"The objective raised {type(exc).__name__}: {exc}"
            return TrialState.FAILED, None, f"{reason}\n\n{text}", None
        state = TrialState.PRUNED if handle.should_stop() else TrialState.COMPLETE
        attrs = {"model": self._adapter.name} if self._adapter is not None else None
        return state, average(runs), None, attrs

    def run_trial(self, trial: RunningTrial, *args: Any, **kwargs: Any) -> Any:
        """Run one execution of a trial and return its result; override it as in KerasTuner.

        The tuner calls it with the trial's live handle (``trial.hyperparameters`` is its
        ``hp``, ``trial.trial_id`` its id, and ``trial.report``/``trial.should_stop`` work as
        for any objective) and the arguments of :meth:`search`. A subclass that overrides it
        needs no hypermodel; ``hp`` reads inside define the space as they run. It may return
        what KerasTuner's ``run_trial`` returns (see
        :func:`~hyperscout.hypermodel.run_trial_metrics`): a float, a dict of metrics, a Keras
        ``History`` (its best epoch counts), or a list of those (averaged). The default runs
        the hypermodel (builds and trains its model) and returns the metrics, so an override
        may change the arguments and call ``super().run_trial(trial, *args, **kwargs)``.

        >>> import hyperscout as hs
        >>> class MyTuner(hs.RandomSearch):
        ...     def run_trial(self, trial, *args, **kwargs):
        ...         x = trial.hyperparameters.Float("x", -1.0, 1.0)
        ...         return x * x + 1
        >>> tuner = MyTuner(max_trials=10, seed=0, storage="memory", verbose=0)
        >>> tuner.search()
        >>> abs(tuner.get_best_hyperparameters()[0].get("x")) < 0.5
        True
        """
        hp = trial.hyperparameters
        if hp is None or self.hypermodel is None:
            raise InvalidArgumentError(
                "Tuner.run_trial(): the default run_trial runs the hypermodel, but this tuner "
                "has none (hypermodel=None) or the trial has no hyperparameters. Override "
                "run_trial without calling super().run_trial(), or give the tuner a hypermodel."
            )
        return self._run_hypermodel(hp, trial, args, kwargs, trial.execution)

    def _overrides_run_trial(self) -> bool:
        return type(self).run_trial is not Tuner.run_trial

    def _execute(
        self,
        hp: HyperParameters,
        handle: RunningTrial,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        execution: int,
    ) -> dict[str, Any]:
        """One execution of a trial: the subclass's ``run_trial``, or the hypermodel's run."""
        if not self._overrides_run_trial():
            return self._run_hypermodel(hp, handle, args, kwargs, execution)
        handle.hyperparameters = hp
        handle.execution = execution
        return run_trial_metrics(self.run_trial(handle, *args, **kwargs), self.objective)

    def _run_hypermodel(
        self,
        hp: HyperParameters,
        handle: RunningTrial,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        execution: int,
    ) -> dict[str, Any]:
        """One run of the hypermodel: the objective's metrics, or those of the model it built."""
        hypermodel = self.hypermodel
        assert hypermodel is not None  # search() or run_trial() checked it
        if self._adapter is not None:
            self._adapter.before_build(self._model_seed(handle.number, execution))
        if self._adapter is not None or isinstance(hypermodel, HyperModel):
            result, alone = build_model(hypermodel, hp), True
        elif accepts_arguments(hypermodel, self._passes_trial, args, kwargs):
            call_args = (hp, handle, *args) if self._passes_trial else (hp, *args)
            result, alone = hypermodel(*call_args, **kwargs), False
        else:  # build_model(hp): search()'s arguments are for the model's fit
            result, alone = build_model(hypermodel, hp), True
        if self._adapter is None:
            name = adapter_name_for(result)
            if name is None:
                if isinstance(hypermodel, HyperModel) or (alone and (args or kwargs)):
                    reason = not_a_model(hypermodel, result, args, kwargs)
                    raise BadResultError(reason) if self._metric_seen() else UsageError(reason)
                check_result(result, self.objective, metric_seen=self._metric_seen)
                return metrics_of(result, self.objective)
            adapter = load_adapter(name, hypermodel, self.objective)
            if self.executor.n_workers > 1 and not adapter.supports_threads:
                raise UsageError(
                    f"{name} models train one trial at a time in a process ({name} keeps "
                    f"global state that is reset between trials), but executor= runs "
                    f"{self.executor.n_workers} trials at once. Drop executor=; run several "
                    "processes on one storage to train in parallel."
                )
            self._adapter = adapter
            # The first model was built before the adapter was known: build it again on a
            # clean, seeded session, as every later model is.
            self._adapter.before_build(self._model_seed(handle.number, execution))
            result = build_model(hypermodel, hp)
        return self._adapter.run(hp, result, handle, args, kwargs)

    def _metric_seen(self) -> bool:
        """Whether any trial of the study has produced the objective's metric (or reported it)."""
        name = self.objective.name
        return any(
            t.value is not None or any(name in m for m in t.intermediate.values())
            for t in self.storage.trials(self._study_id)
        )

    def _model_seed(self, number: int, execution: int) -> int:
        """The seed of a framework's random state for one execution of a trial."""
        return int(np.random.SeedSequence([self.seed, number, execution]).generate_state(1)[0])

    def _merge_space(self, hp: HyperParameters) -> None:
        with self._space_lock:
            before = len(self._space)
            self._space.merge(hp)
            grew = len(self._space) != before
        if grew:
            self._save_space()

    def _finish(
        self,
        number: int,
        hp: HyperParameters,
        state: TrialState,
        *,
        metrics: Mapping[str, Any] | None = None,
        error: str | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> Trial:
        try:
            return self._record(number, hp, state, metrics=metrics, error=error, attrs=attrs)
        finally:
            self._heartbeat.discard(number)

    def _keep_theirs(self, number: int, hp: HyperParameters) -> Trial:
        """Record nothing for a revoked trial: the record of whoever took it stands."""
        self._merge_space(hp)
        self._heartbeat.discard(number)
        return self.storage.get_trial(self._study_id, number)

    def _record(
        self,
        number: int,
        hp: HyperParameters,
        state: TrialState,
        *,
        metrics: Mapping[str, Any] | None,
        error: str | None,
        attrs: Mapping[str, Any] | None,
    ) -> Trial:
        self._merge_space(hp)
        value = None
        if metrics is not None and self.objective.name in metrics:
            value = metrics[self.objective.name]
        attrs = dict(attrs or {})
        if state is TrialState.FAILED:
            attempt = self.storage.get_trial(self._study_id, number).attempt
            if attempt < self.max_retries_per_trial:
                attrs[Bookkeeping.RERUN] = True
        # Only what the trial read: a parameter it never reached (another branch, a layer it
        # did not build) did not shape its result. A failed trial may have stopped before
        # reading what it would have, so it keeps the whole configuration it was given.
        values = hp.values if state is TrialState.FAILED else hp.read_values
        try:
            return self.storage.finish_trial(
                self._study_id,
                number,
                state=state,
                values=values,
                value=value,
                metrics=metrics,
                error=error,
                attrs=attrs,
            )
        except StorageError:
            # Already finished elsewhere (an interrupted search gave it up, or a worker that
            # took this one for dead): keep that record.
            return self.storage.get_trial(self._study_id, number)

    def enqueue(self, values: Mapping[str, Any]) -> None:
        """Run a known configuration before the strategy proposes its own.

        For the lecture's "what did others do?": start from published or hand-tuned values;
        the sampler learns from them like from any trial. ``values`` may name only some
        parameters; the others are drawn as for a new parameter. A configuration enqueued
        again after a resume, and already started, is not run twice.

        A name the space does not know yet is accepted, since the objective may define it
        when it runs (define-by-run), unless it is a near miss of a known parameter (``Lr``
        for ``lr``, ``momentun`` for ``momentum``; names that differ only in digits, such as
        ``units_2`` and ``units_1``, are different parameters): that is a typo, refused. A
        name still unknown once the enqueued trial ran, while the objective defined a near
        miss of it, stops the search with :class:`~hyperscout.UsageError`.

        >>> import hyperscout as hs
        >>> tuner = hs.RandomSearch(lambda hp: hp.Float("lr", 1e-4, 1e-1, sampling="log"),
        ...                         max_trials=3, storage="memory", verbose=0, seed=0)
        >>> tuner.enqueue({"lr": 1e-3})
        >>> tuner.search()
        >>> tuner.trials[0].values
        {'lr': 0.001}

        Raises:
            InvalidArgumentError: a value is not one of its (already defined) parameter's
                values, or a name is a near miss of a known parameter.
        """
        check_enqueued(values, self._space)
        self._queue.append(dict(values))

    # -- ask and tell --------------------------------------------------------------------
    def ask(self) -> tuple[HyperParameters, RunningTrial]:
        """Start a trial for a loop of your own; finish it with :meth:`tell`.

        >>> import hyperscout as hs
        >>> tuner = hs.RandomSearch(seed=1, storage="memory", verbose=0)
        >>> hp, trial = tuner.ask()
        >>> x = hp.Float("x", 0.0, 1.0)
        >>> tuner.tell(trial, x ** 2).state.name
        'COMPLETE'

        Raises:
            SearchFinished: the strategy has nothing left to propose.
        """
        while True:
            history = self._history()
            step = self._next(history)
            if isinstance(step, Stop):
                raise SearchFinished(f"Nothing left to ask: {step.reason}.")
            if isinstance(step, Wait):
                if self._fail_dead_trials(history):
                    continue  # the strategy waited for a dead worker's trial: ask again
                raise SearchFinished(
                    f"Nothing to start now ({step.reason}): tell() the running trials first."
                )
            try:
                trial = self._start_trial(step)
            except ClaimTakenError:  # another worker took that slot: ask again
                continue
            break
        hp = self._trial_hp(trial)
        self._asked[trial.number] = hp
        return hp, self._running_trial(trial)

    def tell(
        self,
        trial: RunningTrial | int,
        result: Any = None,
        *,
        state: TrialState | None = None,
        error: str | None = None,
    ) -> Trial:
        """Finish a trial started by :meth:`ask` with its result (a float or metrics).

        ``state=TrialState.PRUNED`` records a stopped trial (its last report is its result);
        ``state=TrialState.FAILED`` with ``error=`` records a failure.

        Raises:
            UsageError: ``result`` holds no value of the objective (a dict without its name,
                None, a string) and no trial of the study has produced it: the loop is
                written wrongly. Nothing is recorded; the trial stays open for a corrected
                ``tell``. (Once some trial has produced the metric, such a result records
                this trial as FAILED.)
        """
        number = trial.number if isinstance(trial, RunningTrial) else int(trial)
        if state not in (None, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED):
            raise InvalidArgumentError(
                f"tell(state=...): expected COMPLETE, PRUNED or FAILED, got {state!r}."
            )
        if number not in self._asked:
            raise InvalidArgumentError(
                f"tell(trial={number}): that trial was not started by this tuner's ask(), or "
                "was already told."
            )
        if state in (None, TrialState.COMPLETE):
            check_result(result, self.objective, metric_seen=self._metric_seen)
        hp = self._asked.pop(number)
        if state is TrialState.FAILED:
            return self._finish(number, hp, state, error=error or "Told as failed.")
        if state is TrialState.PRUNED:
            reports = self.storage.get_trial(self._study_id, number).intermediate
            metrics = dict(reports[max(reports)]) if reports else None
            if result is not None:
                metrics = metrics_of(result, self.objective)
            return self._finish(number, hp, state, metrics=metrics)
        try:
            metrics = metrics_of(result, self.objective)
        except BadResultError as exc:
            return self._finish(number, hp, TrialState.FAILED, error=str(exc))
        return self._finish(number, hp, TrialState.COMPLETE, metrics=metrics)

    def close(self) -> None:
        """Release the storage's connections (and a temporary checkpoint folder).

        The tuner is a context manager that does this. Trials asked and not told stop
        sending heartbeats.
        """
        self._heartbeat.stop()
        self.storage.close()
        if self._temporary_checkpoints:
            shutil.rmtree(self.checkpoint_root, ignore_errors=True)

    def __enter__(self) -> Tuner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(project_name={self.project_name!r}, "
            f"objective={self.objective!r}, sampler={self.sampler!r}, "
            f"scheduler={self.scheduler!r}, max_trials={self.max_trials!r})"
        )


def _stopped_by(exc: BaseException) -> str:
    """Why a search gave up the trials it was running when ``exc`` stopped it."""
    if isinstance(exc, UsageError):
        return f"The search stopped on a usage error shown by another trial: {exc}"
    return "The search was interrupted (Ctrl-C)."


def _only_given_up(trials: list[Trial]) -> bool:
    """True when the study has trials and each was given up: none holds a result or runs.

    (An empty study is another worker's, just created: it keeps the objective it has.)
    """
    return bool(trials) and all(
        t.state is TrialState.FAILED and t.attrs.get("abandoned") for t in trials
    )


def _takes_trial(fn: Callable[..., Any]) -> bool:
    """True when the objective's signature has room for ``trial`` after ``hp``."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    if any(p.name == "trial" for p in params):
        return True
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(positional) >= 2
