"""The tuner: ask the scheduler, run the trial, record it. No algorithm and no SQL here.

:class:`Tuner` pairs a sampler with a scheduler; the presets users know from the lecture and
from KerasTuner (``GridSearch``, ``RandomSearch``, ``BayesianOptimization``, ``Hyperband`` ...)
live in :mod:`hyperscout.presets`.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from hyperscout.console import SearchProgress, space_table, trials_table
from hyperscout.exceptions import (
    ClaimTakenError,
    InvalidArgumentError,
    SearchFinished,
    StorageError,
    TooManyFailedTrialsError,
    TrialPruned,
)
from hyperscout.executors import Executor, InlineExecutor
from hyperscout.hypermodel import (
    HyperModel,
    ModelAdapter,
    accepts_arguments,
    adapter_name_for,
    build_model,
    load_adapter,
    not_a_model,
)
from hyperscout.objective import Objective
from hyperscout.samplers import History, RandomSampler, Sampler
from hyperscout.schedulers import Decision, FIFOScheduler, Scheduler, Stop, Suggestion, Wait
from hyperscout.space import HyperParameters, Parameter
from hyperscout.storage import Storage, open_storage
from hyperscout.storage.sql import sqlite_url
from hyperscout.trial import (
    RunningTrial,
    Trial,
    TrialState,
    _as_float,
    checkpoint_path,
    config_key,
)

__all__ = ["DATABASE_FILE", "Tuner", "check_int"]

DATABASE_FILE = "hyperscout.db"
_HOST = socket.gethostname()


def check_int(name: str, value: Any, *, minimum: int, allow_none: bool = False) -> None:
    """The shared argument check: an int >= minimum (or None when allowed)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        expected = f"an int >= {minimum}" + (" or None" if allow_none else "")
        raise InvalidArgumentError(f"{name}=: expected {expected}, got {value!r}.")


class _Ledger:
    """Facts the loop needs about the trial list, updated from the first trial that may change.

    Finished trials never change (the storage contract), so each refresh looks only at the
    trials from the first unfinished one on, and the loop's cost per trial stays flat as the
    study grows.
    """

    def __init__(self, objective: Objective) -> None:
        self.objective = objective
        self._stable = 0  # trials[:_stable] are finished and accounted for
        self._counted_stable = 0
        self.counted = 0  # finished trials that count toward max_trials
        self.keys: set[str] = set()
        self.retried: set[int] = set()
        self.reruns: dict[int, Trial] = {}  # failed trials whose configuration runs again
        self.enqueued: set[str] = set()  # keys of enqueued configurations already started

    def refresh(self, trials: list[Trial]) -> History:
        if len(trials) < self._stable:  # the study was emptied under us: start over
            self.__init__(self.objective)  # type: ignore[misc]
        for trial in trials[self._stable :]:
            self.keys.add(trial.key)
            if "enqueued" in trial.attrs:
                self.enqueued.add(trial.attrs["enqueued"])
            retry_of = trial.attrs.get("retry_of")
            if retry_of is not None:
                self.retried.add(retry_of)
                self.reruns.pop(retry_of, None)
        while self._stable < len(trials) and trials[self._stable].is_finished:
            trial = trials[self._stable]
            if not trial.attrs.get("rerun"):
                self._counted_stable += 1
            elif trial.state is TrialState.FAILED and trial.number not in self.retried:
                self.reruns[trial.number] = trial
            self._stable += 1
        self.counted = self._counted_stable + sum(
            1 for t in trials[self._stable :] if t.is_finished and not t.attrs.get("rerun")
        )
        return History(trials, self.objective, keys=self.keys)


class _BadResultError(Exception):
    """The objective returned something that is not a metric."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        sampler: proposes configurations (default :class:`RandomSampler`).
        scheduler: gives budgets and stops trials (default :class:`FIFOScheduler`).
        max_trials: trials to finish, counting those of earlier runs; None: until the
            strategy stops (a grid is exhausted) or ``timeout``.
        seed: seeds every random choice; None draws one and keeps it with the study.
        hyperparameters: a space declared ahead; the objective may still add to it.
        directory, project_name: the study lives in ``directory/project_name/`` (an SQLite
            file ``hyperscout.db``) unless ``storage`` says otherwise.
        storage: a :class:`Storage` or a database URL (``"sqlite:///..."``,
            ``"postgresql+psycopg://..."``, ``"memory"``); the study is named ``project_name``.
        overwrite: delete the study's trials and start over.
        executions_per_trial: runs of the objective per trial; their metrics are averaged.
        max_retries_per_trial: reruns of a configuration whose objective failed.
        max_consecutive_failed_trials: stop with :class:`TooManyFailedTrialsError` after this
            many failed trials in a row.
        verbose: 0 silent, 1 a progress bar on a terminal, 2 also a line per trial.
        timeout: seconds after which no new trial starts.
        executor: where trials run (default: this process, one at a time).

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
        objective: Objective | str | None = None,
        sampler: Sampler | None = None,
        scheduler: Scheduler | None = None,
        max_trials: int | None = None,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        directory: str | os.PathLike[str] | None = None,
        project_name: str | None = None,
        storage: Storage | str | None = None,
        overwrite: bool = False,
        executions_per_trial: int = 1,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        verbose: int = 1,
        timeout: float | None = None,
        executor: Executor | None = None,
    ) -> None:
        if hypermodel is not None and not callable(hypermodel):
            raise InvalidArgumentError(
                "hypermodel: expected a function of hp that returns a metric or builds a model, "
                f"or an hs.HyperModel, got {hypermodel!r}."
            )
        check_int("max_trials", max_trials, minimum=1, allow_none=True)
        check_int("seed", seed, minimum=0, allow_none=True)
        check_int("executions_per_trial", executions_per_trial, minimum=1)
        check_int("max_retries_per_trial", max_retries_per_trial, minimum=0)
        check_int("max_consecutive_failed_trials", max_consecutive_failed_trials, minimum=1)
        check_int("verbose", verbose, minimum=0)
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
        ):
            raise InvalidArgumentError(f"timeout=: expected seconds > 0 or None, got {timeout!r}.")
        if hyperparameters is not None and not isinstance(hyperparameters, HyperParameters):
            raise InvalidArgumentError(
                f"hyperparameters=: expected an hs.HyperParameters, got {hyperparameters!r}."
            )
        for name, value, kind in (
            ("sampler", sampler, Sampler),
            ("scheduler", scheduler, Scheduler),
            ("executor", executor, Executor),
        ):
            if value is not None and not isinstance(value, kind):
                raise InvalidArgumentError(f"{name}=: expected a {kind.__name__}, got {value!r}.")
        self.hypermodel = hypermodel
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
        #: Seconds between looks at the storage while waiting for other workers' trials.
        self.poll_interval = 0.5
        self.project_name = project_name or "untitled_project"
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
            self.storage = open_storage(sqlite_url(self.project_dir / DATABASE_FILE))
        if overwrite:
            self.storage.delete_study(self.project_name)
            shutil.rmtree(self.checkpoint_root, ignore_errors=True)

        study = self.storage.get_or_create_study(
            self.project_name,
            space=(hyperparameters or HyperParameters()).to_dict(),
            meta={
                "objective": self.objective.to_dict(),
                "seed": seed if seed is not None else secrets.randbelow(2**31),
            },
        )
        self._check_same_objective(study.meta)
        self.seed = seed if seed is not None else int(study.meta.get("seed") or 0)
        self._study_id = study.id
        self._space = HyperParameters.from_dict(study.space)
        if hyperparameters is not None:
            self._space.merge(hyperparameters)
            self._save_space()
        self._space_lock = threading.Lock()
        self._asked: dict[int, HyperParameters] = {}
        self._queue: list[dict[str, Any]] = []
        self._ledger = _Ledger(self.objective)
        self._ledger_lock = threading.Lock()
        self._fail_abandoned_trials()
        if not self.storage.trials(self._study_id):
            # A new study: folders left by an older study of the same name belong to nobody.
            shutil.rmtree(self.checkpoint_root, ignore_errors=True)

    # -- setup helpers -------------------------------------------------------------------
    def _check_same_objective(self, meta: Mapping[str, Any]) -> None:
        stored = meta.get("objective")
        if stored and stored != self.objective.to_dict():
            raise InvalidArgumentError(
                f"Project {self.project_name!r} optimises {stored['name']!r} "
                f"({stored['direction']}), not {self.objective.name!r} "
                f"({self.objective.direction}). Pass overwrite=True (--overwrite on the command "
                "line) to start over, or use another project_name (--project-name)."
            )

    def _fail_abandoned_trials(self) -> None:
        """Mark FAILED the trials left RUNNING by a process of this machine that has died."""
        for trial in self.storage.trials(self._study_id, states=[TrialState.RUNNING]):
            worker = trial.attrs.get("worker") or {}
            if worker.get("host") != _HOST:
                continue  # another machine's trial: its own process finishes it
            pid = int(worker.get("pid", -1))
            # A trial of this very process belongs to a live tuner (another thread, or an
            # ask() not yet told): never take it for a leftover.
            if pid == os.getpid() or _pid_alive(pid):
                continue
            with contextlib.suppress(StorageError):  # finished meanwhile by its process
                self.storage.finish_trial(
                    self._study_id,
                    trial.number,
                    state=TrialState.FAILED,
                    error=(
                        f"The process that ran this trial ({_HOST}, pid {pid}) stopped before "
                        "the trial finished; its configuration is run again."
                    ),
                    attrs={"rerun": True, "abandoned": True},
                )

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

    def _history(self) -> History:
        with self._ledger_lock:
            return self._ledger.refresh(self.storage.trials(self._study_id))

    def get_best_trials(self, num_trials: int = 1) -> list[Trial]:
        """The ``num_trials`` best COMPLETE trials, best first (ties: the earlier first)."""
        history = self._history()
        return sorted(history.completed, key=lambda t: (history.loss(t), t.number))[:num_trials]

    def get_best_hyperparameters(self, num_trials: int = 1) -> list[HyperParameters]:
        """The hyperparameters of the best trials, best first: ``best.values`` is a dict."""
        return [self._space.with_values(t.values) for t in self.get_best_trials(num_trials)]

    def get_best_models(self, num_models: int = 1) -> list[Any]:
        """The models of the best trials, best first, built again and given their best weights.

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
        """Print a table of the ``num_trials`` best trials."""
        best = self.get_best_trials(num_trials)
        all_trials = self.trials
        counts = {s: sum(t.state is s for t in all_trials) for s in TrialState}
        title = (
            f"{self.project_name}: best {len(best)} of {len(all_trials)} trials "
            f"({counts[TrialState.COMPLETE]} complete, {counts[TrialState.PRUNED]} pruned, "
            f"{counts[TrialState.FAILED]} failed)"
        )
        (console or Console()).print(trials_table(best, self.objective, title=title))

    def search_space_summary(self, *, console: Console | None = None) -> None:
        """Print a table of the search space."""
        (console or Console()).print(space_table(self._space))

    # -- the loop ------------------------------------------------------------------------
    def _counted(self) -> int:
        """Finished trials that count toward ``max_trials`` (reruns and leftovers do not)."""
        return self._ledger.counted

    def _next(self, history: History) -> Suggestion | Wait | Stop:
        reruns = self._ledger.reruns
        if reruns:
            rerun = reruns[min(reruns)]
            attrs = {
                k: v
                for k, v in rerun.attrs.items()
                if k not in ("rerun", "abandoned", "worker", "retry_of", "attempt")
            }
            attrs.pop("claim", None)
            attrs["retry_of"] = rerun.number
            attrs["attempt"] = int(rerun.attrs.get("attempt", 0)) + 1
            return Suggestion(rerun.values, rerun.budget, attrs, claim=f"retry/{rerun.number}")
        while self._queue:
            values = self._queue[0]
            key = config_key(values)
            if key not in self._ledger.enqueued:
                return Suggestion(values, None, {"enqueued": key}, claim=f"enqueued/{key}")
            self._queue.pop(0)
        rng = np.random.default_rng([self.seed, len(history)])
        with self._space_lock:
            space = self._space.copy()
        return self.scheduler.next(space, history, self.sampler, rng)

    def search(self, *args: Any, **kwargs: Any) -> None:
        """Run trials until ``max_trials`` count, the strategy stops, or ``timeout`` passes.

        Finished trials of earlier runs count; a resumed search goes on where it stopped.
        Arguments are passed to the objective after ``hp`` (and ``trial``); for a hypermodel
        that builds models, to the model's ``fit`` (``search(x, y, validation_data=...,
        epochs=...)``, see :mod:`hyperscout.integrations.keras`).

        Raises:
            TooManyFailedTrialsError: ``max_consecutive_failed_trials`` failures in a row.
            KeyboardInterrupt: after recording what finished (Ctrl-C).
        """
        if self.hypermodel is None:
            raise InvalidArgumentError(
                "search() needs a hypermodel (the objective function); a tuner built with "
                "hypermodel=None is driven by ask() and tell()."
            )
        started = time.monotonic()
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
                    done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                    for future in done:
                        running.pop(future)
                        finished = future.result()
                        progress.advance(finished)
                        failures_in_row = self._count_failure(finished, failures_in_row)
                    history = self._history()
            except KeyboardInterrupt:
                self.executor.cancel()
                for number in running.values():
                    self._abandon(number, "The search was interrupted (Ctrl-C).")
                raise
            finally:
                self.executor.close()

    def _wait_for_others(self, history: History) -> None:
        """Sleep while trials of other workers run; fail if the scheduler waits for nothing."""
        if not any(t.state is TrialState.RUNNING for t in history):
            raise RuntimeError(
                f"{self.scheduler!r} asked to wait while no trial runs anywhere; this is a bug "
                "in the scheduler."
            )
        time.sleep(self.poll_interval)

    def _should_stop(self, started: float, history: History, n_running: int) -> Stop | None:
        if self.max_trials is not None and self._counted() + n_running >= self.max_trials:
            return Stop(f"max_trials={self.max_trials} reached")
        if self.timeout is not None and time.monotonic() - started >= self.timeout:
            return Stop(f"timeout={self.timeout}s reached")
        return None

    def _count_failure(self, trial: Trial, failures_in_row: int) -> int:
        if trial.state is not TrialState.FAILED:
            return 0
        if trial.attrs.get("rerun"):
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
        attrs = {**suggestion.attrs, "worker": {"host": _HOST, "pid": os.getpid()}}
        trial = self.storage.create_trial(
            self._study_id,
            values=suggestion.values,
            budget=suggestion.budget,
            attrs=attrs,
            claim=suggestion.claim,
        )
        return trial

    def _abandon(self, number: int, reason: str) -> None:
        with contextlib.suppress(StorageError):
            self.storage.finish_trial(
                self._study_id,
                number,
                state=TrialState.FAILED,
                error=reason + " Its configuration runs again when the search resumes.",
                attrs={"rerun": True, "abandoned": True},
            )

    def _trial_hp(self, trial: Trial) -> HyperParameters:
        rngs: list[np.random.Generator] = []

        def new_value(param: Parameter, values: Mapping[str, Any]) -> Any:
            if not rngs:  # made on first need: most trials meet no new parameter
                rngs.append(np.random.default_rng([self.seed, trial.number, 1]))
            return self.sampler.sample_new(param, values, rngs[0])

        with self._space_lock:
            return self._space.with_values(trial.values, new_value=new_value)

    def _running_trial(self, trial: Trial) -> RunningTrial:
        watches = type(self.scheduler).on_report is not Scheduler.on_report

        def on_report(step: int, metrics: dict[str, float]) -> bool:
            self.storage.report(self._study_id, trial.number, step, metrics)
            if not watches:
                return False
            current = self.storage.get_trial(self._study_id, trial.number)
            return self.scheduler.on_report(current, self._history()) is Decision.STOP

        previous = None
        parent = trial.attrs.get("promoted_from")
        if parent is not None:
            with contextlib.suppress(StorageError):
                previous = (int(parent), self.storage.get_trial(self._study_id, int(parent)).budget)
        return RunningTrial(
            trial.number,
            trial.budget,
            attrs=trial.attrs,
            on_report=on_report,
            checkpoint_root=self.checkpoint_root,
            previous=previous,
        )

    def _run_trial(self, trial: Trial, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Trial:
        """Run the objective for one trial and record the outcome. Runs inside the executor."""
        hp = self._trial_hp(trial)
        handle = self._running_trial(trial)
        try:
            runs = []
            for execution in range(self.executions_per_trial):
                runs.append(self._execute(hp, handle, args, kwargs, execution))
            metrics = _average(runs)
            state = TrialState.PRUNED if handle.should_stop() else TrialState.COMPLETE
            attrs = {"model": self._adapter.name} if self._adapter is not None else None
            return self._finish(trial.number, hp, state, metrics=metrics, attrs=attrs)
        except TrialPruned:
            last = handle.reports[max(handle.reports)] if handle.reports else {}
            return self._finish(trial.number, hp, TrialState.PRUNED, metrics=dict(last))
        except KeyboardInterrupt:
            self._merge_space(hp)
            self._abandon(trial.number, "The search was interrupted (Ctrl-C) during this trial.")
            raise
        except _BadResultError as exc:
            return self._finish(trial.number, hp, TrialState.FAILED, error=str(exc))
        except Exception as exc:
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            reason = f"The objective raised {type(exc).__name__}: {exc}"
            return self._finish(trial.number, hp, TrialState.FAILED, error=f"{reason}\n\n{text}")

    def _execute(
        self,
        hp: HyperParameters,
        handle: RunningTrial,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        execution: int,
    ) -> dict[str, Any]:
        """One run of the hypermodel: the objective's metrics, or those of the model it built."""
        hypermodel = self.hypermodel
        assert hypermodel is not None  # search() checked it
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
                    raise _BadResultError(not_a_model(hypermodel, result, args, kwargs))
                return self._metrics_of(result)
            adapter = load_adapter(name, hypermodel, self.objective)
            if self.executor.n_workers > 1 and not adapter.supports_threads:
                raise InvalidArgumentError(
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

    def _model_seed(self, number: int, execution: int) -> int:
        """The seed of a framework's random state for one execution of a trial."""
        return int(np.random.SeedSequence([self.seed, number, execution]).generate_state(1)[0])

    def _metrics_of(self, result: Any) -> dict[str, Any]:
        """The metrics in what the objective returned, or _BadResultError saying what is wrong."""
        if isinstance(result, Mapping):
            metrics: dict[str, Any] = {}
            for name, value in result.items():
                number = _as_float(value)
                metrics[str(name)] = number
            if self.objective.name not in metrics:
                raise _BadResultError(
                    f"The objective returned the metrics {sorted(metrics)!r} without "
                    f"{self.objective.name!r}, the metric this search optimises. Return it, or "
                    "pass objective= one of those names."
                )
            if metrics[self.objective.name] is None:
                raise _BadResultError(
                    f"The objective returned {self.objective.name}="
                    f"{result[self.objective.name]!r}; expected a finite number."
                )
            return metrics
        if result is None:
            raise _BadResultError(
                "The objective returned None; expected a float or a dict of metrics "
                f"(with {self.objective.name!r})."
            )
        number = _as_float(result)
        if number is None:
            if isinstance(result, (int, float, np.number)) and not isinstance(result, bool):
                raise _BadResultError(
                    f"The objective returned {result!r}; expected a finite number."
                )
            raise _BadResultError(
                f"The objective returned a {type(result).__name__} ({result!r:.80}); expected "
                "a float or a dict of metrics."
            )
        return {self.objective.name: number}

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
        self._merge_space(hp)
        value = None
        if metrics is not None and self.objective.name in metrics:
            value = metrics[self.objective.name]
        attrs = dict(attrs or {})
        if state is TrialState.FAILED:
            attempt = int(self.storage.get_trial(self._study_id, number).attrs.get("attempt", 0))
            if attempt < self.max_retries_per_trial:
                attrs["rerun"] = True
        try:
            return self.storage.finish_trial(
                self._study_id,
                number,
                state=state,
                values=hp.values,
                value=value,
                metrics=metrics,
                error=error,
                attrs=attrs,
            )
        except StorageError:
            # Already finished elsewhere (an interrupted search gave it up): keep that record.
            return self.storage.get_trial(self._study_id, number)

    def enqueue(self, values: Mapping[str, Any]) -> None:
        """Run a known configuration before the strategy proposes its own.

        For the lecture's "what did others do?": start from published or hand-tuned values;
        the sampler learns from them like from any trial. ``values`` may name only some
        parameters; the others are drawn as for a new parameter. A configuration enqueued
        again after a resume, and already started, is not run twice.

        >>> import hyperscout as hs
        >>> tuner = hs.RandomSearch(lambda hp: hp.Float("lr", 1e-4, 1e-1, sampling="log"),
        ...                         max_trials=3, storage="memory", verbose=0, seed=0)
        >>> tuner.enqueue({"lr": 1e-3})
        >>> tuner.search()
        >>> tuner.trials[0].values
        {'lr': 0.001}

        Raises:
            InvalidArgumentError: a value is not one of its (already defined) parameter's values.
        """
        if not isinstance(values, Mapping):
            raise InvalidArgumentError(
                f"enqueue(values=...): expected a dict of parameter values, got {values!r}."
            )
        for name, value in values.items():
            if name in self._space and not self._space.parameter(name).contains(value):
                raise InvalidArgumentError(
                    f"enqueue(): {value!r} is not a value of {name!r} "
                    f"({self._space.parameter(name)!r})."
                )
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
            step = self._next(self._history())
            if isinstance(step, Stop):
                raise SearchFinished(f"Nothing left to ask: {step.reason}.")
            if isinstance(step, Wait):
                raise SearchFinished("Nothing to start now: tell() the running trials first.")
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
        """
        number = trial.number if isinstance(trial, RunningTrial) else int(trial)
        if state not in (None, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED):
            raise InvalidArgumentError(
                f"tell(state=...): expected COMPLETE, PRUNED or FAILED, got {state!r}."
            )
        hp = self._asked.pop(number, None)
        if hp is None:
            raise InvalidArgumentError(
                f"tell(trial={number}): that trial was not started by this tuner's ask(), or "
                "was already told."
            )
        if state is TrialState.FAILED:
            return self._finish(number, hp, state, error=error or "Told as failed.")
        if state is TrialState.PRUNED:
            reports = self.storage.get_trial(self._study_id, number).intermediate
            metrics = dict(reports[max(reports)]) if reports else None
            if result is not None:
                metrics = self._metrics_of(result)
            return self._finish(number, hp, state, metrics=metrics)
        try:
            metrics = self._metrics_of(result)
        except _BadResultError as exc:
            return self._finish(number, hp, TrialState.FAILED, error=str(exc))
        return self._finish(number, hp, TrialState.COMPLETE, metrics=metrics)

    def close(self) -> None:
        """Release the storage's connections (and a temporary checkpoint folder).

        The tuner is a context manager that does this.
        """
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


def _average(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The mean of each metric over executions (a metric missing in a run is left out)."""
    if len(runs) == 1:
        return runs[0]
    merged: dict[str, Any] = {}
    for name in runs[0]:
        values = [run.get(name) for run in runs]
        numbers = [v for v in values if isinstance(v, float) and math.isfinite(v)]
        merged[name] = sum(numbers) / len(numbers) if numbers else None
    return merged
