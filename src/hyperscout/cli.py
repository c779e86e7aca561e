"""The ``hyperscout`` command: run a search from a file, inspect and export studies, a demo.

::

    hyperscout run train.py:objective --strategy random --max-trials 30 --objective val_loss
    hyperscout list hyperscout_runs
    hyperscout show hyperscout_runs/my_project --top 10
    hyperscout export hyperscout_runs/my_project --format csv --output trials.csv
    hyperscout check hyperscout_runs/my_project
    hyperscout demo

A project is a folder ``DIRECTORY/PROJECT_NAME`` holding the SQLite study ``hyperscout.db``, as
a tuner writes it. ``list``, ``show`` and ``export`` only read: they create nothing.

This module only parses arguments and calls the public API, :mod:`hyperscout.report` (tables,
summaries, export) and :mod:`hyperscout.demo`.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console

import hyperscout as hs
from hyperscout import report
from hyperscout.demo import DEFAULT_MAX_TRIALS, DEFAULT_STRATEGY, FRAMEWORKS, MAX_EPOCHS
from hyperscout.demo import STRATEGIES as DEMO_STRATEGIES
from hyperscout.report import format_value, printable
from hyperscout.storage import StudyInfo, open_storage
from hyperscout.storage.sql import sqlite_url
from hyperscout.tuner import DATABASE_FILE
from hyperscout.tuner._provenance import describe
from hyperscout.tuner.strategies import STRATEGIES

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])

#: The exit code of a search stopped with Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130

_DEFAULT_DIRECTORY = "hyperscout_runs"
# Columns of tables written to a file or a pipe.
_PIPE_WIDTH = 120


def _stdout() -> Console:
    """A rich console on standard output (made per call: click's test runner swaps it).

    Markup is off: names, values and paths are printed as they are, brackets included.
    """
    console = Console(file=sys.stdout, markup=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # A file or a pipe does not wrap lines: give tables room rather than rich's 80.
        console = Console(file=sys.stdout, markup=False, width=_PIPE_WIDTH)
    return console


def _fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` to stderr (control characters escaped) and exit with ``code``."""
    click.echo("\n".join(printable(line) for line in message.split("\n")), err=True)
    sys.exit(code)


def _handle_errors(interrupt_hint: str | None = None) -> Callable[[F], F]:
    """Turn hyperscout errors into a message and exit 1, Ctrl-C into a hint and exit 130."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except hs.ObjectiveDirectionError as exc:
                _fail(f"Error: {exc}\nOn the command line: --direction min or --direction max.")
            except hs.HyperscoutError as exc:
                _fail(f"Error: {exc}")
            except KeyboardInterrupt:
                message = "\nInterrupted (Ctrl-C)."
                if interrupt_hint:
                    message += " " + interrupt_hint
                _fail(message, EXIT_INTERRUPTED)

        return wrapper  # type: ignore[return-value]

    return decorate


_RESUME_HINT = (
    "The trials that finished are kept in the study; the interrupted one runs again. "
    "To resume, run the same command again."
)


# -- loading FILE.py:FUNCTION ----------------------------------------------------------------


@dataclass(frozen=True)
class FunctionRef:
    """A function named on the command line as ``FILE.py:FUNCTION``."""

    path: Path
    name: str

    def __str__(self) -> str:
        return f"{self.path}:{self.name}"


def _parse_function_ref(ctx: click.Context, param: click.Parameter, value: str) -> FunctionRef:
    """``FILE.py:FUNCTION``: check the form and that the file exists (it is loaded later)."""
    # The last colon: a Windows path has one of its own (C:\work\train.py:objective).
    file_part, colon, name = value.rpartition(":")
    if not colon or not file_part or not name:
        raise click.BadParameter(
            f"expected FILE.py:FUNCTION, e.g. train.py:objective, got {value!r}."
        )
    if not name.isidentifier():
        raise click.BadParameter(
            f"expected FILE.py:FUNCTION with a Python function name after the colon, got "
            f"{name!r} in {value!r}."
        )
    path = Path(file_part).expanduser()
    if not path.is_file():
        raise click.BadParameter(f"the file {file_part!r} (from {value!r}) does not exist.")
    return FunctionRef(path.resolve(), name)


@contextlib.contextmanager
def _loaded_function(ref: FunctionRef) -> Iterator[Callable[..., Any]]:
    """Import ``ref.path`` and yield its function ``ref.name``.

    The file's folder is on ``sys.path`` while the file loads and the function runs, so it
    imports its neighbours as ``python FILE.py`` would; both are undone afterwards.
    """
    folder = str(ref.path.parent)
    module_name = ref.path.stem
    if not module_name.isidentifier() or module_name in sys.modules:
        # Never shadow a module already imported (a file called json.py, say).
        module_name = f"_hyperscout_user_{abs(hash(str(ref.path)))}"
    spec = importlib.util.spec_from_file_location(module_name, ref.path)
    if spec is None or spec.loader is None:
        raise click.BadParameter(
            f"cannot import {str(ref.path)!r} as Python; expected a .py file.",
            param_hint="'FILE.py:FUNCTION'",
        )
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, folder)
    sys.modules[module_name] = module
    try:
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            raise click.ClickException(
                f"Loading {ref.path} failed with {type(exc).__name__}: {exc}\n\n{details}"
            ) from exc
        function = getattr(module, ref.name, None)
        if not callable(function):
            found = sorted(
                name
                for name, value in vars(module).items()
                if callable(value)
                and not name.startswith("_")
                and getattr(value, "__module__", None) == module_name
            )
            problem = (
                f"has no function named {ref.name!r}"
                if function is None
                else f"defines {ref.name!r} as a {type(function).__name__}, not a function"
            )
            raise click.BadParameter(
                f"{ref.path.name} {problem}; its functions: {', '.join(found) or 'none'}.",
                param_hint="'FILE.py:FUNCTION'",
            )
        yield function
    finally:
        sys.modules.pop(module_name, None)
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)


# -- reading projects ------------------------------------------------------------------------


def _database_of(project: Path) -> Path:
    return project / DATABASE_FILE


def _projects_in(directory: Path) -> list[Path]:
    """The subfolders of ``directory`` that hold a study, by name."""
    return sorted(p for p in directory.iterdir() if p.is_dir() and _database_of(p).is_file())


def _existing_project(text: str) -> Path:
    """The project folder ``text``, or exit 1 when it holds no study (nothing is created)."""
    project = Path(text).expanduser()
    if not _database_of(project).is_file():
        if not project.exists():
            _fail(f"Error: no project at {project}: the folder does not exist.")
        parent = project.parent
        hint = ""
        if parent.is_dir() and _projects_in(parent):
            names = ", ".join(p.name for p in _projects_in(parent))
            hint = f" Projects in {parent}: {names}."
        elif project.is_dir() and _projects_in(project):
            names = ", ".join(p.name for p in _projects_in(project))
            hint = f" It is a directory of projects ({names}): try hyperscout list {project}."
        _fail(f"Error: no project at {project}: expected a folder with {DATABASE_FILE}.{hint}")
    return project


@contextlib.contextmanager
def _open_study(project: Path) -> Iterator[tuple[hs.Storage, StudyInfo]]:
    """The storage and study of an existing project folder, closed afterwards."""
    storage = open_storage(sqlite_url(_database_of(project)))
    try:
        study = storage.load_study(project.name)
        if study is None:
            studies = storage.list_studies()
            if len(studies) != 1:
                names = ", ".join(repr(s.name) for s in studies) or "none"
                raise hs.StorageError(
                    f"{_database_of(project)} has no study named {project.name!r} "
                    f"(its studies: {names})."
                )
            study = studies[0]  # a renamed project folder
        yield storage, study
    finally:
        storage.close()


def _objective_of(study: StudyInfo) -> hs.Objective:
    stored = study.meta.get("objective") or {}
    return hs.Objective(str(stored.get("name", "objective")), str(stored.get("direction", "min")))


# -- the commands ----------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(hs.__version__, "--version", "-V", prog_name="hyperscout")
def main() -> None:
    """hyperscout: hyperparameter search with durable trials.

    Run `hyperscout demo` for a real search with no setup, or `hyperscout run FILE.py:FUNCTION`
    on an objective of your own. Every trial is kept in DIRECTORY/PROJECT/hyperscout.db.
    """


@main.command(short_help="Search the hyperparameters of FILE.py:FUNCTION.")
@click.argument("target", metavar="FILE.py:FUNCTION", callback=_parse_function_ref)
@click.option(
    "--strategy",
    type=click.Choice(list(STRATEGIES)),
    default="random",
    show_default=True,
    help="How configurations are proposed: "
    + "; ".join(f"{s.name}: {s.description}" for s in STRATEGIES.values())
    + ". "
    + ", ".join(s.name for s in STRATEGIES.values() if s.budgeted)
    + " give each trial a budget: the function takes (hp, trial) and trains for "
    "trial.budget epochs.",
)
@click.option(
    "--max-epochs",
    type=click.IntRange(min=1),
    default=None,
    help="Budgeted strategies only ("
    + ", ".join(s.name for s in STRATEGIES.values() if s.budgeted)
    + "): the full budget of a trial (required for them).",
)
@click.option(
    "--max-trials",
    type=click.IntRange(min=1),
    default=None,
    help="Trials in the study, earlier runs included [default: 10 for random, the whole grid].",
)
@click.option(
    "--objective",
    "objective_name",
    metavar="NAME",
    default=None,
    help="The metric to optimise, a key of the dict the function returns (its direction is "
    "inferred from names like val_loss or val_accuracy); required for a function that returns "
    "a dict. Default: the returned float.",
)
@click.option(
    "--direction",
    type=click.Choice(["min", "max"]),
    default=None,
    help="Minimise or maximise the objective [default: inferred; min for a float].",
)
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=_DEFAULT_DIRECTORY,
    show_default=True,
    help="Folder of the projects.",
)
@click.option(
    "--project-name",
    default=None,
    help="The study's name and folder [default: the function's name].",
)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seeds the search.")
@click.option("--overwrite", is_flag=True, help="Delete the project's earlier trials first.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Stop the search after this many seconds (running trials are stopped and run again "
    "on resume).",
)
@click.option(
    "--trial-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Stop a trial that runs longer and record it as failed.",
)
@click.option(
    "--float-points",
    type=click.IntRange(min=1),
    default=None,
    help="Grid only: values of a float parameter without a step [default: 5].",
)
@click.option(
    "--verbose",
    type=click.IntRange(0, 2),
    default=1,
    show_default=True,
    help="0 quiet; 1 a progress bar on a terminal; 2 also a line per trial.",
)
@_handle_errors(interrupt_hint=_RESUME_HINT)
def run(
    target: FunctionRef,
    strategy: str,
    max_trials: int | None,
    objective_name: str | None,
    direction: str | None,
    directory: Path,
    project_name: str | None,
    seed: int | None,
    overwrite: bool,
    timeout: float | None,
    trial_timeout: float | None,
    float_points: int | None,
    verbose: int,
    max_epochs: int | None,
) -> None:
    """Search the hyperparameters of FUNCTION, defined in FILE.py as `def FUNCTION(hp): ...`.

    The function returns a float (minimised unless --direction max) or a dict of metrics
    (pick one with --objective). With a budgeted strategy (halving, hyperband, bohb, asha) it
    is `def FUNCTION(hp, trial): ...` and trains for `trial.budget` epochs (1 to --max-epochs).
    Running the same command again resumes the search.
    """
    chosen = STRATEGIES[strategy]
    if float_points is not None and strategy != "grid":
        raise click.UsageError("--float-points applies to --strategy grid only.")
    if chosen.budgeted and max_epochs is None:
        raise click.UsageError(f"--strategy {strategy} needs --max-epochs (a trial's full budget).")
    if max_epochs is not None and not chosen.budgeted:
        budgeted = ", ".join(s.name for s in STRATEGIES.values() if s.budgeted)
        raise click.UsageError(
            f"--max-epochs applies to the budgeted strategies only ({budgeted})."
        )
    objective = hs.Objective.resolve(objective_name, direction)
    options: dict[str, Any] = {
        "objective": objective,
        "directory": directory,
        "project_name": project_name or target.name,
        "seed": seed,
        "overwrite": overwrite,
        "timeout": timeout,
        "trial_timeout": trial_timeout,
        "verbose": verbose,
    }
    if max_trials is not None:
        options["max_trials"] = max_trials
    if float_points is not None:
        options["float_points"] = float_points
    if max_epochs is not None:
        options["max_budget"] = max_epochs
    out = _stdout()
    with _loaded_function(target) as function:
        tuner = chosen.make(function, **options)
        try:
            before = len(tuner.trials)
            if before:
                out.print(f"Resuming {tuner.project_name}: {before} trials already in the study.")
            tuner.search()
            tuner.results_summary(5, console=out)
            best = tuner.get_best_trials(1)
            if best:
                out.print(
                    printable(
                        f"Best {objective.name} ({objective.direction}): "
                        f"{format_value(best[0].value)} (trial {best[0].number}, "
                        f"{dict(best[0].values)})"
                    )
                )
            project = Path(directory) / tuner.project_name
            # (A search whose trials all failed raised TooManyFailedTrialsError: exit 1.)
            out.print(
                printable(
                    f"The study is saved in {_database_of(project)} ({len(tuner.trials)} "
                    f"trials). Look at it with: hyperscout show {project}"
                )
            )
        finally:
            tuner.storage.close()


@main.command(name="list", short_help="List the projects in a directory.")
@click.argument("directory", type=click.Path(path_type=Path), default=_DEFAULT_DIRECTORY)
@_handle_errors()
def list_projects(directory: Path) -> None:
    """List the projects in DIRECTORY [default: hyperscout_runs]: trials and best value."""
    if not directory.exists():
        _fail(f"Error: the directory {directory} does not exist.")
    if not directory.is_dir():
        _fail(f"Error: {directory} is a file; expected a directory of projects.")
    projects = _projects_in(directory)
    if not projects:
        hint = (
            f" {directory} is itself a project: try hyperscout show {directory}"
            if _database_of(directory).is_file()
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
            with _open_study(project) as (storage, study):
                history = hs.History(storage.trials(study.id), _objective_of(study))
            rows.append((project.name, history))
        except Exception as exc:  # one unreadable project must not hide the others
            rows.append((project.name, exc))
    table = report.projects_table(rows, title=f"Projects in {directory}")
    _stdout().print(table)


@main.command()
@click.argument("project", metavar="DIRECTORY/PROJECT")
@click.option(
    "--top", type=click.IntRange(min=1), default=10, show_default=True, help="Best trials shown."
)
@_handle_errors()
def show(project: str, top: int) -> None:
    """Show a project's provenance, its search space and its best trials.

    The provenance says how the study was made: the tuner, its sampler and scheduler with
    their settings, the seed, when and on which host, with which hyperscout and Python.
    """
    folder = _existing_project(project)
    with _open_study(folder) as (storage, study):
        trials = storage.trials(study.id)
        space = hs.HyperParameters.from_dict(study.space)
    history = hs.History(trials, _objective_of(study))
    out = _stdout()
    out.print(report.study_heading(study.name, str(_database_of(folder)), history))
    for label, text in describe(study.meta.get("provenance")):
        out.print(printable(f"  {label + ':':<11}{text}"), markup=False, highlight=False)
    report.study_summary(history, space, top=top, console=out)


_CHECK_RECOVERY = (
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
        if _database_of(path).is_file():
            files = [_database_of(path)]
        else:
            files = [_database_of(project) for project in _projects_in(path)]
            if not files:
                _fail(
                    f"Error: no study in {path}: expected a project folder with "
                    f"{DATABASE_FILE}, a directory of projects, a database file or a URL."
                )
    elif path.is_file():
        files = [path]
    else:
        _fail(f"Error: {path} does not exist: expected a project folder, a file or a URL.")
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
@_handle_errors()
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
        _fail(_CHECK_RECOVERY)


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
@_handle_errors()
def export(project: str, fmt: str, output: Path | None, best: bool) -> None:
    """Export every trial of a project as CSV or JSON (times are Unix seconds).

    Each trial has its budget (empty in CSV, null in JSON: the full budget, as in a search
    without early stopping) and its rank: 1 for the best configuration, as hyperscout show
    ranks them (each configuration once, on the highest budget it completed), empty for a
    trial that is not its configuration's result (a lower budget, pruned, failed).
    """
    folder = _existing_project(project)
    with _open_study(folder) as (storage, study):
        trials = storage.trials(study.id)
        space = hs.HyperParameters.from_dict(study.space)
    buffer = io.StringIO()
    count = report.export_trials(
        trials, _objective_of(study), buffer, format=fmt, space=space, best=best
    )
    text = buffer.getvalue()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {count} trials to {output}.", err=True)


@main.command(short_help="Tune a neural network on the digits data: the lecture in one command.")
@click.option(
    "--strategy",
    type=click.Choice(list(DEMO_STRATEGIES)),
    default=DEFAULT_STRATEGY,
    show_default=True,
    help="bohb and hyperband give trials 1 to --max-epochs epochs and promote the best; "
    "random, bayes and grid train every trial in full.",
)
@click.option(
    "--framework",
    type=click.Choice(["auto", *FRAMEWORKS]),
    default="auto",
    show_default=True,
    help="The network: auto is PyTorch when installed, else scikit-learn's MLPClassifier.",
)
@click.option(
    "--max-trials",
    type=click.IntRange(min=1),
    default=None,
    help="Trials in the study, earlier runs included [default: all of Hyperband's brackets, "
    f"{DEFAULT_MAX_TRIALS} for random and bayes, the whole 12-point grid].",
)
@click.option(
    "--max-epochs",
    type=click.IntRange(min=1),
    default=MAX_EPOCHS,
    show_default=True,
    help="The full budget of a trial, in epochs.",
)
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=_DEFAULT_DIRECTORY,
    show_default=True,
    help="Folder of the project (digits_<framework>_<strategy>).",
)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seeds the search.")
@click.option("--overwrite", is_flag=True, help="Delete the demo's earlier trials first.")
@click.option(
    "--verbose",
    type=click.IntRange(0, 2),
    default=1,
    show_default=True,
    help="0 quiet; 1 a progress bar and a report; 2 also a line per trial.",
)
@_handle_errors(interrupt_hint=_RESUME_HINT)
def demo(
    strategy: str,
    framework: str,
    max_trials: int | None,
    max_epochs: int,
    directory: Path,
    seed: int | None,
    overwrite: bool,
    verbose: int,
) -> None:
    """Tune a neural network on scikit-learn's digits: a real search, no setup.

    By default BOHB searches a small network's layers, units, activation, learning rate,
    weight decay and batch size: Hyperband brackets give trials 1 to 27 epochs, a TPE model
    proposes the new configurations, and promoted trials continue from their checkpoints.
    The best network is then reloaded from its checkpoint and scored on a held-out test split.
    Needs scikit-learn (pip install 'hyperscout[sklearn]'); uses PyTorch when installed.
    """
    from hyperscout.demo import run_demo

    run_demo(
        strategy,
        max_trials,
        directory,
        seed,
        verbose,
        framework=framework,
        max_epochs=max_epochs,
        overwrite=overwrite,
        console=_stdout(),
    )
