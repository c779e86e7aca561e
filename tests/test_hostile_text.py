"""User text that looks like markup, escape sequences or spreadsheet formulas is shown as typed.

Parameter names, choices and metric names reach the terminal through rich, and the CSV export
through a spreadsheet: neither may read them as instructions (issue 12, items 8 and 9).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

import hyperscout as hs
from hyperscout.cli import main

ESC = "\x1b"
MARKUP = ["[/x]", "[bold]x", "data/[train]"]
RED = ESC + "[31mred"
HOSTILE = [*MARKUP, RED]


def shown(text: str) -> str:
    """How a hostile text must appear in printed output: as typed, escapes made visible."""
    return text.replace(ESC, "\\x1b")


def objective_with(text: str) -> Callable[[hs.HyperParameters], dict[str, float]]:
    """An objective whose parameter name, and one of its choices, is ``text``."""

    def objective(hp: hs.HyperParameters) -> dict[str, float]:
        choice = hp.Choice(text, [text, "plain"])
        x = hp.Float("x", 0.0, 1.0)
        return {"loss": x + (choice == text), text: x}

    return objective


def searched(text: str, tmp_path: Path, *, verbose: int = 0) -> hs.Tuner:
    tuner = hs.RandomSearch(
        objective_with(text),
        objective="loss",
        max_trials=4,
        seed=0,
        directory=tmp_path,
        project_name="p",
        verbose=verbose,
    )
    tuner.search()
    return tuner


def printed(print_to: Callable[..., object]) -> str:
    out = io.StringIO()
    print_to(console=Console(file=out, width=300, color_system="truecolor"))
    return out.getvalue()


@pytest.mark.parametrize("text", HOSTILE)
def test_summaries_print_names_and_choices_as_typed(text: str, tmp_path: Path) -> None:
    tuner = searched(text, tmp_path)

    results = printed(tuner.results_summary)
    space = printed(tuner.search_space_summary)

    for output in (results, space):
        assert shown(text) in output
        assert "\x1b[31m" not in output  # the user's escape never reaches the terminal
    assert space.count(shown(text)) >= 2  # the name and the choice
    tuner.storage.close()


@pytest.mark.parametrize("text", HOSTILE)
def test_a_verbose_search_prints_a_line_per_trial_as_typed(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tuner = searched(text, tmp_path, verbose=2)

    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("trial ")]
    assert len(lines) == 4  # the search went on after its first trial
    assert all(shown(text) in line for line in lines)
    assert "\x1b[31m" not in err
    tuner.storage.close()


@pytest.mark.parametrize("text", HOSTILE)
def test_show_and_list_print_names_and_choices_as_typed(text: str, tmp_path: Path) -> None:
    searched(text, tmp_path).storage.close()

    show = CliRunner().invoke(main, ["show", str(tmp_path / "p")], catch_exceptions=False)
    listing = CliRunner().invoke(main, ["list", str(tmp_path)], catch_exceptions=False)

    assert show.exit_code == 0, show.output
    assert listing.exit_code == 0, listing.output
    assert shown(text) in show.output
    assert ESC not in show.output + listing.output


def test_show_prints_a_folder_with_an_escape_escaped(tmp_path: Path) -> None:
    directory = tmp_path / f"runs{RED}"
    searched("c", directory).storage.close()

    show = CliRunner().invoke(main, ["show", str(directory / "p")], catch_exceptions=False)
    missing = CliRunner().invoke(main, ["show", str(directory / "nope")])

    assert show.exit_code == 0, show.output
    assert shown(str(directory / "p")) in show.output
    assert missing.exit_code != 0
    assert shown(str(directory)) in missing.output
    assert ESC not in show.output + missing.output


def test_a_metric_name_with_an_escape_is_shown_escaped_in_tables(tmp_path: Path) -> None:
    tuner = hs.RandomSearch(
        lambda hp: {RED: hp.Float("x", 0.0, 1.0)},
        objective=hs.Objective(RED, "min"),
        max_trials=2,
        seed=0,
        storage="memory",
        verbose=0,
    )
    tuner.search()

    output = printed(tuner.results_summary)

    assert f"{shown(RED)} (min)" in " ".join(output.split())
    assert "\x1b[31m" not in output


FORMULAS = ['=HYPERLINK("http://x.example","click")', "+1+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_csv_export_escapes_cells_a_spreadsheet_would_run(tmp_path: Path) -> None:
    def objective(hp: hs.HyperParameters) -> float:
        formula = hp.Choice("formula", FORMULAS)
        sign = hp.Choice("sign", ["-1", "plain"])
        return float(FORMULAS.index(formula)) - 10.0 * (sign == "-1")

    tuner = hs.GridSearch(objective, seed=0, directory=tmp_path, project_name="p", verbose=0)
    tuner.search()
    tuner.storage.close()

    result = CliRunner().invoke(
        main, ["export", str(tmp_path / "p"), "--format", "csv"], catch_exceptions=False
    )

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 2 * len(FORMULAS)
    assert {row["param_formula"] for row in rows} == {"'" + f for f in FORMULAS}
    # A plain number stays a number: a value, and a text that only reads as one.
    assert {row["param_sign"] for row in rows} == {"-1", "plain"}
    assert sorted(float(row["value"]) for row in rows)[0] == -10.0
    assert all(not row["value"].startswith("'") for row in rows)


def test_json_export_keeps_formula_text_as_typed(tmp_path: Path) -> None:
    tuner = hs.RandomSearch(
        lambda hp: float(len(hp.Choice("formula", FORMULAS[:1]))),
        max_trials=1,
        seed=0,
        directory=tmp_path,
        project_name="p",
        verbose=0,
    )
    tuner.search()
    tuner.storage.close()

    result = CliRunner().invoke(
        main, ["export", str(tmp_path / "p"), "--format", "json"], catch_exceptions=False
    )

    assert json.loads(result.stdout)[0]["values"]["formula"] == FORMULAS[0]


def test_the_demo_prints_a_directory_with_an_escape_escaped(tmp_path: Path) -> None:
    from hyperscout.demo import run_demo

    directory = tmp_path / f"runs{RED}[/x]"
    out = io.StringIO()

    result = run_demo(
        "random",
        max_trials=2,
        max_epochs=1,
        directory=directory,
        seed=0,
        verbose=1,
        framework="sklearn",
        console=Console(file=out, width=300),
    )

    text = out.getvalue()
    assert result["trials"] == 2
    assert shown(f"runs{RED}[/x]") in text
    assert ESC not in text
