"""Trials as CSV and JSON, read from trials alone."""

from __future__ import annotations

import csv
import io
import json

import pytest

import hyperscout as hs
from hyperscout.report import export_trials
from hyperscout.trial import Trial, TrialState

LOSS = hs.Objective("val_loss", "min")


def budgeted_trials() -> list[Trial]:
    """x=0.1 and x=0.2 on budget 1, x=0.2 promoted to 3, one pruned and one failed trial."""
    return [
        Trial(0, {"x": 0.1}, TrialState.COMPLETE, value=0.3, budget=1, metrics={"acc": 0.7}),
        Trial(1, {"x": 0.2}, TrialState.COMPLETE, value=0.2, budget=1, metrics={"acc": 0.8}),
        Trial(2, {"x": 0.2}, TrialState.COMPLETE, value=0.4, budget=3, metrics={"acc": 0.9}),
        Trial(3, {"x": 0.3, "y": "=cmd"}, TrialState.PRUNED, value=0.1, budget=1),
        Trial(4, {"x": 0.4}, TrialState.FAILED, budget=3, error="ValueError: boom"),
    ]


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_has_a_row_per_trial_ranked_by_configuration_on_its_highest_budget() -> None:
    out = io.StringIO()
    space = hs.HyperParameters()
    space.Float("z", 0, 1)  # declared first: its column comes first, empty here
    space.Float("x", 0, 1)

    assert export_trials(budgeted_trials(), LOSS, out, space=space) == 5

    rows = read_csv(out.getvalue())
    assert list(rows[0])[8:] == ["param_z", "param_x", "param_y", "metric_acc", "error"]
    assert [(r["number"], r["rank"], r["budget"]) for r in rows] == [
        ("0", "2", "1"),
        ("1", "", "1"),  # x=0.2's result is its trial on budget 3
        ("2", "1", "3"),
        ("3", "", "1"),
        ("4", "", "3"),
    ]
    assert rows[3]["param_y"] == "'=cmd"  # a spreadsheet would run it as a formula
    assert rows[4]["error"] == "ValueError: boom" and rows[4]["value"] == ""


def test_best_keeps_one_row_per_configuration_best_first() -> None:
    out = io.StringIO()
    assert export_trials(budgeted_trials(), LOSS, out, best=True) == 2
    assert [r["number"] for r in read_csv(out.getvalue())] == ["2", "0"]


def test_json_has_every_field_with_null_budget_for_the_full_budget() -> None:
    trials = [
        Trial(
            0,
            {"lr": 0.1},
            TrialState.COMPLETE,
            value=0.5,
            intermediate={1: {"val_loss": 0.7}},
            attrs={"note": "=x"},
        )
    ]
    out = io.StringIO()
    export_trials(trials, LOSS, out, format="json")

    (record,) = json.loads(out.getvalue())
    assert record["number"] == 0 and record["rank"] == 1 and record["budget"] is None
    assert record["values"] == {"lr": 0.1}
    assert record["intermediate"] == {"1": {"val_loss": 0.7}}
    assert record["attrs"] == {"note": "=x"}  # JSON keeps text as typed
    assert out.getvalue().endswith("]\n")


def test_an_unknown_format_is_refused_with_the_formats() -> None:
    with pytest.raises(
        hs.InvalidArgumentError,
        match=r"export_trials\(format=\.\.\.\): expected one of 'csv', 'json', got 'xlsx'\.",
    ):
        export_trials([], LOSS, io.StringIO(), format="xlsx")
