"""What every command shares: the console, errors and exit codes, loading FILE.py:FUNCTION,
and reading project folders."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
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
from hyperscout.report import printable
from hyperscout.storage import DATABASE_FILE, Project, StudyInfo, find_projects, open_storage

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])

#: The exit code of a search stopped with Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130

DEFAULT_DIRECTORY = "hyperscout_runs"
# Columns of tables written to a file or a pipe.
PIPE_WIDTH = 120


def stdout() -> Console:
    """A rich console on standard output (made per call: click's test runner swaps it).

    Markup is off: names, values and paths are printed as they are, brackets included.
    """
    console = Console(file=sys.stdout, markup=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # A file or a pipe does not wrap lines: give tables room rather than rich's 80.
        console = Console(file=sys.stdout, markup=False, width=PIPE_WIDTH)
    return console


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` to stderr (control characters escaped) and exit with ``code``."""
    click.echo("\n".join(printable(line) for line in message.split("\n")), err=True)
    sys.exit(code)


def handle_errors(interrupt_hint: str | None = None) -> Callable[[F], F]:
    """Turn hyperscout errors into a message and exit 1, Ctrl-C into a hint and exit 130."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except hs.ObjectiveDirectionError as exc:
                fail(f"Error: {exc}\nOn the command line: --direction min or --direction max.")
            except hs.HyperscoutError as exc:
                fail(f"Error: {exc}")
            except KeyboardInterrupt:
                message = "\nInterrupted (Ctrl-C)."
                if interrupt_hint:
                    message += " " + interrupt_hint
                fail(message, EXIT_INTERRUPTED)

        return wrapper  # type: ignore[return-value]

    return decorate


RESUME_HINT = (
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


def parse_function_ref(ctx: click.Context, param: click.Parameter, value: str) -> FunctionRef:
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
def loaded_function(ref: FunctionRef) -> Iterator[Callable[..., Any]]:
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


def database_of(project: Path) -> Path:
    return Project(project).database


def projects_in(directory: Path) -> list[Path]:
    """The subfolders of ``directory`` that hold a study, by name."""
    return [project.folder for project in find_projects(directory)]


def existing_project(text: str) -> Path:
    """The project folder ``text``, or exit 1 when it holds no study (nothing is created)."""
    project = Path(text).expanduser()
    if not database_of(project).is_file():
        if not project.exists():
            fail(f"Error: no project at {project}: the folder does not exist.")
        parent = project.parent
        hint = ""
        if parent.is_dir() and projects_in(parent):
            names = ", ".join(p.name for p in projects_in(parent))
            hint = f" Projects in {parent}: {names}."
        elif project.is_dir() and projects_in(project):
            names = ", ".join(p.name for p in projects_in(project))
            hint = f" It is a directory of projects ({names}): try hyperscout list {project}."
        fail(f"Error: no project at {project}: expected a folder with {DATABASE_FILE}.{hint}")
    return project


@contextlib.contextmanager
def open_study(project: Path) -> Iterator[tuple[hs.Storage, StudyInfo]]:
    """The storage and study of an existing project folder, closed afterwards."""
    storage = open_storage(Project(project).url)
    try:
        study = storage.load_study(project.name)
        if study is None:
            studies = storage.list_studies()
            if len(studies) != 1:
                names = ", ".join(repr(s.name) for s in studies) or "none"
                raise hs.StorageError(
                    f"{database_of(project)} has no study named {project.name!r} "
                    f"(its studies: {names})."
                )
            study = studies[0]  # a renamed project folder
        yield storage, study
    finally:
        storage.close()


def objective_of(study: StudyInfo) -> hs.Objective:
    stored = study.meta.get("objective") or {}
    return hs.Objective(str(stored.get("name", "objective")), str(stored.get("direction", "min")))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(hs.__version__, "--version", "-V", prog_name="hyperscout")
def main() -> None:
    """hyperscout: hyperparameter search with durable trials.

    Run `hyperscout demo` for a real search with no setup, or `hyperscout run FILE.py:FUNCTION`
    on an objective of your own. Every trial is kept in DIRECTORY/PROJECT/hyperscout.db.
    """
