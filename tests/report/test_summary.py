"""The summaries, printed from trials alone (no tuner)."""

from __future__ import annotations

import io

import hyperscout as hs
from hyperscout import report
from hyperscout.trial import Trial, TrialState

LOSS = hs.Objective("val_loss", "min")


def printed(function: object, *args: object, width: int = 120, **kwargs: object) -> str:
    from rich.console import Console

    out = io.StringIO()
    function(*args, console=Console(file=out, width=width), **kwargs)  # type: ignore[operator]
    return out.getvalue()


def table_rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in text.splitlines()
        if line.startswith("│")
    ]


def budgeted_history() -> hs.History:
    trials = [
        Trial(n, {"x": x}, TrialState.COMPLETE, value=v, budget=b)
        for n, (x, b, v) in enumerate(
            [(0.1, 1, 0.5), (0.2, 1, 0.6), (0.3, 1, 0.7), (0.1, 3, 0.3), (0.2, 3, 0.2)]
        )
    ]
    trials += [Trial(5, {"x": 0.3}, TrialState.PRUNED, value=0.9, budget=3)]
    trials += [Trial(6, {"x": 0.4}, TrialState.FAILED, budget=1)]
    return hs.History(trials, LOSS)


def test_results_summary_ranks_configurations_and_counts_states_in_its_title() -> None:
    text = printed(report.results_summary, budgeted_history(), 2, project_name="mnist")

    assert (
        "mnist: best 2 of 3 configurations (7 trials: 5 complete, 1 pruned, 1 failed), each "
        "on the highest budget it completed" in " ".join(text.split())
    )
    # Columns: rank, trial, value, budget, state, x: budget 3 first, then by value.
    assert [row[:4] for row in table_rows(text)] == [["1", "4", "0.2", "3"], ["2", "3", "0.3", "3"]]


def test_results_summary_without_budgets_counts_trials() -> None:
    history = hs.History(
        [Trial(n, {"x": n}, TrialState.COMPLETE, value=n / 10) for n in range(3)], LOSS
    )
    text = printed(report.results_summary, history, project_name="p")
    assert "p: best 3 of 3 trials (3 complete, 0 pruned, 0 failed)" in text
    assert [row[3] for row in table_rows(text)] == ["full"] * 3


def test_budget_summary_returns_its_rows_or_says_there_are_none() -> None:
    out = io.StringIO()
    from rich.console import Console

    rows = report.budget_summary(
        budgeted_history(), project_name="mnist", console=Console(file=out, width=120)
    )
    assert [(r.budget, r.higher, r.n_configs) for r in rows] == [(1.0, 3.0, 2)]
    assert "mnist: budgets" in out.getvalue()
    text = printed(report.budget_summary, [], project_name="[b]x")
    assert "[b]x: no configuration has results on two budgets yet." in text


def test_search_space_summary_says_when_the_space_is_learnt_as_trials_run() -> None:
    space = hs.HyperParameters()
    space.Int("units", 8, 64)
    text = printed(report.search_space_summary, space)
    assert "Search space (1 parameters)" in text and "learnt" not in text
    text = printed(report.search_space_summary, hs.HyperParameters(), learnt_as_trials_run=True)
    assert "Search space: none." in text and "Search space (" not in text
    text = printed(report.search_space_summary, space, learnt_as_trials_run=True)
    assert "Search space: 1 parameters declared so far." in text


def test_study_summary_prints_space_best_configurations_and_budgets() -> None:
    space = hs.HyperParameters()
    space.Float("x", 0, 1)
    text = printed(report.study_summary, budgeted_history(), space, top=1)

    words = " ".join(text.split())
    assert "Best 1 of 3 configurations, each on the highest budget it completed" in words
    trial_rows = [row for row in table_rows(text) if len(row) == 6]  # rank .. state, x
    assert [row[:4] for row in trial_rows] == [["1", "4", "0.2", "3"]]
    assert "How each budget ranked the configurations a higher one ran" in words
    empty = printed(report.study_summary, hs.History([], LOSS), space)
    assert "No complete trial yet." in empty and "How each budget" not in empty


def test_study_heading_counts_the_states_present() -> None:
    heading = report.study_heading("mnist", "runs/mnist/hyperscout.db", budgeted_history())
    assert heading == (
        "mnist (runs/mnist/hyperscout.db): 7 trials (5 complete, 1 pruned, 1 failed), "
        "optimising val_loss (min)."
    )
