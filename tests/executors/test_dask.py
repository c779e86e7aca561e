"""DaskExecutor: trials as Dask tasks on a distributed.LocalCluster, one storage (SQLite file).

Two clusters serve the module: one of threads in this process (cheap; the trials still go
through the worker path: pickled, storage opened from its URL) and one of two worker
processes, for the tests that need processes (a killed worker, a scheduler's address). The
objectives live in tests/executors/process_objectives.py, which the workers import.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hyperscout as hs
from hyperscout.exceptions import InvalidArgumentError, MissingDependencyError
from hyperscout.executors import DaskExecutor, Executor
from hyperscout.storage import sqlite_url
from hyperscout.testing.executors import ExecutorConformance
from hyperscout.trial import TrialState

from . import process_objectives as objectives

if os.environ.get("CI") == "true":  # CI installs the extra: never skip there
    import distributed
else:
    distributed = pytest.importorskip("distributed", reason="needs pip install 'hyperscout[dask]'")

PATIENCE = 10.0


def common(tmp_path: Path) -> dict[str, Any]:
    return {
        "storage": sqlite_url(tmp_path / "study.db"),
        "project_name": "p",
        "seed": 3,
        "verbose": 0,
    }


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """Two workers of one thread each, in this process."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def process_cluster() -> Iterator[Any]:
    """Two worker processes of one thread each (a killed one is started again by Dask)."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        yield cluster


def our_tasks(client: Any) -> list[str]:
    """The keys of hyperscout's tasks the scheduler still holds."""

    def keys(dask_scheduler: Any) -> list[str]:
        return [str(k) for k in dask_scheduler.tasks if str(k).startswith("hyperscout-")]

    return list(client.run_on_scheduler(keys))


def wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"waited {PATIENCE} s for {what}"
        time.sleep(0.01)


# -- the executor ----------------------------------------------------------------------------
class TestDaskExecutorOnAClient(ExecutorConformance):
    in_process = False  # calls are pickled to the workers: no counters shared with them

    @pytest.fixture(autouse=True)
    def _client(self, client: Any) -> None:
        self.client = client

    def make_executor(self) -> Executor:
        return DaskExecutor(self.client)


class TestDaskExecutorOfItsOwn(ExecutorConformance):
    in_process = False

    def make_executor(self) -> Executor:
        return DaskExecutor(n_workers=2, processes=False, dashboard_address=":0")


class TestDaskExecutorOnAnAddress(ExecutorConformance):
    in_process = False

    @pytest.fixture(autouse=True)
    def _cluster(self, process_cluster: Any) -> None:
        self.address = process_cluster.scheduler_address

    def make_executor(self) -> Executor:
        return DaskExecutor(self.address)


def test_n_workers_is_the_clusters_threads_or_the_cap(client: Any) -> None:
    assert DaskExecutor(client).n_workers == 2
    assert DaskExecutor(client, n_workers=1).n_workers == 1
    assert DaskExecutor(client, n_workers=8).n_workers == 2  # a cap, not more tasks
    assert DaskExecutor(n_workers=3).n_workers == 3  # its own cluster, made at the first call
    assert DaskExecutor().n_workers == (os.cpu_count() or 1)


def test_bad_arguments_are_refused_with_the_template(client: Any) -> None:
    with pytest.raises(
        InvalidArgumentError,
        match=r"DaskExecutor\(n_workers=...\): expected an int >= 1 or None, got 0",
    ):
        DaskExecutor(client, n_workers=0)
    with pytest.raises(
        InvalidArgumentError,
        match=r"DaskExecutor\(client_or_address=...\): expected a distributed.Client, a "
        r"scheduler address.*got 8786",
    ):
        DaskExecutor(8786)
    with pytest.raises(InvalidArgumentError, match=r"DaskExecutor\(processes=...\).*None"):
        DaskExecutor(client, processes=False)


def test_an_unreachable_address_is_refused_when_made() -> None:
    import dask

    with (
        dask.config.set({"distributed.comm.timeouts.connect": "0.5s"}),
        pytest.raises(
            InvalidArgumentError,
            match=r"client_or_address=...\): expected the address of a running Dask "
            r"scheduler .*got 'tcp://127.0.0.1:9'",
        ),
    ):
        DaskExecutor("tcp://127.0.0.1:9")


def test_without_dask_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'hyperscout\[dask\]'"):
        DaskExecutor()


def test_each_call_is_one_task_with_a_key_of_its_own(client: Any) -> None:
    executor = DaskExecutor(client)
    futures = [executor.submit(pow, 3, 2) for _ in range(4)]  # the same call, four tasks
    assert [f.result(timeout=PATIENCE) for f in futures] == [9, 9, 9, 9]
    executor.close()
    wait_until(lambda: not our_tasks(client), "the scheduler to forget the tasks")


def test_cancel_cancels_the_tasks_and_give_up_one_task(client: Any) -> None:
    executor = DaskExecutor(client)
    running = [executor.submit(time.sleep, 0.5) for _ in range(2)]  # both workers busy
    waiting = [executor.submit(pow, 2, k) for k in range(3)]  # queued behind them
    executor.give_up(waiting[0])
    assert waiting[0].cancelled()
    assert all(not f.done() for f in waiting[1:])
    executor.cancel()
    assert all(f.cancelled() for f in running + waiting)
    wait_until(lambda: not our_tasks(client), "the scheduler to drop the cancelled tasks")
    assert executor.submit(pow, 2, 3).result(timeout=PATIENCE) == 8  # and runs again
    executor.close()


# -- searches on a cluster of threads ----------------------------------------------------------
def test_asha_promotes_while_other_trials_run(client: Any, tmp_path: Path) -> None:
    tuner = hs.Tuner(
        objectives.curve,
        objective="loss",
        scheduler=hs.ASHAScheduler(1, 9, factor=3),
        max_trials=24,
        executor=DaskExecutor(client),
        **common(tmp_path),
    )
    tuner.search()
    trials = tuner.trials
    assert len(trials) == 24 and all(t.state is TrialState.COMPLETE for t in trials)
    promoted = [t for t in trials if t.promoted_from is not None]
    assert promoted, "nothing was promoted"
    assert all((t.budget or 0) > 1 for t in promoted)

    def overlaps(a: Any, b: Any) -> bool:
        return a.number != b.number and b.started_at < a.started_at < b.finished_at

    # Asynchronous: a promotion starts while a trial of the other worker still runs.
    assert any(overlaps(p, t) for p in promoted for t in trials)
    # The reports reached the storage from the workers, epoch by epoch.
    for t in promoted:
        steps = sorted(t.intermediate)
        assert steps == list(range(steps[0], int(t.budget or 0)))


def test_asha_stops_trials_from_the_reports_in_storage(client: Any, tmp_path: Path) -> None:
    tuner = hs.Tuner(
        objectives.curve,
        objective="loss",
        scheduler=hs.ASHAScheduler(1, 9, factor=3, mode="stopping"),
        max_trials=12,
        executor=DaskExecutor(client),
        **common(tmp_path),
    )
    tuner.search()
    trials = tuner.trials
    assert len([t for t in trials if t.is_finished]) == 12
    last_steps = [max(t.intermediate) for t in trials if t.intermediate]
    # Decided in the workers from the other trials' reports read from storage: some trials
    # stopped at a milestone, some ran every epoch.
    assert min(last_steps) < 8 and max(last_steps) == 8


def test_a_grid_runs_each_point_once_over_two_workers(client: Any, tmp_path: Path) -> None:
    tuner = hs.GridSearch(objectives.grid, executor=DaskExecutor(client), **common(tmp_path))
    tuner.search()
    trials = tuner.trials
    assert all(t.state is TrialState.COMPLETE for t in trials)
    points = collections.Counter((t.values["a"], t.values["b"]) for t in trials)
    assert len(points) == 50 and set(points.values()) == {1}
    assert tuner.get_best_hyperparameters()[0].values == {"a": 2, "b": 5}


def test_max_trials_is_exact_with_the_search_arguments(client: Any, tmp_path: Path) -> None:
    tuner = hs.RandomSearch(
        objectives.scaled, max_trials=13, executor=DaskExecutor(client), **common(tmp_path)
    )
    tuner.search(2.0, offset=10.0)
    trials = tuner.trials
    assert len(trials) == 13 and all(t.state is TrialState.COMPLETE for t in trials)
    assert sorted(t.slot for t in trials) == list(range(13))
    for t in trials:
        assert t.value == pytest.approx(2.0 * t.values["x"] ** 2 + 10.0)


def test_a_failing_objective_is_recorded_with_its_traceback(client: Any, tmp_path: Path) -> None:
    tuner = hs.RandomSearch(
        objectives.broken,
        max_trials=2,
        max_consecutive_failed_trials=3,
        executor=DaskExecutor(client),
        **common(tmp_path),
    )
    with pytest.raises(hs.TooManyFailedTrialsError):
        tuner.search()
    trials = tuner.trials
    assert trials and all(t.state is TrialState.FAILED for t in trials)
    for t in trials:
        assert "ValueError: the objective broke on purpose" in (t.error or "")
        assert "Traceback" in (t.error or "") and "process_objectives.py" in (t.error or "")


def naps(hp: hs.HyperParameters) -> float:
    """A trial longer than its trial_timeout."""
    x = hp.Float("x", -1.0, 1.0)
    time.sleep(1.0)
    return x * x


def test_a_trial_past_its_timeout_is_recorded_and_its_task_cancelled(
    client: Any, tmp_path: Path
) -> None:
    tuner = hs.RandomSearch(
        naps,
        max_trials=1,
        trial_timeout=0.2,
        max_retries_per_trial=0,
        executor=DaskExecutor(client),
        **common(tmp_path),
    )
    with pytest.raises(hs.TooManyFailedTrialsError):
        tuner.search()
    (trial,) = tuner.trials
    assert trial.state is TrialState.FAILED and "trial_timeout" in (trial.error or "")
    wait_until(lambda: not our_tasks(client), "the late trial's task to be cancelled")
    time.sleep(1.0)  # its worker ends the sleep; what it returns is dropped
    (trial,) = tuner.trials
    assert trial.state is TrialState.FAILED and "trial_timeout" in (trial.error or "")


def test_a_worker_keeps_the_runners_of_its_latest_searches_only(
    client: Any, tmp_path: Path
) -> None:
    from hyperscout.tuner import _processes

    executor = DaskExecutor(client)
    for k in range(4):  # a cluster's worker lives on, search after search
        settings = {**common(tmp_path), "project_name": f"p{k}"}
        hs.RandomSearch(objectives.grid, max_trials=2, executor=executor, **settings).search()
    # (The workers run in this process here: the runners are this module's.)
    assert len(_processes._RUNNERS) == _processes._KEPT_RUNNERS == 2
    assert set(_processes._ARGUMENTS) == set(_processes._RUNNERS)
    assert not _processes._IN_FLIGHT


def test_a_memory_storage_is_refused_with_a_sentence(client: Any) -> None:
    tuner = hs.RandomSearch(
        objectives.grid,
        max_trials=2,
        storage="memory",
        executor=DaskExecutor(client),
        seed=0,
        verbose=0,
    )
    with pytest.raises(
        InvalidArgumentError,
        match=r"executor=DaskExecutor\(Client\(.*\)\) runs trials in other processes.*"
        r"lives in this process only.*SQLite file or a PostgreSQL URL",
    ):
        tuner.search()
    assert tuner.trials == []


# -- searches on a cluster of processes ------------------------------------------------------
@pytest.mark.slow
def test_a_scheduler_address_runs_trials_in_the_worker_processes(
    process_cluster: Any, tmp_path: Path
) -> None:
    executor = DaskExecutor(process_cluster.scheduler_address)
    assert executor.n_workers == 2
    tuner = hs.RandomSearch(
        objectives.pid, objective="loss", max_trials=7, executor=executor, **common(tmp_path)
    )
    tuner.search()
    trials = tuner.trials
    assert len(trials) == 7 and all(t.state is TrialState.COMPLETE for t in trials)
    pids = {int(t.metrics["pid"]) for t in trials}
    workers = set(executor._live_client().run(os.getpid).values())
    assert os.getpid() not in pids and pids <= workers
    executor.close()
    assert executor._client is None  # the client it made is closed


@pytest.mark.slow
@pytest.mark.postgres
def test_worker_processes_share_a_postgresql_study(process_cluster: Any, project: str) -> None:
    from test_workers import _postgres_or_skip

    url = _postgres_or_skip()
    with distributed.Client(process_cluster, set_as_default=False) as client:
        tuner = hs.Tuner(
            objectives.curve,
            objective="loss",
            scheduler=hs.ASHAScheduler(1, 9, factor=3),
            max_trials=6,
            executor=DaskExecutor(client),
            storage=url,
            project_name=project,
            seed=3,
            verbose=0,
        )
        tuner.search()
    trials = tuner.trials
    assert len(trials) == 6 and all(t.state is TrialState.COMPLETE for t in trials)
    assert any(t.promoted_from is not None for t in trials)
    assert all(t.intermediate for t in trials)  # reported from the workers, to PostgreSQL


@pytest.mark.slow
def test_a_killed_worker_has_its_trial_run_again_as_a_retry(
    process_cluster: Any, tmp_path: Path
) -> None:
    space = hs.HyperParameters()
    space.Float("x", -1.0, 1.0)
    with distributed.Client(process_cluster, set_as_default=False) as client:
        tuner = hs.RandomSearch(
            objectives.dies_once,  # the first trial SIGKILLs its worker process
            max_trials=8,
            hyperparameters=space,
            executor=DaskExecutor(client),
            **common(tmp_path),
        )
        tuner.search(str(tmp_path / "died"))
    trials = tuner.trials
    (lost,) = [t for t in trials if t.state is TrialState.FAILED]
    assert lost.is_rerun and "worker" in (lost.error or "") and "lost" in (lost.error or "")
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert len(complete) == 8 == len({t.slot for t in complete})  # none lost, none twice
    (retry,) = [t for t in complete if t.retry_of is not None]
    assert retry.retry_of == lost.number and retry.slot == lost.slot
    assert retry.values == lost.values and retry.attempt == 1
    assert len(trials) == 9


def test_the_scheduler_keeps_no_marks_of_finished_tasks(client: Any) -> None:
    def marks(dask_scheduler: Any) -> set[str]:
        events = dask_scheduler.extensions["events"]._events
        return {str(k) for k in events if str(k).startswith("hyperscout-")}

    before = client.run_on_scheduler(marks)  # (a task cancelled as it started keeps its mark)
    executor = DaskExecutor(client)
    assert [executor.submit(pow, 5, k).result(timeout=PATIENCE) for k in range(3)] == [1, 5, 25]
    executor.close()
    wait_until(lambda: client.run_on_scheduler(marks) <= before, "the marks to be dropped")


def test_a_task_run_again_is_refused_with_worker_lost_error(client: Any) -> None:
    # What a worker finds when Dask runs a task again after its worker died: its mark set.
    from hyperscout.executors.dask import _run_once

    mark = f"hyperscout-test-{threading.get_ident()}-started"
    assert client.submit(_run_once, mark, pow, 2, 5, pure=False).result() == 32
    again = client.submit(_run_once, mark, pow, 2, 5, pure=False)
    with pytest.raises(hs.executors.WorkerLostError, match="was lost"):
        again.result()
    distributed.Event(mark, client=client).clear()
