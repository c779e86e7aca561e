"""Tables that never cut a number nor drop a column, whatever the console's width."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

import hyperscout as hs
from hyperscout.report import (
    BudgetAgreement,
    FittedTable,
    budgets_table,
    format_value,
    projects_table,
    space_table,
    trials_table,
)
from hyperscout.trial import Trial, TrialState

LOSS = hs.Objective("val_loss", "min")


def render(renderable: object, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width).print(renderable)
    return out.getvalue()


def many_trials() -> list[Trial]:
    """Three trials of twelve parameters with long names and values like 8.211e-05."""
    return [
        Trial(
            number,
            {f"learning_rate_of_layer_{i:02d}": 8.211e-05 * (1 + i + number) for i in range(12)},
            TrialState.COMPLETE,
            value=0.1234 + number,
            budget=[None, 27, 9][number],
        )
        for number in range(3)
    ]


@pytest.mark.parametrize("width", [80, 40])
def test_many_parameters_appear_whole_at_80_and_40_columns(width: int) -> None:
    trials = many_trials()

    text = render(trials_table(trials, LOSS, title="Best 3 trials"), width)

    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    for rank, trial in enumerate(trials, start=1):
        assert f"#{rank}  trial {trial.number}" in text
        assert format_value(trial.value) in text
        for name, value in trial.values.items():
            assert name in text
            assert format_value(value) in text
    # One line per column in each trial's block: nothing dropped, budgets included.
    assert text.count("learning_rate_of_layer_11") == 3
    assert [line.split()[-1] for line in text.splitlines() if "budget" in line] == [
        "full",
        "27",
        "9",
    ]


def test_a_table_that_fits_stays_a_table_with_whole_values_and_wrapped_headers() -> None:
    trials = [
        Trial(n, {"a_long_parameter_name": 8.211e-05, "units": 64}, TrialState.COMPLETE, value=0.5)
        for n in range(2)
    ]

    text = render(trials_table(trials, LOSS), 70)

    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in text.splitlines()]
    rows = [row for row in rows if row]
    # Columns: rank, trial, value, budget, state, then the parameters.
    assert rows == [
        ["1", "0", "0.5", "full", "COMPLETE", "8.211e-05", "64"],
        ["2", "1", "0.5", "full", "COMPLETE", "8.211e-05", "64"],
    ]
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 70


def test_the_search_space_at_40_columns_wraps_text_between_words_only() -> None:
    hp = hs.HyperParameters()
    hp.Float("learning_rate_of_the_optimizer", 1e-5, 1e-1, sampling="log")
    hp.Choice("activation", ["relu", "tanh", "sigmoid", "elu", "selu", "gelu", "swish"])

    wide, narrow = render(space_table(hp), 100), render(space_table(hp), 40)

    assert "│ learning_rate_of_the_optimizer │ float" in wide  # one table when it fits
    for text in (wide, narrow):
        assert "…" not in text
        words = text.split()
        for word in ("learning_rate_of_the_optimizer", "1e-05", "0.1,", "1.000e-05", "swish"):
            assert word in words
    assert max(len(line) for line in narrow.splitlines()) <= 40


def test_budgets_table_in_a_narrow_console_keeps_every_number() -> None:
    rows = [BudgetAgreement(1.0, 27.0, 12, 0.4567), BudgetAgreement(1e-4, 3.0, 3, None)]

    for width in (30, 60):
        text = render(budgets_table(rows, title="budgets"), width)
        assert "…" not in text
        for word in ("27", "0.46", "1.000e-04", "12"):
            assert word in text.split()


def test_fitted_table_cells_are_plain_text_and_rows_must_match_headers() -> None:
    table = FittedTable(["name", "value"])
    table.add_row("[bold]x[/bold]", "1")
    assert "[bold]x[/bold]" in render(table, 40)  # no markup
    with pytest.raises(ValueError, match="expected 2 cells, one per header, got 1"):
        table.add_row("only one")


def test_an_empty_search_space_prints_its_headers() -> None:
    text = render(space_table(hs.HyperParameters()), 60)
    assert "Search space (0 parameters)" in text
    assert "condition" in text


def test_projects_table_counts_states_ranks_by_budget_and_keeps_unreadable_rows() -> None:
    trials = [
        Trial(0, {"x": 1}, TrialState.COMPLETE, value=0.1, budget=1),
        Trial(1, {"x": 2}, TrialState.COMPLETE, value=0.5, budget=3),  # the best: higher budget
        Trial(2, {"x": 3}, TrialState.PRUNED, value=0.01, budget=1),
        Trial(3, {"x": 4}, TrialState.FAILED),
        Trial(4, {"x": 5}, TrialState.RUNNING),
    ]
    table = projects_table(
        [("mnist", hs.History(trials, LOSS)), ("broken", ValueError("bad row"))],
        title="Projects in runs",
    )

    assert table.rows == [
        ["mnist", "5", "2", "1", "1", "1", "0.5", "val_loss (min)"],
        ["broken", "-", "-", "-", "-", "-", "-", "unreadable: bad row"],
    ]
    empty = projects_table([("new", hs.History([], LOSS))])
    assert empty.rows == [["new", "0", "0", "0", "0", "0", "-", "val_loss (min)"]]
