"""``hyperscout worker``: real processes joining one study, as users start them.

Three ``python -m hyperscout worker`` processes (one given the strategy, two taking it from the
study) run a study to exactly ``max_trials`` with no configuration repeated, each running
trials; a worker started after the end exits 0 saying so; an option that contradicts the study
is refused. SQLite always; PostgreSQL where the server is reachable (and always in CI).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hyperscout.cli import main
from hyperscout.trial import TrialState
from test_workers import _postgres_or_skip, study_trials

OBJECTIVE = """
import time


def objective(hp):
    x = hp.Float("x", -5.0, 5.0)
    n = hp.Int("n", 1, 50)
    time.sleep(0.3)
    return (x - 1.0) ** 2 + abs(n - 20) / 10.0
"""

MAX_TRIALS = 15
# Wide lines: the closing sentence is matched whole.
ENV = {**os.environ, "COLUMNS": "400"}


@pytest.fixture
def target(tmp_path: Path) -> str:
    path = tmp_path / "train.py"
    path.write_text(OBJECTIVE)
    return f"{path}:objective"


def start(target: str, url: str, project: str, *options: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "hyperscout", "worker", target, "--storage", url]
    command += ["--project-name", project, "--verbose", "0", *options]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV
    )


def finish(worker: subprocess.Popen[str], timeout: float = 120.0) -> tuple[int, str, str]:
    try:
        out, err = worker.communicate(timeout=timeout)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    return worker.returncode, out, err


def run_study(target: str, url: str, project: str) -> list[tuple[int, str, str]]:
    strategy = ("--strategy", "random", "--max-trials", str(MAX_TRIALS), "--seed", "3")
    workers = [start(target, url, project, *strategy)]
    workers += [start(target, url, project) for _ in range(2)]
    return [finish(w) for w in workers]


def check_study(url: str, project: str, results: list[tuple[int, str, str]]) -> None:
    for code, out, err in results:
        assert code == 0, err
        assert "The study is done" in out, out
    trials = study_trials(url, project)
    assert len(trials) == MAX_TRIALS
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert len({t.key for t in trials}) == MAX_TRIALS
    pids = {t.attrs["worker"]["pid"] for t in trials}
    assert len(pids) == 3, f"each worker should run trials; trials ran in {pids}"


@pytest.mark.slow
def test_three_workers_on_sqlite_run_the_study_once(
    target: str, tmp_path: Path, project: str
) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    results = run_study(target, url, project)
    check_study(url, project, results)
    code, out, err = finish(start(target, url, project))
    assert code == 0, err
    assert f"The study is done ({MAX_TRIALS} trials); this worker ran none." in out
    assert len(study_trials(url, project)) == MAX_TRIALS


@pytest.mark.slow
@pytest.mark.postgres
def test_three_workers_on_postgres_run_the_study_once(target: str, project: str) -> None:
    url = _postgres_or_skip()
    check_study(url, project, run_study(target, url, project))


@pytest.mark.slow
def test_a_worker_refuses_options_that_contradict_the_study(target: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    code, _, err = finish(start(target, url, "p", "--max-trials", "2", "--strategy", "random"))
    assert code == 0, err
    code, _, err = finish(start(target, url, "p", "--max-trials", "5"))
    assert code == 2
    assert "was made with --max-trials 2, not --max-trials 5" in err
    code, _, err = finish(start(target, url, "p", "--strategy", "grid"))
    assert code == 1
    assert "was made by RandomSearch" in err
    assert len(study_trials(url, "p")) == 2


def test_a_worker_without_a_strategy_waits_for_the_study_then_says_how_to_make_it(
    target: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    code, _, err = finish(start(target, url, "p", "--wait", "0.5"))
    assert code == 2
    assert "No study 'p' to join. Make it first with hyperscout run" in err


def test_run_with_storage_makes_a_study_that_a_worker_joins(target: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    command = [sys.executable, "-m", "hyperscout", "run", target, "--storage", url]
    made = subprocess.run(
        [*command, "--project-name", "p", "--max-trials", "2", "--seed", "1", "--verbose", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )
    assert made.returncode == 0, made.stderr
    assert f"The study is saved in {url} (study 'p') (2 trials)." in made.stdout
    code, out, err = finish(start(target, url, "p"))
    assert code == 0, err
    assert "The study is done (2 trials); this worker ran none." in out


def test_a_worker_joins_a_project_folder_study_made_by_run(target: str, tmp_path: Path) -> None:
    """Without --storage, --directory places the study as hyperscout run does."""
    runner = CliRunner()
    where = ["--directory", str(tmp_path), "--project-name", "p", "--verbose", "0"]
    made = runner.invoke(main, ["run", target, "--max-trials", "2", "--seed", "1", *where])
    assert made.exit_code == 0, made.output
    joined = runner.invoke(main, ["worker", target, *where], env={"COLUMNS": "400"})
    assert joined.exit_code == 0, joined.output
    assert "The study is done (2 trials); this worker ran none." in joined.output
    assert str(tmp_path / "p" / "hyperscout.db") in joined.output


def test_a_worker_that_times_out_says_the_study_goes_on(target: str, tmp_path: Path) -> None:
    where = ["--directory", str(tmp_path), "--project-name", "p", "--verbose", "0"]
    result = CliRunner().invoke(
        main,
        [
            "worker",
            target,
            "--strategy",
            "random",
            "--max-trials",
            "50",
            "--timeout",
            "0.5",
            *where,
        ],
        env={"COLUMNS": "400"},
    )
    assert result.exit_code == 0, result.output
    assert "This worker's --timeout passed: it ran" in result.output
    assert "the study" in result.output and "goes on with its other workers" in result.output
