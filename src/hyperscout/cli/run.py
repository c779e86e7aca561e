"""``hyperscout run FILE.py:FUNCTION``: a search of the user's function, by any strategy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
from hyperscout.tuner.strategies import STRATEGIES


@main.command(short_help="Search the hyperparameters of FILE.py:FUNCTION.")
@click.argument("target", metavar="FILE.py:FUNCTION", callback=parse_function_ref)
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
    default=DEFAULT_DIRECTORY,
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
@handle_errors(interrupt_hint=RESUME_HINT)
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
    _check_budget_options(strategy, float_points, max_epochs)
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
    optional = {"max_trials": max_trials, "float_points": float_points, "max_budget": max_epochs}
    options.update({name: value for name, value in optional.items() if value is not None})
    with loaded_function(target) as function:
        tuner = chosen.make(function, **options)
        try:
            remember_run(tuner, target, strategy, {**optional, "trial_timeout": trial_timeout})
            _search_and_tell(tuner, Path(directory))
        finally:
            tuner.storage.close()


#: The study's meta key where ``hyperscout run`` keeps how it ran the study (the function as
#: ``FILE.py:FUNCTION``, the strategy and its options), for ``hyperscout sensitivity``.
RUN_META = "cli_run"


def remember_run(tuner: hs.Tuner, target: FunctionRef, strategy: str, options: Any) -> None:
    """Keep ``FILE.py:FUNCTION``, the strategy and its options in the study's meta."""
    study = tuner.storage.load_study(tuner.project_name)
    if study is not None:
        kept = {name: value for name, value in options.items() if value is not None}
        run = {"function": str(target), "strategy": strategy, "options": kept}
        tuner.storage.save_meta(study.id, {**study.meta, RUN_META: run})


def _check_budget_options(strategy: str, float_points: int | None, max_epochs: int | None) -> None:
    """The options that only some strategies take, refused where they mean nothing."""
    if float_points is not None and strategy != "grid":
        raise click.UsageError("--float-points applies to --strategy grid only.")
    if STRATEGIES[strategy].budgeted and max_epochs is None:
        raise click.UsageError(f"--strategy {strategy} needs --max-epochs (a trial's full budget).")
    if max_epochs is not None and not STRATEGIES[strategy].budgeted:
        budgeted = ", ".join(s.name for s in STRATEGIES.values() if s.budgeted)
        raise click.UsageError(
            f"--max-epochs applies to the budgeted strategies only ({budgeted})."
        )


def _search_and_tell(tuner: hs.Tuner, directory: Path) -> None:
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
    project = directory / tuner.project_name
    # (A search whose trials all failed raised TooManyFailedTrialsError: exit 1.)
    out.print(
        printable(
            f"The study is saved in {database_of(project)} ({len(tuner.trials)} "
            f"trials). Look at it with: hyperscout show {project}"
        )
    )
