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
  :meth:`~hyperscout.executors.base.Executor.cancel`;
- what :meth:`~hyperscout.executors.base.Executor.share` is given reaches every call that
  follows, as the bytes themselves or as an object whose ``load()`` gives them.

The rules count the calls running at once. Calls that run in this process (threads) share
counters in memory. An executor whose calls run in other processes sets
:attr:`~ExecutorConformance.in_process` to False: its calls (module-level functions, so
that they pickle) then count themselves through files in a temporary folder, which works
wherever the calls see this machine's files. Only an executor whose calls run on other
machines also sets :attr:`~ExecutorConformance.same_machine` to False, and the rules that
count are skipped for it. A process pool passes as it is::

    class TestProcesses(ExecutorConformance):
        in_process = False

        def make_executor(self):
            return ProcessExecutor(2)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol

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


def _shared_bytes(shared: Any) -> bytes:
    """In a call: the data that an ``Executor.share()`` answer stands for."""
    return bytes(shared) if isinstance(shared, (bytes, bytearray)) else bytes(shared.load())


class _Counter(Protocol):
    """Counts the calls running at once (:class:`_Gauge`, :class:`_FileGauge`)."""

    @property
    def now(self) -> int: ...

    @property
    def peak(self) -> int: ...

    @property
    def done(self) -> int: ...

    def call(
        self, seconds: float, meet: int = 0, patience: float = PATIENCE
    ) -> tuple[Callable[..., int], tuple[Any, ...]]:
        """A call to submit: it runs ``seconds``, after meeting ``meet`` calls (0: none).

        Waiting longer than ``patience`` for the others raises
        :class:`threading.BrokenBarrierError` in the call.
        """
        ...


class _Gauge:
    """Counts the calls running at once, and their peak, in this process's memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.done = 0
        self._barrier: threading.Barrier | None = None

    def call(
        self, seconds: float, meet: int = 0, patience: float = PATIENCE
    ) -> tuple[Callable[..., int], tuple[Any, ...]]:
        if meet and self._barrier is None:
            self._barrier = threading.Barrier(meet, timeout=patience)
        return self.run, (seconds, self._barrier if meet else None)

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


class _FileGauge:
    """Counts the calls running at once through files, for calls in other processes.

    A call holds a file in ``running/`` while it runs and, as it enters, notes in ``peak/``
    how many files it sees there, itself included. The most calls ever running at once is
    reached as one of them enters, so the largest note is the peak.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        for name in ("running", "peak", "done", "arrived"):
            (folder / name).mkdir()

    def call(
        self, seconds: float, meet: int = 0, patience: float = PATIENCE
    ) -> tuple[Callable[..., int], tuple[Any, ...]]:
        return _counted_call, (str(self.folder), seconds, meet, patience)

    @property
    def now(self) -> int:
        return len(os.listdir(self.folder / "running"))

    @property
    def peak(self) -> int:
        return max((int(name) for name in os.listdir(self.folder / "peak")), default=0)

    @property
    def done(self) -> int:
        return len(os.listdir(self.folder / "done"))


def _counted_call(folder: str, seconds: float, meet: int, patience: float) -> int:
    """A call :class:`_FileGauge` counts (module level, so that it pickles); the calls it saw.

    With ``meet``, it waits until ``meet`` calls have arrived, so that they meet only if they
    all run at once, and raises :class:`threading.BrokenBarrierError` after ``patience``
    seconds, as a barrier does.
    """
    token = uuid.uuid4().hex
    root = Path(folder)
    (root / "running" / token).touch()
    try:
        seen = len(os.listdir(root / "running"))
        (root / "peak" / str(seen)).touch()
        if meet:
            (root / "arrived" / token).touch()
            deadline = time.monotonic() + patience
            while len(os.listdir(root / "arrived")) < meet:
                if time.monotonic() > deadline:
                    raise threading.BrokenBarrierError
                time.sleep(0.002)
        time.sleep(seconds)
    finally:
        (root / "running" / token).unlink()
        (root / "done" / token).touch()
    return seen


class ExecutorConformance:
    """The behaviour every :class:`Executor` must show; subclass it with ``Test`` in the name.

    Attributes:
        in_process: the calls run in this process (threads): they are counted in memory.
            False: they are counted through files (see the module's text).
        same_machine: the calls see this machine's files. False (calls on other machines,
            and ``in_process`` False): the rules that count the calls running at once are
            skipped.
        meeting_time: how long calls that must run at once wait for one another (seconds).
    """

    in_process: bool = True
    same_machine: bool = True
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

    @contextlib.contextmanager
    def _counter(self) -> Iterator[_Counter]:
        """What counts the calls running at once, for where this executor runs them."""
        if self.in_process:
            yield _Gauge()
            return
        if not self.same_machine:
            pytest.skip(f"{type(self).__name__}: calls run on other machines")
        # A faulty executor's calls may still write into the folder while it is removed (a
        # close() that does not wait): that must not hide the failure the suite reports.
        with tempfile.TemporaryDirectory(
            prefix="hyperscout-conformance-", ignore_cleanup_errors=True
        ) as folder:
            yield _FileGauge(Path(folder))

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
        with self._counter() as gauge:
            fn, args = gauge.call(0.05)
            futures = [executor.submit(fn, *args) for _ in range(3 * executor.n_workers)]
            for future in futures:
                future.result(timeout=PATIENCE)
            assert gauge.peak <= executor.n_workers, (
                f"{gauge.peak} calls ran at once, n_workers={executor.n_workers}"
            )
            assert gauge.done == len(futures)

    def test_n_workers_calls_run_at_once(self, executor: Executor) -> None:
        if executor.n_workers < 2:
            pytest.skip("one worker")
        with self._counter() as gauge:
            # Each call waits for all the others: they meet only if they all run at once.
            fn, args = gauge.call(0.0, meet=executor.n_workers, patience=self.meeting_time)
            futures = [executor.submit(fn, *args) for _ in range(executor.n_workers)]
            for future in futures:
                future.result(timeout=self.meeting_time + PATIENCE)
            assert gauge.peak == executor.n_workers

    def test_close_waits_for_the_running_calls_and_may_be_repeated(
        self, executor: Executor
    ) -> None:
        with self._counter() as gauge:
            # Long enough that a close() that does not wait returns while calls still run,
            # even on a machine so busy that this thread waits its turn for a while.
            fn, args = gauge.call(0.3)
            futures = [executor.submit(fn, *args) for _ in range(executor.n_workers + 1)]
            deadline = time.monotonic() + PATIENCE
            while gauge.now == 0 and not futures[0].done() and time.monotonic() < deadline:
                time.sleep(0.001)  # until a call runs: close() must wait for it
            executor.close()
            assert all(f.done() for f in futures), "close() returned before every call ended"
            finished = [f for f in futures if not f.cancelled()]
            assert finished, "close() cancelled calls that were running"
            assert all(f.exception() is None for f in finished)
            assert gauge.now == 0, "close() returned while calls still ran"
            assert gauge.done == len(finished)
            executor.close()

    def test_shared_data_reaches_every_call(self, executor: Executor) -> None:
        data = bytes(range(256)) * 64
        shared = executor.share(data)  # the bytes, or what a call loads them from
        futures = [executor.submit(_shared_bytes, shared) for _ in range(2 * executor.n_workers)]
        assert all(f.result(timeout=PATIENCE) == data for f in futures)

    def test_the_executor_runs_again_after_close_and_cancel(self, executor: Executor) -> None:
        assert executor.submit(_add, 1, 1).result(timeout=PATIENCE) == 2
        executor.close()
        assert executor.submit(_add, 2, 2).result(timeout=PATIENCE) == 4
        executor.cancel()
        assert executor.submit(_add, 3, 3).result(timeout=PATIENCE) == 6
