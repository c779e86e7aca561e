"""``hyperscout compare FILE.py:FUNCTION``: strategies side by side on the user's function."""

from __future__ import annotations

from pathlib import Path

import click

import hyperscout as hs
from hyperscout.cli._common import (
    DEFAULT_DIRECTORY,
    RESUME_HINT,
    FunctionRef,
    handle_errors,
    loaded_function,
    main,
    parse_function_ref,
    stdout,
)
from hyperscout.comparison import DEFAULT_STRATEGIES
from hyperscout.report import printable
from hyperscout.tuner.strategies import STRATEGIES

#: The figure's file in the comparison's folder unless --output says otherwise.
FIGURE_FILE = "comparison.html"


def _strategy_list(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise click.BadParameter("expected strategy names separated by commas.")
    return names


@main.command(short_help="Compare search strategies on FILE.py:FUNCTION, with several seeds.")
@click.argument("target", metavar="FILE.py:FUNCTION", callback=parse_function_ref)
@click.option(
    "--strategies",
    default=",".join(DEFAULT_STRATEGIES),
    show_default=True,
    callback=_strategy_list,
    help="Strategies separated by commas, among: " + ", ".join(STRATEGIES) + ".",
)
@click.option(
    "--max-trials",
    type=click.IntRange(min=1),
    required=True,
    help="Trials of a strategy without budgets; a budgeted one may spend as many epochs "
    "(max-trials x max-epochs, summed over its trials' budgets).",
)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Runs of each strategy, with seeds 0, 1, ...",
)
@click.option(
    "--max-epochs",
    type=click.IntRange(min=1),
    default=None,
    help="A trial's full budget; required with a budgeted strategy ("
    + ", ".join(s.name for s in STRATEGIES.values() if s.budgeted)
    + "), whose function takes (hp, trial) and trains trial.budget epochs.",
)
@click.option(
    "--objective",
    "objective_name",
    metavar="NAME",
    default=None,
    help="The metric to optimise, a key of the dict the function returns.",
)
@click.option(
    "--direction",
    type=click.Choice(["min", "max"]),
    default=None,
    help="Minimise or maximise the objective [default: inferred; min for a float].",
)
@click.option(
    "--target",
    "target_value",
    type=float,
    default=None,
    help="The quality whose cost the table counts [default: the median over the strategies "
    "of their median final best].",
)
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DIRECTORY,
    show_default=True,
)
@click.option(
    "--project-name",
    default="compare",
    show_default=True,
    help="The comparison's folder: one project folder per strategy and seed inside.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"The figure: .html (opens offline) [default: DIRECTORY/PROJECT/{FIGURE_FILE}].",
)
@handle_errors(interrupt_hint=RESUME_HINT)
def compare(
    target: FunctionRef,
    strategies: list[str],
    max_trials: int,
    seeds: int,
    max_epochs: int | None,
    objective_name: str | None,
    direction: str | None,
    target_value: float | None,
    directory: Path,
    project_name: str,
    output: Path | None,
) -> None:
    """Run each strategy with each seed on FUNCTION and compare them on the same budget.

    Prints a table (per strategy: the final best, the budget to reach a target, the wall
    time) and writes a figure of the best value so far against the trials or the budget
    spent, with the spread over seeds. Running the same command again reruns nothing done.
    """
    budgeted = [s for s in strategies if s in STRATEGIES and STRATEGIES[s].budgeted]
    if budgeted and max_epochs is None:
        raise click.UsageError(f"--strategies {budgeted[0]} needs --max-epochs (a full budget).")
    objective = hs.Objective.resolve(objective_name, direction)
    with loaded_function(target) as function:
        result = hs.compare(
            function,
            strategies,
            max_trials=max_trials,
            seeds=seeds,
            max_budget=max_epochs,
            directory=directory,
            project_name=project_name,
            metric=objective,
        )
    out = stdout()
    out.print(result.table(target=target_value).fitted())
    figure = output if output is not None else directory / project_name / FIGURE_FILE
    result.write_figure(figure)
    out.print(printable(f"Figure written to {figure}; the runs are in {directory / project_name}."))
