"""``hyperscout run FILE.py:FUNCTION``: a search of the user's function, by any strategy.

The options of a search (its strategy, budget, objective, storage) are shared with
``hyperscout worker`` (:mod:`hyperscout.cli.worker`): :func:`search_options` declares them
and :func:`make_search` turns them into a tuner, so that both commands read and record a
study the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

import hyperscout as hs
from hyperscout.cli._common import (
    DEFAULT_DIRECTORY,
    RESUME_HINT,
    FunctionRef,
    database_of,
    handle_errors,
    loaded_function,
    main,
    parse_function_ref,
    stdout,
)
from hyperscout.report import format_value, printable
from hyperscout.storage._factory import hide_password
from hyperscout.tuner.strategies import STRATEGIES

F = TypeVar("F", bound=Callable[..., Any])

_BUDGETED = ", ".join(s.name for s in STRATEGIES.values() if s.budgeted)

#: The study's meta key where ``hyperscout run`` (and ``hyperscout worker``) keep how they ran
#: the study (the function as ``FILE.py:FUNCTION``, the strategy and its options), for
#: ``hyperscout sensitivity`` and for the workers that join the study.
RUN_META = "cli_run"


def search_options(*, strategy_default: str | None) -> Callable[[F], F]:
    """The options of a search, shared by ``hyperscout run`` and ``hyperscout worker``."""
    strategy_help = (
        "How configurations are proposed: "
        + "; ".join(f"{s.name}: {s.description}" for s in STRATEGIES.values())
        + f". {_BUDGETED} give each trial a budget: the function takes (hp, trial) and trains "
        "for trial.budget epochs."
    )
    options = [
        click.option(
            "--strategy",
            type=click.Choice(list(STRATEGIES)),
            default=strategy_default,
            show_default=strategy_default is not None,
            help=strategy_help
            + (
                ""
                if strategy_default
                else " [default: the study's, as the command that made it chose]"
            ),
        ),
        click.option(
            "--max-epochs",
            type=click.IntRange(min=1),
            default=None,
            help=f"Budgeted strategies only ({_BUDGETED}): the full budget of a trial "
            "(required for them).",
        ),
        click.option(
            "--max-trials",
            type=click.IntRange(min=1),
            default=None,
            help="Trials in the study, earlier runs included [default: 10 for random, the "
            "whole grid].",
        ),
        click.option(
            "--objective",
            "objective_name",
            metavar="NAME",
            default=None,
            help="The metric to optimise, a key of the dict the function returns (its "
            "direction is inferred from names like val_loss or val_accuracy); required for a "
            "function that returns a dict. Default: the returned float.",
        ),
        click.option(
            "--direction",
            type=click.Choice(["min", "max"]),
            default=None,
            help="Minimise or maximise the objective [default: inferred; min for a float].",
        ),
        click.option(
            "--storage",
            metavar="URL",
            default=None,
            help="Keep the study in this database (sqlite:///path/study.db, or "
            "postgresql://user@host/dbname for workers on many machines) instead of "
            "DIRECTORY/PROJECT/hyperscout.db.",
        ),
        click.option(
            "--directory",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help=f"Folder of the projects [default: {DEFAULT_DIRECTORY}; with --storage, "
            "only the trials' checkpoints go there, in a temporary folder when not given].",
        ),
        click.option(
            "--project-name",
            default=None,
            help="The study's name and folder [default: the function's name].",
        ),
        click.option("--seed", type=click.IntRange(min=0), default=None, help="Seeds the search."),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            default=None,
            metavar="SECONDS",
            help="Stop the search after this many seconds (running trials are stopped and "
            "run again on resume).",
        ),
        click.option(
            "--trial-timeout",
            type=click.FloatRange(min=0, min_open=True),
            default=None,
            metavar="SECONDS",
            help="Stop a trial that runs longer and record it as failed.",
        ),
        click.option(
            "--float-points",
            type=click.IntRange(min=1),
            default=None,
            help="Grid only: values of a float parameter without a step [default: 5].",
        ),
        click.option(
            "--verbose",
            type=click.IntRange(0, 2),
            default=1,
            show_default=True,
            help="0 quiet; 1 a progress bar on a terminal; 2 also a line per trial.",
        ),
    ]

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


#: The options :func:`search_options` declares that the study's record keeps.
RECORDED = ("max_trials", "float_points", "max_epochs", "trial_timeout")


def make_search(
    function: Callable[..., Any],
    target: FunctionRef,
    settings: dict[str, Any],
    *,
    overwrite: bool = False,
) -> hs.Tuner:
    """The tuner of the search ``settings`` describes (the options of :func:`search_options`,
    ``strategy`` set), with the run recorded in the study's meta."""
    strategy = str(settings["strategy"])
    check_budget_options(strategy, settings["float_points"], settings["max_epochs"])
    storage = settings["storage"]
    directory = settings["directory"]
    if directory is None and storage is None:
        directory = Path(DEFAULT_DIRECTORY)
    options: dict[str, Any] = {
        "objective": hs.Objective.resolve(settings["objective_name"], settings["direction"]),
        "directory": directory,
        "storage": storage,
        "project_name": settings["project_name"] or target.name,
        "seed": settings["seed"],
        "overwrite": overwrite,
        "timeout": settings["timeout"],
        "trial_timeout": settings["trial_timeout"],
        "verbose": settings["verbose"],
    }
    optional = {
        "max_trials": settings["max_trials"],
        "float_points": settings["float_points"],
        "max_budget": settings["max_epochs"],
    }
    options.update({name: value for name, value in optional.items() if value is not None})
    tuner = STRATEGIES[strategy].make(function, **options)
    try:
        remember_run(
            tuner, target, strategy, {**optional, "trial_timeout": settings["trial_timeout"]}
        )
    except BaseException:
        tuner.close()
        raise
    return tuner


def where_kept(tuner: hs.Tuner, storage: str | None) -> str:
    """Where the study is, for a closing line (a URL without its password)."""
    if storage is not None:
        return f"{hide_password(storage)} (study {tuner.project_name!r})"
    return str(database_of(tuner.project_dir))


@main.command(short_help="Search the hyperparameters of FILE.py:FUNCTION.")
@click.argument("target", metavar="FILE.py:FUNCTION", callback=parse_function_ref)
@search_options(strategy_default="random")
@click.option("--overwrite", is_flag=True, help="Delete the project's earlier trials first.")
@handle_errors(interrupt_hint=RESUME_HINT)
def run(target: FunctionRef, overwrite: bool, **settings: Any) -> None:
    """Search the hyperparameters of FUNCTION, defined in FILE.py as `def FUNCTION(hp): ...`.

    The function returns a float (minimised unless --direction max) or a dict of metrics
    (pick one with --objective). With a budgeted strategy (halving, hyperband, bohb, asha) it
    is `def FUNCTION(hp, trial): ...` and trains for `trial.budget` epochs (1 to --max-epochs).
    Running the same command again resumes the search. With --storage, `hyperscout worker`
    commands on other machines join the study and run its trials too.
    """
    with loaded_function(target) as function:
        tuner = make_search(function, target, settings, overwrite=overwrite)
        try:
            _search_and_tell(tuner, settings["storage"])
        finally:
            tuner.close()


def remember_run(tuner: hs.Tuner, target: FunctionRef, strategy: str, options: Any) -> None:
    """Keep ``FILE.py:FUNCTION``, the strategy and its options in the study's meta.

    The meta is written only when the record changes: workers joining a study leave it be.
    """
    study = tuner.storage.load_study(tuner.project_name)
    if study is not None:
        kept = {name: value for name, value in options.items() if value is not None}
        run = {"function": str(target), "strategy": strategy, "options": kept}
        if study.meta.get(RUN_META) != run:
            tuner.storage.save_meta(study.id, {**study.meta, RUN_META: run})


def check_budget_options(strategy: str, float_points: int | None, max_epochs: int | None) -> None:
    """The options that only some strategies take, refused where they mean nothing."""
    if float_points is not None and strategy != "grid":
        raise click.UsageError("--float-points applies to --strategy grid only.")
    if STRATEGIES[strategy].budgeted and max_epochs is None:
        raise click.UsageError(f"--strategy {strategy} needs --max-epochs (a trial's full budget).")
    if max_epochs is not None and not STRATEGIES[strategy].budgeted:
        raise click.UsageError(
            f"--max-epochs applies to the budgeted strategies only ({_BUDGETED})."
        )


def _search_and_tell(tuner: hs.Tuner, storage: str | None) -> None:
    """Run (or resume) the search, then print the best trials and where the study is."""
    out = stdout()
    objective = tuner.objective
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
    # (A search whose trials all failed raised TooManyFailedTrialsError: exit 1.)
    where = f"The study is saved in {where_kept(tuner, storage)} ({len(tuner.trials)} trials)."
    if storage is None:
        where += f" Look at it with: hyperscout show {tuner.project_dir}"
    out.print(printable(where))
