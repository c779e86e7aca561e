"""Executors on this machine."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from hyperscout._validation import check_int
from hyperscout.executors.base import Executor

__all__ = ["InlineExecutor", "ThreadExecutor"]

T = TypeVar("T")


class InlineExecutor(Executor):
    """Runs each trial in the calling process, one at a time (the default).

    KeyboardInterrupt and SystemExit are not caught: Ctrl-C reaches the tuner at once.

    >>> InlineExecutor().submit(pow, 2, 10).result()
    1024
    """

    n_workers = 1

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            result = fn(*args)
        except Exception as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future


class ThreadExecutor(Executor):
    """Runs up to ``n_workers`` trials at once in threads of this process.

    Right for objectives that release the GIL while they work (NumPy, scikit-learn, PyTorch,
    Keras training, subprocesses, remote calls) and for schedulers such as ASHA that promote
    trials as soon as workers free up. Ctrl-C stops the search; running trials are recorded
    as interrupted and run again on resume.

    Args:
        n_workers: trials running at once (at least 1).

    >>> executor = ThreadExecutor(2)
    >>> sorted(f.result() for f in [executor.submit(pow, 2, k) for k in range(3)])
    [1, 2, 4]
    >>> executor.close()
    """

    def __init__(self, n_workers: int) -> None:
        check_int("ThreadExecutor", "n_workers", n_workers, minimum=1)
        self.n_workers = n_workers
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.n_workers, thread_name_prefix="hyperscout")
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def give_up(self, future: Future[Any]) -> None:
        """Leave the thread of ``future`` to end on its own; later calls go to fresh threads.

        Python cannot stop a thread, so the pool it belongs to is retired (its other calls
        run to their end) and a new pool takes the next calls; :meth:`close` does not wait
        for the retired one. (The interpreter still waits for it when the program exits.)
        """
        if self._pool is not None and not future.done():
            self._pool.shutdown(wait=False)
            self._pool = None

    def cancel(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __repr__(self) -> str:
        return f"ThreadExecutor(n_workers={self.n_workers})"
