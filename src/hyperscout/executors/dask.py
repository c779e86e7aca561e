"""Trials on a Dask cluster: one Dask task per trial, on a LocalCluster or on any cluster.

Dask (``dask.distributed``) is an optional dependency, imported when a :class:`DaskExecutor`
is made (``pip install 'hyperscout[dask]'``).

How a trial runs: the tuner sends each trial to a worker with what it needs pickled (see
:attr:`~hyperscout.executors.base.Executor.runs_elsewhere`); the worker opens the search's
storage from its URL and runs the trial against it, so the trial's reports reach the
storage while it runs, and the scheduler (median stopping, ASHA, Hyperband) decides from the
history it reads there. This executor only runs the calls and hands back their futures.

A lost worker: when a worker dies, Dask runs its tasks again on another worker. A trial must
not run twice under one record, so every task marks its start in a Dask
:class:`distributed.Event` named after its key; a task that finds the mark set is that
task's second run, and fails with :class:`~hyperscout.executors.base.WorkerLostError`
without running the call. The tuner records the trial FAILED and runs its configuration
again as a retry.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from hyperscout._validation import check_int, fail
from hyperscout.exceptions import require
from hyperscout.executors.base import Executor, WorkerLostError

__all__ = ["DaskExecutor"]

T = TypeVar("T")

_FEATURE = "hs.executors.DaskExecutor"
#: How long the cluster's thread count is kept before it is read again (seconds).
_THREADS_TTL = 1.0


def _distributed() -> Any:
    return require("distributed", feature=_FEATURE, extra="dask")


class DaskExecutor(Executor):
    """Runs trials on a Dask cluster: one Dask task per trial.

    Args:
        client_or_address: a ``distributed.Client`` (left open by :meth:`close`), a
            scheduler's address such as ``"tcp://10.0.0.5:8786"`` (a client is made, and
            closed by :meth:`close`), or None: a ``distributed.LocalCluster`` of
            ``n_workers`` worker processes of one thread each, made at the first trial and
            closed by :meth:`close`.
        n_workers: trials running at once. By default, for a cluster, its threads (read
            again as workers join or leave, at least 1); for a LocalCluster of its own,
            every core of this machine. Given for a cluster, it caps its threads.
        **cluster_options: other arguments of ``distributed.LocalCluster`` for the cluster
            of its own (``processes=False``, ``memory_limit=...``); only with
            ``client_or_address=None``.

    Each worker process runs a trial as a worker of :class:`~hyperscout.ProcessExecutor`
    does, against the search's storage: so the storage must be one every worker reaches
    (an SQLite file on one machine, PostgreSQL across machines), and the objective must be
    importable on the workers. A worker that dies has its trial recorded FAILED and run
    again as a retry. :meth:`cancel` (Ctrl-C) cancels the tasks; Dask cannot stop a task
    that runs, so on a cluster that is not its own a running trial ends when its objective
    returns or sees ``trial.should_stop()`` (its record is already finished).
    """

    runs_elsewhere = True

    def __init__(
        self, client_or_address: Any = None, *, n_workers: int | None = None, **cluster_options: Any
    ) -> None:
        owner = "DaskExecutor"
        check_int(owner, "n_workers", n_workers, minimum=1, allow_none=True)
        distributed = _distributed()
        expected = (
            "a distributed.Client, a scheduler address such as 'tcp://host:8786', or None "
            "(a LocalCluster of its own)"
        )
        self._address: str | None = None
        self._given: Any = None  # the user's client: never closed here
        if isinstance(client_or_address, str):
            if not client_or_address.strip():
                fail(owner, "client_or_address", client_or_address, expected)
            self._address = client_or_address
        elif isinstance(client_or_address, distributed.Client):
            self._given = client_or_address
        elif client_or_address is not None:
            fail(owner, "client_or_address", client_or_address, expected)
        if cluster_options and client_or_address is not None:
            fail(
                owner,
                next(iter(cluster_options)),
                next(iter(cluster_options.values())),
                "no LocalCluster option with a client or an address (the cluster is made "
                "elsewhere); give them with client_or_address=None",
            )
        self._cap = n_workers
        self._cluster_options = cluster_options
        self._cluster: Any = None  # the LocalCluster of its own, while it runs
        self._client: Any = self._given
        self._lock = threading.Lock()
        self._calls: dict[str, tuple[Any, Future[Any]]] = {}  # key -> (Dask future, ours)
        self._cancelled: set[str] = set()  # keys whose tasks we cancelled
        self._threads: tuple[float, int] | None = None  # (when read, the cluster's threads)
        if self._address is not None:
            self._client = self._connect()  # refused here, before any trial, if unreachable

    # -- where the calls run ---------------------------------------------------------------
    @property
    def n_workers(self) -> int:  # type: ignore[override]  # read from the cluster
        """Trials running at once: the cluster's threads (at most ``n_workers=``), at least 1."""
        if self._given is None and self._address is None:
            return self._cap or os.cpu_count() or 1
        now = time.monotonic()
        if self._threads is None or now - self._threads[0] > _THREADS_TTL:
            try:
                threads = sum(self._live_client().nthreads().values())
            except Exception:  # the scheduler is away: keep the last count
                threads = self._threads[1] if self._threads is not None else 0
            self._threads = (now, threads)
        threads = max(1, self._threads[1])
        return threads if self._cap is None else min(threads, self._cap)

    def _connect(self) -> Any:
        distributed = _distributed()
        try:
            return distributed.Client(self._address, set_as_default=False)
        except Exception as exc:
            fail(
                "DaskExecutor",
                "client_or_address",
                self._address,
                f"the address of a running Dask scheduler ({type(exc).__name__}: {exc})",
            )

    def _live_client(self) -> Any:
        with self._lock:
            if self._client is not None:
                return self._client
            if self._address is not None:
                self._client = self._connect()
                return self._client
            distributed = _distributed()
            n = self._cap or os.cpu_count() or 1
            options = {"threads_per_worker": 1, **self._cluster_options}
            self._cluster = distributed.LocalCluster(n_workers=n, **options)
            self._client = distributed.Client(self._cluster, set_as_default=False)
            return self._client

    # -- calls -----------------------------------------------------------------------------
    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()
        key = f"hyperscout-{getattr(fn, '__name__', 'call')}-{uuid.uuid4().hex}"
        try:
            client = self._live_client()
            task = client.submit(_run_once, _mark_of(key), fn, *args, key=key, pure=False)
        except Exception as exc:  # a call that cannot be sent (pickled): in its future
            future.set_exception(exc)
            return future
        with self._lock:
            self._calls[key] = (task, future)
        task.add_done_callback(lambda task: self._settle(client, key, task))
        return future

    def _settle(self, client: Any, key: str, task: Any) -> None:
        """Hand the outcome of Dask's ``task`` to our future (on Dask's callback thread)."""
        with self._lock:
            call = self._calls.pop(key, None)
            cancelled = key in self._cancelled
            self._cancelled.discard(key)
        try:
            if call is not None:
                _hand_over(task, call[1], cancelled)
        finally:
            _forget_mark(client, key)  # after the result came: a lost result is computed again

    def give_up(self, future: Future[Any]) -> None:
        """Cancel the Dask task of ``future`` (Dask cannot stop one that runs: it runs on).

        The tuner has recorded the trial already: its worker finds the record finished, the
        objective sees ``trial.should_stop()``, and what it returns is dropped.
        """
        with self._lock:
            keys = [key for key, (_, ours) in self._calls.items() if ours is future]
        self._cancel_tasks(keys)

    def cancel(self) -> None:
        """Cancel every task (Ctrl-C); the LocalCluster of its own stops with its workers."""
        with self._lock:
            keys = list(self._calls)
        self._cancel_tasks(keys)
        self._release()

    def close(self) -> None:
        """Wait for the running calls, then release the client or cluster made here."""
        with self._lock:
            futures = [future for _, future in self._calls.values()]
        concurrent.futures.wait(futures)
        self._release()

    def _cancel_tasks(self, keys: list[str]) -> None:
        with self._lock:
            calls = [self._calls.pop(key) for key in keys if key in self._calls]
            self._cancelled.update(keys)
            client = self._client
        if not calls:
            return
        if client is not None:
            # A client closed, or a scheduler gone, runs nothing more: nothing to cancel.
            with contextlib.suppress(Exception):
                client.cancel([task for task, _ in calls], force=True)
        for _, future in calls:
            _cancel(future)

    def _release(self) -> None:
        """Close the client and cluster made here (a user's client stays open)."""
        with self._lock:
            client, cluster = self._client, self._cluster
            self._client, self._cluster = self._given, None
            self._threads = None
            self._cancelled.clear()
        if client is not None and client is not self._given:
            client.close()
        if cluster is not None:
            cluster.close()

    def __repr__(self) -> str:
        cap = "" if self._cap is None else f"n_workers={self._cap}"
        if self._address is not None:
            where = repr(self._address)
        elif self._given is not None:
            where = f"Client({self._given.scheduler.address!r})"
        else:
            return f"DaskExecutor(n_workers={self.n_workers})"
        return f"DaskExecutor({', '.join(filter(None, [where, cap]))})"


def _hand_over(task: Any, future: Future[Any], cancelled: bool) -> None:
    """Set ``future`` to the outcome of the finished Dask ``task``; a lost worker as such."""
    try:
        if task.status == "finished":
            outcome = task.result()
            if not future.done():
                future.set_result(outcome)
            return
        if task.status == "cancelled" and cancelled:
            _cancel(future)
            return
        error: BaseException | None
        if task.status == "error":
            error = task.exception()
            if isinstance(error, _distributed().scheduler.KilledWorker):
                error = WorkerLostError(f"Dask gave the call up after losing workers: {error}")
        else:  # cancelled by someone else (a client or scheduler that went away), or lost
            error = WorkerLostError(f"Dask reports the call {task.key} as {task.status}.")
        if not future.done():
            future.set_exception(error)
    except BaseException as exc:  # never leave the tuner waiting on the future
        if not future.done():
            future.set_exception(exc)


def _mark_of(key: str) -> str:
    """The name of the Dask Event that a task of ``key`` sets when it starts."""
    return f"{key}-started"


def _cancel(future: Future[Any]) -> None:
    """Cancel our (never running) future, and run its callbacks."""
    if future.cancel():
        future.set_running_or_notify_cancel()


def _forget_mark(client: Any, key: str) -> None:
    """Drop the start mark of the task ``key`` from the scheduler (without waiting)."""

    async def clear() -> None:
        with contextlib.suppress(Exception):  # a scheduler gone took its events along
            await client.scheduler.event_clear(name=_mark_of(key))

    with contextlib.suppress(Exception):  # a closed client: its scheduler may be gone too
        client.loop.add_callback(clear)


def _run_once(mark: str, fn: Callable[..., T], *args: Any) -> T:
    """In a Dask worker: ``fn(*args)``, unless this task ran before on a worker now lost.

    Dask runs a task again when the worker that ran it died; the mark, an event set on the
    scheduler when the task first started, tells this run apart. (Asked through the
    worker's own connection to the scheduler: a client in every worker would cost a
    connection and its polling.)
    """
    distributed = _distributed()
    worker = distributed.get_worker()

    def ask(handler: str) -> Any:
        return distributed.utils.sync(worker.loop, getattr(worker.scheduler, handler), name=mark)

    if ask("event_is_set"):
        raise WorkerLostError(
            "The Dask worker that started this call was lost (Dask ran the call again on "
            "another worker; it runs only once)."
        )
    ask("event_set")
    return fn(*args)
