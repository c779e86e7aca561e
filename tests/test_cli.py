"""The ``hyperscout`` command: run, list, show, export, errors and Ctrl-C, ``python -m``."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import hyperscout as hs
from hyperscout.cli import main
from hyperscout.report import format_value
from hyperscout.storage import StudyInfo, open_storage
from hyperscout.storage.sql import sqlite_url

# x in 0..3 and c in {1, 2}: a grid of 8. The loss (x - 2)^2 + c / 4 is smallest (0.25) at
# x=2, c=1; "score" is largest (x + c = 5) at x=3, c=2.
OBJECTIVES = """
import hyperscout as hs
from pathlib import Path

HERE = Path(__file__).parent


def loss(hp):
    x = hp.Int("x", 0, 3)
    c = hp.Choice("c", [1, 2])
    return (x - 2) ** 2 + c / 4


def metrics(hp):
    x = hp.Int("x", 0, 3)
    c = hp.Choice("c", [1, 2])
    return {"score": float(x + c), "banana": float(x + c), "val_loss": float(-x)}


def broken(hp):
    hp.Int("x", 0, 100)
    raise ValueError("the model exploded")


def interrupted(hp):
    x = hp.Int("x", 0, 3)
    if x == 2 and (HERE / "stop").exists():
        raise KeyboardInterrupt
    return float(x)


def epochs(hp, trial):
    x = hp.Float("x", 0.0, 1.0)
    for epoch in range(int(trial.budget)):
        trial.report(epoch + 1, val_loss=(x - 0.3) ** 2 + 1.0 / (epoch + 1))
    return {"val_loss": (x - 0.3) ** 2 + 1.0 / trial.budget}


not_a_function = 42
"""

GRID_SIZE = 8


@pytest.fixture
def objectives(tmp_path: Path) -> Path:
    """A folder with objectives.py (the objective file) and runs/ (where studies go)."""
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "objectives.py").write_text(textwrap.dedent(OBJECTIVES))
    return folder


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def run_grid(folder: Path, function: str, *extra: str, project: str = "p") -> Result:
    return invoke(
        "run",
        f"{folder / 'objectives.py'}:{function}",
        "--strategy",
        "grid",
        "--directory",
        folder / "runs",
        "--project-name",
        project,
        "--verbose",
        "0",
        *extra,
    )


def table_rows(output: str) -> list[list[str]]:
    """The body rows of the rich tables in ``output``, as lists of cell texts."""
    return [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in output.splitlines()
        if line.startswith("│")
    ]


@contextmanager
def study(project: Path) -> Iterator[tuple[StudyInfo, list[hs.Trial]]]:
    storage = open_storage(sqlite_url(project / "hyperscout.db"))
    try:
        info = storage.load_study(project.name)
        assert info is not None
        yield info, storage.trials(info.id)
    finally:
        storage.close()


# -- run -------------------------------------------------------------------------------------


def test_run_grid_runs_the_whole_grid_into_sqlite_and_prints_the_best(objectives: Path) -> None:
    result = run_grid(objectives, "loss")

    assert result.exit_code == 0, result.output
    with study(objectives / "runs" / "p") as (info, trials):
        assert len(trials) == GRID_SIZE
        assert {t.state for t in trials} == {hs.TrialState.COMPLETE}
        assert {(t.values["x"], t.values["c"]) for t in trials} == {
            (x, c) for x in range(4) for c in (1, 2)
        }
        assert info.meta["objective"] == {"name": "objective", "direction": "min"}
    assert "Best objective (min): 0.25" in result.output
    assert "'x': 2, 'c': 1" in result.output
    assert str(Path("runs") / "p" / "hyperscout.db") in result.output


def test_run_again_resumes_instead_of_repeating(objectives: Path) -> None:
    assert run_grid(objectives, "loss").exit_code == 0
    result = run_grid(objectives, "loss")

    assert result.exit_code == 0, result.output
    assert f"Resuming p: {GRID_SIZE} trials already in the study" in result.output
    with study(objectives / "runs" / "p") as (_, trials):
        assert len(trials) == GRID_SIZE


@pytest.mark.parametrize(("direction", "best"), [("max", 5.0), ("min", 1.0)])
def test_direction_is_honoured(objectives: Path, direction: str, best: float) -> None:
    # "banana" says nothing about its direction, so only --direction decides.
    result = run_grid(objectives, "metrics", "--objective", "banana", "--direction", direction)

    assert result.exit_code == 0, result.output
    with study(objectives / "runs" / "p") as (info, _):
        assert info.meta["objective"] == {"name": "banana", "direction": direction}
    assert f"Best banana ({direction}): {best:g}" in result.output


def test_metric_direction_is_inferred_from_its_name(objectives: Path) -> None:
    result = run_grid(objectives, "metrics", "--objective", "val_loss")

    assert result.exit_code == 0, result.output
    # val_loss = -x is minimised: x = 3.
    assert "Best val_loss (min): -3" in result.output


def test_a_metric_without_a_known_direction_asks_for_direction(objectives: Path) -> None:
    result = run_grid(objectives, "metrics", "--objective", "banana")

    assert result.exit_code == 1
    assert "cannot tell whether to minimise or maximise" in result.output
    assert "--direction" in result.output
    assert not (objectives / "runs" / "p").exists()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("objectives.py", "expected FILE.py:FUNCTION"),
        ("objectives.py:", "expected FILE.py:FUNCTION"),
        ("missing.py:loss", "'missing.py' (from 'missing.py:loss') does not exist"),
        ("objectives.py:nope", "no function named 'nope'"),
        ("objectives.py:not_a_function", "'not_a_function' as a int, not a function"),
    ],
)
def test_bad_file_function_is_a_usage_error_naming_the_problem(
    objectives: Path, monkeypatch: pytest.MonkeyPatch, target: str, message: str
) -> None:
    monkeypatch.chdir(objectives)
    result = CliRunner().invoke(main, ["run", target, "--verbose", "0"])

    assert result.exit_code == 2, result.output
    assert "FILE.py:FUNCTION" in result.output
    assert message in result.output
    assert not (objectives / "hyperscout_runs").exists()


def test_missing_function_lists_the_functions_of_the_file(objectives: Path) -> None:
    result = CliRunner().invoke(main, ["run", f"{objectives / 'objectives.py'}:los"])

    assert result.exit_code == 2
    assert "its functions: broken, epochs, interrupted, loss, metrics." in result.output


def test_a_file_that_fails_to_import_says_so(tmp_path: Path) -> None:
    (tmp_path / "oops.py").write_text("import no_such_module_here\n")
    result = CliRunner().invoke(main, ["run", f"{tmp_path / 'oops.py'}:f"])

    assert result.exit_code == 1
    assert "Loading" in result.output
    assert "No module named 'no_such_module_here'" in result.output


def test_an_objective_that_always_fails_exits_1_with_the_reason(objectives: Path) -> None:
    result = invoke(
        "run",
        f"{objectives / 'objectives.py'}:broken",
        "--directory",
        objectives / "runs",
        "--max-trials",
        "10",
        "--seed",
        "0",
        "--verbose",
        "0",
    )

    assert result.exit_code == 1
    assert "3 trials failed in a row" in result.output
    assert "ValueError: the model exploded" in result.output
    with study(objectives / "runs" / "broken") as (_, trials):
        assert [t.state for t in trials] == [hs.TrialState.FAILED] * 3


def test_ctrl_c_keeps_finished_trials_and_the_same_command_resumes(objectives: Path) -> None:
    (objectives / "stop").touch()
    result = run_grid(objectives, "interrupted")

    assert result.exit_code == 130
    assert "kept in the study" in result.output
    assert "run the same command again" in result.output
    with study(objectives / "runs" / "p") as (_, trials):
        assert [t.state for t in trials] == [
            hs.TrialState.COMPLETE,
            hs.TrialState.COMPLETE,
            hs.TrialState.FAILED,
        ]

    (objectives / "stop").unlink()
    result = run_grid(objectives, "interrupted")

    assert result.exit_code == 0, result.output
    with study(objectives / "runs" / "p") as (_, trials):
        complete = [t.values["x"] for t in trials if t.state is hs.TrialState.COMPLETE]
    assert sorted(complete) == [0, 1, 2, 3]


def test_run_leaves_sys_path_and_sys_modules_as_they_were(objectives: Path) -> None:
    path_before, modules_before = list(sys.path), set(sys.modules)
    assert run_grid(objectives, "loss").exit_code == 0
    assert sys.path == path_before
    assert "objectives" not in sys.modules
    assert not {m for m in set(sys.modules) - modules_before if "objectives" in m}


def test_float_points_is_refused_for_random_search(objectives: Path) -> None:
    result = CliRunner().invoke(
        main, ["run", f"{objectives / 'objectives.py'}:loss", "--float-points", "3"]
    )
    assert result.exit_code == 2
    assert "--float-points applies to --strategy grid only" in result.output


@pytest.mark.parametrize("strategy", ["hyperband", "bohb"])
def test_run_hyperband_and_bohb_give_trials_their_budgets(objectives: Path, strategy: str) -> None:
    args = ["run", f"{objectives / 'objectives.py'}:epochs", "--strategy", strategy]
    args += ["--max-epochs", "9", "--objective", "val_loss", "--seed", "0", "--verbose", "0"]
    result = invoke(*args, "--directory", objectives / "runs", "--project-name", strategy)
    assert result.exit_code == 0, result.output
    with study(objectives / "runs" / strategy) as (_, trials):
        # One set of Hyperband brackets for max 9, factor 3: 9+3+1, 5+1, 3 = 22 trials.
        assert len(trials) == 22
        assert sorted({t.budget for t in trials}) == [1, 3, 9]
        assert all(max(t.intermediate) == t.budget for t in trials)
        best = min(trials, key=lambda t: t.value if t.value is not None else 1e9)
    assert best.budget == 9
    assert f"Best val_loss (min): {format_value(best.value)}" in result.output


def test_run_hyperband_with_max_trials_runs_more_brackets(objectives: Path) -> None:
    result = invoke(
        "run",
        f"{objectives / 'objectives.py'}:epochs",
        "--strategy",
        "hyperband",
        "--max-epochs",
        "3",
        "--max-trials",
        "12",
        "--objective",
        "val_loss",
        "--seed",
        "1",
        "--verbose",
        "0",
        "--directory",
        objectives / "runs",
        "--project-name",
        "many",
    )
    assert result.exit_code == 0, result.output
    with study(objectives / "runs" / "many") as (_, trials):
        assert len(trials) == 12
        assert {t.attrs["iteration"] for t in trials} == {0, 1}  # 6 trials an iteration (max 3)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--strategy", "hyperband"], "--strategy hyperband needs --max-epochs"),
        (
            ["--strategy", "bayes", "--max-epochs", "9"],
            "--max-epochs applies to the budgeted strategies only (halving, hyperband, bohb, asha)",
        ),
    ],
)
def test_max_epochs_goes_with_the_budgeted_strategies(
    objectives: Path, extra: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, ["run", f"{objectives / 'objectives.py'}:epochs", *extra])
    assert result.exit_code == 2
    assert message in result.output


# -- list, show, export ----------------------------------------------------------------------


def test_list_shows_each_project_with_its_trials_and_best(objectives: Path) -> None:
    assert run_grid(objectives, "loss", project="alpha").exit_code == 0
    assert (
        run_grid(
            objectives, "metrics", "--objective", "score", "--max-trials", "3", project="beta"
        ).exit_code
        == 0
    )
    (objectives / "runs" / "not_a_project").mkdir()

    result = invoke("list", objectives / "runs")

    assert result.exit_code == 0, result.output
    # project, trials, complete, pruned, failed, running, best, objective. beta ran the
    # first 3 grid points, (0, 1), (0, 2), (1, 1): its best score is 2.
    assert table_rows(result.output) == [
        ["alpha", "8", "8", "0", "0", "0", "0.25", "objective (min)"],
        ["beta", "3", "3", "0", "0", "0", "2", "score (max)"],
    ]


def test_list_of_a_missing_directory_fails_and_creates_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["list", str(tmp_path / "nowhere")])

    assert result.exit_code == 1
    assert "does not exist" in result.output
    assert not (tmp_path / "nowhere").exists()


def test_list_of_an_empty_directory_says_there_is_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["list", str(tmp_path)])

    assert result.exit_code == 0
    assert "No projects in" in result.output


def test_show_prints_the_space_and_the_best_trials_in_order(objectives: Path) -> None:
    assert run_grid(objectives, "loss").exit_code == 0

    result = invoke("show", objectives / "runs" / "p", "--top", "3")

    assert result.exit_code == 0, result.output
    assert "Search space (2 parameters)" in result.output
    assert "Best 3 trials" in result.output
    rows = table_rows(result.output)
    assert rows[0][:3] == ["x", "int", "0 .. 3"]
    assert rows[1][:3] == ["c", "choice", "1, 2"]
    # The best three: (2, 1) 0.25, (2, 2) 0.5, then (1, 1) and (3, 1) tie at 1.25: the
    # earlier trial first. Columns: rank, trial, value, budget (full: no budgets), state, x, c.
    assert rows[2:] == [
        ["1", "4", "0.25", "full", "COMPLETE", "2", "1"],
        ["2", "5", "0.5", "full", "COMPLETE", "2", "2"],
        ["3", "2", "1.25", "full", "COMPLETE", "1", "1"],
    ]


def test_show_prints_how_each_budget_ranked_a_hyperband_study(objectives: Path) -> None:
    args = ["run", f"{objectives / 'objectives.py'}:epochs", "--strategy", "hyperband"]
    args += ["--max-epochs", "9", "--objective", "val_loss", "--seed", "0", "--verbose", "0"]
    assert invoke(*args, "--directory", objectives / "runs", "--project-name", "hb").exit_code == 0

    result = invoke("show", objectives / "runs" / "hb")

    assert result.exit_code == 0, result.output
    assert "How each budget ranked the configurations a higher one ran" in result.output
    # The objective ranks configurations alike at every budget ((x - 0.3)^2 plus a term of
    # the budget alone). Bracket 2: 9 on budget 1, 3 promoted to 3, 1 to 9; bracket 1: 5 on
    # 3, 1 promoted to 9. Budget 1 and 3 share 3 configurations, 1 and 9 one, 3 and 9 two.
    rows = [r for r in table_rows(result.output) if len(r) == 4]
    assert rows == [["1", "3", "3", "1.00"], ["1", "9", "1", "-"], ["3", "9", "2", "-"]]


def test_show_of_a_study_without_budgets_prints_no_budget_table(objectives: Path) -> None:
    assert run_grid(objectives, "loss").exit_code == 0
    result = invoke("show", objectives / "runs" / "p")
    assert result.exit_code == 0, result.output
    assert "How each budget ranked" not in result.output


@pytest.mark.parametrize("command", ["show", "export"])
def test_show_and_export_of_a_missing_project_fail_and_create_nothing(
    tmp_path: Path, command: str
) -> None:
    result = CliRunner().invoke(main, [command, str(tmp_path / "runs" / "ghost")])

    assert result.exit_code == 1
    assert "no project at" in result.output
    assert list(tmp_path.iterdir()) == []


def test_export_csv_has_a_row_per_trial_and_param_and_metric_columns(objectives: Path) -> None:
    assert run_grid(objectives, "metrics", "--objective", "score").exit_code == 0

    result = invoke("export", objectives / "runs" / "p", "--format", "csv")

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == GRID_SIZE
    assert list(rows[0]) == [
        "number",
        "state",
        "budget",
        "value",
        "rank",
        "started_at",
        "finished_at",
        "duration",
        "param_x",
        "param_c",
        "metric_score",
        "metric_banana",
        "metric_val_loss",
        "error",
    ]
    for row in rows:
        assert float(row["value"]) == int(row["param_x"]) + int(row["param_c"])
        assert float(row["duration"]) >= 0
        assert row["state"] == "COMPLETE"
        assert row["error"] == ""
        assert row["budget"] == ""  # no budgets: every trial had the full budget
    # score is maximised: the ranks follow the values, down (ties: the earlier trial first).
    ranked = sorted(rows, key=lambda r: int(r["rank"]))
    assert [int(r["rank"]) for r in ranked] == list(range(1, GRID_SIZE + 1))
    values = [float(r["value"]) for r in ranked]
    assert values == sorted(values, reverse=True)


def test_export_json_to_a_file_has_every_trial_and_its_values(objectives: Path) -> None:
    assert run_grid(objectives, "loss").exit_code == 0
    output = objectives / "trials.json"

    result = invoke("export", objectives / "runs" / "p", "--format", "json", "--output", output)

    assert result.exit_code == 0, result.output
    trials = json.loads(output.read_text())
    assert [t["number"] for t in trials] == list(range(GRID_SIZE))
    for trial in trials:
        x, c = trial["values"]["x"], trial["values"]["c"]
        assert trial["value"] == (x - 2) ** 2 + c / 4
        assert trial["state"] == "COMPLETE"
        assert trial["metrics"] == {"objective": trial["value"]}
        assert trial["finished_at"] >= trial["started_at"]
    assert f"Wrote {GRID_SIZE} trials" in result.output


def test_export_json_keys_intermediate_reports_by_step_text(tmp_path: Path) -> None:
    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        x = float(hp.Float("x", 0.0, 1.0))
        for step in (1, 2):
            trial.report(step, val_loss=x / step)
        return x

    tuner = hs.RandomSearch(
        objective, max_trials=2, seed=0, directory=tmp_path, project_name="r", verbose=0
    )
    tuner.search()
    tuner.storage.close()

    result = invoke("export", tmp_path / "r", "--format", "json")

    trials = json.loads(result.stdout)
    assert len(trials) == 2
    for trial in trials:
        assert sorted(trial["intermediate"]) == ["1", "2"]
        assert trial["intermediate"]["2"]["val_loss"] == pytest.approx(trial["value"] / 2)


def overfitting(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
    """A loss lower after fewer epochs: a short budget looks better than it is."""
    x = hp.Float("x", 0.0, 1.0)
    for epoch in range(1, int(trial.budget) + 1):
        trial.report(epoch, objective=(x - 0.3) ** 2 - 1.0 / epoch)
    return (x - 0.3) ** 2 - 1.0 / trial.budget


@pytest.fixture
def hyperband_project(tmp_path: Path) -> tuple[Path, list[hs.Trial]]:
    """A Hyperband study (max 9 epochs: 22 trials of 17 configurations) and its ranking."""
    tuner = hs.Hyperband(
        overfitting, max_epochs=9, seed=0, directory=tmp_path, project_name="hb", verbose=0
    )
    tuner.search()
    ranked = tuner.get_best_trials(100)
    tuner.storage.close()
    return tmp_path / "hb", ranked


def test_show_and_list_rank_each_configuration_once_on_its_highest_budget(
    hyperband_project: tuple[Path, list[hs.Trial]],
) -> None:
    project, ranked = hyperband_project
    assert [t.budget for t in ranked] == [9] * 5 + [3] * 6 + [1] * 6

    result = invoke("show", project, "--top", "100")

    assert result.exit_code == 0, result.output
    title = "Best 17 of 17 configurations, each on the highest budget it completed"
    assert title in " ".join(result.output.split())  # the title wraps to the table's width
    # Columns: rank, trial, value, budget, state, x (the budget table has 4).
    rows = [r for r in table_rows(result.output) if len(r) == 6]
    assert [r[0] for r in rows] == [str(i) for i in range(1, 18)]
    assert [(r[1], r[3]) for r in rows] == [(str(t.number), f"{t.budget:g}") for t in ranked]
    # The lowest loss of the study is a 1-epoch result; the best configuration is on 9.
    listed = table_rows(invoke("list", project.parent).output)
    assert listed[0][6] == format_value(ranked[0].value)


def test_export_gives_each_trial_its_budget_and_rank_and_best_one_per_configuration(
    hyperband_project: tuple[Path, list[hs.Trial]],
) -> None:
    project, ranked = hyperband_project

    result = invoke("export", project, "--format", "csv")

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 22
    assert {row["budget"] for row in rows} == {"1", "3", "9"}
    by_rank = sorted((int(r["rank"]), int(r["number"])) for r in rows if r["rank"])
    assert by_rank == [(i, t.number) for i, t in enumerate(ranked, start=1)]

    best = invoke("export", project, "--format", "json", "--best")

    trials = json.loads(best.stdout)
    assert [(t["number"], t["rank"], t["budget"]) for t in trials] == [
        (t.number, i, t.budget) for i, t in enumerate(ranked, start=1)
    ]
    assert len({json.dumps(t["values"], sort_keys=True) for t in trials}) == 17


MANY = 12


def many_parameters(hp: hs.HyperParameters) -> float:
    """Twelve parameters with long names and values like 8.211e-05."""
    return sum(
        float(hp.Float(f"learning_rate_of_layer_{i:02d}", 1e-5, 1e-4, sampling="log"))
        for i in range(MANY)
    )


@pytest.mark.parametrize("columns", ["80", "40"])
def test_show_at_80_or_40_columns_cuts_no_value_and_drops_no_column(
    tmp_path: Path, columns: str
) -> None:
    tuner = hs.RandomSearch(
        many_parameters, max_trials=3, seed=0, directory=tmp_path, project_name="m", verbose=0
    )
    tuner.search()
    trials = tuner.trials
    tuner.storage.close()

    result = CliRunner().invoke(main, ["show", str(tmp_path / "m")], env={"COLUMNS": columns})

    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    assert max(len(line) for line in result.output.splitlines()) <= int(columns)
    for trial in trials:
        assert f"trial {trial.number}" in result.output
        assert format_value(trial.value) in result.output
        for name, value in trial.values.items():
            assert name in result.output
            assert format_value(value) in result.output


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"hyperscout, version {hs.__version__}"


# -- a real process --------------------------------------------------------------------------


def test_python_dash_m_hyperscout_runs_a_search(objectives: Path) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "hyperscout",
            "run",
            "objectives.py:loss",
            "--strategy",
            "grid",
            "--directory",
            "runs",
            "--verbose",
            "0",
        ],
        cwd=objectives,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert "Best objective (min): 0.25" in completed.stdout
    with study(objectives / "runs" / "loss") as (_, trials):
        assert len(trials) == GRID_SIZE


def test_run_bayes_finds_the_grid_optimum_without_repeats(objectives: Path) -> None:
    result = invoke(
        "run",
        f"{objectives / 'objectives.py'}:loss",
        "--strategy",
        "bayes",
        "--max-trials",
        "8",
        "--seed",
        "0",
        "--directory",
        objectives / "runs",
        "--project-name",
        "bo",
        "--verbose",
        "0",
    )
    assert result.exit_code == 0, result.output
    with study(objectives / "runs" / "bo") as (_, trials):
        assert len(trials) == GRID_SIZE
        assert len({t.key for t in trials}) == GRID_SIZE  # no configuration twice
    assert "Best objective (min): 0.25" in result.output


# -- check -----------------------------------------------------------------------------------


def test_check_says_ok_for_sound_projects(objectives: Path) -> None:
    assert run_grid(objectives, "loss").exit_code == 0
    assert run_grid(objectives, "loss", project="q").exit_code == 0
    runs = objectives / "runs"

    result = invoke("check", runs / "p")
    assert result.exit_code == 0, result.output
    assert result.output == f"{runs / 'p' / 'hyperscout.db'}: ok (1 study, {GRID_SIZE} trials)\n"
    # A directory of projects: each one; a database file or URL: that database.
    result = invoke("check", runs)
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (1 study, 8 trials)") == 2
    for target in (runs / "q" / "hyperscout.db", sqlite_url(runs / "q" / "hyperscout.db")):
        result = invoke("check", target)
        assert result.exit_code == 0, result.output
        assert result.output.endswith(f": ok (1 study, {GRID_SIZE} trials)\n")


def test_check_lists_every_damaged_trial_and_show_and_run_refuse(objectives: Path) -> None:
    import sqlite3

    assert run_grid(objectives, "loss").exit_code == 0
    database = objectives / "runs" / "p" / "hyperscout.db"
    with sqlite3.connect(database) as db:
        db.execute("""UPDATE hs_trials SET "values" = '{"x": 1' WHERE number = 2""")
        db.execute("UPDATE hs_trials SET state = 'DONE' WHERE number = 5")
    db.close()

    result = CliRunner().invoke(main, ["check", str(objectives / "runs" / "p")])
    assert result.exit_code == 1
    assert f"{database}: 2 problems:" in result.output
    assert "  - Study 'p', trial 2: hs_trials.values holds '{\"x\": 1'" in result.output
    assert "  - Study 'p', trial 5: hs_trials.state holds 'DONE'" in result.output
    assert "restore the database from a backup" in result.output

    for result in (invoke("show", objectives / "runs" / "p"), run_grid(objectives, "loss")):
        assert result.exit_code == 1
        assert "trial 2 of study 'p' cannot be read" in result.output
        assert f"hyperscout check {database}" in result.output
    with sqlite3.connect(database) as db:  # the refused run added no trial
        assert db.execute("SELECT COUNT(*) FROM hs_trials").fetchone() == (GRID_SIZE,)
    db.close()


def test_check_of_an_empty_file_or_a_missing_path_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hyperscout.storage.sql as sql_module

    monkeypatch.setattr(sql_module, "EMPTY_FILE_GRACE", 0.05)
    database = tmp_path / "runs" / "p" / "hyperscout.db"
    database.parent.mkdir(parents=True)
    database.write_bytes(b"")
    result = CliRunner().invoke(main, ["check", str(tmp_path / "runs" / "p")])
    assert result.exit_code == 1
    assert f"{database}: 1 problem:" in result.output and "is empty (0 bytes)" in result.output
    assert database.stat().st_size == 0

    result = CliRunner().invoke(main, ["check", str(tmp_path / "ghost")])
    assert result.exit_code == 1
    assert "ghost does not exist" in result.output
    assert not (tmp_path / "ghost").exists()
