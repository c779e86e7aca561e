"""The executor interface: where objectives run."""

from __future__ import annotations

import abc
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["Executor"]

T = TypeVar("T")


class Executor(abc.ABC):
    """Runs the tuner's trial function somewhere and hands back a future.

    The function does all of a trial's work, storage writes included, so an executor only
    needs to call it. ``n_workers`` is how many trials the tuner keeps running at once.
    """

    n_workers: int = 1

    @abc.abstractmethod
    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Start ``fn(*args)``; the future holds its result or exception."""

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
