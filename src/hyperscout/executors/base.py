"""The executor interface: where objectives run."""

from __future__ import annotations

import abc
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["Executor", "WorkerLostError"]

T = TypeVar("T")


class WorkerLostError(RuntimeError):
    """The worker running a call ended before the call did (killed, out of memory, lost).

    An executor whose calls run in other processes sets this as the exception of a call's
    future when that call's worker is gone: the tuner records the trial FAILED and runs it
    again as a retry, as it does for a trial of a dead worker.
    """


class Executor(abc.ABC):
    """Runs the tuner's trial function somewhere and hands back a future.

    The function does all of a trial's work, storage writes included, so an executor only
    needs to call it. ``n_workers`` is how many trials the tuner keeps running at once.

    ``runs_elsewhere`` is True for an executor whose calls run in other processes (a
    process pool, a Dask or Ray cluster): the tuner then sends each trial to a worker with
    what it needs pickled, checks before any trial that all of it pickles, and has the worker
    open the search's storage from its URL (a file or a database every worker reaches).
    Such an executor reports a lost worker as :class:`WorkerLostError` in the call's future.
    """

    n_workers: int = 1
    runs_elsewhere: bool = False

    @abc.abstractmethod
    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Start ``fn(*args)``; the future holds its result or exception."""

    def share(self, data: bytes) -> Any:
        """Make ``data`` known to the workers; what to pass to the calls in its place.

        The tuner shares what every trial of a search needs (the pickled objective, its
        ``search()`` arguments, the strategy) once per search, and passes the answer to each
        call, so that a large argument (a data set given to ``search(x, y)``) is not sent with
        every trial. A call receives either the bytes themselves or an object whose
        ``load()`` gives them in the worker. The answer holds until :meth:`close`.

        The default sends ``data`` with every call (it returns ``data``). An executor that can
        do better sends it to each worker once (a process pool's initializer, a cluster's
        broadcast).
        """
        return data

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release workers after the running calls end. The default does nothing."""

    def give_up(self, future: Future[Any]) -> None:  # noqa: B027 - optional hook
        """Stop waiting for ``future``'s call: it ran past its deadline and was recorded.

        An executor that can stop the call does; one that cannot (a thread) frees the worker
        slot for the next call. The default does nothing.
        """

    def cancel(self) -> None:
        """Release workers at once (Ctrl-C): drop calls not started, do not wait for the rest.

        The default is :meth:`close`.
        """
        self.close()
