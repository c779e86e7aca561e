"""Time limits and hangs: ``trial_timeout=``, a ``timeout=`` that interrupts, searches with no
end, and SQLite workers that freeze (issue 12, items 5 and 6)."""

from __future__ import annotations

import json
import math
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import hyperscout as hs
import hyperscout.storage.sql as sql
from hyperscout.storage import open_storage
from hyperscout.trial import TrialState

WORKER = Path(__file__).parents[1] / "worker_process.py"

# The hard stop of the default executor uses SIGALRM, which pytest-timeout's signal method
# owns during a test: these tests use its thread method, so that the stop is the one users get.
hard_stop = pytest.mark.timeout(120, method="thread")


def search_in_thread(tuner: hs.Tuner) -> None:
    """Run ``tuner.search()`` off the main thread (where no hard stop is possible)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            tuner.search()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60.0)
    assert not thread.is_alive(), "search() did not end"
    if errors:
        raise errors[0]


# -- trial_timeout -------------------------------------------------------------------------


@hard_stop
def test_trial_timeout_interrupts_a_trial_in_the_calling_process() -> None:
    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        x = hp.Float("x", 0.0, 1.0)
        if trial.number == 1:
            time.sleep(30.0)  # ignores should_stop(): only a hard stop ends it
        return x

    tuner = hs.RandomSearch(
        objective, max_trials=4, trial_timeout=0.5, storage="memory", verbose=0, seed=0
    )
    started = time.monotonic()
    tuner.search()
    assert time.monotonic() - started < 10.0
    states = [t.state for t in tuner.trials]
    assert states == [TrialState.COMPLETE, TrialState.FAILED] + [TrialState.COMPLETE] * 2
    assert "ran longer than trial_timeout=0.5 s" in (tuner.trials[1].error or "")
    assert tuner.trials[1].value is None


@hard_stop
def test_the_hard_stop_waits_for_hyperscouts_own_writes() -> None:
    from hyperscout.tuner._limits import DeadlinePassed, HardStop

    stop = HardStop()
    written = []
    with pytest.raises(DeadlinePassed), stop.armed(time.monotonic() + 0.1) as armed:
        assert armed
        with stop.writing():
            time.sleep(0.4)  # the deadline passes here: the write is not cut
            written.append(True)
        written.append(False)  # never reached: the stop fires as the write ends
    assert written == [True]
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL  # the handler is given back


def test_trial_timeout_turns_should_stop_true_at_the_deadline() -> None:
    seen: dict[str, float] = {}

    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        x = hp.Float("x", 0.0, 1.0)
        if trial.number > 0:
            return x
        begun = time.monotonic()
        while not trial.should_stop():
            time.sleep(0.01)
            assert time.monotonic() - begun < 20.0, "should_stop() never turned True"
        seen["waited"] = time.monotonic() - begun
        return x

    tuner = hs.RandomSearch(
        objective, max_trials=2, trial_timeout=0.3, storage="memory", verbose=0, seed=0
    )
    search_in_thread(tuner)  # no hard stop off the main thread: the objective stops itself
    assert 0.25 <= seen["waited"] < 5.0
    assert [t.state for t in tuner.trials] == [TrialState.FAILED, TrialState.COMPLETE]
    assert "ran longer than trial_timeout=0.3 s" in (tuner.trials[0].error or "")


def test_trial_timeout_in_threads_records_the_trial_and_drops_its_late_result() -> None:
    release = threading.Event()

    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        x = hp.Float("x", 0.0, 1.0)
        if trial.number == 0:
            release.wait(30.0)  # a thread cannot be interrupted
            trial.report(1, loss=-100.0)
            return -100.0  # would be the best result by far
        return x

    tuner = hs.RandomSearch(
        objective,
        max_trials=5,
        trial_timeout=0.5,
        executor=hs.ThreadExecutor(2),
        storage="memory",
        verbose=0,
        seed=0,
    )
    started = time.monotonic()
    tuner.search()
    assert time.monotonic() - started < 10.0  # the search did not wait for the stuck thread
    release.set()
    time.sleep(0.3)  # let the abandoned thread return its result and report
    first = tuner.trials[0]
    assert first.state is TrialState.FAILED
    assert "ran longer than trial_timeout=0.5 s" in (first.error or "")
    assert first.value is None and not first.intermediate
    assert sum(t.state is TrialState.COMPLETE for t in tuner.trials) == 4
    assert tuner.get_best_trials(1)[0].value >= 0.0


# -- timeout ---------------------------------------------------------------------------------


@hard_stop
def test_timeout_stops_a_running_trial_and_gives_it_up_to_run_again(tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []

    def slow(hp: hs.HyperParameters) -> float:
        x = hp.Float("x", 0.0, 1.0)
        calls.append(dict(hp.values))
        time.sleep(30.0)
        return x

    options: dict[str, Any] = {"directory": tmp_path, "project_name": "p", "verbose": 0}
    tuner = hs.RandomSearch(slow, max_trials=3, timeout=1.0, seed=0, **options)
    started = time.monotonic()
    tuner.search()
    assert time.monotonic() - started < 6.0
    (given_up,) = tuner.trials
    assert given_up.state is TrialState.FAILED and given_up.attrs.get("abandoned")
    assert "reached timeout=1 s" in (given_up.error or "")
    tuner.close()

    resumed = hs.RandomSearch(lambda hp: hp.Float("x", 0.0, 1.0), max_trials=3, **options)
    resumed.search()
    complete = [t for t in resumed.trials if t.state is TrialState.COMPLETE]
    assert len(complete) == 3
    assert complete[0].values == calls[0]  # the configuration given up ran again
    resumed.close()


def test_timeout_stops_running_threads_at_the_deadline() -> None:
    def slow(hp: hs.HyperParameters) -> float:
        time.sleep(3.0)
        return hp.Float("x", 0.0, 1.0)

    tuner = hs.RandomSearch(
        slow,
        max_trials=10,
        timeout=0.5,
        executor=hs.ThreadExecutor(2),
        storage="memory",
        verbose=0,
        seed=0,
    )
    started = time.monotonic()
    tuner.search()
    assert time.monotonic() - started < 2.5
    assert len(tuner.trials) == 2
    assert all(t.state is TrialState.FAILED and t.attrs.get("abandoned") for t in tuner.trials)


@pytest.mark.parametrize("name", ["timeout", "trial_timeout"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0, 0, True, "10"])
def test_time_limits_must_be_finite_positive_seconds(name: str, value: object) -> None:
    with pytest.raises(
        hs.InvalidArgumentError, match=rf"^RandomSearch\({name}=\.\.\.\): expected a finite number"
    ):
        hs.RandomSearch(lambda hp: 0.0, storage="memory", verbose=0, **{name: value})


# -- searches with no end ------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda f, **kw: hs.RandomSearch(f, max_trials=None, **kw),
        lambda f, **kw: hs.BayesianOptimization(f, max_trials=None, sampler="tpe", **kw),
        lambda f, **kw: hs.Tuner(f, **kw),
        lambda f, **kw: hs.Tuner(f, scheduler=hs.ASHAScheduler(1, 9), **kw),
    ],
    ids=["random", "bayesian", "tuner", "asha"],
)
def test_a_search_with_no_end_is_refused_before_any_trial(make: Any) -> None:
    calls: list[int] = []

    def objective(hp: hs.HyperParameters) -> float:
        calls.append(1)
        return hp.Float("x", 0.0, 1.0)

    tuner = make(objective, storage="memory", verbose=0)
    with pytest.raises(hs.InvalidArgumentError, match=r"has no end.*run_until_stopped=True"):
        tuner.search()
    assert calls == []


def test_run_until_stopped_runs_until_interrupted() -> None:
    calls: list[int] = []

    def objective(hp: hs.HyperParameters) -> float:
        calls.append(1)
        if len(calls) == 25:
            raise KeyboardInterrupt
        return hp.Float("x", 0.0, 1.0)

    tuner = hs.RandomSearch(
        objective, max_trials=None, run_until_stopped=True, storage="memory", verbose=0
    )
    with pytest.raises(KeyboardInterrupt):
        tuner.search()
    assert sum(t.state is TrialState.COMPLETE for t in tuner.trials) == 24


def test_searches_that_end_by_themselves_need_no_limit() -> None:
    grid = hs.GridSearch(lambda hp: hp.Int("a", 0, 3), storage="memory", verbose=0)
    grid.search()
    assert len(grid.trials) == 4
    band = hs.Hyperband(
        lambda hp, trial: hp.Float("x", 0.0, 1.0), max_epochs=3, storage="memory", verbose=0
    )
    band.search()
    assert {t.budget for t in band.trials} == {1, 3}


# -- SQLite write locks --------------------------------------------------------------------


def test_a_write_lock_held_too_long_is_a_clear_storage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql, "SQLITE_BUSY_TIMEOUT", 0.3)
    path = tmp_path / "study.db"
    storage = open_storage(sql.sqlite_url(path))
    study = storage.create_study("s")
    frozen = sqlite3.connect(path, isolation_level=None)  # a worker stopped mid-write
    frozen.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(hs.StorageError) as caught:
            storage.create_trial(study.id, values={"x": 1})
        assert time.monotonic() - started < 5.0
    finally:
        frozen.rollback()
        frozen.close()
    message = str(caught.value)
    assert str(path) in message
    assert "busy timeout of 0.3 s" in message
    assert "PostgreSQL" in message
    assert storage.create_trial(study.id, values={"x": 1}).number == 0  # free again
    storage.close()


def _write_lock_free(path: Path) -> bool:
    probe = sqlite3.connect(path, timeout=0.0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.rollback()
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


@pytest.mark.parametrize("threads", [1, 2])
def test_no_write_transaction_stays_open_while_the_objective_runs(
    tmp_path: Path, threads: int
) -> None:
    path = tmp_path / "p" / "hyperscout.db"
    free: list[bool] = []

    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        x = hp.Float("x", 0.0, 1.0)
        free.append(_write_lock_free(path))
        for step in range(3):
            trial.report(step, loss=x + step)
            free.append(_write_lock_free(path))
        return x

    executor = hs.ThreadExecutor(threads) if threads > 1 else None
    with hs.RandomSearch(
        objective,
        objective="loss",
        max_trials=6,
        directory=tmp_path,
        project_name="p",
        executor=executor,
        verbose=0,
        seed=0,
    ) as tuner:
        tuner.search()
        assert sum(t.state is TrialState.COMPLETE for t in tuner.trials) == 6
    # With two threads the other trial may be writing at that moment: most looks are free.
    assert len(free) == 24 and (all(free) if threads == 1 else sum(free) >= 12)


@pytest.mark.slow
def test_a_frozen_sqlite_worker_does_not_stop_the_others(tmp_path: Path) -> None:
    url = sql.sqlite_url(tmp_path / "study.db")

    def start() -> subprocess.Popen[str]:
        command = [sys.executable, str(WORKER), "random", url, "p"]
        command += ["--max-trials", "16", "--sleep", "0.3"]
        return subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=WORKER.parent
        )

    frozen = start()
    storage = open_storage(url)
    try:
        deadline = time.monotonic() + 60.0
        while True:  # wait until the first worker runs a trial
            assert time.monotonic() < deadline, "the first worker never started a trial"
            study = storage.load_study("p")
            if study is not None and any(
                t.state is TrialState.RUNNING for t in storage.trials(study.id)
            ):
                break
            time.sleep(0.05)
        other = start()
        # Freeze it, as Ctrl-Z or SIGSTOP would, outside one of its (millisecond) writes:
        # frozen inside one, it would hold SQLite's lock (the StorageError test above).
        for _ in range(50):
            frozen.send_signal(signal.SIGSTOP)
            time.sleep(0.05)
            if _write_lock_free(tmp_path / "study.db"):
                break
            frozen.send_signal(signal.SIGCONT)
            time.sleep(0.01)
        else:
            pytest.fail("the first worker held the write lock at every look")
        out, err = other.communicate(timeout=120.0)
        assert other.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1])["finished"] >= 10
        study = storage.load_study("p")
        assert study is not None
        trials = storage.trials(study.id)
        counted = [t for t in trials if t.state is TrialState.COMPLETE]
        assert len(counted) == 16  # the frozen worker's trial was taken for dead and rerun
        assert len({t.key for t in counted}) == 16
    finally:
        frozen.send_signal(signal.SIGCONT)
        frozen.kill()
        frozen.communicate(timeout=30.0)
        storage.close()


@hard_stop
def test_command_line_run_takes_a_trial_timeout(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from hyperscout.cli import main

    (tmp_path / "objectives.py").write_text(
        "import time\n\n\ndef hang(hp):\n    x = hp.Int('x', 0, 2)\n"
        "    if x == 1:\n        time.sleep(30)\n    return float(x)\n"
    )
    command = ["run", f"{tmp_path / 'objectives.py'}:hang", "--strategy", "grid"]
    command += ["--directory", str(tmp_path / "runs"), "--project-name", "p", "--verbose", "0"]
    started = time.monotonic()
    result = CliRunner().invoke(main, [*command, "--trial-timeout", "0.5"])
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 10.0
    storage = open_storage(sql.sqlite_url(tmp_path / "runs" / "p" / "hyperscout.db"))
    study = storage.load_study("p")
    assert study is not None
    states = {t.values["x"]: t for t in storage.trials(study.id)}
    storage.close()
    assert states[1].state is TrialState.FAILED
    assert "trial_timeout=0.5 s" in (states[1].error or "")
    assert states[0].state is states[2].state is TrialState.COMPLETE
