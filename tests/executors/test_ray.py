"""RayExecutor: each trial a Ray task, on one local Ray instance (4 CPUs) for the module.

The objectives live in tests/executors/ray_objectives.py, a module Ray's worker processes
import (the instance's workers get this tree on their PYTHONPATH). Ray is the ``ray`` extra:
without it these tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import collections
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hyperscout as hs
from hyperscout.exceptions import InvalidArgumentError, MissingDependencyError
from hyperscout.executors import RayExecutor, WorkerLostError
from hyperscout.executors.ray import RayShared
from hyperscout.storage import sqlite_url
from hyperscout.testing.executors import ExecutorConformance
from hyperscout.trial import TrialState

from . import ray_objectives as objectives

try:
    import ray
except ImportError:  # pragma: no cover - the extra is installed in CI
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true: ray must be installed (the test extra has it)", pytrace=False)
    pytest.skip("needs the ray extra: pip install 'hyperscout[ray]'", allow_module_level=True)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
#: Ray's worker processes import this tree (the objectives, and hyperscout from src/).
WORKER_PATH = os.pathsep.join(
    [
        str(ROOT / "src"),
        str(ROOT),
        str(ROOT / "tests"),  # where pytest may import tests/executors from, as "executors"
        *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep)),
    ]
)
#: A small, quiet local instance: no dashboard, no usage statistics, a small object store.
RAY_OPTIONS: dict[str, Any] = {
    "include_dashboard": False,
    "object_store_memory": 100 * 1024**2,
    "runtime_env": {"env_vars": {"PYTHONPATH": WORKER_PATH}},
}
PATIENCE = 60.0


@pytest.fixture(scope="module")
def local_ray() -> Iterator[RayExecutor]:
    """One local Ray instance with 4 CPUs for the module, started by a RayExecutor.

    4 logical CPUs on any machine: Ray starts (and keeps) a worker process per CPU, so the
    searches of 4 trials at once find their workers started.

    That executor owns the instance: closing it at the end shuts Ray down. The tests make
    executors of their own, which find Ray running and leave it running.
    """
    if ray.is_initialized():  # left by another test module: this one needs to start Ray
        ray.shutdown()
    # "local": an instance of our own, even if another program's runs on this machine.
    owner = RayExecutor("local", init_kwargs={"num_cpus": 4, **RAY_OPTIONS})
    try:
        assert ray.is_initialized()
        yield owner
    finally:
        owner.close()
    assert not ray.is_initialized(), "the executor that started Ray did not shut it down"


def test_the_executor_that_started_ray_runs_calls_on_its_cpus(local_ray: RayExecutor) -> None:
    assert local_ray.n_workers == 4  # the instance's CPUs, one per trial
    assert local_ray.submit(objectives.sleep_and_pid, 0.0).result(PATIENCE) != os.getpid()


@pytest.mark.usefixtures("local_ray")
class TestRayExecutorConformance(ExecutorConformance):
    in_process = False  # worker processes on this machine: the calls count through files

    def make_executor(self) -> RayExecutor:
        return RayExecutor()  # 4 at once: the instance's CPUs


@pytest.mark.usefixtures("local_ray")
class TestRayExecutorOfTwo(ExecutorConformance):
    in_process = False

    def make_executor(self) -> RayExecutor:
        return RayExecutor(n_workers=2)  # fewer than Ray would run: the others wait here


def common(tmp_path: Path) -> dict[str, object]:
    return {
        "storage": sqlite_url(tmp_path / "study.db"),
        "project_name": "p",
        "seed": 3,
        "verbose": 0,
    }


@pytest.mark.usefixtures("local_ray")
def test_calls_run_in_ray_workers_and_their_exceptions_reach_the_future() -> None:
    executor = RayExecutor()
    assert executor.n_workers == 4  # the cluster's CPUs
    assert RayExecutor(num_cpus=0.5).n_workers == 8
    assert RayExecutor(n_workers=3).n_workers == 3
    assert repr(executor) == "RayExecutor(address=None, n_workers=4, num_cpus=1)"
    assert executor.submit(pow, 2, 10).result(PATIENCE) == 1024
    assert executor.submit(objectives.sleep_and_pid, 0.0).result(PATIENCE) != os.getpid()
    failed = executor.submit(objectives.fail_with, "no such key")
    with pytest.raises(KeyError, match="no such key") as info:
        failed.result(PATIENCE)
    assert "ray_objectives.py" in str(info.value.__cause__)  # Ray's remote traceback
    shared = executor.share(bytes(300_000))  # stored once in Ray's object store
    assert isinstance(shared, RayShared)
    futures = [executor.submit(objectives.length_of, shared) for _ in range(3)]
    assert [future.result(PATIENCE) for future in futures] == [300_000] * 3
    executor.close()
    assert ray.is_initialized()  # Ray was running before: it is left running
    assert executor.submit(pow, 3, 2).result(PATIENCE) == 9  # runs again after close
    executor.cancel()
    assert executor.submit(pow, 2, 3).result(PATIENCE) == 8  # and after cancel


def test_bad_arguments_are_refused_with_the_template() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"address": ""}, r"RayExecutor\(address=...\): expected None .* got ''"),
        ({"n_workers": 0}, r"RayExecutor\(n_workers=...\): expected an int >= 1 or None, got 0"),
        ({"num_cpus": 0}, r"RayExecutor\(num_cpus=...\): expected a finite number > 0"),
        ({"num_cpus": 1.5}, r"num_cpus=...\): expected a fraction of 1 .* or a whole number"),
        ({"num_gpus": -1}, r"RayExecutor\(num_gpus=...\): expected a finite number >= 0"),
        ({"init_kwargs": {"address": "auto"}}, r"init_kwargs=...\): expected no 'address'"),
    ]
    for kwargs, message in cases:
        with pytest.raises(InvalidArgumentError, match=message):
            RayExecutor(**kwargs)


@pytest.mark.usefixtures("local_ray")
def test_trials_that_fit_on_no_node_are_refused_unless_n_workers_is_given() -> None:
    one_node = r"expected what one node .* \(4 CPUs and 0 GPUs in all\)"
    with pytest.raises(InvalidArgumentError, match=r"RayExecutor\(num_cpus=...\): " + one_node):
        RayExecutor(num_cpus=8)
    with pytest.raises(InvalidArgumentError, match=r"RayExecutor\(num_gpus=...\): " + one_node):
        RayExecutor(num_gpus=1)
    assert RayExecutor(num_cpus=8, n_workers=1).n_workers == 1  # a cluster that will grow


def test_without_ray_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails
    with pytest.raises(MissingDependencyError, match=r"RayExecutor needs ray.*hyperscout\[ray\]"):
        RayExecutor()


@pytest.mark.usefixtures("local_ray")
def test_max_trials_is_exact_with_four_trials_at_once(tmp_path: Path) -> None:
    tuner = hs.RandomSearch(
        objectives.meets,
        objective="loss",
        max_trials=12,
        executor=RayExecutor(),  # 4 at once: the instance's CPUs
        **common(tmp_path),
    )
    (tmp_path / "pids").mkdir()
    tuner.search(str(tmp_path / "pids"))
    trials = tuner.trials
    assert len(trials) == 12
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert sorted(t.slot for t in trials) == list(range(12))
    assert all(t.metrics["met"] == 1.0 for t in trials)  # trials ran in two processes at once
    pids = {int(t.metrics["pid"]) for t in trials}
    assert os.getpid() not in pids
    assert 2 <= len(pids) <= 4, pids
    assert ray.is_initialized()  # the search's end leaves the module's instance running


@pytest.mark.usefixtures("local_ray")
def test_asha_promotes_while_trials_run(tmp_path: Path) -> None:
    tuner = hs.Tuner(
        objectives.curve,
        objective="loss",
        scheduler=hs.ASHAScheduler(1, 9, factor=3),
        max_trials=24,
        executor=RayExecutor(n_workers=4, num_cpus=0.5),
        **common(tmp_path),
    )
    tuner.search()
    trials = tuner.trials
    assert len(trials) == 24
    assert all(t.is_finished for t in trials)
    promoted = [t for t in trials if t.promoted_from is not None]
    assert promoted, "nothing was promoted"
    assert all((t.budget or 0) > 1 for t in promoted)
    # Asynchronous: trials of the first rung still started after the first promotion.
    first_promotion = min(t.started_at or 0.0 for t in promoted)
    assert any(t.budget == 1 and (t.started_at or 0.0) > first_promotion for t in trials)
    # The workers' reports reached storage: each trial has its curve.
    assert all(t.intermediate for t in trials)


@pytest.mark.usefixtures("local_ray")
def test_a_grid_runs_each_point_once(tmp_path: Path) -> None:
    tuner = hs.GridSearch(
        objectives.grid, executor=RayExecutor(n_workers=4, num_cpus=0.5), **common(tmp_path)
    )
    tuner.search()
    trials = tuner.trials
    assert all(t.state is TrialState.COMPLETE for t in trials)
    points = collections.Counter((t.values["a"], t.values["b"]) for t in trials)
    assert len(points) == 30
    assert set(points.values()) == {1}
    assert tuner.get_best_hyperparameters()[0].values == {"a": 1, "b": 5}


@pytest.mark.usefixtures("local_ray")
def test_a_failing_objective_is_recorded_failed_with_its_traceback(tmp_path: Path) -> None:
    tuner = hs.RandomSearch(
        objectives.broken,
        max_trials=2,
        max_consecutive_failed_trials=3,
        executor=RayExecutor(),
        **common(tmp_path),
    )
    with pytest.raises(hs.TooManyFailedTrialsError):
        tuner.search()
    trials = tuner.trials
    assert trials and all(t.state is TrialState.FAILED for t in trials)
    for t in trials:
        assert "ValueError: the objective broke on purpose" in (t.error or "")
        assert "Traceback" in (t.error or "") and "ray_objectives.py" in (t.error or "")


@pytest.mark.usefixtures("local_ray")
def test_a_usage_error_in_a_worker_stops_the_search(tmp_path: Path) -> None:
    tuner = hs.RandomSearch(
        objectives.no_objective,
        objective="loss",
        max_trials=4,
        executor=RayExecutor(),
        **common(tmp_path),
    )
    with pytest.raises(hs.UsageError, match="loss"):
        tuner.search()
    assert not any(t.state is TrialState.COMPLETE for t in tuner.trials)


@pytest.mark.usefixtures("local_ray")
def test_memory_storage_and_unpicklable_objectives_are_refused_before_any_trial(
    tmp_path: Path,
) -> None:
    tuner = hs.RandomSearch(
        objectives.grid,
        max_trials=2,
        storage="memory",
        seed=0,
        verbose=0,
        executor=RayExecutor(),
    )
    with pytest.raises(
        InvalidArgumentError, match=r"executor=RayExecutor\(.*lives in this process only.*SQLite"
    ):
        tuner.search()
    assert tuner.trials == []
    tuner = hs.RandomSearch(
        lambda hp: hp.Float("x", 0.0, 1.0),
        max_trials=2,
        executor=RayExecutor(),
        **common(tmp_path),
    )
    with pytest.raises(
        InvalidArgumentError, match=r"the objective \(hypermodel\) cannot be pickled"
    ):
        tuner.search()
    assert tuner.trials == []


# Last: the tests that end Ray worker processes (new ones take a second or two to start).
@pytest.mark.usefixtures("local_ray")
def test_a_killed_worker_process_has_its_trial_run_again_as_a_retry(tmp_path: Path) -> None:
    folder = tmp_path / "kill"
    folder.mkdir()
    killed: list[tuple[int, float]] = []

    def kill_the_first_trial() -> None:  # SIGKILL the Ray worker process running it
        deadline = time.monotonic() + PATIENCE
        while not (folder / "pid").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        pid, x = (folder / "pid").read_text().split()
        killed.append((int(pid), float(x)))
        os.kill(int(pid), signal.SIGKILL)

    killer = threading.Thread(target=kill_the_first_trial, daemon=True)
    killer.start()
    tuner = hs.RandomSearch(
        objectives.hangs_once,
        max_trials=6,
        executor=RayExecutor(),
        **common(tmp_path),
    )
    tuner.search(str(folder))
    killer.join(PATIENCE)
    assert killed, "the first trial never ran"
    ((pid, x),) = killed
    assert pid != os.getpid()
    trials = tuner.trials
    lost = [t for t in trials if t.state is TrialState.FAILED]
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert len(lost) == 1
    assert "Ray worker" in (lost[0].error or "") and "WorkerCrashedError" in (lost[0].error or "")
    retry = [t for t in complete if t.retry_of == lost[0].number]
    assert len(retry) == 1
    assert retry[0].values["x"] == x  # the configuration the killed run had drawn
    assert retry[0].slot == lost[0].slot
    # Nothing lost, nothing run twice: six finished trials, one per slot.
    assert sorted(t.slot for t in complete) == list(range(6))


@pytest.mark.usefixtures("local_ray")
def test_trials_running_at_the_search_timeout_are_given_up_and_their_tasks_cancelled(
    tmp_path: Path,
) -> None:
    executor = RayExecutor(n_workers=2)
    tuner = hs.RandomSearch(
        objectives.sleeps, max_trials=4, timeout=1.5, executor=executor, **common(tmp_path)
    )
    tuner.search(str(tmp_path))
    trials = tuner.trials
    assert len(trials) == 2 and all(t.state is TrialState.FAILED for t in trials)
    assert all("runs again when the search resumes" in (t.error or "") for t in trials)
    assert executor._running == {}
    # Their tasks were cancelled: the worker processes that ran them end (not in 30 s).
    pids = [int(p.name) for p in tmp_path.iterdir() if p.name.isdigit()]
    assert len(pids) == 2
    assert _ended(pids)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _pids_in(folder: Path, count: int) -> list[int]:
    """The process ids the calls leave in ``folder``, once ``count`` are there."""
    deadline = time.monotonic() + PATIENCE
    while len(list(folder.iterdir())) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return [int(p.name) for p in folder.iterdir()]


def _ended(pids: list[int]) -> bool:
    """True once none of ``pids`` runs (waits up to PATIENCE)."""
    deadline = time.monotonic() + PATIENCE
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(_alive(pid) for pid in pids)


@pytest.mark.usefixtures("local_ray")
def test_give_up_cancels_that_task_only_and_cancel_the_running_ones(tmp_path: Path) -> None:
    executor = RayExecutor()
    (tmp_path / "late").mkdir()
    late = executor.submit(objectives.pid_then_sleep, str(tmp_path / "late"), 60.0)
    other = executor.submit(objectives.sleep_and_pid, 1.0)
    late_pids = _pids_in(tmp_path / "late", 1)
    executor.give_up(late)
    with pytest.raises(WorkerLostError, match="cancelled"):
        late.result(PATIENCE)
    assert _ended(late_pids)  # its task was cancelled, its worker process ended
    assert isinstance(other.result(PATIENCE), int)  # the other call ran on
    # cancel() (Ctrl-C) cancels every running task; the search's timeout did it for two.
    (tmp_path / "running").mkdir()
    running = executor.submit(objectives.pid_then_sleep, str(tmp_path / "running"), 60.0)
    pids = _pids_in(tmp_path / "running", 1)
    executor.cancel()
    with pytest.raises(WorkerLostError, match="cancelled"):
        running.result(PATIENCE)
    assert _ended(pids)
    executor.close()  # nothing left to wait for
