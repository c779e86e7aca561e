"""Trials in worker processes: what a worker needs to run one trial, and how it runs it.

The driver (the process that calls :meth:`search`) keeps the loop: it asks the strategy,
claims the slot and starts the trial in storage, as with threads. A worker process runs only
one trial's run (:meth:`TrialRunner._run_trial`) against the same storage, opened from its
URL: the objective's reports go to storage from the worker, and the scheduler's
``on_report`` is asked there with the history read from storage, so stopping and promotion
are decided exactly as in one process. Storage stays the one source of truth: the driver
reads the trial's record from it when the worker's call ends.

What a worker needs (the objective, its arguments, the strategy, the tuner's class) is
pickled once per search, checked before any trial starts, shared with the executor's workers
(:meth:`Executor.share`: sent to each worker process once, not with every trial), and
unpickled once per worker process (kept by the search's key).
"""

from __future__ import annotations

import collections
import dataclasses
import pickle
import threading
import time
import uuid
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from hyperscout.exceptions import InvalidArgumentError
from hyperscout.executors import InlineExecutor, WorkerLostError
from hyperscout.hypermodel.caller import ObjectiveCaller
from hyperscout.space import HyperParameters
from hyperscout.storage import Storage, open_storage
from hyperscout.trial import Trial
from hyperscout.tuner._leases import Heartbeat
from hyperscout.tuner._ledger import Ledger
from hyperscout.tuner._limits import HardStop
from hyperscout.tuner._trial_run import TrialRunner

__all__ = ["ProcessPlan", "TrialFuture", "call_of", "plan_processes", "submit_to_process"]


@dataclasses.dataclass(frozen=True)
class ProcessPlan:
    """One search's worker setup: its key and the pickled :class:`_WorkerSpec`, shared.

    ``spec`` is what :meth:`Executor.share` answered for the pickled spec: the bytes
    themselves, or a reference whose ``load()`` gives them in a worker.
    """

    key: str
    spec: Any


@dataclasses.dataclass
class _WorkerSpec:
    """What a worker process needs to run the trials of one search."""

    tuner_class: type[TrialRunner]
    settings: dict[str, Any]  # the tuner's plain attributes, set on the worker's runner
    storage_url: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    heartbeat_interval: float


#: The tuner's attributes a worker's runner copies (all picklable).
_SETTINGS = (
    "hypermodel",
    "objective",
    "sampler",
    "scheduler",
    "seed",
    "max_trials",
    "executions_per_trial",
    "max_retries_per_trial",
    "max_consecutive_failed_trials",
    "timeout",
    "trial_timeout",
    "run_until_stopped",
    "poll_interval",
    "project_name",
    "checkpoint_root",
    "_study_id",
    "_stored_names",
    "_trial_lease",
)


def storage_url(storage: Storage, owner: str, executor: str = "ProcessExecutor(...)") -> str:
    """The URL every worker process opens ``storage`` from.

    Raises:
        InvalidArgumentError: the storage lives in this process only (memory).
    """
    # SQLStorage keeps its URL private (it hides the password when shown); a worker needs
    # it whole to connect.
    # (Imported here: SQLAlchemy is loaded only when a database is opened, and a storage that
    # is an SQLStorage has loaded it already.)
    from hyperscout.storage.sql import SQLStorage

    url = getattr(storage, "_url", None) if isinstance(storage, SQLStorage) else None
    in_memory = url is None or (
        url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    )
    if url is not None and not in_memory:
        return str(url.render_as_string(hide_password=False))
    raise InvalidArgumentError(
        f"{owner}: executor={executor} runs trials in other processes, "
        f"which cannot see {storage!r}: it lives in this process only. Give storage= an "
        "SQLite file or a PostgreSQL URL (or leave storage= out: the project folder's "
        "SQLite file), or use executor=hs.ThreadExecutor(n) to run trials in threads."
    )


def plan_processes(
    tuner: TrialRunner, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> ProcessPlan:
    """Pickle what worker processes need for this search; say what cannot be pickled.

    Raises:
        InvalidArgumentError: the storage is in memory, or a part cannot be pickled.
    """
    owner = f"{type(tuner).__name__}.search()"
    url = storage_url(tuner.storage, owner, repr(tuner.executor))
    settings = {name: getattr(tuner, name) for name in _SETTINGS}
    interval = tuner._heartbeat.interval
    spec = _WorkerSpec(type(tuner), settings, url, tuple(args), dict(kwargs), interval)
    parts: dict[str, Any] = {
        "the objective (hypermodel)": tuner.hypermodel,
        "the sampler": tuner.sampler,
        "the scheduler": tuner.scheduler,
        f"the tuner's class {type(tuner).__qualname__}": type(tuner),
        **{f"search() argument {i + 1}": value for i, value in enumerate(args)},
        **{f"search() argument {name}=": value for name, value in kwargs.items()},
    }
    try:
        data = pickle.dumps(spec)
    except Exception:
        # Name the part that cannot be pickled (each is pickled again only now: a large
        # search() argument is pickled once when all is well).
        for what, value in parts.items():
            _check_pickles(owner, what, value, repr(tuner.executor))
        _check_pickles(owner, "the tuner's settings", settings, repr(tuner.executor))
        raise
    return ProcessPlan(uuid.uuid4().hex, tuner.executor.share(data))


def _check_pickles(owner: str, what: str, value: Any, executor: str) -> None:
    try:
        pickle.dumps(value)
    except Exception as exc:
        raise InvalidArgumentError(
            f"{owner}: {what} cannot be pickled ({type(exc).__name__}: {exc}), and "
            f"executor={executor} sends it to worker processes. "
            "Define it at module level (not a lambda, a nested function or a class inside a "
            "function), in a module the workers can import (not typed into an interactive "
            "session), or run trials in threads with executor=hs.ThreadExecutor(n)."
        ) from None


class TrialFuture(Future[Trial]):
    """The record of a trial run by a worker, when the worker's call ends.

    ``call`` is the executor's own future of that call: the one its
    :meth:`~hyperscout.executors.base.Executor.give_up` is given.
    """

    def __init__(self, call: Future[Any]) -> None:
        super().__init__()
        self.call = call


def call_of(future: Future[Trial]) -> Future[Any]:
    """The executor's future behind the tuner's ``future`` of a trial."""
    return future.call if isinstance(future, TrialFuture) else future


def submit_to_process(tuner: TrialRunner, plan: ProcessPlan, trial: Trial) -> Future[Trial]:
    """Run ``trial`` (started in storage) in a worker process; the future holds its record.

    The driver beats for the trial while the worker runs it (the worker beats too). A worker
    process that dies (killed, out of memory) gives its trial up: it is recorded FAILED and
    runs again, as a trial of a dead worker does.
    """
    with tuner._space_lock:
        space = tuner._space.copy()
    left = None if tuner._search_deadline is None else tuner._search_deadline - time.monotonic()
    inner = tuner.executor.submit(_run_in_worker, plan.key, plan.spec, trial, space, left)
    outer = TrialFuture(inner)

    def done(future: Future[int]) -> None:
        try:
            exc = future.exception()
            if isinstance(exc, WorkerLostError):
                tuner._abandon(trial.number, f"The worker running this trial was lost: {exc}")
            elif exc is not None:
                outer.set_exception(exc)
                return
            outer.set_result(tuner.storage.get_trial(tuner._study_id, trial.number))
        except BaseException as error:  # never leave the loop waiting on outer
            if not outer.done():
                outer.set_exception(error)
        finally:
            tuner._heartbeat.discard(trial.number)

    inner.add_done_callback(done)
    return outer


#: In a worker process: the runner of each search it served lately, by the search's key. A
#: worker of a cluster lives on, search after search: beyond :data:`_KEPT_RUNNERS`, the
#: runners of the oldest searches are closed (with their storage's connections) once no trial
#: of theirs runs.
_RUNNERS: collections.OrderedDict[str, TrialRunner] = collections.OrderedDict()
_ARGUMENTS: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
_IN_FLIGHT: collections.Counter[str] = collections.Counter()
_RUNNERS_LOCK = threading.Lock()
_KEPT_RUNNERS = 2


def _run_in_worker(
    key: str, spec: Any, trial: Trial, space: HyperParameters, left: float | None
) -> int:
    """In a worker process: run ``trial`` as the driver's tuner would; its number.

    ``spec`` is the pickled :class:`_WorkerSpec`, or a reference to it whose ``load()``
    gives it (see :meth:`Executor.share`); it is read on the search's first call only.
    """
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(key)
        if runner is None:
            data = spec if isinstance(spec, (bytes, bytearray)) else spec.load()
            worker_spec: _WorkerSpec = pickle.loads(data)
            runner = _RUNNERS[key] = _worker_runner(worker_spec)
            _ARGUMENTS[key] = (worker_spec.args, worker_spec.kwargs)
            release = getattr(spec, "release", None)
            if release is not None:
                release()  # the runner holds what the bytes made
        _RUNNERS.move_to_end(key)
        _IN_FLIGHT[key] += 1
        args, kwargs = _ARGUMENTS[key]
        retired = _retire_idle_runners()
    for old in retired:
        old._heartbeat.stop()
        old.storage.close()
    try:
        runner._space = space
        runner._search_deadline = None if left is None else time.monotonic() + left
        runner._heartbeat.add(trial.number)  # beats from here too, until the run ends
        runner._run_trial(trial, args, kwargs)
    finally:
        with _RUNNERS_LOCK:
            _IN_FLIGHT[key] -= 1
            if _IN_FLIGHT[key] <= 0:
                del _IN_FLIGHT[key]
    return trial.number


def _retire_idle_runners() -> list[TrialRunner]:
    """Take out the oldest runners beyond :data:`_KEPT_RUNNERS` that run no trial (locked)."""
    retired: list[TrialRunner] = []
    for key in list(_RUNNERS):
        if len(_RUNNERS) <= _KEPT_RUNNERS:
            break
        if not _IN_FLIGHT[key]:
            retired.append(_RUNNERS.pop(key))
            del _ARGUMENTS[key]
    return retired


def _worker_runner(spec: _WorkerSpec) -> TrialRunner:
    """The tuner's trial runner, rebuilt in a worker process without opening the study again.

    Made without the tuner's constructor (which would open, check and maybe clear the
    study): the class's methods (an overridden ``run_trial``) with the driver's settings.
    """
    runner = spec.tuner_class.__new__(spec.tuner_class)
    for name, value in spec.settings.items():
        setattr(runner, name, value)
    runner.checkpoint_root = Path(runner.checkpoint_root)
    runner.executor = InlineExecutor()
    runner.storage = open_storage(spec.storage_url)
    runner.verbose = 0
    runner._space = HyperParameters()
    runner._space_lock = threading.Lock()
    runner._asked = {}
    runner._queue = []
    runner._handles = {}
    runner._search_deadline = None
    runner._hard_stop = HardStop()
    runner._ledger = Ledger(runner.objective)
    runner._ledger_lock = threading.Lock()
    runner._caller = ObjectiveCaller(
        runner.hypermodel,
        runner.objective,
        seed=runner.seed,
        n_workers=1,  # one trial at a time in this process: any framework works
        metric_seen=runner._metric_seen,
    )
    interval = spec.heartbeat_interval
    runner._heartbeat = Heartbeat(runner.storage, runner._study_id, interval=interval)
    return runner
