"""The comparison's figure and table, from runs whose trials are known."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest

import hyperscout as hs
from hyperscout.report.compare import (
    ComparisonData,
    Run,
    best_so_far,
    comparison_figure,
    read_comparison,
    save_figure,
    strategy_curve,
)
from hyperscout.report.compare_table import comparison_table
from hyperscout.report.study import StudyData
from hyperscout.trial import Trial, TrialState


def run_of(
    strategy: str,
    seed: int,
    values: Sequence[float | None],
    *,
    budgets: Sequence[float | None] | None = None,
    max_budget: float | None = None,
    direction: str = "min",
    metric: str = "loss",
) -> Run:
    budgets = budgets if budgets is not None else [None] * len(values)
    trials = [
        Trial(
            i,
            {"x": float(i)},
            TrialState.COMPLETE if v is not None else TrialState.FAILED,
            value=v,
            budget=b,
            started_at=100.0 + 10 * i,
            finished_at=100.0 + 10 * i + 2.0,
        )
        for i, (v, b) in enumerate(zip(values, budgets, strict=True))
    ]
    study = StudyData(
        f"{strategy}-seed{seed}", trials, hs.Objective(metric, direction), hs.HyperParameters()
    )
    return Run(strategy, seed, study, max_budget)


def test_best_so_far_follows_the_direction_and_skips_missing_values() -> None:
    assert best_so_far([None, 2.0, 3.0, 1.0], "min") == [None, 2.0, 2.0, 1.0]
    assert best_so_far([None, 2.0, 3.0, 1.0], "max") == [None, 2.0, 3.0, 3.0]


def test_budgeted_curve_counts_budgets_and_only_full_budget_values() -> None:
    # A low-budget value better than any full-budget one must not count as the best.
    run = run_of("hyperband", 0, [0.1, 0.5, 0.4, 0.3], budgets=[1, 1, 3, 9], max_budget=9)
    xs, best = run.curve("budget")
    assert xs == [1.0, 2.0, 5.0, 14.0]
    assert best == [None, None, None, 0.3]
    assert run.curve("trials")[0] == [1.0, 2.0, 3.0, 4.0]
    assert run.budget_spent == 14.0 and run.wall_seconds == pytest.approx(8.0)
    # Without budgets a trial costs the full budget, or 1 when there is none.
    assert run_of("random", 0, [1.0, 2.0], max_budget=9).curve("budget")[0] == [9.0, 18.0]
    assert run_of("random", 0, [1.0, 2.0]).curve("budget")[0] == [1.0, 2.0]
    # The wall time hs.compare kept with the study stands over the trials' durations.
    kept = StudyData(
        "r", run.study.trials, run.study.objective, run.study.space, {"compare": {"seconds": 30.5}}
    )
    assert Run("hyperband", 0, kept, 9).wall_seconds == 30.5


def data_of_three() -> ComparisonData:
    return ComparisonData(
        "cmp",
        [
            run_of("random", 0, [5.0, 4.0, 3.0, 2.0]),
            run_of("random", 1, [6.0, 6.0, 1.0, 1.0]),
            run_of("random", 2, [4.0, 3.5, 3.4, 3.3]),
            run_of("grid", 0, [9.0, 8.0, 7.0, 6.0]),
            run_of("grid", 1, [9.0, 8.0, 7.0, 5.0]),
            run_of("grid", 2, [9.0, None, 7.0, 4.0]),
        ],
    )


def test_spread_is_median_and_quartiles_over_seeds() -> None:
    xs, low, middle, high = strategy_curve(data_of_three().of("random"), "trials", "iqr")
    assert xs == [1.0, 2.0, 3.0, 4.0]
    # At trial 4 the bests are 2, 1 and 3.3: median 2, quartiles 1.5 and 2.65.
    assert middle == [5.0, 4.0, 3.0, 2.0]
    assert low[-1] == pytest.approx(1.5) and high[-1] == pytest.approx(2.65)
    _, low, _, high = strategy_curve(data_of_three().of("random"), "trials", "range")
    assert (low[-1], high[-1]) == (1.0, 3.3)


def test_figure_has_one_curve_per_run_and_a_median_and_band_per_strategy() -> None:
    figure = comparison_figure(data_of_three())
    metas = [trace.meta for trace in figure.data]
    runs = [(m["strategy"], m["seed"]) for m in metas if m["kind"] == "run"]
    assert runs == [("random", s) for s in range(3)] + [("grid", s) for s in range(3)]
    medians = [trace for trace in figure.data if trace.meta["kind"] == "median"]
    assert [trace.name for trace in medians] == ["random", "grid"]
    assert [m["kind"] for m in metas].count("band") == 4
    grid_median = medians[1]
    assert list(grid_median.y) == [9.0, 8.0, 7.0, 5.0]
    assert figure.layout.xaxis.title.text == "trials"


def test_table_rows_target_and_budget_to_reach_it() -> None:
    table = comparison_table(data_of_three())
    # The default target: the median of the strategies' median final bests (2 and 5).
    assert table.target == 3.5
    random, grid = table.rows
    assert (random.strategy, random.runs, random.trials, random.budget) == ("random", 3, 4, 4)
    assert random.best == 2.0 and random.reached == 3
    # Random's runs reach 3.5 after 3, 3 and 2 trials: median 3; the grid never does.
    assert random.to_target == 3.0
    assert grid.best == 5.0 and grid.reached == 0 and grid.to_target is None
    # The worst strategy's median as the target: two of the grid's runs reach it.
    easy = comparison_table(data_of_three(), target=5.0)
    assert easy.rows[0].to_target == 1.0 and easy.rows[1].to_target == 4.0
    assert easy.rows[1].reached == 2
    assert random.wall_seconds == pytest.approx(8.0)
    text = str(table)
    assert "random" in text and "grid" in text and "0/3" in text and "3.5" in text
    # A target nobody reaches in most runs is "not reached".
    hard = comparison_table(data_of_three(), target=1.5)
    assert hard.rows[0].to_target is None and hard.rows[0].reached == 1
    assert "not reached" in str(hard)


def test_maximised_objective_target_is_the_worst_median() -> None:
    data = ComparisonData(
        "cmp",
        [
            run_of("a", 0, [0.5, 0.9], direction="max"),
            run_of("b", 0, [0.6, 0.7], direction="max"),
        ],
    )
    table = comparison_table(data)
    assert table.target == pytest.approx(0.8)
    assert [row.to_target for row in table.rows] == [2.0, None]


def test_bad_choices_are_refused_by_the_template() -> None:
    with pytest.raises(hs.InvalidArgumentError, match=r"comparison_figure\(x=\.\.\.\)"):
        comparison_figure(data_of_three(), x="epochs")
    with pytest.raises(hs.InvalidArgumentError, match=r"comparison_table\(band=\.\.\.\)"):
        comparison_table(data_of_three(), band="sd")
    with pytest.raises(hs.InvalidArgumentError, match=r"save_figure\(path=\.\.\.\)"):
        save_figure(comparison_figure(data_of_three()), "figure.txt")


def test_figure_html_is_self_contained_and_escapes_the_metric_name(tmp_path: Path) -> None:
    metric = "<script>alert(1)</script>"
    data = ComparisonData("cmp", [run_of("random", 0, [1.0, 0.5], metric=metric)])
    path = save_figure(comparison_figure(data), tmp_path / "figure.html")
    page = path.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert not re.search(r"<script[^>]*\bsrc=", page)  # plotly.js is inside, not fetched
    assert "Plotly.newPlot" in page


def test_read_comparison_refuses_a_folder_without_runs(tmp_path: Path) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=r"read_comparison\(source=\.\.\.\)"):
        read_comparison(tmp_path)
    with pytest.raises(hs.InvalidArgumentError, match=r"read_comparison\(project_name=\.\.\.\)"):
        read_comparison(hs.MemoryStorage())
