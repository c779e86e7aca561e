"""Several worker processes on one study, as users run them: real processes, one storage.

Each worker is ``tests/worker_process.py``, the same tuner call in every process. The study
must end with exactly ``max_trials`` finished trials (the whole grid, once), no configuration
run twice at the same budget, every worker running trials (also one that joins late), and a
killed worker's trial run again by the others. SQLite always; PostgreSQL where the server is
reachable (and always in CI).
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import hyperscout as hs
from hyperscout.storage import Storage, open_storage
from hyperscout.trial import Trial, TrialState

SCRIPT = Path(__file__).with_name("worker_process.py")
POSTGRES_URL = os.environ.get(
    "HYPERSCOUT_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_or_skip() -> str:
    reason = None
    try:
        storage = open_storage(POSTGRES_URL)
        storage.close()
    except Exception as exc:  # unreachable server, or psycopg missing
        reason = f"PostgreSQL at {POSTGRES_URL} is not usable: {exc}"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true, so PostgreSQL tests must run)")
        pytest.skip(reason)
    return POSTGRES_URL


def url_for(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return _postgres_or_skip()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return url_for(str(request.param), tmp_path)


def start_worker(
    strategy: str,
    url: str,
    project: str,
    *,
    max_trials: int | None,
    sleep: float,
    together: Path | None = None,
) -> subprocess.Popen[str]:
    command = [sys.executable, str(SCRIPT), strategy, url, project, "--sleep", str(sleep)]
    if max_trials is not None:
        command += ["--max-trials", str(max_trials)]
    if together is not None:
        command += ["--start-together", str(together)]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=SCRIPT.parent
    )


def finish(worker: subprocess.Popen[str], timeout: float = 240.0) -> dict[str, int]:
    out, err = worker.communicate(timeout=timeout)
    assert worker.returncode == 0, f"worker exited {worker.returncode}:\n{err}"
    return dict(json.loads(out.strip().splitlines()[-1]))


def run_workers(
    strategy: str,
    url: str,
    project: str,
    n: int,
    *,
    max_trials: int | None = None,
    sleep: float = 0.0,
) -> list[dict[str, int]]:
    together = Path(tempfile.mkdtemp(prefix="hyperscout-start-"))
    workers = [
        start_worker(strategy, url, project, max_trials=max_trials, sleep=sleep, together=together)
        for _ in range(n)
    ]
    try:
        # Every worker's search starts at once, however long each took to start up.
        deadline = time.monotonic() + 180.0
        while len(list(together.glob("*.ready"))) < n:
            exited = [w for w in workers if w.poll() is not None]
            assert not exited, f"a worker exited before its search: {finish(exited[0])}"
            assert time.monotonic() < deadline, "the workers did not start within 180 s"
            time.sleep(0.05)
        (together / "go").touch()
        return [finish(w) for w in workers]
    finally:
        stop(workers)
        shutil.rmtree(together, ignore_errors=True)


def stop(workers: list[subprocess.Popen[str]]) -> None:
    """Kill the workers still running after a failed test, and close their pipes."""
    for w in workers:
        if w.poll() is None:
            w.kill()
        if w.stdout is not None and not w.stdout.closed:
            w.communicate()


def study_trials(url: str, project: str) -> list[Trial]:
    storage: Storage = open_storage(url)
    try:
        return storage.trials(storage.load_study(project).id)
    finally:
        storage.close()


def assert_no_repeat(trials: list[Trial]) -> None:
    """No configuration was run twice at the same budget (reruns of a failure aside)."""
    runs = collections.Counter(
        (t.key, t.budget) for t in trials if t.state is not TrialState.FAILED
    )
    repeated = {run: count for run, count in runs.items() if count > 1}
    assert not repeated, f"configurations run more than once: {repeated}"


def in_one_process(strategy: str, max_trials: int | None) -> list[Trial]:
    """The same search run by one process on memory storage: the reference."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import worker_process
    finally:
        sys.path.remove(str(SCRIPT.parent))
    with worker_process.make_tuner(strategy, "memory", "one", max_trials, 0.0) as tuner:
        tuner.search()
        return tuner.trials


# -- every strategy, 3 workers -----------------------------------------------------------------

FIFO_STRATEGIES = [("grid", None, 40), ("random", 24, 24), ("gp", 16, 16), ("tpe", 24, 24)]


@pytest.mark.slow
@pytest.mark.parametrize(("strategy", "max_trials", "expected"), FIFO_STRATEGIES)
def test_three_workers_finish_exactly_max_trials_without_repeats(
    storage_url: str, project: str, strategy: str, max_trials: int | None, expected: int
) -> None:
    reports = run_workers(strategy, storage_url, project, 3, max_trials=max_trials, sleep=0.5)
    trials = study_trials(storage_url, project)
    assert len(trials) == expected
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert len({t.key for t in trials}) == expected
    assert sum(r["finished"] for r in reports) == expected
    assert all(r["finished"] >= 1 for r in reports), reports


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["hyperband", "bohb"])
def test_three_workers_run_the_brackets_of_one_process(
    storage_url: str, project: str, strategy: str
) -> None:
    reports = run_workers(strategy, storage_url, project, 3, sleep=0.4)
    trials = study_trials(storage_url, project)
    reference = in_one_process(strategy, None)
    # The brackets fix how many trials run at each budget, whoever runs them.
    assert collections.Counter(t.budget for t in trials) == collections.Counter(
        t.budget for t in reference
    )
    assert all(t.is_finished and t.state is not TrialState.FAILED for t in trials)
    assert_no_repeat(trials)
    assert all(r["finished"] >= 1 for r in reports), reports


@pytest.mark.slow
def test_three_asha_workers_stop_at_max_trials(storage_url: str, project: str) -> None:
    reports = run_workers("asha", storage_url, project, 3, max_trials=20, sleep=0.4)
    trials = study_trials(storage_url, project)
    assert len(trials) == 20
    assert all(t.is_finished and t.state is not TrialState.FAILED for t in trials)
    assert_no_repeat(trials)
    assert all(r["finished"] >= 1 for r in reports), reports


# -- 8 workers, short trials -----------------------------------------------------------------

EIGHT = [
    ("grid", None),
    ("random", 120),
    ("gp", 24),
    ("tpe", 60),
    ("hyperband", None),
    ("bohb", None),
    ("asha", 40),
]


# Every strategy on SQLite; three of them on PostgreSQL too (CI time).
EIGHT_CASES = [pytest.param("sqlite", *case, id=f"sqlite-{case[0]}") for case in EIGHT] + [
    pytest.param("postgres", *case, id=f"postgres-{case[0]}", marks=pytest.mark.postgres)
    for case in EIGHT
    if case[0] in ("grid", "random", "hyperband")
]


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "strategy", "max_trials"), EIGHT_CASES)
def test_eight_workers_of_short_trials(
    backend: str, tmp_path: Path, project: str, strategy: str, max_trials: int | None
) -> None:
    storage_url = url_for(backend, tmp_path)
    run_workers(strategy, storage_url, project, 8, max_trials=max_trials, sleep=0.005)
    trials = study_trials(storage_url, project)
    assert all(t.state is TrialState.COMPLETE or t.state is TrialState.PRUNED for t in trials)
    assert_no_repeat(trials)
    if strategy in ("hyperband", "bohb"):
        reference = in_one_process(strategy, None)
        assert collections.Counter(t.budget for t in trials) == collections.Counter(
            t.budget for t in reference
        )
    else:
        assert len(trials) == (40 if strategy == "grid" else max_trials)


# -- joining, dying ----------------------------------------------------------------------------


def wait_until(condition: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def _running(url: str, project: str) -> list[Trial]:
    try:
        return [t for t in study_trials(url, project) if t.state is TrialState.RUNNING]
    except Exception:  # the first worker has not created the study yet
        return []


@pytest.mark.slow
def test_a_worker_joining_while_the_first_trial_runs_runs_trials(tmp_path: Path) -> None:
    """Issue 11, item 1: the joining worker used to return at once, having run nothing."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    first = start_worker("random", url, "p", max_trials=6, sleep=1.5)
    try:
        # Join while the define-by-run study's first trial runs: its space is still empty.
        wait_until(lambda: _running(url, "p"))
        assert not study_trials(url, "p")[0].values
        second = start_worker("random", url, "p", max_trials=6, sleep=1.5)
        try:
            reports = [finish(first), finish(second)]
        finally:
            stop([second])
    finally:
        stop([first])
    trials = study_trials(url, "p")
    assert len(trials) == 6 and all(t.state is TrialState.COMPLETE for t in trials)
    assert reports[1]["finished"] >= 2, reports
    assert len({t.key for t in trials}) == 6


@pytest.mark.slow
def test_a_killed_workers_grid_point_is_run_by_the_others(tmp_path: Path) -> None:
    """Issue 11, item 2b: the survivors used to exit with one grid point left RUNNING."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    workers = [start_worker("grid", url, "p", max_trials=None, sleep=0.3) for _ in range(3)]
    victim = workers[0]
    try:

        def victim_runs_a_trial() -> bool:
            running = _running(url, "p")
            return any(t.attrs["worker"]["pid"] == victim.pid for t in running) and (
                sum(t.state is TrialState.COMPLETE for t in study_trials(url, "p")) >= 3
            )

        wait_until(victim_runs_a_trial)
        victim.send_signal(signal.SIGKILL)
        victim.communicate()
        reports = [finish(w) for w in workers[1:]]
    finally:
        stop(workers)
    trials = study_trials(url, "p")
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert len(complete) == 40 and len({t.key for t in complete}) == 40
    failed = [t for t in trials if t.state is TrialState.FAILED]
    assert len(failed) == 1 and failed[0].attrs["worker"]["pid"] == victim.pid
    assert "stopped before the trial finished" in (failed[0].error or "")
    rerun = [t for t in complete if t.attrs.get("retry_of") == failed[0].number]
    assert len(rerun) == 1 and rerun[0].values == failed[0].values
    assert not [t for t in trials if t.state is TrialState.RUNNING]
    assert sum(r["finished"] for r in reports) >= 37


def test_a_trial_of_a_silent_worker_elsewhere_is_reclaimed_after_its_lease() -> None:
    """A random search ends only after a dead worker's trial (another machine) ran again."""
    storage = open_storage("memory")
    study = storage.create_study("p")
    ghost = storage.create_trial(
        study.id,
        values={"x": 0.5},
        attrs={"worker": {"host": "elsewhere", "pid": 1, "lease": 0.3}, "slot": 0},
        claim="slot/0",
    )
    seen: list[float] = []

    def objective(hp: hs.HyperParameters) -> float:
        x = hp.Float("x", 0.0, 1.0)
        seen.append(x)
        return x

    tuner = hs.RandomSearch(
        objective, max_trials=3, storage=storage, project_name="p", seed=0, verbose=0
    )
    tuner.poll_interval = 0.05
    tuner.search()
    trials = tuner.trials
    assert trials[ghost.number].state is TrialState.FAILED
    assert "stopped sending heartbeats" in (trials[ghost.number].error or "")
    assert [t.state for t in trials].count(TrialState.COMPLETE) == 3
    assert 0.5 in seen  # the dead worker's configuration ran again, here


# -- ask and tell ------------------------------------------------------------------------------


def test_a_second_ask_before_tell_on_a_new_define_by_run_study() -> None:
    """Issue 11, item 1: used to raise SearchFinished ("every configuration ... tried")."""
    tuner = hs.RandomSearch(max_trials=None, storage="memory", seed=3, verbose=0)
    hp1, trial1 = tuner.ask()
    hp2, trial2 = tuner.ask()
    x1, x2 = hp1.Float("x", 0.0, 1.0), hp2.Float("x", 0.0, 1.0)
    assert x1 != x2
    tuner.tell(trial1, x1)
    tuner.tell(trial2, x2)
    assert [t.state for t in tuner.trials] == [TrialState.COMPLETE] * 2


def test_ask_respects_max_trials() -> None:
    tuner = hs.RandomSearch(max_trials=2, storage="memory", seed=3, verbose=0)
    asked = [tuner.ask() for _ in range(2)]
    with pytest.raises(hs.SearchFinished, match="max_trials=2"):
        tuner.ask()
    for hp, trial in asked:
        tuner.tell(trial, hp.Float("x", 0.0, 1.0))
    with pytest.raises(hs.SearchFinished, match="max_trials=2"):
        tuner.ask()
    assert len(tuner.trials) == 2


def test_ask_in_two_tuners_on_one_study_never_exceeds_max_trials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    one = hs.RandomSearch(max_trials=3, storage=url, project_name="p", seed=3, verbose=0)
    two = hs.RandomSearch(max_trials=3, storage=url, project_name="p", seed=3, verbose=0)
    asked = [one.ask(), two.ask(), one.ask()]
    with pytest.raises(hs.SearchFinished):
        two.ask()
    values = [hp.Float("x", 0.0, 1.0) for hp, _ in asked]
    assert len(set(values)) == 3
    one.close()
    two.close()


# -- reproducible ------------------------------------------------------------------------------


def _space() -> hs.HyperParameters:
    hp = hs.HyperParameters()
    hp.Float("x", -5.0, 5.0)
    hp.Int("n", 1, 50)
    return hp


@pytest.mark.parametrize("sampler", ["random", "tpe", "gp"])
def test_a_resumed_search_proposes_what_an_uninterrupted_one_did(
    tmp_path: Path, sampler: str
) -> None:
    """Issue 11, item 3: a search killed mid-trial and resumed draws as one that never stopped."""

    def make(project: str, objective: object) -> hs.Tuner:
        common = {"max_trials": 12, "seed": 7, "verbose": 0, "objective": "loss"}
        if sampler == "random":
            return hs.RandomSearch(objective, directory=tmp_path, project_name=project, **common)
        return hs.BayesianOptimization(
            objective,
            directory=tmp_path,
            project_name=project,
            sampler=sampler,
            num_initial_points=4,
            **common,
        )

    def objective(hp: hs.HyperParameters) -> float:
        return (hp.Float("x", -5.0, 5.0) - 1.0) ** 2 + abs(hp.Int("n", 1, 50) - 20) / 10

    with make("whole", objective) as tuner:
        tuner.search()
        whole = [t.values for t in tuner.trials]

    calls = []

    def interrupted(hp: hs.HyperParameters) -> float:
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return objective(hp)

    with make("resumed", interrupted) as tuner, pytest.raises(KeyboardInterrupt):
        tuner.search()
    with make("resumed", objective) as tuner:
        tuner.search()
        trials = tuner.trials
    resumed = [t.values for t in trials if t.state is TrialState.COMPLETE]
    assert len(trials) == 13  # the interrupted trial, given up, and its rerun
    assert resumed == whole


@pytest.mark.slow
def test_random_search_on_three_workers_proposes_the_one_process_configurations(
    tmp_path: Path,
) -> None:
    """Proposal k depends on the seed and k, never on the process that drew it."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    # The study knows its space before the workers start, so no worker proposes blind.
    hs.RandomSearch(
        storage=url,
        project_name="random",
        seed=5,
        objective="loss",
        hyperparameters=_space(),
        verbose=0,
    ).close()
    run_workers("random", url, "random", 3, max_trials=24, sleep=0.05)
    together = {t.key for t in study_trials(url, "random")}
    with hs.RandomSearch(
        lambda hp: hp.Float("x", -5.0, 5.0) + hp.Int("n", 1, 50),
        max_trials=24,
        storage="memory",
        seed=5,
        hyperparameters=_space(),
        verbose=0,
    ) as alone:
        alone.search()
        assert {t.key for t in alone.trials} == together
