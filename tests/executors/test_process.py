"""ProcessExecutor and search(n_jobs=): trials in worker processes, one storage (SQLite file).

The objectives live in tests/executors/process_objectives.py, a module the spawned workers
import. Each search starts its worker processes once (about a second each with spawn).
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hyperscout as hs
from hyperscout.exceptions import InvalidArgumentError
from hyperscout.storage import open_storage, sqlite_url
from hyperscout.trial import TrialState

# Relative: worker processes import it by the name pytest gave it (spawn passes sys.path on).
# "tests.executors..." would break where a package installs a top-level "tests" (mf2 does).
from . import process_objectives as objectives


def url(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "study.db")


def common(tmp_path: Path) -> dict[str, object]:
    return {"storage": url(tmp_path), "project_name": "p", "seed": 3, "verbose": 0}


@pytest.mark.slow
def test_a_grid_of_50_points_over_4_processes_runs_each_point_once(tmp_path: Path) -> None:
    tuner = hs.GridSearch(objectives.grid, executor=hs.ProcessExecutor(4), **common(tmp_path))
    tuner.search()
    trials = tuner.trials
    assert all(t.state is TrialState.COMPLETE for t in trials)
    points = collections.Counter((t.values["a"], t.values["b"]) for t in trials)
    assert len(points) == 50
    assert set(points.values()) == {1}
    assert tuner.get_best_hyperparameters()[0].values == {"a": 2, "b": 5}


@pytest.mark.slow
def test_max_trials_is_exact_and_trials_run_in_other_processes(tmp_path: Path) -> None:
    tuner = hs.RandomSearch(
        objectives.pid,
        objective="loss",
        max_trials=13,
        executor=hs.ProcessExecutor(3),
        **common(tmp_path),
    )
    tuner.search()
    trials = tuner.trials
    assert len(trials) == 13
    assert all(t.state is TrialState.COMPLETE for t in trials)
    pids = {int(t.metrics["pid"]) for t in trials}
    assert os.getpid() not in pids
    assert 1 <= len(pids) <= 3


@pytest.mark.slow
def test_asha_over_4_processes_promotes(tmp_path: Path) -> None:
    tuner = hs.Tuner(
        objectives.curve,
        objective="loss",
        scheduler=hs.ASHAScheduler(1, 9, factor=3),
        max_trials=30,
        executor=hs.ProcessExecutor(4),
        **common(tmp_path),
    )
    tuner.search()
    trials = tuner.trials
    assert len(trials) == 30
    assert all(t.is_finished for t in trials)
    assert any((t.budget or 0) > 1 for t in trials), "nothing was promoted"
    assert any(t.promoted_from is not None for t in trials)


def test_an_unpicklable_objective_is_refused_before_any_trial(tmp_path: Path) -> None:
    tuner = hs.RandomSearch(
        lambda hp: hp.Float("x", 0.0, 1.0),
        max_trials=2,
        executor=hs.ProcessExecutor(2),
        **common(tmp_path),
    )
    with pytest.raises(
        InvalidArgumentError,
        match=r"the objective \(hypermodel\) cannot be "
        r"pickled.*Define it at module level.*ThreadExecutor",
    ):
        tuner.search()
    assert tuner.trials == []


def test_an_unpicklable_search_argument_is_named(tmp_path: Path) -> None:
    tuner = hs.RandomSearch(objectives.scaled, max_trials=2, **common(tmp_path))
    with pytest.raises(InvalidArgumentError, match="search\\(\\) argument offset= cannot be"):
        tuner.search(1.0, offset=lambda: 0, n_jobs=2)
    assert tuner.trials == []


def test_a_memory_storage_is_refused_with_a_sentence() -> None:
    tuner = hs.RandomSearch(objectives.grid, max_trials=2, storage="memory", seed=0, verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"lives in this process only.*SQLite"):
        tuner.search(n_jobs=2)
    assert tuner.trials == []


@pytest.mark.slow
def test_n_jobs_runs_trials_in_processes_with_the_search_arguments(tmp_path: Path) -> None:
    tuner = hs.RandomSearch(objectives.scaled, max_trials=6, **common(tmp_path))
    tuner.search(2.0, n_jobs=2, offset=10.0)
    trials = tuner.trials
    assert len(trials) == 6
    for t in trials:
        assert t.value == pytest.approx(2.0 * t.values["x"] ** 2 + 10.0)
    assert isinstance(tuner.executor, hs.InlineExecutor)  # n_jobs is for that search only


def test_n_jobs_minus_one_is_every_core() -> None:
    from hyperscout.executors.process import resolve_n_jobs

    assert resolve_n_jobs("search", -1) == (os.cpu_count() or 1)
    assert resolve_n_jobs("search", 2) == 2
    for bad in (0, -2, 1.5):
        with pytest.raises(InvalidArgumentError, match="n_jobs"):
            resolve_n_jobs("search", bad)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_failing_objective_is_recorded_failed_with_its_traceback(tmp_path: Path) -> None:
    tuner = hs.RandomSearch(
        objectives.broken,
        max_trials=2,
        max_consecutive_failed_trials=5,
        executor=hs.ProcessExecutor(2),
        **common(tmp_path),
    )
    with pytest.raises(hs.TooManyFailedTrialsError):
        tuner.search()
    trials = tuner.trials
    assert trials and all(t.state is TrialState.FAILED for t in trials)
    for t in trials:
        assert "ValueError: the objective broke on purpose" in (t.error or "")
        assert "Traceback" in (t.error or "") and "process_objectives.py" in (t.error or "")


def test_process_executor_runs_calls_in_other_processes() -> None:
    executor = hs.ProcessExecutor(2)
    try:
        assert executor.submit(pow, 2, 10).result(timeout=60) == 1024
        assert executor.submit(os.getpid).result(timeout=60) != os.getpid()
        with pytest.raises(ZeroDivisionError):
            executor.submit(divmod, 1, 0).result(timeout=60)
    finally:
        executor.close()
    with pytest.raises(InvalidArgumentError, match="n_workers"):
        hs.ProcessExecutor(0)


@pytest.mark.slow
def test_a_killed_worker_process_has_its_trial_run_again(tmp_path: Path) -> None:
    tuner = hs.RandomSearch(
        objectives.dies_once, max_trials=8, executor=hs.ProcessExecutor(2), **common(tmp_path)
    )
    tuner.search(str(tmp_path / "died"))
    trials = tuner.trials
    given_up = [t for t in trials if t.state is TrialState.FAILED]
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert given_up, "the killed trial was not recorded"
    assert all("worker process" in (t.error or "") for t in given_up)
    assert len({t.slot for t in complete}) == 8 == len(complete)
    assert {t.slot for t in given_up} <= {t.slot for t in complete}


def test_a_call_that_cannot_be_pickled_fails_in_its_future() -> None:
    executor = hs.ProcessExecutor(1)
    try:
        future = executor.submit(lambda: 1)
        with pytest.raises(Exception, match="pickle"):
            future.result(timeout=10)
    finally:
        executor.close()


@pytest.mark.slow
def test_ctrl_c_stops_every_worker_and_gives_their_trials_up(tmp_path: Path) -> None:
    study = url(tmp_path)
    root = Path(__file__).parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    command = [sys.executable, str(Path(objectives.__file__)), study]
    driver = subprocess.Popen(command, cwd=root, env=env, start_new_session=True)
    storage = open_storage(study)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until both workers run a trial
            info = storage.load_study("p")
            if info is not None and len(storage.trials(info.id)) == 2:
                break
            time.sleep(0.2)
        time.sleep(1.0)
        os.killpg(driver.pid, signal.SIGINT)  # as a terminal's Ctrl-C: every process
        assert driver.wait(timeout=30) != 0
        info = storage.load_study("p")
        assert info is not None
        trials = storage.trials(info.id)
        assert len(trials) == 2
        for trial in trials:
            assert trial.state is TrialState.FAILED and trial.is_rerun
            assert "interrupted (Ctrl-C)" in (trial.error or "")
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
        storage.close()


@pytest.mark.slow
def test_an_overridden_run_trial_and_trial_timeout_work_in_processes(tmp_path: Path) -> None:
    tuner = objectives.SquareTuner(max_trials=4, executor=hs.ProcessExecutor(2), **common(tmp_path))
    tuner.search()
    assert [t.value for t in tuner.trials] == [
        pytest.approx(t.values["x"] ** 2 + 1.0) for t in tuner.trials
    ]
    late = hs.RandomSearch(
        objectives.slow,
        max_trials=1,
        trial_timeout=1.0,
        max_retries_per_trial=0,
        storage=url(tmp_path),
        project_name="late",
        seed=0,
        verbose=0,
    )
    started = time.monotonic()
    with pytest.raises(hs.TooManyFailedTrialsError):
        late.search(n_jobs=1)
    assert time.monotonic() - started < 20
    (trial,) = late.trials
    assert trial.state is TrialState.FAILED and "trial_timeout" in (trial.error or "")
