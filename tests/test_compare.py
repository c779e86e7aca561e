"""hs.compare and ``hyperscout compare``: strategies run on the same budget, kept, resumed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import hyperscout as hs
from hyperscout.cli import main
from hyperscout.report.compare import read_comparison
from hyperscout.storage import find_projects


def quadratic(hp: hs.HyperParameters) -> float:
    x = hp.Float("x", -2.0, 2.0)
    y = hp.Float("y", -2.0, 2.0)
    return (x - 0.7) ** 2 + (y + 0.4) ** 2


def budgeted(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
    """A loss that falls with the epochs trained: 1/budget above the quadratic."""
    epochs = 9 if trial.budget is None else trial.budget
    return quadratic(hp) + 1.0 / epochs


def trials_by_run(folder: Path) -> dict[str, list[tuple[int, float | None]]]:
    data = read_comparison(folder)
    return {
        f"{run.strategy}-seed{run.seed}": [(t.number, t.value) for t in run.study.trials]
        for run in data.runs
    }


def test_one_curve_per_strategy_and_seed_and_one_row_per_strategy(tmp_path: Path) -> None:
    result = hs.compare(
        quadratic, ["grid", "random", "bayes"], max_trials=12, seeds=3, directory=tmp_path
    )
    assert [(s, seed) for s, seed, _ in result.runs] == [
        (s, seed) for s in ("grid", "random", "bayes") for seed in range(3)
    ]
    # One ordinary project folder per run, each a study `hyperscout show` reads.
    names = [p.name for p in find_projects(tmp_path / "compare")]
    assert sorted(names) == sorted(
        f"{s}-seed{n}" for s in ("grid", "random", "bayes") for n in range(3)
    )
    figure = result.figure()
    runs = [t.meta for t in figure.data if t.meta["kind"] == "run"]
    assert len(runs) == 9
    assert all(len(t.x) == 12 for t in figure.data if t.meta["kind"] == "run")
    assert figure.layout.xaxis.title.text == "trials"
    table = result.table()
    assert [row.strategy for row in table.rows] == ["grid", "random", "bayes"]
    assert all(row.runs == 3 and row.trials == 12 and row.budget == 12 for row in table.rows)
    grid, random, bayes = table.rows
    # The grid is deterministic: its seeds agree. Bayesian optimisation, on this smooth
    # quadratic and these seeds, ends better than random search at the median.
    assert grid.best_low == grid.best_high == grid.best
    assert bayes.best is not None and random.best is not None and bayes.best < random.best
    assert all(row.best is not None and 0.0 <= row.best < 2.0 for row in table.rows)


def test_budgeted_strategies_spend_the_same_budget_as_the_full_trials(tmp_path: Path) -> None:
    result = hs.compare(
        budgeted,
        ["random", "hyperband", "bohb"],
        max_trials=6,
        seeds=2,
        max_budget=9,
        directory=tmp_path,
    )
    data = result.data()
    total = 6 * 9
    for run in data.runs:
        if run.strategy == "random":
            assert run.budget_spent == total and len(run.trials) == 6
        else:
            # No trial started that would pass the total: the last one proposed did not fit.
            assert total - 9 < run.budget_spent <= total
            assert any(t.budget is not None and t.budget < 9 for t in run.trials)
    spent = {(run.strategy, run.seed): run.budget_spent for run in data.runs}
    # Hyperband and BOHB share their brackets: the same budgets in the same order.
    assert spent["hyperband", 0] == spent["bohb", 0] == spent["hyperband", 1]
    figure = result.figure()
    assert figure.layout.xaxis.title.text.startswith("budget spent")
    assert len([t for t in figure.data if t.meta["kind"] == "run"]) == 6
    rows = result.table().rows
    assert [row.strategy for row in rows] == ["random", "hyperband", "bohb"]
    assert all(row.best is not None and row.best >= 1.0 / 9 for row in rows)


def test_a_comparison_run_again_runs_nothing_done_and_goes_on(tmp_path: Path) -> None:
    calls = []

    def counted(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        calls.append(trial.budget)
        return budgeted(hp, trial)

    options = dict(seeds=2, max_budget=9, directory=tmp_path)
    hs.compare(counted, ["random", "hyperband"], max_trials=4, **options)
    first, before = len(calls), trials_by_run(tmp_path / "compare")
    seconds = [run.wall_seconds for run in read_comparison(tmp_path / "compare").runs]
    assert all(value > 0 for value in seconds)
    again = hs.compare(counted, ["random", "hyperband"], max_trials=4, **options)
    assert len(calls) == first  # not one trial run again
    assert trials_by_run(tmp_path / "compare") == before
    assert [run.wall_seconds for run in again.data().runs] == seconds  # nothing ran
    # A comparison of fewer strategies shows only its own runs; the others stay stored.
    fewer = hs.compare(counted, ["random"], max_trials=4, **options)
    assert [run.strategy for run in fewer.data().runs] == ["random", "random"]
    assert len(calls) == first
    # More trials: each run goes on where it stopped, keeping what it had.
    hs.compare(counted, ["random", "hyperband"], max_trials=6, **options)
    after = trials_by_run(tmp_path / "compare")
    for name, trials in before.items():
        assert after[name][: len(trials)] == trials
        assert len(after[name]) > len(trials)


def test_runs_in_a_given_storage_are_named_after_the_comparison() -> None:
    storage = hs.MemoryStorage()
    result = hs.compare(
        quadratic, ["random"], max_trials=3, seeds=[4, 7], storage=storage, project_name="q"
    )
    assert [info.name for info in storage.list_studies()] == ["q-random-seed4", "q-random-seed7"]
    assert [run.seed for run in result.data().runs] == [4, 7]
    assert [len(study.trials) for study in result.studies] == [3, 3]


def test_unknown_strategy_gets_the_registrys_one_error(tmp_path: Path) -> None:
    with pytest.raises(hs.InvalidArgumentError) as caught:
        hs.compare(quadratic, ["random", "hyperbnd"], max_trials=3, directory=tmp_path)
    assert str(caught.value) == (
        "compare(strategies=...): expected one of 'random', 'grid', 'bayes', 'halving', "
        "'hyperband', 'bohb', 'asha' (did you mean 'hyperband'?), got 'hyperbnd'."
    )
    assert not (tmp_path / "compare").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (dict(strategies=["hyperband"]), "compare(max_budget=...): expected a trial's full budget"),
        (dict(seeds=0), "compare(seeds=...): expected a number of seeds"),
        (dict(seeds=[1, 1]), "compare(seeds=...): expected a number of seeds"),
        (dict(strategies="random"), "compare(strategies=...): expected a list"),
        (dict(strategies=["random", "random"]), "compare(strategies=...): expected distinct"),
        (dict(max_trials=0), "compare(max_trials=...): expected an int >= 1"),
        (dict(storage="memory"), "compare(storage=...): expected None, a Storage"),
    ],
)
def test_bad_arguments_are_refused_by_the_template(
    tmp_path: Path, arguments: dict[str, object], message: str
) -> None:
    options: dict[str, object] = dict(strategies=["random"], max_trials=3, directory=tmp_path)
    options.update(arguments)
    with pytest.raises(hs.InvalidArgumentError, match=re.escape(message)):
        hs.compare(quadratic, **options)  # type: ignore[arg-type]


OBJECTIVE_FILE = """
def objective(hp, trial):
    x = hp.Float("x", -2.0, 2.0)
    epochs = 3 if trial.budget is None else trial.budget
    return {"val_loss": (x - 0.5) ** 2 + 1.0 / epochs}
"""


def test_command_prints_the_table_and_writes_the_figure(tmp_path: Path) -> None:
    source = tmp_path / "train.py"
    source.write_text(OBJECTIVE_FILE, encoding="utf-8")
    arguments = [
        "compare",
        f"{source}:objective",
        "--strategies",
        "random,hyperband",
        "--max-trials",
        "3",
        "--seeds",
        "2",
        "--max-epochs",
        "3",
        "--objective",
        "val_loss",
        "--directory",
        str(tmp_path / "runs"),
    ]
    outcome = CliRunner().invoke(main, arguments)
    assert outcome.exit_code == 0, outcome.output
    assert "random" in outcome.output and "hyperband" in outcome.output
    assert "val_loss" in outcome.output
    figure = tmp_path / "runs" / "compare" / "comparison.html"
    assert figure.is_file() and "Plotly.newPlot" in figure.read_text(encoding="utf-8")
    bad = CliRunner().invoke(main, [*arguments[:3], "random,hyperbnd", *arguments[4:]])
    assert bad.exit_code == 1
    assert "did you mean 'hyperband'?" in bad.output
    no_budget = CliRunner().invoke(main, arguments[:8])
    assert no_budget.exit_code == 2
    assert "--strategies hyperband needs --max-epochs" in no_budget.output


def test_demo_compare_writes_figure_and_table_and_refuses_single_search_options(
    tmp_path: Path,
) -> None:
    pytest.importorskip("sklearn")
    arguments = ["demo", "--compare", "--max-trials", "2", "--seeds", "1", "--max-epochs", "3"]
    arguments += ["--directory", str(tmp_path), "--verbose", "1"]
    outcome = CliRunner().invoke(main, arguments)
    assert outcome.exit_code == 0, outcome.output
    folder = next(tmp_path.iterdir())
    assert folder.name.endswith("_compare_3epochs")
    assert sorted(p.name for p in find_projects(folder)) == sorted(
        f"{s}-seed0" for s in ("grid", "random", "bayes", "hyperband", "bohb")
    )
    table = (folder / "comparison.txt").read_text(encoding="utf-8")
    for strategy in ("grid", "random", "bayes", "hyperband", "bohb"):
        assert strategy in table and strategy in outcome.output
    assert "Plotly.newPlot" in (folder / "comparison.html").read_text(encoding="utf-8")
    rows = read_comparison(folder).runs
    assert all(run.budget_spent <= 2 * 3 for run in rows)
    for extra in (["--strategy", "random"], ["--seed", "1"], ["--overwrite"]):
        refused = CliRunner().invoke(main, [*arguments, *extra])
        assert refused.exit_code == 2 and "does not apply to --compare" in refused.output
    refused = CliRunner().invoke(main, ["demo", "--seeds", "2", "--directory", str(tmp_path)])
    assert refused.exit_code == 2 and "--seeds applies to --compare only" in refused.output


def test_the_mark_is_one_key_for_the_running_and_the_reading_side() -> None:
    from hyperscout import comparison
    from hyperscout.report import compare as reading

    assert comparison.META_KEY == reading.META_KEY


def test_hostile_names_and_values_never_reach_the_figure_raw(tmp_path: Path) -> None:
    def hostile(hp: hs.HyperParameters) -> dict[str, float]:
        choice = hp.Choice("\"'<p>", ["<script>alert(1)</script>", "b"])
        x = hp.Float("x", 0.0, 1.0)
        return {"<img src=x onerror=alert(2)>": x + (choice == "b")}

    result = hs.compare(
        hostile,
        ["random", "grid"],
        max_trials=3,
        seeds=1,
        directory=tmp_path,
        metric=hs.Objective("<img src=x onerror=alert(2)>", "min"),
    )
    page = result.write_figure(tmp_path / "figure.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "<img src=x onerror=alert(2)>" not in page
    assert "<p>" not in page
    assert "onerror=alert(2)" in str(result.table())  # the terminal shows the name as typed
