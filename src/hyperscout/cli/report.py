"""``hyperscout report``: a project's HTML report, one file that opens offline."""

from __future__ import annotations

from pathlib import Path

import click

from hyperscout.cli._common import existing_project, handle_errors, main
from hyperscout.report.html import write_report

#: The report's file name inside the project folder without ``--output``.
DEFAULT_REPORT = "report.html"


@main.command(short_help="Write a project's HTML report (one file; opens offline).")
@click.argument("project", metavar="DIRECTORY/PROJECT")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"The file to write [default: DIRECTORY/PROJECT/{DEFAULT_REPORT}].",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Best configurations in the table.",
)
@handle_errors()
def report(project: str, output: Path | None, top: int) -> None:
    """Write a project's report: figures, best configurations, space, strategy, advice and
    provenance, in one HTML file with plotly inside, which opens offline.

    An existing file is replaced only when it is a report hyperscout wrote; any other file
    is left alone and the command fails (hyperscout never overwrites a file it did not
    create).
    """
    folder = existing_project(project)
    target = folder / DEFAULT_REPORT if output is None else output
    written = write_report(folder, target, top=top)
    click.echo(f"Wrote the report of {folder} to {written}.")
