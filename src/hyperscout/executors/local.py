"""Executors on this machine."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from hyperscout.executors.base import Executor

__all__ = ["InlineExecutor"]

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
