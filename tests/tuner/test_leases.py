"""Heartbeat leases: a trial whose worker died elsewhere is failed and run again, never waited
for forever; a trial whose worker is alive is never failed."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

import hyperscout as hs
import hyperscout.tuner._trial_run as tuner_module
from hyperscout.exceptions import InvalidArgumentError, SearchFinished
from hyperscout.samplers import History
from hyperscout.storage import Storage
from hyperscout.storage.sql import SQLStorage, sqlite_url
from hyperscout.trial import Trial, TrialState
from hyperscout.tuner._leases import Heartbeat, abandon_trial, fail_dead_trials

LOST = {"host": "lost-machine", "pid": 4242}
#: Trials of Hyperband(max_epochs=9): brackets of 9 + 3 + 1, 5 + 1 and 3 configurations.
PLAN = 22


def space() -> hs.HyperParameters:
    hp = hs.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    return hp


class Objective:
    """Records each configuration and budget it runs; sleeps ``long`` on its first call."""

    def __init__(self, long: float = 0.0) -> None:
        self.calls: list[tuple[float, float]] = []
        self.long = long
        self.busy = threading.Event()
        self.long_ended = 0.0
        self._lock = threading.Lock()

    def __call__(self, hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        x = hp.Float("x", 0.0, 1.0)
        with self._lock:
            first = not self.calls
            self.calls.append((x, float(trial.budget)))
        if first and self.long:
            self.busy.set()
            time.sleep(self.long)
            self.long_ended = time.monotonic()
        return (x - 0.3) ** 2 + 1.0 / trial.budget


def hyperband(objective: Any, **kwargs: Any) -> hs.Tuner:
    return hs.Hyperband(
        objective, max_epochs=9, seed=2, hyperparameters=space(), verbose=0, **kwargs
    )


def start_and_die(storage: Storage, *, lease: float | None, **kwargs: Any) -> Trial:
    """A worker on another machine starts the first trial of the Hyperband plan, then dies.

    ``lease`` is stamped on its trial; None stamps none (as an older hyperscout did), so
    that the watching worker's lease applies.
    """
    stamp = dict(LOST) if lease is None else {**LOST, "lease": lease}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tuner_module, "worker_stamp", lambda _lease=None: stamp)
        worker = hyperband(Objective(), storage=storage, **kwargs)
        worker.ask()
        study_id = worker._study_id
        worker.close()  # its heartbeats stop with it (before the first: its interval is 10 s)
    (trial,) = storage.trials(study_id)
    assert trial.state is TrialState.RUNNING and trial.heartbeat_at is None
    return trial


def check_rerun_once(trials: list[Trial], dead: Trial, objective: Objective) -> None:
    """The plan ran exactly once: the dead trial FAILED and its slot ran again, once."""
    assert len(trials) == PLAN + 1
    states = [t.state for t in trials]
    assert states.count(TrialState.COMPLETE) == PLAN
    assert states.count(TrialState.FAILED) == 1
    failed = trials[dead.number]
    assert failed.state is TrialState.FAILED
    assert failed.attrs["rerun"] is True
    error = failed.error or ""
    assert "stopped sending heartbeats" in error
    assert "lost-machine, pid 4242" in error
    (rerun,) = [t for t in trials if t.attrs.get("retry_of") == dead.number]
    assert rerun.state is TrialState.COMPLETE
    assert (dict(rerun.values), rerun.budget) == (dict(dead.values), dead.budget)
    assert (rerun.attrs["bracket"], rerun.attrs["rung"]) == (
        dead.attrs["bracket"],
        dead.attrs["rung"],
    )
    # No slot ran twice and none was dropped; the objective ran each configuration once.
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    slots = {(t.attrs["bracket"], t.attrs["rung"], t.key) for t in complete}
    assert len(slots) == PLAN
    assert len(objective.calls) == PLAN
    assert sorted(objective.calls) == sorted((t.values["x"], float(t.budget)) for t in complete)


def search_in_thread(tuner: hs.Tuner, seconds: float = 60.0) -> None:
    """Run ``tuner.search()``, failing (not hanging) if it deadlocks."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            tuner.search()
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    assert not thread.is_alive(), f"search() still waits after {seconds} s: a deadlock"
    assert not errors, errors


class FakeClock:
    """The storage's clock, moved by the test only."""

    def __init__(self) -> None:
        self.time = 1_700_000_000.0

    def __call__(self) -> float:
        return self.time


def test_a_dead_workers_trial_no_longer_blocks_a_hyperband_rung(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    storage = hs.MemoryStorage()
    clock = FakeClock()
    monkeypatch.setattr(storage, "now", clock)
    started = clock.time
    dead = start_and_die(storage, lease=None)
    assert dead.started_at == started

    objective = Objective()
    survivor = hyperband(objective, storage=storage, trial_lease=2.0)
    survivor.poll_interval = 0.001
    assert storage.get_trial(1, dead.number).state is TrialState.RUNNING  # within its lease
    waits: list[float] = []
    waiting = survivor._wait_for_others

    def wait_a_while(history: History) -> None:
        # Each wait lasts half a second of the storage's clock.
        waits.append(clock.time)
        clock.time += 0.5
        waiting(history)

    monkeypatch.setattr(survivor, "_wait_for_others", wait_a_while)
    search_in_thread(survivor)

    trials = survivor.trials
    check_rerun_once(trials, dead, objective)
    # The survivor ran all it could, then waited for the dead trial until its lease (2 s of
    # the storage's clock after its start) ran out, not before: its fifth wait failed it,
    # and nothing made it wait again.
    assert waits == [started + 0.5 * i for i in range(5)]
    assert trials[dead.number].finished_at == started + 2.5
    rerun = next(t for t in trials if t.attrs.get("retry_of") == dead.number)
    assert rerun.number > 8  # the other rung-0 configurations ran first


def test_a_trial_stale_when_a_worker_starts_is_failed_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_storage = SQLStorage(sqlite_url(tmp_path / "shared" / "hyperscout.db"))
    monkeypatch.setattr(dead_storage, "now", lambda: time.time() - 3600)  # an hour ago
    # The dead worker's own lease of 5 s is stamped on its trial.
    dead = start_and_die(dead_storage, lease=5.0, project_name="shared")

    objective = Objective()
    with hyperband(objective, directory=tmp_path, project_name="shared") as survivor:
        # Opening the study found it dead: 3600 s without a sign of life, lease 5 s.
        found = survivor.trials[dead.number]
        assert found.state is TrialState.FAILED
        assert "lease of 5 s" in (found.error or "")
        assert found.finished_at is not None and found.finished_at > dead.started_at + 3000
        survivor.poll_interval = 0.01
        search_in_thread(survivor)
        check_rerun_once(survivor.trials, dead, objective)
        assert survivor.trials[dead.number + 1].attrs["retry_of"] == dead.number  # first


def test_a_live_workers_long_trial_is_not_failed_by_another_worker(tmp_path: Path) -> None:
    """Two workers share an SQLite study; one waits for the other's trial, 2 s long."""
    lease = 0.3
    objective = Objective(long=2.0)
    workers = [
        hyperband(objective, directory=tmp_path, project_name="live", trial_lease=lease)
        for _ in range(2)
    ]
    waits: list[float] = []
    for worker in workers:
        worker.heartbeat_interval = 0.05
        worker.poll_interval = 0.02
    waiting = workers[1]._wait_for_others

    def counted(history: History) -> None:
        waits.append(time.monotonic())
        waiting(history)

    workers[1]._wait_for_others = counted  # type: ignore[method-assign]
    first = threading.Thread(target=search_in_thread, args=(workers[0],))
    first.start()
    assert objective.busy.wait(timeout=30)  # the first worker is inside its long trial
    search_in_thread(workers[1])
    first.join(timeout=60)
    try:
        trials = workers[1].trials
        # The second worker waited for the long trial for longer than its lease ...
        assert waits and objective.long_ended - waits[0] > lease
        # ... and yet took nothing for dead: every slot ran once, nothing failed or reran.
        assert [t.state for t in trials] == [TrialState.COMPLETE] * PLAN
        assert not [t for t in trials if t.attrs.get("retry_of") is not None]
        assert len(objective.calls) == PLAN
        long_trial = trials[0]
        assert long_trial.duration is not None and long_trial.duration >= 2.0
        assert long_trial.heartbeat_at is not None  # it beat while it ran
    finally:
        for worker in workers:
            worker.close()


def test_ask_waiting_for_a_dead_trial_fails_it(monkeypatch: pytest.MonkeyPatch) -> None:
    storage = hs.MemoryStorage()
    clock = FakeClock()
    monkeypatch.setattr(storage, "now", clock)
    dead = start_and_die(storage, lease=1.0)
    tuner = hyperband(None, storage=storage)
    told = waits = 0
    while True:
        try:
            hp, trial = tuner.ask()
        except SearchFinished as exc:
            if "tell() the running trials" not in str(exc):
                break
            # The strategy waits for the dead trial: within its lease it stays RUNNING ...
            assert storage.get_trial(1, dead.number).state is TrialState.RUNNING
            waits += 1
            assert waits == 1, "ask() waited for a trial past its lease"
            clock.time += 1.5  # ... and past it, the next ask() fails it and goes on.
            continue
        tuner.tell(trial, (hp.Float("x", 0.0, 1.0) - 0.3) ** 2 + 1.0 / trial.budget)
        told += 1
    trials = tuner.trials
    assert (told, waits) == (PLAN, 1)
    assert [t.state for t in trials].count(TrialState.FAILED) == 1
    assert trials[dead.number].state is TrialState.FAILED
    assert len([t for t in trials if t.attrs.get("retry_of") == dead.number]) == 1


def test_asked_trials_beat_until_told() -> None:
    storage = hs.MemoryStorage()
    tuner = hs.RandomSearch(storage=storage, verbose=0, seed=0, trial_lease=0.4)
    assert tuner.heartbeat_interval == pytest.approx(0.1)
    hp, trial = tuner.ask()
    hp.Float("x", 0.0, 1.0)
    time.sleep(0.7)  # longer than the lease: heartbeats keep the trial alive
    beat = storage.get_trial(1, trial.number).heartbeat_at
    assert beat is not None and storage.now() - beat < 0.4
    other = hs.RandomSearch(storage=storage, verbose=0, seed=0, trial_lease=0.4)
    assert other.trials[trial.number].state is TrialState.RUNNING
    assert tuner.tell(trial, 0.5).state is TrialState.COMPLETE
    assert tuner._heartbeat.numbers == frozenset()

    # A trial asked and never told stops beating when its tuner closes: after the lease,
    # another worker fails it, to run again.
    hp, forgotten = tuner.ask()
    tuner.close()
    time.sleep(0.6)
    again = hs.RandomSearch(storage=storage, verbose=0, seed=0, trial_lease=0.4)
    record = again.trials[forgotten.number]
    assert record.state is TrialState.FAILED
    assert record.attrs["rerun"] is True
    assert "stopped sending heartbeats" in (record.error or "")


def test_a_trial_taken_away_stops_early_and_keeps_the_other_record() -> None:
    """Our heartbeats did not reach the storage for longer than the lease, so another worker
    failed our trial, to run again: the next heartbeat revokes it, the objective stops, and
    the other worker's record stands."""
    storage = hs.MemoryStorage()
    seen: dict[str, Any] = {}

    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        x = hp.Float("x", 0.0, 1.0)
        if "waited" in seen:
            return (x - 0.3) ** 2
        seen["x"] = x
        for step in range(3):
            trial.report(step, loss=x)
        assert not trial.should_stop()
        abandon_trial(storage, tuner._study_id, trial.number, "Taken for dead by another worker.")
        started = time.monotonic()
        while not trial.should_stop() and time.monotonic() - started < 10.0:
            time.sleep(0.005)  # training on, without reporting
        seen["waited"] = time.monotonic() - started
        seen["revoked"] = trial.revoked
        trial.report(3, loss=x)  # still accepted, written nowhere
        seen["reports"] = dict(trial.reports)
        return (x - 0.3) ** 2

    tuner = hs.RandomSearch(
        objective, hyperparameters=space(), storage=storage, verbose=0, seed=3, max_trials=4
    )
    tuner.heartbeat_interval = 0.02
    tuner.search()
    assert seen["revoked"] is True
    assert seen["waited"] < 2.0  # a few heartbeats of 0.02 s, not the 10 s cap
    assert sorted(seen["reports"]) == [0, 1, 2, 3]
    trials = tuner.trials
    taken = trials[0]
    assert taken.state is TrialState.FAILED
    assert taken.error == "Taken for dead by another worker."
    assert taken.attrs["rerun"] is True and taken.value is None
    assert sorted(taken.intermediate) == [0, 1, 2]  # the report after the revocation is dropped
    # The search went on: its configuration ran again once, and max_trials trials completed.
    retries = [t for t in trials if t.attrs.get("retry_of") == taken.number]
    assert len(retries) == 1 and retries[0].values == {"x": seen["x"]}
    assert retries[0].state is TrialState.COMPLETE
    assert [t.state for t in trials[1:]] == [TrialState.COMPLETE] * 4
    assert len({t.values["x"] for t in trials[1:]}) == 4  # no configuration twice
    assert tuner._heartbeat.numbers == frozenset()


def test_a_report_to_a_trial_taken_away_revokes_it() -> None:
    """Taken away before a heartbeat noticed: the next report revokes it instead of raising."""
    storage = hs.MemoryStorage()
    # Heartbeats every 10 s: none comes before the report.
    tuner = hs.RandomSearch(hyperparameters=space(), storage=storage, verbose=0, seed=0)
    hp, trial = tuner.ask()
    x = hp.Float("x", 0.0, 1.0)
    trial.report(1, loss=0.5)
    abandon_trial(storage, tuner._study_id, trial.number, "Taken for dead.")
    trial.report(2, loss=0.4)
    assert trial.revoked and trial.should_stop()
    trial.report(3, loss=0.3)  # no storage call at all now
    record = tuner.tell(trial, 0.3)
    assert (record.state, record.error, record.value) == (
        TrialState.FAILED,
        "Taken for dead.",
        None,
    )
    assert {k: dict(v) for k, v in record.intermediate.items()} == {1: {"loss": 0.5}}
    hp, again = tuner.ask()  # the configuration runs again
    assert again.attrs["retry_of"] == trial.number and hp.Float("x", 0.0, 1.0) == x
    tuner.close()


def test_the_heartbeat_tells_each_lost_trial_once() -> None:
    storage = hs.MemoryStorage()
    study = storage.create_study("lost")
    kept, lost = (storage.create_trial(study.id, values={}) for _ in range(2))
    heartbeat = Heartbeat(storage, study.id, interval=0.01)
    calls: list[int] = []
    for trial in (kept, lost):
        heartbeat.add(trial.number)
        heartbeat.watch(trial.number, lambda number=trial.number: calls.append(number))
    storage.finish_trial(study.id, lost.number, state=TrialState.FAILED, error="taken")
    deadline = time.monotonic() + 5
    while not calls:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.1)  # ten beats more: still told once
    assert calls == [lost.number]
    late: list[bool] = []
    heartbeat.watch(lost.number, lambda: late.append(True))  # told at once, already lost
    assert late == [True]
    assert storage.get_trial(study.id, kept.number).state is TrialState.RUNNING
    heartbeat.stop()


def test_trial_lease_must_cover_two_heartbeats() -> None:
    tuner = hs.RandomSearch(lambda hp: 0.0, storage="memory", verbose=0)
    assert (tuner.trial_lease, tuner.heartbeat_interval) == (120.0, 10.0)
    short = hs.RandomSearch(lambda hp: 0.0, storage="memory", verbose=0, trial_lease=2)
    assert short.heartbeat_interval == 0.5  # a quarter of a short lease
    short.heartbeat_interval = 1.0  # exactly twice: allowed
    with pytest.raises(InvalidArgumentError) as info:
        short.heartbeat_interval = 1.5
    message = str(info.value)
    assert "trial_lease=2" in message and "heartbeat_interval=1.5" in message
    assert short.heartbeat_interval == 1.0  # unchanged
    for bad in (0, -1.0, True, "10", float("nan"), float("inf"), None):
        with pytest.raises(
            InvalidArgumentError, match=rf"^RandomSearch\(trial_lease=\.\.\.\): .*got {bad!r}"
        ):
            hs.RandomSearch(lambda hp: 0.0, storage="memory", verbose=0, trial_lease=bad)
    with pytest.raises(
        InvalidArgumentError,
        match=r"RandomSearch\(heartbeat_interval=\.\.\.\): expected a finite number > 0",
    ):
        short.heartbeat_interval = 0


# -- fail_dead_trials on its own -------------------------------------------------------------


def running_trial(storage: Storage, study_id: int, worker: dict[str, Any]) -> Trial:
    return storage.create_trial(study_id, values={}, attrs={"worker": worker})


def test_each_trial_is_judged_by_its_own_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    storage = hs.MemoryStorage()
    clock = FakeClock()
    monkeypatch.setattr(storage, "now", clock)
    study = storage.create_study("leases")
    running_trial(storage, study.id, {**LOST, "lease": 3600.0})  # a patient worker
    hasty = running_trial(storage, study.id, {**LOST, "lease": 5.0})
    unstamped = running_trial(storage, study.id, dict(LOST))
    mine = running_trial(storage, study.id, dict(LOST))
    beating = running_trial(storage, study.id, {**LOST, "lease": 5.0})
    clock.time += 8.0
    storage.heartbeat(study.id, [beating.number])
    clock.time += 4.0  # 12 s after the starts, 4 s after the heartbeat

    def dead(lease: float) -> list[int]:
        return fail_dead_trials(
            storage, study.id, storage.trials(study.id), lease=lease, own={mine.number}
        )

    assert dead(lease=60.0) == [hasty.number]  # unstamped: the watcher's 60 s lease
    assert dead(lease=10.0) == [unstamped.number]
    assert [t.state for t in storage.trials(study.id)] == [
        TrialState.RUNNING,  # 3600 s lease
        TrialState.FAILED,
        TrialState.FAILED,
        TrialState.RUNNING,  # the watcher's own trial
        TrialState.RUNNING,  # a heartbeat 4 s ago, within 5 s
    ]
    error = storage.get_trial(study.id, hasty.number).error or ""
    assert "none since 2023-11-14 22:13:20 UTC, 12.0 s before" in error
    assert "lease of 5 s" in error


def test_a_heartbeat_after_the_look_keeps_the_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    """The watcher read a stale trial, then its worker beat: the trial stays RUNNING."""
    storage = hs.MemoryStorage()
    clock = FakeClock()
    monkeypatch.setattr(storage, "now", clock)
    study = storage.create_study("race")
    trial = running_trial(storage, study.id, {**LOST, "lease": 5.0})
    clock.time += 10.0
    seen = storage.trials(study.id)  # stale when read ...
    storage.heartbeat(study.id, [trial.number])  # ... alive just after
    assert fail_dead_trials(storage, study.id, seen, lease=5.0) == []
    kept = storage.get_trial(study.id, trial.number)
    assert (kept.state, kept.error, kept.heartbeat_at) == (TrialState.RUNNING, None, clock.time)
    # A trial finished by its worker meanwhile keeps its result too.
    storage.finish_trial(study.id, trial.number, state=TrialState.COMPLETE, value=1.0)
    clock.time += 100.0
    assert fail_dead_trials(storage, study.id, seen, lease=5.0) == []
    assert storage.get_trial(study.id, trial.number).value == 1.0


def test_heartbeat_thread_lives_while_trials_run() -> None:
    storage = hs.MemoryStorage()
    study = storage.create_study("thread")
    first = storage.create_trial(study.id, values={})
    second = storage.create_trial(study.id, values={})
    heartbeat = Heartbeat(storage, study.id, interval=0.02)
    heartbeat.add(first.number)
    heartbeat.add(second.number)
    thread = heartbeat._thread
    assert thread is not None and thread.daemon and thread.name == "hyperscout-heartbeat-1"
    deadline = time.monotonic() + 5
    while storage.get_trial(study.id, second.number).heartbeat_at is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    heartbeat.discard(first.number)
    assert thread.is_alive()  # the second trial still runs
    heartbeat.discard(second.number)
    thread.join(timeout=5)
    assert not thread.is_alive()  # no trial left for two intervals: the thread ended
    heartbeat.add(first.number)  # a new trial starts a new thread; stop() ends it
    again = heartbeat._thread
    assert again is not None and again is not thread and again.is_alive()
    heartbeat.stop()
    assert heartbeat.numbers == frozenset()
    assert not again.is_alive()


def test_many_short_trials_share_one_heartbeat_thread() -> None:
    storage = hs.MemoryStorage()
    study = storage.create_study("short")
    heartbeat = Heartbeat(storage, study.id, interval=5.0)
    trials = [storage.create_trial(study.id, values={"i": i}) for i in range(50)]
    heartbeat.add(trials[0].number)
    thread = heartbeat._thread
    for trial in trials:  # one after the other, as an inline search runs them
        heartbeat.add(trial.number)
        heartbeat.discard(trial.number)
        assert heartbeat._thread is thread  # not a thread started (and waited for) per trial
    assert thread is not None and thread.is_alive()
    heartbeat.stop()
    assert not thread.is_alive()
