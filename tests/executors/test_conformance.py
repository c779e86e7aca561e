"""Every built-in executor through the executor conformance suite (hyperscout.testing)."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from hyperscout.executors import Executor, InlineExecutor, ThreadExecutor
from hyperscout.testing.executors import ExecutorConformance


class TestInlineExecutor(ExecutorConformance):
    def make_executor(self) -> Executor:
        return InlineExecutor()


class TestThreadExecutor(ExecutorConformance):
    def make_executor(self) -> Executor:
        return ThreadExecutor(3)


class TestThreadExecutorOfOne(ExecutorConformance):
    def make_executor(self) -> Executor:
        return ThreadExecutor(1)


# -- the suite itself: it fails executors that break a rule --------------------------------
class _Raises(InlineExecutor):
    """Lets the call's exception out of submit instead of into the future."""

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args))
        return future


class _Overbooked(ThreadExecutor):
    """Says one worker, runs three."""

    def __init__(self) -> None:
        super().__init__(1)
        self._pool = ThreadPoolExecutor(3)


class _Serial(InlineExecutor):
    """Says two workers, runs one call at a time."""

    n_workers = 2


def suite_for(executor: type[Executor]) -> ExecutorConformance:
    class Suite(ExecutorConformance):
        meeting_time = 0.2

        def make_executor(self) -> Executor:
            return executor()

    return Suite()


def test_the_suite_fails_an_executor_whose_submit_raises() -> None:
    with pytest.raises(Exception, match="the objective broke"):
        suite_for(_Raises).test_an_exception_reaches_the_future(_Raises())


def test_the_suite_fails_an_executor_that_runs_more_than_n_workers() -> None:
    executor = _Overbooked()
    try:
        with pytest.raises(AssertionError, match="peak"):
            suite_for(_Overbooked).test_no_more_than_n_workers_calls_run_at_once(executor)
    finally:
        executor.close()


def test_the_suite_fails_an_executor_that_runs_fewer_than_n_workers() -> None:
    with pytest.raises(threading.BrokenBarrierError):
        suite_for(_Serial).test_n_workers_calls_run_at_once(_Serial())
