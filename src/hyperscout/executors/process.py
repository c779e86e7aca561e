"""Worker processes on this machine: N trials at once, each in a process of its own."""

from __future__ import annotations

import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import pickle
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from hyperscout._validation import check_choice, check_int
from hyperscout.executors.base import Executor, WorkerLostError

__all__ = ["ProcessExecutor", "SharedBytes", "resolve_n_jobs"]

T = TypeVar("T")


def resolve_n_jobs(owner: str, n_jobs: int) -> int:
    """The number of worker processes ``n_jobs`` asks for: -1 is every core of the machine.

    >>> resolve_n_jobs("search", 3)
    3
    >>> resolve_n_jobs("search", -1) == (os.cpu_count() or 1)
    True
    """
    check_int(owner, "n_jobs", n_jobs, minimum=-1)
    if n_jobs == 0:
        check_int(owner, "n_jobs", n_jobs, minimum=1)  # the template's sentence for 0
    return (os.cpu_count() or 1) if n_jobs == -1 else n_jobs


class ProcessExecutor(Executor):
    """Runs up to ``n_workers`` trials at once, each in a worker process (spawn start method).

    For CPU-bound objectives in pure Python, and for frameworks that keep one runtime per
    process (Keras, PyTorch): each worker process imports the objective's module afresh (the
    spawn start method, the same on Linux, macOS and Windows) and is reused for the trials
    that follow. What a call needs is pickled: a tuner's objective must be a function defined
    at module level, and the storage a file or a database that every process opens (SQLite,
    PostgreSQL). What a search shares (:meth:`share`: its objective and arguments) goes to
    each worker process once, when it starts, not with every trial. Ctrl-C stops every
    worker process, and a worker process whose driver dies (killed) ends at once.

    Args:
        n_workers: worker processes, and trials running at once (at least 1).
        start_method: ``"spawn"`` (the default, on every system) starts each worker process
            afresh: it imports hyperscout, its storage's driver and the driver's main module
            (about half a second of CPU each). ``"forkserver"`` (Linux and macOS) imports
            them once, in a server process, and forks each worker process from it, already
            loaded: for many worker processes on few cores. Frameworks (torch, Keras) are
            imported by each worker process either way, after it starts.

    >>> executor = ProcessExecutor(2)
    >>> executor
    ProcessExecutor(n_workers=2)
    """

    runs_elsewhere = True

    def __init__(self, n_workers: int, *, start_method: str = "spawn") -> None:
        check_int("ProcessExecutor", "n_workers", n_workers, minimum=1)
        methods = [
            m for m in ("spawn", "forkserver") if m in multiprocessing.get_all_start_methods()
        ]
        check_choice("ProcessExecutor", "start_method", start_method, methods)
        self.n_workers = n_workers
        self.start_method = start_method
        self._pool: ProcessPoolExecutor | None = None
        self._shared: dict[str, bytes] = {}

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        try:
            # A call that cannot be pickled fails in the pool's feeder thread, where it can
            # leave close() waiting forever (CPython 3.11): refuse it here, in its future.
            pickle.dumps((fn, args))
        except Exception as exc:
            future: Future[T] = Future()
            future.set_exception(exc)
            return future
        try:
            inner = self._live_pool().submit(fn, *args)
        except BrokenProcessPool:
            # A worker process died (killed, out of memory) and took the pool with it; the
            # trials it ran were recorded by the tuner. The next calls go to a fresh pool.
            self._retire(kill=True)
            inner = self._live_pool().submit(fn, *args)
        return _lost_as_worker_lost(inner)

    def share(self, data: bytes) -> SharedBytes:
        """Send ``data`` to each worker process once, as it starts; calls receive a reference.

        Worker processes already running end first (after their calls): they started without
        ``data``. What is shared is dropped at :meth:`close`.
        """
        if self._pool is not None:
            self.close()
        key = uuid.uuid4().hex
        self._shared[key] = data
        return SharedBytes(key)

    def _live_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context(self.start_method)
            if self.start_method == "forkserver":
                # Read when this process's server starts (its first forkserver pool): what
                # every worker process needs, and the main module, imported once there.
                context.set_forkserver_preload(list(FORKSERVER_PRELOAD))
            # The initializer's arguments go to each process once, when it starts (the
            # process is pickled to it): the shared data crosses the pipe once per process.
            self._pool = ProcessPoolExecutor(
                self.n_workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(dict(self._shared),),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._shared.clear()

    def give_up(self, future: Future[Any]) -> None:
        """Stop the late call of ``future``: the pool is stopped, its processes ended.

        A process cannot be told apart from its pool's others, so every call still running
        in the pool ends too; the tuner has already recorded the late trial, and the trials
        of the others are recorded as their futures fail.
        """
        if not future.done():
            self._retire(kill=True)

    def cancel(self) -> None:
        self._retire(kill=True)

    def _retire(self, *, kill: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # Taken before shutdown, which forgets them: the processes to end. (The pool has no
        # public way to end its processes before Python 3.14's terminate_workers.)
        processes = list(dict(getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        if kill:
            for process in processes:
                if process.is_alive():
                    process.terminate()

    def __repr__(self) -> str:
        if self.start_method != "spawn":
            return (
                f"ProcessExecutor(n_workers={self.n_workers}, start_method={self.start_method!r})"
            )
        return f"ProcessExecutor(n_workers={self.n_workers})"


#: What the forkserver imports once, before it forks worker processes.
FORKSERVER_PRELOAD = ("__main__", "hyperscout.tuner._processes", "hyperscout.storage.sql")


#: In a worker process: the data shared with it when it started, by key.
_SHARED: dict[str, bytes] = {}


@dataclasses.dataclass(frozen=True)
class SharedBytes:
    """Stands, in a call, for data :meth:`ProcessExecutor.share` sent to the worker processes."""

    key: str

    def load(self) -> bytes:
        """In a worker process: the data."""
        try:
            return _SHARED[self.key]
        except KeyError:
            raise RuntimeError(
                f"No data {self.key} was shared with this worker process (pid {os.getpid()}): "
                "ProcessExecutor.share() was called after the process started, or the "
                "executor was closed since."
            ) from None

    def release(self) -> None:
        """In a worker process: forget the data (the process keeps what it made of it)."""
        _SHARED.pop(self.key, None)


def _start_worker(shared: dict[str, bytes]) -> None:
    """A worker process's initializer: keep the shared data; end when the driver dies."""
    _SHARED.update(shared)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(
            target=_end_with, args=(parent.sentinel,), name="hyperscout-driver", daemon=True
        ).start()


def _end_with(sentinel: int) -> None:
    """End this worker process when its driver ends (killed: the pool cannot tell it).

    Without this, a worker process whose driver was killed would finish its trial for
    nothing and then wait for calls forever.
    """
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def _lost_as_worker_lost(inner: Future[T]) -> Future[T]:
    """``inner``'s outcome, with a broken pool (a dead worker process) as WorkerLostError."""
    outer: Future[T] = Future()

    def done(future: Future[T]) -> None:
        if future.cancelled():
            outer.cancel()
            outer.set_running_or_notify_cancel()
            return
        exc = future.exception()
        if isinstance(exc, BrokenProcessPool):
            lost = WorkerLostError(f"The worker process running this call ended: {exc}")
            outer.set_exception(lost)
        elif exc is not None:
            outer.set_exception(exc)
        else:
            outer.set_result(future.result())

    inner.add_done_callback(done)
    return outer
