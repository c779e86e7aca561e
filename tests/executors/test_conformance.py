"""Every built-in executor through the executor conformance suite (hyperscout.testing)."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from hyperscout.executors import Executor, InlineExecutor, ProcessExecutor, ThreadExecutor
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


@pytest.mark.slow  # each test starts its worker processes
class TestProcessExecutor(ExecutorConformance):
    in_process = False  # the calls count themselves through files

    def make_executor(self) -> Executor:
        return ProcessExecutor(2)


@pytest.mark.slow
@pytest.mark.skipif(
    "forkserver" not in multiprocessing.get_all_start_methods(), reason="no forkserver here"
)
class TestProcessExecutorForkserver(ExecutorConformance):
    in_process = False

    def make_executor(self) -> Executor:
        return ProcessExecutor(2, start_method="forkserver")


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


class _Impatient(ThreadExecutor):
    """close() returns at once, while its calls still run."""

    def __init__(self) -> None:
        super().__init__(2)
        self._all: list[ThreadPoolExecutor] = []

    def close(self) -> None:
        if self._pool is not None:
            self._all.append(self._pool)
            self._pool.shutdown(wait=False)
            self._pool = None

    def wait(self) -> None:
        for pool in self._all:
            pool.shutdown(wait=True)


class _Serial(InlineExecutor):
    """Says two workers, runs one call at a time."""

    n_workers = 2


def suite_for(executor: type[Executor], *, in_process: bool = True) -> ExecutorConformance:
    class Suite(ExecutorConformance):
        meeting_time = 0.2

        def make_executor(self) -> Executor:
            return executor()

    Suite.in_process = in_process  # False: the calls are counted through files
    return Suite()


def test_the_suite_fails_an_executor_whose_submit_raises() -> None:
    with pytest.raises(Exception, match="the objective broke"):
        suite_for(_Raises).test_an_exception_reaches_the_future(_Raises())


@pytest.mark.parametrize("in_process", [True, False], ids=["in-memory", "through-files"])
def test_the_suite_fails_an_executor_that_runs_more_than_n_workers(in_process: bool) -> None:
    executor = _Overbooked()
    try:
        with pytest.raises(AssertionError, match="calls ran at once"):
            suite = suite_for(_Overbooked, in_process=in_process)
            suite.test_no_more_than_n_workers_calls_run_at_once(executor)
    finally:
        executor.close()


@pytest.mark.parametrize("in_process", [True, False], ids=["in-memory", "through-files"])
def test_the_suite_fails_an_executor_that_runs_fewer_than_n_workers(in_process: bool) -> None:
    with pytest.raises(threading.BrokenBarrierError):
        suite_for(_Serial, in_process=in_process).test_n_workers_calls_run_at_once(_Serial())


def test_the_suite_fails_an_executor_whose_close_does_not_wait() -> None:
    """Counted through files too: a close() that leaves calls running is caught."""
    for in_process in (True, False):
        executor = _Impatient()
        try:
            with pytest.raises(AssertionError, match=r"close\(\) returned"):
                suite = suite_for(_Impatient, in_process=in_process)
                suite.test_close_waits_for_the_running_calls_and_may_be_repeated(executor)
        finally:
            executor.wait()
