"""Which worker runs a trial, its heartbeats, and the trials of workers that died.

Every trial records the host and process id that started it, and the lease of its tuner
(:func:`worker_stamp`). While a tuner runs trials, a :class:`Heartbeat` thread tells the
storage every few seconds that they are alive (:meth:`Storage.heartbeat`), and learns from its
answer which of them are no longer its own (taken for dead while the storage could not be
reached), so that their objectives stop early. A worker that
finds a RUNNING trial of another worker dead marks it FAILED, to run again
(:func:`fail_dead_trials`): at once when its process is gone from this machine, and after the
trial's lease when its heartbeats stopped (a machine that crashed, a process killed elsewhere).
So a strategy never waits forever for a trial that will never report.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import socket
import threading
from collections.abc import Callable, Collection, Iterable

from hyperscout._validation import check_number
from hyperscout.exceptions import InvalidArgumentError, StorageError
from hyperscout.storage import Storage
from hyperscout.trial import Bookkeeping, Trial, TrialState

__all__ = [
    "HOST",
    "Heartbeat",
    "abandon_trial",
    "check_lease",
    "fail_dead_trials",
    "pid_alive",
    "worker_stamp",
]

HOST = socket.gethostname()


def worker_stamp(lease: float | None = None) -> dict[str, object]:
    """The ``worker`` attribute of a trial started by this process.

    ``lease`` is the seconds without a heartbeat after which other workers take the trial
    for dead.

    >>> stamp = worker_stamp(120.0)
    >>> stamp["pid"] == os.getpid(), stamp["lease"]
    (True, 120.0)
    """
    stamp: dict[str, object] = {"host": HOST, "pid": os.getpid()}
    if lease is not None:
        stamp["lease"] = lease
    return stamp


def check_lease(trial_lease: object, heartbeat_interval: object, *, owner: str = "Tuner") -> None:
    """Check ``trial_lease`` (seconds > 0) and, when given, ``heartbeat_interval`` against it.

    >>> check_lease(1.0, 0.6)
    Traceback (most recent call last):
    ...
    hyperscout.exceptions.InvalidArgumentError: trial_lease=1.0 must be at least twice \
heartbeat_interval=0.6 (1.2 s), so that a heartbeat or two late never gets a live trial \
taken for dead. Raise trial_lease or lower heartbeat_interval.
    """
    for name, value in (("trial_lease", trial_lease), ("heartbeat_interval", heartbeat_interval)):
        if value is None and name == "heartbeat_interval":
            continue
        check_number(owner, name, value, minimum=0, above=True)
    if heartbeat_interval is None:
        return
    assert isinstance(trial_lease, (int, float)) and isinstance(heartbeat_interval, (int, float))
    if trial_lease < 2 * heartbeat_interval:
        raise InvalidArgumentError(
            f"trial_lease={trial_lease!r} must be at least twice "
            f"heartbeat_interval={heartbeat_interval!r} ({2 * heartbeat_interval:g} s), so that "
            "a heartbeat or two late never gets a live trial taken for dead. Raise trial_lease "
            "or lower heartbeat_interval."
        )


def pid_alive(pid: int) -> bool:
    """True when a process of this machine has the id ``pid``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_dead_trials(
    storage: Storage,
    study_id: int,
    trials: Iterable[Trial],
    *,
    lease: float,
    own: Collection[int] = (),
) -> list[int]:
    """Mark FAILED, to run again, the RUNNING trials among ``trials`` whose worker is dead.

    A trial is dead when the process that ran it is gone from this machine, or when its
    worker sent no heartbeat (nor started it) for longer than its lease: the lease stamped on
    the trial by its tuner, else ``lease``. Trials in ``own`` (those the calling tuner runs)
    and trials of this very process are never taken for dead by the process check; the
    lease applies to every trial but those in ``own``.

    Returns:
        The numbers of the trials marked FAILED, in order.
    """
    now: float | None = None
    failed: list[int] = []
    for trial in trials:
        if trial.state is not TrialState.RUNNING or trial.number in own:
            continue
        worker = trial.attrs.get(Bookkeeping.WORKER) or {}
        host = worker.get("host")
        pid = int(worker.get("pid", -1))
        if host == HOST and pid != os.getpid() and not pid_alive(pid):
            error = (
                f"The process that ran this trial ({HOST}, pid {pid}) stopped before the "
                "trial finished; its configuration is run again."
            )
            if abandon_trial(storage, study_id, trial.number, error):
                failed.append(trial.number)
            continue
        seen = trial.last_seen_at
        if seen is None:
            continue
        if now is None:
            now = storage.now()  # read once, and only when a trial may need it
        trial_lease = float(worker.get("lease") or lease)
        if now - seen <= trial_lease:
            continue
        since = datetime.datetime.fromtimestamp(seen, tz=datetime.timezone.utc)
        error = (
            f"The worker that ran this trial ({host or 'an unknown host'}, pid {pid}) stopped "
            f"sending heartbeats: none since {since:%Y-%m-%d %H:%M:%S} UTC, "
            f"{now - seen:.1f} s before {HOST} (pid {os.getpid()}) looked, more than the "
            f"trial's lease of {trial_lease:g} s. Its machine or process is taken for dead; "
            "its configuration is run again."
        )
        if abandon_trial(
            storage, study_id, trial.number, error, unless_alive_since=now - trial_lease
        ):
            failed.append(trial.number)
    return failed


def abandon_trial(
    storage: Storage,
    study_id: int,
    number: int,
    error: str,
    *,
    unless_alive_since: float | None = None,
) -> bool:
    """Mark FAILED a trial whose run was given up, so that its configuration runs again.

    Returns:
        False when the trial was kept as it is: finished meanwhile (by its worker, or a
        search that gave it up), or alive since ``unless_alive_since``.
    """
    with contextlib.suppress(StorageError):
        storage.finish_trial(
            study_id,
            number,
            state=TrialState.FAILED,
            error=error,
            attrs={Bookkeeping.RERUN: True, Bookkeeping.ABANDONED: True},
            unless_alive_since=unless_alive_since,
        )
        return True
    return False


class Heartbeat:
    """Beats for the trials a tuner runs, from a daemon thread, while it runs any.

    :meth:`add` a trial when it starts and :meth:`discard` it when it ends; the thread starts
    with the first trial and ends when no trial has run for two intervals (or at
    :meth:`stop`), so that a search of many short trials starts it once, not once a trial.
    Every ``interval`` seconds it calls :meth:`Storage.heartbeat` for all of them at once. A
    storage error is not fatal: the next beat tries again, and the lease leaves room for a
    missed beat or two.

    When the storage answers that a trial no longer runs (another worker took it for dead and
    failed it, or it was finished elsewhere), the callback given to :meth:`watch` for it is
    called, once, from the thread.

    >>> from hyperscout.storage.memory import MemoryStorage
    >>> storage = MemoryStorage()
    >>> study = storage.create_study("beats")
    >>> trial = storage.create_trial(study.id, values={})
    >>> heartbeat = Heartbeat(storage, study.id, interval=0.01)
    >>> heartbeat.add(trial.number)
    >>> import time; time.sleep(0.1)
    >>> heartbeat.discard(trial.number)
    >>> storage.get_trial(study.id, trial.number).heartbeat_at is not None
    True
    >>> lost = threading.Event()
    >>> heartbeat.add(trial.number)
    >>> heartbeat.watch(trial.number, lost.set)
    >>> _ = storage.finish_trial(study.id, trial.number, state=TrialState.FAILED)
    >>> lost.wait(5.0)
    True
    >>> heartbeat.stop()
    """

    def __init__(self, storage: Storage, study_id: int, *, interval: float) -> None:
        self.interval = interval
        self._storage = storage
        self._study_id = study_id
        self._numbers: set[int] = set()
        self._on_lost: dict[int, Callable[[], None]] = {}
        self._lost: set[int] = set()  # beaten for, but no longer running in the storage
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def numbers(self) -> frozenset[int]:
        """The trials beaten for."""
        with self._lock:
            return frozenset(self._numbers)

    def add(self, number: int) -> None:
        """Beat for trial ``number`` from now on."""
        with self._lock:
            self._numbers.add(number)
            if self._thread is None:
                # Each thread has its own stop signal, so that one told to stop never
                # takes the signal of the thread that follows it.
                self._stopping = threading.Event()
                self._thread = threading.Thread(
                    target=self._run,
                    args=(self._stopping,),
                    name=f"hyperscout-heartbeat-{self._study_id}",
                    daemon=True,
                )
                self._thread.start()

    def watch(self, number: int, on_lost: Callable[[], None]) -> None:
        """Call ``on_lost`` once when the storage says trial ``number`` no longer runs.

        It is called at once when a heartbeat already said so.
        """
        with self._lock:
            if number not in self._lost:
                self._on_lost[number] = on_lost
                return
        on_lost()

    def discard(self, number: int) -> None:
        """Stop beating for trial ``number``; the thread idles, then ends, without trials."""
        with self._lock:
            self._numbers.discard(number)
            self._on_lost.pop(number, None)
            self._lost.discard(number)

    def stop(self) -> None:
        """Stop beating for every trial and wait for the thread to end."""
        with self._lock:
            self._numbers.clear()
            self._on_lost.clear()
            self._lost.clear()
            thread, self._thread = self._thread, None
            self._stopping.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self, stopping: threading.Event) -> None:
        idle = 0
        while not stopping.wait(self.interval):
            with self._lock:
                numbers = sorted(self._numbers)
                if not numbers:
                    idle += 1
                    if idle >= 2:  # nothing to beat for two intervals: end; add() restarts
                        if self._thread is threading.current_thread():
                            self._thread = None
                        return
                    continue
                idle = 0
            # A storage that fails now may answer at the next beat: the thread must live on.
            try:
                lost = self._storage.heartbeat(self._study_id, numbers)
            except Exception:
                continue
            self._tell_lost(lost)

    def _tell_lost(self, numbers: Iterable[int]) -> None:
        """Call, once each, the callbacks of the trials the storage says no longer run."""
        callbacks: list[Callable[[], None]] = []
        with self._lock:
            for number in numbers:
                if number in self._numbers and number not in self._lost:
                    self._lost.add(number)
                    callback = self._on_lost.pop(number, None)
                    if callback is not None:
                        callbacks.append(callback)
        for callback in callbacks:
            with contextlib.suppress(Exception):  # the thread must live on
                callback()
