"""The ``hyperscout demo`` task: tune a scikit-learn ``MLPClassifier`` on the digits data set.

Everything ships with scikit-learn (``sklearn.datasets.load_digits``: 1,797 8x8 images of
handwritten digits), so the demo runs offline with no setup. The images are split once, with
fixed seeds and stratified by class, into a training set (60 %), a validation set (20 %) that
the search optimises, and a test set (20 %) that only the final model sees.

>>> from hyperscout.demo import run_demo
>>> result = run_demo("random", max_trials=20, directory="hyperscout_runs")  # doctest: +SKIP
>>> result["test_accuracy"]  # doctest: +SKIP
0.97...
"""

from __future__ import annotations

import functools
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.text import Text

from hyperscout.console import format_value
from hyperscout.exceptions import InvalidArgumentError, require
from hyperscout.presets import GridSearch, RandomSearch
from hyperscout.space import HyperParameters
from hyperscout.trial import TrialState
from hyperscout.tuner import DATABASE_FILE, Tuner

__all__ = [
    "DEFAULT_DIRECTORY",
    "DEFAULT_MAX_TRIALS",
    "MAX_ITER",
    "OBJECTIVE",
    "PROJECT_NAMES",
    "digits_mlp_grid_objective",
    "digits_mlp_objective",
    "load_digits_splits",
    "run_demo",
]

#: Where the demo keeps its study unless told otherwise.
DEFAULT_DIRECTORY = "hyperscout_runs"
#: The project (study) of each strategy. They differ because the two spaces differ.
PROJECT_NAMES = {"random": "digits_mlp", "grid": "digits_mlp_grid"}
#: Trials of a random search when ``max_trials`` is None (a grid runs its whole grid).
DEFAULT_MAX_TRIALS = 20
#: The metric the demo maximises.
OBJECTIVE = "val_accuracy"
#: Training epochs of every network: enough for about 97 % on digits, few enough that the
#: default demo takes well under a minute on two cores.
MAX_ITER = 40

_FEATURE = "hyperscout demo"
# One seed for the splits and another for the network weights, so that a configuration
# always scores the same and the search compares configurations, not luck.
_SPLIT_SEED = 0
_MODEL_SEED = 0
# The warning MLPClassifier.fit gives instead of letting KeyboardInterrupt through.
_INTERRUPTED = "Training interrupted by user"


@dataclass(frozen=True)
class DigitsSplits:
    """The digits data, split once: train (60 %), validation (20 %), test (20 %)."""

    x_train: NDArray[np.float64]
    y_train: NDArray[np.int64]
    x_val: NDArray[np.float64]
    y_val: NDArray[np.int64]
    x_test: NDArray[np.float64]
    y_test: NDArray[np.int64]


@functools.lru_cache(maxsize=1)
def load_digits_splits() -> DigitsSplits:
    """The digits data scaled to [0, 1] and split with fixed seeds, stratified by digit.

    Cached: every trial of a search trains on the same arrays.
    """
    require("sklearn", feature=_FEATURE, extra="sklearn")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = np.asarray(x, dtype=np.float64) / 16.0  # pixel intensities are 0..16
    y = np.asarray(y, dtype=np.int64)
    x_dev, x_test, y_dev, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=_SPLIT_SEED
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_dev, y_dev, test_size=0.25, stratify=y_dev, random_state=_SPLIT_SEED
    )
    return DigitsSplits(x_train, y_train, x_val, y_val, x_test, y_test)


def _fit_mlp(params: Mapping[str, Any], x: NDArray[np.float64], y: NDArray[np.int64]) -> Any:
    """An ``MLPClassifier`` with the demo's hyperparameters, trained on ``x, y``."""
    require("sklearn", feature=_FEATURE, extra="sklearn")
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    # threadpoolctl is a dependency of scikit-learn; it ships no type information.
    from threadpoolctl import threadpool_limits

    model = MLPClassifier(
        hidden_layer_sizes=(int(params["units"]),) * int(params["layers"]),
        activation=str(params["activation"]),
        alpha=float(params["alpha"]),
        learning_rate_init=float(params["learning_rate_init"]),
        batch_size=int(params["batch_size"]),
        max_iter=MAX_ITER,
        early_stopping=False,
        random_state=_MODEL_SEED,
    )
    # MAX_ITER epochs rarely reach sklearn's tolerance: that is the budget, not a problem.
    # One BLAS thread: these matrices are small, and threads only fight over two cores.
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        # MLPClassifier catches Ctrl-C, warns and returns a half-trained model. Turn the
        # warning back into the interrupt, so that the search stops as the user asked.
        warnings.filterwarnings("error", message=_INTERRUPTED, category=UserWarning)
        try:
            model.fit(x, y)
        except UserWarning as exc:
            if str(exc).startswith(_INTERRUPTED):
                raise KeyboardInterrupt from None
            raise
    return model


def _evaluate(params: Mapping[str, Any]) -> dict[str, float]:
    """Train on the training split; accuracy and log loss on the validation split."""
    from sklearn.metrics import log_loss

    data = load_digits_splits()
    model = _fit_mlp(params, data.x_train, data.y_train)
    accuracy = float(model.score(data.x_val, data.y_val))
    metrics = {"val_accuracy": accuracy}
    proba = model.predict_proba(data.x_val)
    if np.all(np.isfinite(proba)):  # a diverged network predicts NaN; keep its accuracy
        loss = float(log_loss(data.y_val, proba, labels=model.classes_))
        if math.isfinite(loss):
            metrics["val_loss"] = loss
    return metrics


def digits_mlp_objective(hp: HyperParameters) -> dict[str, float]:
    """The demo's objective: define the MLP's space, train, score on the validation split.

    Returns ``{"val_accuracy": ..., "val_loss": ...}`` (the log loss; left out when the
    network diverged).
    """
    params = {
        "units": hp.Int("units", 16, 128, step=16),
        "layers": hp.Int("layers", 1, 2),
        "activation": hp.Choice("activation", ["relu", "tanh"]),
        "alpha": hp.Float("alpha", 1e-6, 1e-1, sampling="log"),
        "learning_rate_init": hp.Float("learning_rate_init", 1e-4, 1e-1, sampling="log"),
        "batch_size": hp.Choice("batch_size", [32, 64, 128]),
    }
    return _evaluate(params)


def digits_mlp_grid_objective(hp: HyperParameters) -> dict[str, float]:
    """The grid demo's objective: 3 x 2 x 2 = 12 configurations, the rest fixed."""
    params = {
        "units": hp.Choice("units", [32, 64, 128]),
        "layers": hp.Fixed("layers", 1),
        "activation": hp.Choice("activation", ["relu", "tanh"]),
        "alpha": hp.Fixed("alpha", 1e-4),
        "learning_rate_init": hp.Choice("learning_rate_init", [1e-3, 1e-2]),
        "batch_size": hp.Fixed("batch_size", 64),
    }
    return _evaluate(params)


def _say(console: Console, *parts: str | tuple[str, str]) -> None:
    """Print text pieces, some with a style, never read as markup (paths may hold brackets)."""
    console.print(Text.assemble(*parts))


_OBJECTIVES: dict[str, Callable[[HyperParameters], dict[str, float]]] = {
    "random": digits_mlp_objective,
    "grid": digits_mlp_grid_objective,
}


def run_demo(
    strategy: str = "random",
    max_trials: int | None = None,
    directory: str | os.PathLike[str] = DEFAULT_DIRECTORY,
    seed: int | None = None,
    verbose: int = 1,
    *,
    overwrite: bool = False,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run the demo search, refit the best configuration and score it on the test split.

    Args:
        strategy: ``"random"`` (the six-parameter space, ``max_trials`` default 20) or
            ``"grid"`` (a 12-point space, the whole grid by default).
        max_trials: trials to have in the study, counting those of earlier runs.
        directory: the study is ``directory/digits_mlp/hyperscout.db`` (``digits_mlp_grid``
            for the grid).
        seed: seeds the search; None keeps the study's seed (or draws one for a new study).
        verbose: 0 silent; 1 the progress bar and a report; 2 also a line per trial.
        overwrite: delete the study's earlier trials first.
        console: where the report goes (default: standard output).

    Returns:
        A dict: ``strategy``, ``project_name``, ``directory``, ``database``,
        ``trials_before`` (trials already in the study), ``trials`` (now),
        ``trials_by_state``, ``best_values``, ``best_val_accuracy``, ``test_accuracy``,
        ``search_seconds``.

    Raises:
        MissingDependencyError: scikit-learn is not installed.
        TooManyFailedTrialsError: the training failed repeatedly.
    """
    if strategy not in _OBJECTIVES:
        raise InvalidArgumentError(
            f"run_demo(strategy=...): expected one of {sorted(_OBJECTIVES)}, got {strategy!r}."
        )
    require("sklearn", feature=_FEATURE, extra="sklearn")
    out = console or Console()
    show = verbose >= 1
    project_name = PROJECT_NAMES[strategy]
    options: dict[str, Any] = {
        "objective": OBJECTIVE,
        "directory": directory,
        "project_name": project_name,
        "seed": seed,
        "overwrite": overwrite,
        "verbose": verbose,
    }
    tuner: Tuner
    if strategy == "grid":
        tuner = GridSearch(_OBJECTIVES[strategy], max_trials=max_trials, **options)
    else:
        tuner = RandomSearch(
            _OBJECTIVES[strategy],
            max_trials=DEFAULT_MAX_TRIALS if max_trials is None else max_trials,
            **options,
        )
    try:
        database = Path(directory) / project_name / DATABASE_FILE
        before = len(tuner.trials)
        if show:
            data = load_digits_splits()
            _say(
                out,
                ("hyperscout demo", "bold"),
                f": {strategy} search over an MLPClassifier on scikit-learn's digits "
                f"({len(data.y_train)} training, {len(data.y_val)} validation, "
                f"{len(data.y_test)} test images), maximising {OBJECTIVE}.",
            )
            target = tuner.max_trials if tuner.max_trials is not None else "the whole grid"
            if before:
                _say(
                    out,
                    f"Resuming the study in {database}: {before} trials are already there; "
                    f"running up to {target} in total (pass --overwrite to start over).",
                )
            else:
                _say(out, f"New study in {database}; running {target} trials.")
        started = time.monotonic()
        tuner.search()
        elapsed = time.monotonic() - started
        trials = tuner.trials
        best = tuner.get_best_trials(1)
        if not best:
            raise InvalidArgumentError(
                f"The study in {database} has no complete trial to refit; run more trials."
            )
        best_trial = best[0]
        data = load_digits_splits()
        final = _fit_mlp(
            best_trial.values,
            np.concatenate([data.x_train, data.x_val]),
            np.concatenate([data.y_train, data.y_val]),
        )
        test_accuracy = float(final.score(data.x_test, data.y_test))
        result: dict[str, Any] = {
            "strategy": strategy,
            "project_name": project_name,
            "directory": str(directory),
            "database": str(database),
            "trials_before": before,
            "trials": len(trials),
            "trials_by_state": {s.name: sum(t.state is s for t in trials) for s in TrialState},
            "best_values": dict(best_trial.values),
            "best_val_accuracy": best_trial.value,
            "test_accuracy": test_accuracy,
            "search_seconds": elapsed,
        }
        if show:
            if before and len(trials) == before:
                _say(
                    out,
                    f"No new trial: the study already has {before} trials. Raise --max-trials "
                    "to run more, or pass --overwrite to start over.",
                )
            tuner.results_summary(5, console=out)
            _say(
                out,
                ("Best configuration", "bold"),
                f" (trial {best_trial.number}, {OBJECTIVE}={best_trial.value:.4f}):",
            )
            for name, value in best_trial.values.items():
                _say(out, f"  {name} = {format_value(value)}")
            _say(
                out,
                ("Test accuracy", "bold"),
                f" of the best configuration, retrained on training + validation "
                f"({len(data.y_train) + len(data.y_val)} images) and scored on the "
                f"{len(data.y_test)} held-out test images: ",
                (f"{test_accuracy:.4f}", "bold"),
            )
            _say(
                out,
                f"The study is saved in {database} ({len(trials)} trials; this run took "
                f"{elapsed:.1f} s). Run the demo again to resume it, or look at it with: "
                f"hyperscout show {Path(directory) / project_name}",
            )
        return result
    finally:
        tuner.storage.close()
