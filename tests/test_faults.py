"""Fault injection with real processes: kill, stop (SIGSTOP) and resume workers of one study.

Whatever happens to a worker, on SQLite and on PostgreSQL: nothing that finished is lost (every
trial COMPLETE when a fault struck is still COMPLETE with the same values and result at the
end), nothing runs twice (no configuration completes twice at one budget), and the study ends
with exactly ``max_trials`` counted trials. Faults strike at seeded random moments.
"""

from __future__ import annotations

import collections
import functools
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from hyperscout.trial import Trial, TrialState
from test_workers import (  # the real-process helpers of the multi-worker tests
    assert_no_repeat,
    finish,
    in_one_process,
    start_worker,
    stop,
    study_trials,
    url_for,
    wait_until,
)

pytestmark = pytest.mark.slow

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def finished_snapshot(url: str, project: str) -> dict[int, tuple[str, float | None]]:
    """The finished trials now: number -> (state and values, result)."""
    try:
        trials = study_trials(url, project)
    except Exception:  # the study does not exist yet
        return {}
    return {t.number: (f"{t.state.name} {t.key}", t.value) for t in trials if t.is_finished}


def assert_nothing_lost(before: dict[int, tuple[str, float | None]], trials: list[Trial]) -> None:
    now = {t.number: (f"{t.state.name} {t.key}", t.value) for t in trials}
    lost = {n: old for n, old in before.items() if now.get(n) != old}
    assert not lost, f"finished trials changed or vanished: {lost}"


def running_or_done(url: str, project: str, workers: list[subprocess.Popen[str]]) -> bool:
    """True once one of ``workers`` runs a trial, or all of them have exited."""
    if all(w.poll() is not None for w in workers):
        return True
    try:
        trials = study_trials(url, project)
    except Exception:  # the study does not exist yet
        return False
    pids = {w.pid for w in workers}
    return any(t.state is TrialState.RUNNING and t.attrs["worker"]["pid"] in pids for t in trials)


def counted(trials: list[Trial]) -> int:
    """Finished trials that count toward max_trials (given-up attempts run again, uncounted)."""
    return sum(1 for t in trials if t.is_finished and not t.attrs.get("rerun"))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("strategy", ["random", "grid", "gp", "hyperband"])
def test_killing_workers_at_random_moments_loses_nothing(
    backend: str, strategy: str, tmp_path: Path, project: str
) -> None:
    url = url_for(backend, tmp_path)
    max_trials = None if strategy in ("grid", "hyperband") else 30
    rng = random.Random(f"{strategy}-{backend}")
    seen: dict[int, tuple[str, float | None]] = {}
    kills = 0
    for _round in range(3):
        workers = [
            start_worker(strategy, url, project, max_trials=max_trials, sleep=0.3) for _ in range(2)
        ]
        try:
            # Once a worker of this round runs a trial: SIGKILL both, at random moments.
            wait_until(functools.partial(running_or_done, url, project, workers), timeout=120)
            for worker in rng.sample(workers, 2):
                time.sleep(rng.uniform(0.0, 0.8))
                if worker.poll() is None:
                    worker.send_signal(signal.SIGKILL)
                    kills += 1
            seen.update(finished_snapshot(url, project))
        finally:
            stop(workers)
    assert kills >= 2
    # A last worker finishes the study (and reclaims what the killed ones left RUNNING).
    finish(start_worker(strategy, url, project, max_trials=max_trials, sleep=0.0))
    trials = study_trials(url, project)
    assert_nothing_lost(seen, trials)
    assert not [t for t in trials if t.state is TrialState.RUNNING]
    assert_no_repeat(trials)
    if strategy == "grid":
        complete = {t.key for t in trials if t.state is TrialState.COMPLETE}
        assert len(complete) == 40
    elif strategy == "hyperband":
        # The brackets of one uninterrupted process, each slot filled once (reruns aside).
        budgets = collections.Counter(t.budget for t in trials if not t.attrs.get("rerun"))
        assert budgets == collections.Counter(t.budget for t in in_one_process(strategy, None))
    else:
        assert counted(trials) == max_trials
    given_up = [t for t in trials if t.state is TrialState.FAILED]
    assert given_up, "no kill struck during a trial: the test tested nothing"
    for failed in given_up:
        assert failed.attrs.get("rerun"), failed.error
        assert any(t.attrs.get("retry_of") == failed.number for t in trials)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_stopped_worker_is_taken_for_dead_and_its_late_result_dropped(
    backend: str, tmp_path: Path, project: str
) -> None:
    """SIGSTOP past the lease (6 s in tests/worker_process.py), then SIGCONT."""
    url = url_for(backend, tmp_path)
    frozen, other = (
        start_worker("random", url, project, max_trials=16, sleep=0.5) for _ in range(2)
    )
    try:

        def frozen_runs_a_trial() -> bool:
            try:
                trials = study_trials(url, project)
            except Exception:
                return False
            return any(
                t.state is TrialState.RUNNING and t.attrs["worker"]["pid"] == frozen.pid
                for t in trials
            ) and any(t.state is TrialState.COMPLETE for t in trials)

        wait_until(frozen_runs_a_trial, timeout=120)
        time.sleep(0.1)  # inside the objective's sleep, not inside a storage write
        frozen.send_signal(signal.SIGSTOP)
        before = finished_snapshot(url, project)
        stopped_at = time.monotonic()

        def taken_for_dead() -> bool:
            return any(
                t.state is TrialState.FAILED and t.attrs["worker"]["pid"] == frozen.pid
                for t in study_trials(url, project)
            )

        wait_until(taken_for_dead, timeout=60)
        assert time.monotonic() - stopped_at >= 5.0  # not before its lease (6 s) ran out
        frozen.send_signal(signal.SIGCONT)
        reports = [finish(other), finish(frozen)]
    finally:
        for w in (frozen, other):
            if w.poll() is None:
                os.kill(w.pid, signal.SIGCONT)
        stop([frozen, other])
    trials = study_trials(url, project)
    assert_nothing_lost(before, trials)
    assert counted(trials) == 16
    assert_no_repeat(trials)
    dead = [t for t in trials if t.state is TrialState.FAILED]
    assert len(dead) == 1 and "stopped sending heartbeats" in (dead[0].error or "")
    rerun = [t for t in trials if t.attrs.get("retry_of") == dead[0].number]
    assert len(rerun) == 1 and rerun[0].state is TrialState.COMPLETE
    assert sum(r["finished"] for r in reports) >= 16
