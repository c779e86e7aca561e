"""``hyperscout demo``: the lecture in one command."""

from __future__ import annotations

from pathlib import Path

import click

from hyperscout.cli._common import (
    DEFAULT_DIRECTORY,
    RESUME_HINT,
    handle_errors,
    main,
    stdout,
)
from hyperscout.demo import DEFAULT_MAX_TRIALS, DEFAULT_STRATEGY, FRAMEWORKS, MAX_EPOCHS
from hyperscout.demo import STRATEGIES as DEMO_STRATEGIES
from hyperscout.demo.compare import COMPARE_MAX_EPOCHS, COMPARE_MAX_TRIALS, COMPARE_SEEDS


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
    default=None,
    help=f"The full budget of a trial, in epochs [default: {MAX_EPOCHS}; "
    f"{COMPARE_MAX_EPOCHS} with --compare].",
)
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DIRECTORY,
    show_default=True,
    help="Folder of the project (digits_<framework>_<strategy>).",
)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seeds the search.")
@click.option("--overwrite", is_flag=True, help="Delete the demo's earlier trials first.")
@click.option(
    "--compare",
    is_flag=True,
    help="Run the lecture's comparison instead: grid, random, bayes, hyperband and bohb, "
    f"--seeds each, on the same budget (--max-trials trials [default: {COMPARE_MAX_TRIALS}] "
    "of --max-epochs, or as many epochs); writes a figure and a table beside the runs.",
)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=COMPARE_SEEDS,
    show_default=True,
    help="With --compare: the runs of each strategy.",
)
@click.option(
    "--verbose",
    type=click.IntRange(0, 2),
    default=1,
    show_default=True,
    help="0 quiet; 1 a progress bar and a report; 2 also a line per trial.",
)
@handle_errors(interrupt_hint=RESUME_HINT)
def demo(
    strategy: str,
    framework: str,
    max_trials: int | None,
    max_epochs: int | None,
    directory: Path,
    seed: int | None,
    overwrite: bool,
    compare: bool,
    seeds: int,
    verbose: int,
) -> None:
    """Tune a neural network on scikit-learn's digits: a real search, no setup.

    By default BOHB searches a small network's layers, units, activation, learning rate,
    weight decay and batch size: Hyperband brackets give trials 1 to 27 epochs, a TPE model
    proposes the new configurations, and promoted trials continue from their checkpoints.
    The best network is then reloaded from its checkpoint and scored on a held-out test split.
    Needs scikit-learn (pip install 'hyperscout[sklearn]'); uses PyTorch when installed.

    With --compare, the lecture's comparison: grid, random and Bayesian search, Hyperband and
    BOHB tune the same network with --seeds seeds each on the same budget, and a figure (best
    so far against epochs spent) and a table (final best, epochs to reach a target, time)
    are written beside the runs, in about two minutes on two cores.
    """
    from hyperscout.demo import run_compare_demo, run_demo

    if compare:
        _refuse_with_compare("strategy", "seed", "overwrite")
        run_compare_demo(
            max_trials,
            directory,
            seeds=seeds,
            framework=framework,
            max_epochs=max_epochs or COMPARE_MAX_EPOCHS,
            verbose=verbose,
            console=stdout(),
        )
        return
    if click.get_current_context().get_parameter_source("seeds") is not _DEFAULT:
        raise click.UsageError("--seeds applies to --compare only.")
    run_demo(
        strategy,
        max_trials,
        directory,
        seed,
        verbose,
        framework=framework,
        max_epochs=max_epochs or MAX_EPOCHS,
        overwrite=overwrite,
        console=stdout(),
    )


_DEFAULT = click.core.ParameterSource.DEFAULT


def _refuse_with_compare(*names: str) -> None:
    """Options of the single search that mean nothing to --compare."""
    context = click.get_current_context()
    for name in names:
        if context.get_parameter_source(name) is not _DEFAULT:
            option = "--" + name.replace("_", "-")
            raise click.UsageError(f"{option} does not apply to --compare.")
