"""Executors on this machine: the inline default and threads."""

from __future__ import annotations

import threading
import time

import pytest

import hyperscout as hs
from hyperscout.executors import ThreadExecutor
from hyperscout.trial import TrialState


def test_thread_executor_runs_trials_at_once_and_keeps_max_trials_exact() -> None:
    lock = threading.Lock()
    running = {"now": 0, "peak": 0}

    def objective(hp: hs.HyperParameters) -> float:
        x = hp.Float("x", 0.0, 1.0)
        with lock:
            running["now"] += 1
            running["peak"] = max(running["peak"], running["now"])
        time.sleep(0.05)
        with lock:
            running["now"] -= 1
        return x

    tuner = hs.RandomSearch(
        objective,
        max_trials=12,
        seed=0,
        storage="memory",
        verbose=0,
        executor=ThreadExecutor(3),
    )
    started = time.monotonic()
    tuner.search()
    elapsed = time.monotonic() - started
    trials = tuner.trials
    assert len(trials) == 12
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert [t.number for t in trials] == list(range(12))
    assert len({t.key for t in trials}) == 12
    assert running["peak"] == 3
    assert elapsed < 12 * 0.05  # faster than one at a time


def test_thread_executor_on_sqlite_loses_nothing(tmp_path: object) -> None:
    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        x = hp.Float("x", 0.0, 1.0)
        for step in range(3):
            trial.report(step, objective=x + step)
        return x

    with hs.RandomSearch(
        objective,
        max_trials=20,
        seed=1,
        directory=tmp_path,  # type: ignore[arg-type]
        project_name="threads",
        verbose=0,
        executor=ThreadExecutor(4),
    ) as tuner:
        tuner.search()
        trials = tuner.trials
    assert len(trials) == 20
    assert all(sorted(t.intermediate) == [0, 1, 2] for t in trials)


def test_thread_executor_checks_its_argument() -> None:
    with pytest.raises(
        hs.InvalidArgumentError, match=r"n_workers=\.\.\.\): expected an int >= 1, got 0"
    ):
        ThreadExecutor(0)
