"""The conformance suite of :class:`~hyperscout.executors.base.Executor` implementations.

Subclass :class:`ExecutorConformance` in a test module (with ``Test`` in its name) and
implement :meth:`~ExecutorConformance.make_executor`::

    from hyperscout.executors import ThreadExecutor
    from hyperscout.testing.executors import ExecutorConformance

    class TestMyExecutor(ExecutorConformance):
        def make_executor(self):
            return ThreadExecutor(2)

The rules, each a test of the suite:

- :meth:`~hyperscout.executors.base.Executor.submit` returns a future that holds the call's
  result; an exception of the call is raised by the future's ``result()``, never by
  ``submit``;
- no more than ``n_workers`` calls run at once, and an executor with several workers runs
  that many at once;
- :meth:`~hyperscout.executors.base.Executor.close` waits for the running calls to end (it
  may cancel those not started: every future is done afterwards); it may be called twice,
  and the executor runs calls again afterwards (a tuner searches again), as it does after
  :meth:`~hyperscout.executors.base.Executor.cancel`.

The concurrency rules share counters between the calls, so they need calls that run in
this process (threads); an executor that runs them elsewhere (other processes, a cluster)
sets :attr:`~ExecutorConformance.in_process` to False: those rules are skipped, and the
others submit only calls that pickle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future

import pytest

from hyperscout.executors import Executor

__all__ = ["ExecutorConformance"]

#: How long the suite waits for a future, and a call for the others (seconds).
PATIENCE = 10.0


class _CallError(RuntimeError):
    """The error a failing call raises."""


def _add(a: int, b: int) -> int:
    return a + b


def _fail(message: str) -> None:
    raise _CallError(message)


def _pause(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


class _Gauge:
    """Counts the calls running at once, and their peak."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.done = 0

    def run(self, seconds: float, barrier: threading.Barrier | None = None) -> int:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            if barrier is not None:
                barrier.wait()
            time.sleep(seconds)
        finally:
            with self._lock:
                self.now -= 1
                self.done += 1
        return self.peak


class ExecutorConformance:
    """The behaviour every :class:`Executor` must show; subclass it with ``Test`` in the name.

    Attributes:
        in_process: the calls run in this process, so the rules that count the calls
            running at once apply.
        meeting_time: how long calls that must run at once wait for one another (seconds).
    """

    in_process: bool = True
    meeting_time: float = PATIENCE

    def make_executor(self) -> Executor:
        """A new executor, as the tuner gets it."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_executor()")

    @pytest.fixture
    def executor(self) -> Iterator[Executor]:
        executor = self.make_executor()
        try:
            yield executor
        finally:
            executor.close()

    def _in_process_only(self) -> None:
        if not self.in_process:
            pytest.skip(f"{type(self).__name__}: calls run outside this process")

    def test_submit_returns_a_future_with_the_result(self, executor: Executor) -> None:
        futures = [executor.submit(_add, k, 10) for k in range(5)]
        assert all(isinstance(f, Future) for f in futures)
        assert [f.result(timeout=PATIENCE) for f in futures] == [10, 11, 12, 13, 14]

    def test_an_exception_reaches_the_future(self, executor: Executor) -> None:
        future = executor.submit(_fail, "the objective broke")  # submit itself does not raise
        with pytest.raises(_CallError, match="the objective broke"):
            future.result(timeout=PATIENCE)
        assert isinstance(future.exception(), _CallError)
        assert executor.submit(_add, 1, 2).result(timeout=PATIENCE) == 3  # still works

    def test_n_workers_is_a_positive_int(self, executor: Executor) -> None:
        assert isinstance(executor.n_workers, int) and executor.n_workers >= 1

    def test_no_more_than_n_workers_calls_run_at_once(self, executor: Executor) -> None:
        self._in_process_only()
        gauge = _Gauge()
        futures = [executor.submit(gauge.run, 0.05) for _ in range(3 * executor.n_workers)]
        for future in futures:
            future.result(timeout=PATIENCE)
        assert gauge.peak <= executor.n_workers, (
            f"{gauge.peak} calls ran at once, n_workers={executor.n_workers}"
        )
        assert gauge.done == len(futures)

    def test_n_workers_calls_run_at_once(self, executor: Executor) -> None:
        self._in_process_only()
        if executor.n_workers < 2:
            pytest.skip("one worker")
        # Each call waits for all the others: they meet only if they all run at once.
        gauge = _Gauge()
        barrier = threading.Barrier(executor.n_workers, timeout=self.meeting_time)
        futures = [executor.submit(gauge.run, 0.0, barrier) for _ in range(executor.n_workers)]
        for future in futures:
            future.result(timeout=self.meeting_time + PATIENCE)
        assert gauge.peak == executor.n_workers

    def test_close_waits_for_the_running_calls_and_may_be_repeated(
        self, executor: Executor
    ) -> None:
        gauge = _Gauge()
        call = gauge.run if self.in_process else _pause  # a gauge does not travel (its lock)
        futures = [executor.submit(call, 0.05) for _ in range(executor.n_workers + 1)]
        deadline = time.monotonic() + PATIENCE
        while not (futures[0].running() or futures[0].done()) and time.monotonic() < deadline:
            time.sleep(0.001)  # until a call runs: close() must wait for it
        executor.close()
        assert all(f.done() for f in futures)
        finished = [f for f in futures if not f.cancelled()]
        assert finished, "close() cancelled calls that were running"
        assert all(f.exception() is None for f in finished)
        if self.in_process:
            assert gauge.now == 0, "close() returned while calls still ran"
            assert gauge.done == len(finished)
        executor.close()

    def test_the_executor_runs_again_after_close_and_cancel(self, executor: Executor) -> None:
        assert executor.submit(_add, 1, 1).result(timeout=PATIENCE) == 2
        executor.close()
        assert executor.submit(_add, 2, 2).result(timeout=PATIENCE) == 4
        executor.cancel()
        assert executor.submit(_add, 3, 3).result(timeout=PATIENCE) == 6
