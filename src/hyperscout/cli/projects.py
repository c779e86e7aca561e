"""``hyperscout list``, ``show``, ``check`` and ``export``: read studies, create nothing."""

from __future__ import annotations

import io
from pathlib import Path

import click

import hyperscout as hs
from hyperscout import report
from hyperscout.cli._common import (
    DEFAULT_DIRECTORY,
    database_of,
    existing_project,
    fail,
    handle_errors,
    main,
    objective_of,
    open_study,
    projects_in,
    stdout,
)
from hyperscout.report import StudyData, printable
from hyperscout.report.advice import advise
from hyperscout.storage import DATABASE_FILE, open_storage, sqlite_url
from hyperscout.tuner._provenance import describe


@main.command(name="list", short_help="List the projects in a directory.")
@click.argument("directory", type=click.Path(path_type=Path), default=DEFAULT_DIRECTORY)
@handle_errors()
def list_projects(directory: Path) -> None:
    """List the projects in DIRECTORY [default: hyperscout_runs]: trials and best value."""
    if not directory.exists():
        fail(f"Error: the directory {directory} does not exist.")
    if not directory.is_dir():
        fail(f"Error: {directory} is a file; expected a directory of projects.")
    projects = projects_in(directory)
    if not projects:
        hint = (
            f" {directory} is itself a project: try hyperscout show {directory}"
            if database_of(directory).is_file()
            else ""
        )
        click.echo(
            f"No projects in {directory}: a project is a folder with {DATABASE_FILE}, made by "
            f"hyperscout run, hyperscout demo or a tuner's directory=.{hint}"
        )
        return
    rows: list[tuple[str, hs.History | Exception]] = []
    for project in projects:
        try:
            with open_study(project) as (storage, study):
                history = hs.History(storage.trials(study.id), objective_of(study))
            rows.append((project.name, history))
        except Exception as exc:  # one unreadable project must not hide the others
            rows.append((project.name, exc))
    table = report.projects_table(rows, title=f"Projects in {directory}")
    stdout().print(table)


@main.command()
@click.argument("project", metavar="DIRECTORY/PROJECT")
@click.option(
    "--top", type=click.IntRange(min=1), default=10, show_default=True, help="Best trials shown."
)
@handle_errors()
def show(project: str, top: int) -> None:
    """Show a project's provenance, its search space, its best trials and advice.

    The provenance says how the study was made: the tuner, its sampler and scheduler with
    their settings, the seed, when and on which host, with which hyperscout and Python.
    """
    folder = existing_project(project)
    with open_study(folder) as (storage, study):
        trials = storage.trials(study.id)
        space = hs.HyperParameters.from_dict(study.space)
    history = hs.History(trials, objective_of(study))
    out = stdout()
    out.print(report.study_heading(study.name, str(database_of(folder)), history))
    for label, text in describe(study.meta.get("provenance")):
        out.print(printable(f"  {label + ':':<11}{text}"), markup=False, highlight=False)
    report.study_summary(history, space, top=top, console=out)
    data = StudyData(study.name, trials, history.objective, space, dict(study.meta))
    advice = advise(data)
    if advice:
        out.print("Advice", style="bold")
        for item in advice:
            out.print(printable(f"  - {item.message}"), markup=False, highlight=False)


CHECK_RECOVERY = (
    "To recover: restore the database from a backup, or repair the rows named above with an "
    "SQL client (sqlite3 FILE for a project's hyperscout.db); to start the study over instead, "
    "move the file aside (or use another project name)."
)


def _databases_to_check(target: str) -> list[tuple[str, str]]:
    """``(label, url)`` of the databases ``hyperscout check TARGET`` reads (none is created)."""
    if "://" in target:
        return [(target, target)]
    path = Path(target).expanduser()
    if path.is_dir():
        if database_of(path).is_file():
            files = [database_of(path)]
        else:
            files = [database_of(project) for project in projects_in(path)]
            if not files:
                fail(
                    f"Error: no study in {path}: expected a project folder with "
                    f"{DATABASE_FILE}, a directory of projects, a database file or a URL."
                )
    elif path.is_file():
        files = [path]
    else:
        fail(f"Error: {path} does not exist: expected a project folder, a file or a URL.")
    return [(str(file), sqlite_url(file)) for file in files]


def _check_one(url: str) -> tuple[list[str], str]:
    """The problems of one database, and a summary of what it holds when it has none."""
    try:
        storage = open_storage(url)
    except hs.StorageError as exc:
        return [str(exc)], ""
    try:
        problems = storage.check()
        if problems:
            return problems, ""
        studies = storage.list_studies()
        count = sum(len(storage.trials(study.id)) for study in studies)
        return [], f"{len(studies)} stud{'y' if len(studies) == 1 else 'ies'}, {count} trials"
    except hs.StorageError as exc:
        return [str(exc)], ""
    finally:
        storage.close()


@main.command(short_help="Check that every study and trial of a database can be read.")
@click.argument("target", metavar="PATH")
@handle_errors()
def check(target: str) -> None:
    """Read every study and trial in PATH and report what cannot be read.

    PATH is a project folder (DIRECTORY/PROJECT), a directory of projects, an SQLite file or
    a database URL (postgresql+psycopg://user:password@host/dbname). Every damaged row is
    listed, with its study and trial number. Exits with 0 when all can be read, 1 otherwise.
    """
    damaged = False
    for label, url in _databases_to_check(target):
        problems, summary = _check_one(url)
        if not problems:
            click.echo(f"{label}: ok ({summary})")
            continue
        damaged = True
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        click.echo(f"{label}: {count}:")
        for problem in problems:
            click.echo(f"  - {problem}")
    if damaged:
        fail(CHECK_RECOVERY)


@main.command(short_help="Export the trials of a project as CSV or JSON.")
@click.argument("project", metavar="DIRECTORY/PROJECT")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(report.FORMATS),
    default="csv",
    show_default=True,
    help="CSV: one row per trial, param_ and metric_ columns. JSON: every field of every trial.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file [default: standard output].",
)
@click.option(
    "--best",
    is_flag=True,
    help="Only the ranked configurations, best first: one trial per configuration, on the "
    "highest budget it completed (the rows of hyperscout show).",
)
@handle_errors()
def export(project: str, fmt: str, output: Path | None, best: bool) -> None:
    """Export every trial of a project as CSV or JSON (times are Unix seconds).

    Each trial has its budget (empty in CSV, null in JSON: the full budget, as in a search
    without early stopping) and its rank: 1 for the best configuration, as hyperscout show
    ranks them (each configuration once, on the highest budget it completed), empty for a
    trial that is not its configuration's result (a lower budget, pruned, failed).
    """
    folder = existing_project(project)
    with open_study(folder) as (storage, study):
        trials = storage.trials(study.id)
        space = hs.HyperParameters.from_dict(study.space)
    buffer = io.StringIO()
    count = report.export_trials(
        trials, objective_of(study), buffer, format=fmt, space=space, best=best
    )
    text = buffer.getvalue()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {count} trials to {output}.", err=True)
