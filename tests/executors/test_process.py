"""ProcessExecutor and search(n_jobs=): trials in worker processes, one storage (SQLite file).

The objectives live in tests/executors/process_objectives.py, a module the spawned workers
import. Each search starts its worker processes once (about a second each with spawn).
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import hyperscout as hs
from hyperscout.exceptions import InvalidArgumentError
from hyperscout.storage import open_storage, sqlite_url
from hyperscout.trial import Trial, TrialState

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
    # A worker process loads no framework its objective does not import (start-up time).
    assert all(t.metrics["frameworks"] == 0 for t in trials), objectives.FRAMEWORKS
    # Sweeps around the best run in worker processes too.
    sweeps = tuner.sensitivity(points=3)
    swept = [t for t in tuner.trials if "sensitivity" in t.attrs]
    assert len(swept) >= 2 and all(t.state is TrialState.COMPLETE for t in swept)
    assert os.getpid() not in {int(t.metrics["pid"]) for t in swept}
    assert list(sweeps.sweeps) == ["x"] and None not in sweeps.sweeps["x"].results


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
    with pytest.raises(InvalidArgumentError, match=r"start_method.*'spawn'.*got 'fork'"):
        hs.ProcessExecutor(2, start_method="fork")  # unsafe with the driver's threads


@pytest.mark.slow
@pytest.mark.skipif(
    "forkserver" not in multiprocessing.get_all_start_methods(), reason="no forkserver here"
)
def test_forkserver_worker_processes_run_a_search(tmp_path: Path) -> None:
    executor = hs.ProcessExecutor(2, start_method="forkserver")
    assert repr(executor) == "ProcessExecutor(n_workers=2, start_method='forkserver')"
    tuner = hs.RandomSearch(
        objectives.pid, objective="loss", max_trials=6, executor=executor, **common(tmp_path)
    )
    tuner.search()
    trials = tuner.trials
    assert len(trials) == 6 and all(t.state is TrialState.COMPLETE for t in trials)
    assert sorted(t.slot for t in trials) == list(range(6))
    pids = {int(t.metrics["pid"]) for t in trials}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert all(t.metrics["frameworks"] == 0 for t in trials)


def _check_rerun(trials: list[Trial], max_trials: int, given_up: list[int]) -> list[Trial]:
    """Exactly ``max_trials`` finished, one per slot, each configuration once; every trial
    in ``given_up`` ran again as a retry (``retry_of``) of the same configuration, in its slot.
    Returns the retries.

    A trial that was lost while the space was still unknown (the study's first trials draw
    their parameters as the objective reaches them) recorded no values: its retry draws them
    again, from the seed and the slot.
    """
    retries = []
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert sorted(t.slot for t in complete) == list(range(max_trials))  # none lost or repeated
    assert len({t.values["x"] for t in complete}) == max_trials  # no configuration twice
    by_number = {t.number: t for t in trials}
    failed = [t.number for t in trials if t.state is TrialState.FAILED]
    assert sorted(failed) == sorted(given_up)
    for number in given_up:
        lost = by_number[number]
        assert lost.is_rerun
        (retry,) = [t for t in trials if t.retry_of == number]
        assert retry.state is TrialState.COMPLETE and retry.slot == lost.slot
        assert retry.values == lost.values or not lost.values
        retries.append(retry)
    return retries


@pytest.mark.slow
def test_a_worker_process_killed_mid_trial_has_its_trial_run_again(tmp_path: Path) -> None:
    folder = tmp_path / "pids"
    folder.mkdir()
    killed: list[int] = []

    def kill_the_victim() -> None:  # SIGKILL the process running the first trial, mid-trial
        pid_file = folder / "victim.pid"
        deadline = time.monotonic() + 60
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        if pid_file.exists():
            killed.append(int(pid_file.read_text()))
            os.kill(killed[0], signal.SIGKILL)

    killer = threading.Thread(target=kill_the_victim, daemon=True)
    killer.start()
    tuner = hs.RandomSearch(
        objectives.victim, max_trials=8, executor=hs.ProcessExecutor(2), **common(tmp_path)
    )
    tuner.search(str(folder))
    killer.join(timeout=5)
    assert killed and killed[0] != os.getpid()
    trials = tuner.trials
    given_up = [t for t in trials if t.state is TrialState.FAILED]
    # The victim's trial, and the other worker's if the broken pool took it down too.
    assert 1 <= len(given_up) <= 2
    assert all("worker process" in (t.error or "") for t in given_up)
    retries = _check_rerun(trials, 8, [t.number for t in given_up])
    victim_x = float((folder / "victim.x").read_text())  # what the killed trial had drawn
    assert victim_x in [t.values["x"] for t in retries]


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux: /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie, ended but not reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_a_killed_driver_is_restarted_and_reruns_the_trials_it_was_running(
    tmp_path: Path,
) -> None:
    study = url(tmp_path)
    root = Path(__file__).parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    command = [sys.executable, str(Path(objectives.__file__)), study, "steady"]  # 8 trials
    driver = subprocess.Popen(command, cwd=root, env=env, start_new_session=True)
    storage = open_storage(study)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # some trials done, both workers in one
            info = storage.load_study("p")
            states = [t.state for t in storage.trials(info.id)] if info is not None else []
            if states.count(TrialState.COMPLETE) >= 2 and states.count(TrialState.RUNNING) == 2:
                break
            time.sleep(0.02)
        workers = _children(driver.pid)
        os.kill(driver.pid, signal.SIGKILL)  # the driver only, as the OOM killer would
        assert driver.wait(timeout=10) == -signal.SIGKILL
        # Its worker processes end with it, rather than finish their trials for nothing.
        deadline = time.monotonic() + 10
        while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert workers and not any(_running(pid) for pid in workers)
        info = storage.load_study("p")
        assert info is not None
        before = storage.trials(info.id)
        running = [t.number for t in before if t.state is TrialState.RUNNING]
        assert running, "the driver was not killed mid-trial"
        assert len(before) < 8

        again = subprocess.run(command, cwd=root, env=env, timeout=120, capture_output=True)
        assert again.returncode == 0, again.stderr.decode()
        trials = storage.trials(info.id)
        for number in running:  # taken for dead: the process that started it is gone
            trial = next(t for t in trials if t.number == number)
            assert trial.state is TrialState.FAILED
            assert "stopped before the trial finished" in (trial.error or "")
        _check_rerun(trials, 8, running)
        done_before = {t.number for t in before if t.state is TrialState.COMPLETE}
        assert done_before <= {t.number for t in trials if t.state is TrialState.COMPLETE}
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
        storage.close()


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


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_pytorch_and_keras_objectives_run_one_runtime_per_process(
    tmp_path: Path, framework: str
) -> None:
    pytest.importorskip(framework)
    folder = tmp_path / "meet"
    folder.mkdir()
    objective = objectives.torch_mlp if framework == "torch" else objectives.keras_mlp
    tuner = hs.RandomSearch(
        objective,
        objective="loss",
        max_trials=3,
        executor=hs.ProcessExecutor(2),
        **common(tmp_path),
    )
    tuner.search(str(folder))  # the first two trials wait for each other: two processes
    trials = tuner.trials
    assert len(trials) == 3 and all(t.state is TrialState.COMPLETE for t in trials)
    assert all(t.value is not None and t.value == t.value for t in trials)  # not NaN
    pids = {int(t.metrics["pid"]) for t in trials}
    assert len(pids) == 2 and os.getpid() not in pids
    for t in trials:  # the network each worker built has the trial's units (3 -> u -> 1)
        assert t.metrics["parameters"] == 5 * t.values["units"] + 1
    if framework == "torch":
        assert all(sorted(t.intermediate) == [0, 1] for t in trials)  # reports streamed back
    else:
        assert all(t.metrics["torch_backend"] == 1.0 for t in trials)


POSTGRES_URL = os.environ.get(
    "HYPERSCOUT_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_or_skip() -> str:
    """The server of tests/conftest.py: skipped when unreachable, failed under CI=true."""
    try:
        open_storage(POSTGRES_URL).close()
    except Exception as exc:  # unreachable server, or psycopg missing
        reason = f"PostgreSQL at {POSTGRES_URL} is not usable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true, so PostgreSQL tests must run)")
        pytest.skip(reason)
    return POSTGRES_URL


@pytest.mark.slow
@pytest.mark.postgres
def test_processes_on_postgresql_keep_max_trials_and_run_each_grid_point_once(
    project: str,
) -> None:
    url = _postgres_or_skip()
    settings = {"storage": url, "project_name": project, "seed": 3, "verbose": 0}
    first = hs.GridSearch(
        objectives.grid, max_trials=20, executor=hs.ProcessExecutor(3), **settings
    )
    first.search()
    trials = first.trials
    assert len(trials) == 20 and all(t.state is TrialState.COMPLETE for t in trials)
    assert len({(t.values["a"], t.values["b"]) for t in trials}) == 20
    # Resumed with the whole grid as the limit: the 30 points left, each once.
    rest = hs.GridSearch(objectives.grid, executor=hs.ProcessExecutor(3), **settings)
    rest.search()
    trials = rest.trials
    assert all(t.state is TrialState.COMPLETE for t in trials)
    points = collections.Counter((t.values["a"], t.values["b"]) for t in trials)
    assert len(points) == 50 and set(points.values()) == {1}
    assert sorted(t.slot for t in trials) == list(range(50))
