"""``hyperscout sensitivity D/P``: one-factor-at-a-time sweeps around a study's best.

The sweeps are trials, so the command needs the objective. ``hyperscout run`` keeps in the
study's meta the ``FILE.py:FUNCTION`` it ran, with its strategy and options
(:data:`~hyperscout.cli.run.RUN_META`); this command loads that function again and resumes
the study with the same tuner. ``--function FILE.py:FUNCTION`` names another file (the
project moved, or the file was renamed). A study made from Python has no such record: call
``tuner.sensitivity()`` there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from hyperscout.cli._common import (
    RESUME_HINT,
    FunctionRef,
    existing_project,
    fail,
    handle_errors,
    loaded_function,
    main,
    objective_of,
    open_study,
    parse_function_ref,
    stdout,
)
from hyperscout.cli.run import RUN_META
from hyperscout.report import format_value, printable
from hyperscout.report.sensitivity import Sensitivity, sensitivity_figure
from hyperscout.tuner.strategies import STRATEGIES


def _optional_ref(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    return None if value is None else parse_function_ref(ctx, param, value)


@main.command(short_help="Sweep each parameter around a study's best configuration.")
@click.argument("project", metavar="DIRECTORY/PROJECT")
@click.option(
    "--function",
    "function_ref",
    metavar="FILE.py:FUNCTION",
    default=None,
    callback=_optional_ref,
    help="The objective [default: the one hyperscout run ran for this study].",
)
@click.option(
    "--points",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    help="Values of a numeric parameter (categories: each one).",
)
@click.option(
    "--parameter",
    "parameters",
    multiple=True,
    metavar="NAME",
    help="A parameter to sweep (repeat it) [default: every one].",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the plot as an HTML file (plotly's JavaScript embedded: opens offline).",
)
@handle_errors(interrupt_hint=RESUME_HINT)
def sensitivity(
    project: str,
    function_ref: FunctionRef | None,
    points: int,
    parameters: tuple[str, ...],
    output: Path | None,
) -> None:
    """Sweep each parameter of DIRECTORY/PROJECT around its best configuration.

    Each parameter goes over its range (--points values in its own scale; every category;
    both booleans) while the others keep the best configuration's values. Every point is a
    trial of the study; running the command again runs only the points not yet run. Needs a
    study made by hyperscout run (which records FILE.py:FUNCTION), or --function.
    """
    folder = existing_project(project)
    with open_study(folder) as (_, study):
        meta = dict(study.meta)
        objective = objective_of(study)
    run = meta.get(RUN_META)
    if not isinstance(run, dict) or run.get("strategy") not in STRATEGIES:
        fail(
            f"Error: {folder} was not made by hyperscout run, so its strategy and objective "
            "function are unknown here. Call tuner.sensitivity() on the tuner that made it."
        )
    ref = function_ref or _stored_ref(str(run.get("function", "")))
    with loaded_function(ref) as function:
        tuner = STRATEGIES[run["strategy"]].make(
            function,
            objective=objective,
            directory=folder.parent,
            project_name=folder.name,
            verbose=0,
            **dict(run.get("options") or {}),
        )
        try:
            result = tuner.sensitivity(points=points, parameters=list(parameters) or None)
        finally:
            tuner.close()
    stdout().print(sweeps_table(result, objective.name))
    if output is not None:
        sensitivity_figure(folder).write_html(output, include_plotlyjs=True, full_html=True)
        click.echo(f"Wrote the plot to {output}.", err=True)


def _stored_ref(text: str) -> FunctionRef:
    """The stored ``FILE.py:FUNCTION``, refused with the way out when the file is gone."""
    path, _, name = text.rpartition(":")
    if not path or not Path(path).is_file():
        fail(
            f"Error: the objective {text or '(none recorded)'} cannot be found; name it with "
            "--function FILE.py:FUNCTION."
        )
    return FunctionRef(Path(path), name)


def sweeps_table(result: Sensitivity, objective: str) -> Table:
    """One row per parameter: the value held, the best value of its sweep, the spread."""
    table = Table(title=f"Sensitivity around trial {result.center.number}", title_justify="left")
    for column in ("parameter", "best configuration", "best in sweep", "values tried"):
        table.add_column(column)
    table.add_column(Text(printable(f"{objective} spread")), justify="right")
    for name, sweep in result.sweeps.items():
        spread = sweep.spread
        # Text, not markup: a name or a value like "[red]" is shown as typed.
        table.add_row(
            Text(printable(name)),
            Text(format_value(sweep.center_value)),
            Text(format_value(sweep.best_value)),
            Text(str(len(sweep.values))),
            Text("" if spread is None else format_value(spread)),
        )
    return table
