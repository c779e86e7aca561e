"""The demo's search: the network's space, the strategies, and :func:`run_demo` itself.

:func:`run_demo` runs in three steps: the search (a tuner over :func:`demo_objective`), the
evaluation (the best trial's network reloaded, scored on the test split and saved) and the
narration (what the search is, before it; what it found, after it).

>>> project_name("torch", "bohb"), project_name("sklearn", "grid", 9)
('digits_torch_bohb', 'digits_sklearn_grid_9epochs')
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from hyperscout._validation import check_int
from hyperscout.demo.data import load_digits_splits
from hyperscout.demo.networks import (
    NETWORKS,
    Network,
    best_network,
    one_torch_thread,
    resolve_framework,
    train,
)
from hyperscout.exceptions import InvalidArgumentError
from hyperscout.history import count_states
from hyperscout.report import format_value, printable
from hyperscout.report.html import is_report
from hyperscout.schedulers import HyperbandScheduler, SuccessiveHalvingScheduler
from hyperscout.space import HyperParameters
from hyperscout.storage import for_project
from hyperscout.trial import RunningTrial, Trial
from hyperscout.tuner import Tuner
from hyperscout.tuner.strategies import STRATEGIES as REGISTRY
from hyperscout.tuner.strategies import strategy as find_strategy

__all__ = [
    "DEFAULT_DIRECTORY",
    "DEFAULT_MAX_TRIALS",
    "DEFAULT_STRATEGY",
    "FACTOR",
    "MAX_EPOCHS",
    "OBJECTIVE",
    "STRATEGIES",
    "demo_objective",
    "project_name",
    "run_demo",
]

#: Where the demo keeps its studies unless told otherwise.
DEFAULT_DIRECTORY = "hyperscout_runs"
#: The search methods of the demo, and what each does (for the report).
#: Every strategy of the registry (hyperscout.tuner.strategies) runs the demo; these say
#: what each does on the demo's task.
_ON_THE_DIGITS = {
    "bohb": "BOHB (Hyperband brackets; new configurations proposed by a Gaussian-process model)",
    "hyperband": "Hyperband (brackets of successive halving; random configurations)",
    "halving": "successive halving (one bracket: many networks for 1 epoch, the best third on)",
    "asha": "asynchronous successive halving (promotes as soon as a rung has results)",
    "random": "random search (every trial trains the full number of epochs)",
    "bayes": "Bayesian optimization (a Gaussian process; every trial trains in full)",
    "grid": "grid search over a 12-point grid (every trial trains in full)",
}
STRATEGIES: dict[str, str] = {
    name: _ON_THE_DIGITS.get(name, entry.description) for name, entry in REGISTRY.items()
}
#: The search method of ``hyperscout demo`` without ``--strategy``.
DEFAULT_STRATEGY = "bohb"
#: Trials of a random or Bayesian search when ``max_trials`` is None. A grid runs its whole
#: grid; Hyperband and BOHB run their brackets.
DEFAULT_MAX_TRIALS = 20
#: The full budget of a trial, in epochs: about 97 % validation accuracy for a good
#: configuration. Hyperband's rungs are 1, 3, 9 and 27 epochs.
MAX_EPOCHS = 27
#: Hyperband's ratio between rungs: the best third of a rung goes on with three times the epochs.
FACTOR = 3
#: The metric the demo maximises.
OBJECTIVE = "val_accuracy"


def _is_budgeted(strategy: str) -> bool:
    """Whether the strategy gives each trial a budget of epochs (else: the full budget)."""
    return REGISTRY[strategy].budgeted


def _check_arguments(strategy: str, max_epochs: int) -> None:
    find_strategy(strategy, owner="run_demo", argument="strategy")
    check_int("run_demo", "max_epochs", max_epochs, minimum=1)


# -- the search --------------------------------------------------------------------------------
def _configuration(hp: HyperParameters, strategy: str) -> dict[str, Any]:
    """The network's hyperparameters: six searched, or a 12-point grid over three."""
    if strategy == "grid":
        return {
            "units": hp.Choice("units", [32, 64, 128]),
            "layers": hp.Fixed("layers", 1),
            "activation": hp.Choice("activation", ["relu", "tanh"]),
            "learning_rate": hp.Choice("learning_rate", [1e-3, 1e-2]),
            "weight_decay": hp.Fixed("weight_decay", 1e-4),
            "batch_size": hp.Fixed("batch_size", 64),
        }
    return {
        "units": hp.Int("units", 16, 128, step=16),
        "layers": hp.Int("layers", 1, 2),
        "activation": hp.Choice("activation", ["relu", "tanh"]),
        "learning_rate": hp.Float("learning_rate", 1e-4, 1e-1, sampling="log"),
        "weight_decay": hp.Float("weight_decay", 1e-6, 1e-2, sampling="log"),
        "batch_size": hp.Choice("batch_size", [32, 64, 128]),
    }


def demo_objective(
    framework: str, strategy: str = DEFAULT_STRATEGY, max_epochs: int = MAX_EPOCHS
) -> Callable[[HyperParameters, RunningTrial], dict[str, float]]:
    """The demo's objective ``(hp, trial)`` for a framework and a strategy.

    It declares the network's space, builds the network, continues from the checkpoint of
    the trial it was promoted from (if any), trains up to ``trial.budget`` epochs (or
    ``max_epochs`` for a strategy without budgets) while reporting ``val_accuracy`` and
    ``val_loss`` after each epoch, saves a checkpoint and returns the last epoch's metrics.
    """
    framework = resolve_framework(framework)
    network_class = NETWORKS[framework]

    def objective(hp: HyperParameters, trial: RunningTrial) -> dict[str, float]:
        values = _configuration(hp, strategy)
        epochs = max_epochs if trial.budget is None else int(trial.budget)
        network = network_class(values)
        start = network.load_checkpoint(trial)
        metrics, trained = train(network, trial, start, epochs)
        network.save_checkpoint(trial, trained)
        return metrics

    return objective


def project_name(framework: str, strategy: str, max_epochs: int = MAX_EPOCHS) -> str:
    """The study of a demo: ``digits_torch_bohb``, or ``digits_torch_bohb_9epochs``.

    Each framework, strategy and budget has its own study, so that a demo run again resumes
    its own trials and never mixes networks, spaces or brackets.
    """
    name = f"digits_{framework}_{strategy}"
    return name if max_epochs == MAX_EPOCHS else f"{name}_{max_epochs}epochs"


def _planned_trials(strategy: str, max_epochs: int) -> int:
    """The trials of one run of the strategy's brackets (each promotion is a trial).

    Successive halving runs one bracket, the most aggressive; the others Hyperband's.
    """
    if strategy == "halving":
        brackets = SuccessiveHalvingScheduler(1, max_epochs, factor=FACTOR).brackets()
    else:
        brackets = HyperbandScheduler(1, max_epochs, factor=FACTOR).brackets()
    return sum(rung.n_configs for bracket in brackets for rung in bracket.rungs)


def _make_tuner(
    strategy: str,
    function: Callable[..., Any],
    max_trials: int | None,
    max_epochs: int,
    **options: Any,
) -> Tuner:
    entry = REGISTRY[strategy]
    if entry.budgeted:
        # The number of trials the brackets hold (Hyperband's, for a strategy without
        # brackets), so that the progress bar has an end.
        limit = _planned_trials(strategy, max_epochs) if max_trials is None else max_trials
        return entry.make(
            function, max_budget=max_epochs, factor=FACTOR, max_trials=limit, **options
        )
    if entry.ends:  # the grid: all of it, unless told otherwise
        return entry.make(function, max_trials=max_trials, **options)
    limit = DEFAULT_MAX_TRIALS if max_trials is None else max_trials
    return entry.make(function, max_trials=limit, **options)


def _open_study(
    strategy: str,
    framework: str,
    max_trials: int | None,
    max_epochs: int,
    directory: str | os.PathLike[str],
    **options: Any,
) -> tuple[Tuner, dict[str, Any]]:
    """The tuner of the demo's study, and the first entries of :func:`run_demo`'s result."""
    name = project_name(framework, strategy, max_epochs)
    objective = demo_objective(framework, strategy, max_epochs)
    options.update(objective=OBJECTIVE, directory=directory, project_name=name)
    tuner = _make_tuner(strategy, objective, max_trials, max_epochs, **options)
    database = for_project(directory, name, owner="run_demo").database
    return tuner, {
        "strategy": strategy,
        "framework": framework,
        "project_name": name,
        "directory": str(directory),
        "database": str(database),
    }


def _search(tuner: Tuner, database: str) -> tuple[Trial, float]:
    """Run the search; the best trial and the seconds it took."""
    started = time.monotonic()
    tuner.search()
    elapsed = time.monotonic() - started
    best = tuner.get_best_trials(1)
    if not best:
        raise InvalidArgumentError(
            f"The study in {database} has no complete trial to test; run more trials."
        )
    return best[0], elapsed


# -- the evaluation ----------------------------------------------------------------------------
def _evaluate(
    trials: list[Trial], network: Network, how: str, best: Trial, max_epochs: int, project: Path
) -> dict[str, Any]:
    """Score the best network on the test split and save it beside the study.

    Returns the ``trials*``, ``best_*`` and ``test_*`` entries of :func:`run_demo`'s result.
    """
    data = load_digits_splits()
    test_accuracy = network.evaluate(data.x_test, data.y_test, "test")["test_accuracy"]
    best_model = project / network.best_model_file
    network.save_model(best_model)
    return {
        "trials": len(trials),
        "trials_by_state": {state.name: n for state, n in count_states(trials).items()},
        "best_trial": best.number,
        "best_values": dict(best.values),
        "best_epochs": max_epochs if best.budget is None else int(best.budget),
        "best_val_accuracy": best.value,
        "test_accuracy": test_accuracy,
        "test_model": how,
        "best_model": str(best_model),
    }


# -- the narration -----------------------------------------------------------------------------
def _epochs(n: int) -> str:
    return "1 epoch" if n == 1 else f"{n} epochs"


def _say(console: Console, *parts: str | tuple[str, str]) -> None:
    """Print text pieces, some with a style, never read as markup (paths may hold brackets),
    control characters escaped (:func:`~hyperscout.report.printable`)."""
    console.print(
        Text.assemble(
            *(
                printable(part) if isinstance(part, str) else (printable(part[0]), part[1])
                for part in parts
            )
        )
    )


def _narrate_plan(
    out: Console, tuner: Tuner, result: dict[str, Any], *, fell_back: bool, max_epochs: int
) -> None:
    """Before the search: the task, the data, and whether the study is new or resumed."""
    strategy, framework, data = result["strategy"], result["framework"], load_digits_splits()
    described = (
        "a PyTorch MLP"
        if framework == "torch"
        else "scikit-learn's MLPClassifier (trained epoch by epoch with partial_fit)"
    )
    _say(
        out,
        ("hyperscout demo", "bold"),
        f": {STRATEGIES[strategy]} tunes {described} on scikit-learn's digits "
        f"({len(data.y_train)} training, {len(data.y_val)} validation, "
        f"{len(data.y_test)} test images), maximising {OBJECTIVE}; a trial trains for "
        + (f"1 to {_epochs(max_epochs)}." if _is_budgeted(strategy) else f"{_epochs(max_epochs)}."),
    )
    if fell_back:
        _say(
            out,
            "PyTorch is not installed, so the network is scikit-learn's; for the "
            "PyTorch version: pip install 'hyperscout[torch]'.",
        )
    target = tuner.max_trials if tuner.max_trials is not None else "the whole grid"
    before, database = result["trials_before"], result["database"]
    if before:
        _say(
            out,
            f"Resuming the study in {database}: {before} trials are already there; "
            f"running up to {target} in total (pass --overwrite to start over).",
        )
    else:
        _say(out, f"New study in {database}; running {target} trials.")


def _narrate_findings(out: Console, tuner: Tuner, result: dict[str, Any], project: Path) -> None:
    """After the search: the best configurations, the test score, where everything is."""
    before, trials, data = result["trials_before"], result["trials"], load_digits_splits()
    best, epochs = result["best_trial"], _epochs(result["best_epochs"])
    if before and trials == before:
        _say(
            out,
            f"No new trial: the study already has {before} trials. Raise --max-trials "
            "to run more, or pass --overwrite to start over.",
        )
    tuner.results_summary(5, console=out)
    _say(
        out,
        ("Best configuration", "bold"),
        f" (trial {best}, {epochs}, {OBJECTIVE}={result['best_val_accuracy']:.4f}):",
    )
    for key, value in result["best_values"].items():
        _say(out, f"  {key} = {format_value(value)}")
    origin = (
        f"reloaded from trial {best}'s checkpoint"
        if result["test_model"] == "checkpoint"
        else f"retrained as trial {best} was (its checkpoint is gone)"
    )
    _say(
        out,
        ("Test accuracy", "bold"),
        f" of the best network ({origin}: {epochs} on the {len(data.y_train)} "
        f"training images), scored on the {len(data.y_test)} held-out test images: ",
        (f"{result['test_accuracy']:.4f}", "bold"),
    )
    kind = (
        "a PyTorch state_dict"
        if result["framework"] == "torch"
        else "an MLPClassifier without pickle: hyperscout.demo.load_sklearn_model(path)"
    )
    _say(
        out,
        f"The study is saved in {result['database']} ({trials} trials; this run took "
        f"{result['search_seconds']:.1f} s). The best network is saved in "
        f"{result['best_model']} ({kind}). Run the demo again to resume the study, or look "
        f"at it with: hyperscout show {project}",
    )


def _write_report(tuner: Tuner, project: Path) -> Path:
    """The study's HTML report, beside it; a file of that name hyperscout did not write is
    kept, and the report goes to ``report-1.html`` (``-2`` ...) instead."""
    path, n = project / "report.html", 0
    while path.exists() and not is_report(path):
        n += 1
        path = project / f"report-{n}.html"
    return tuner.report(path)


# -- the demo ----------------------------------------------------------------------------------
def run_demo(
    strategy: str = DEFAULT_STRATEGY,
    max_trials: int | None = None,
    directory: str | os.PathLike[str] = DEFAULT_DIRECTORY,
    seed: int | None = None,
    verbose: int = 1,
    *,
    framework: str = "auto",
    max_epochs: int = MAX_EPOCHS,
    overwrite: bool = False,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run the demo search, reload the best network, score it on the test split, save it.

    Args:
        strategy: one of :data:`STRATEGIES`: ``"bohb"`` (default) and ``"hyperband"`` give
            each trial a budget of 1 to ``max_epochs`` epochs; ``"random"`` and ``"bayes"``
            (``max_trials`` default 20) and ``"grid"`` (a 12-point space) train every trial
            for ``max_epochs``.
        max_trials: trials to have in the study, counting those of earlier runs; None: 20
            for random and Bayesian search, the whole grid, or all of Hyperband's brackets.
        directory: the study is ``directory/<project_name>/hyperscout.db``, see
            :func:`project_name`; the best network is saved beside it.
        seed: seeds the search; None keeps the study's seed (or draws one for a new study).
        verbose: 0 silent; 1 the progress bar and a report; 2 also a line per trial.
        framework: ``"auto"`` (PyTorch when installed, else scikit-learn), ``"torch"`` or
            ``"sklearn"``.
        max_epochs: the full budget of a trial, in epochs.
        overwrite: delete the study's earlier trials first.
        console: where the report goes (default: standard output).

    Returns:
        A dict: ``strategy``, ``framework``, ``project_name``, ``directory``, ``database``,
        ``trials_before`` (trials already in the study), ``trials`` (now),
        ``trials_by_state``, ``best_trial`` (its number), ``best_values``, ``best_epochs``,
        ``best_val_accuracy``, ``test_accuracy``, ``test_model`` (``"checkpoint"`` when the
        best network was reloaded, ``"retrained"`` when its checkpoint was missing),
        ``best_model`` (the file it was saved to), ``search_seconds``, ``report`` (the HTML
        report written beside the study, see :func:`hyperscout.report.html.write_report`).

    Raises:
        InvalidArgumentError: an unknown strategy or framework, or a bad ``max_epochs``.
        MissingDependencyError: scikit-learn (or the framework asked for) is not installed.
        TooManyFailedTrialsError: the training failed repeatedly.
    """
    _check_arguments(strategy, max_epochs)
    chosen = resolve_framework(framework)
    out = console or Console()
    options = dict(seed=seed, overwrite=overwrite, verbose=verbose)
    tuner, result = _open_study(strategy, chosen, max_trials, max_epochs, directory, **options)
    project = Path(directory) / result["project_name"]
    try:
        result["trials_before"] = len(tuner.trials)
        if verbose >= 1:
            fell_back = framework == "auto" and chosen == "sklearn"
            _narrate_plan(out, tuner, result, fell_back=fell_back, max_epochs=max_epochs)
        with one_torch_thread(chosen):
            best, elapsed = _search(tuner, result["database"])
            network, how = best_network(tuner, chosen, best, max_epochs)
        result |= _evaluate(tuner.trials, network, how, best, max_epochs, project)
        result["search_seconds"] = elapsed
        if verbose >= 1:
            _narrate_findings(out, tuner, result, project)
        result["report"] = str(_write_report(tuner, project))
        if verbose >= 1:
            _say(
                out,
                ("Report", "bold"),
                f" (figures, advice, provenance; opens offline): {result['report']}",
            )
        return result
    finally:
        tuner.close()
