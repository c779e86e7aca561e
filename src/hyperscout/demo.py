"""The ``hyperscout demo`` task: tune a small neural network on the digits data, end to end.

The lecture in one command. A multilayer perceptron (PyTorch when it is installed, otherwise
scikit-learn's ``MLPClassifier``) learns scikit-learn's bundled digits (1,797 8x8 images of
handwritten digits, so the demo runs offline with no setup). The images are split once, with
a fixed seed and stratified by class, into a training set (60 %), a validation set (20 %)
that the search optimises, and a test set (20 %) that only the final model sees.

The budget of a trial is epochs, with either framework: the PyTorch network trains epoch by
epoch, the scikit-learn one with ``partial_fit``. By default the search is BOHB: Hyperband
brackets whose new configurations come from a Gaussian-process model of the best results so far. A
configuration promoted to a larger budget continues from the checkpoint of its lower-rung
trial. Every trial is kept in an SQLite study; the best trial's network is reloaded from its
checkpoint, scored on the test split, and saved beside the study.

>>> from hyperscout.demo import run_demo
>>> result = run_demo("bohb", directory="hyperscout_runs")  # doctest: +SKIP
>>> result["test_accuracy"]  # doctest: +SKIP
0.97...
"""

from __future__ import annotations

import abc
import contextlib
import functools
import importlib.util
import math
import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.text import Text

from hyperscout._mlp_state import load_mlp, load_mlp_and_notes, save_mlp
from hyperscout.exceptions import InvalidArgumentError, require
from hyperscout.report import format_value, printable
from hyperscout.schedulers import HyperbandScheduler
from hyperscout.space import HyperParameters
from hyperscout.trial import RunningTrial, Trial, TrialState, checkpoint_path
from hyperscout.tuner import DATABASE_FILE, Tuner
from hyperscout.tuner.presets import BOHB, BayesianOptimization, GridSearch, Hyperband, RandomSearch

__all__ = [
    "DEFAULT_DIRECTORY",
    "DEFAULT_MAX_TRIALS",
    "DEFAULT_STRATEGY",
    "FACTOR",
    "FRAMEWORKS",
    "MAX_EPOCHS",
    "OBJECTIVE",
    "STRATEGIES",
    "DigitsSplits",
    "build_torch_mlp",
    "demo_objective",
    "load_digits_splits",
    "load_sklearn_model",
    "project_name",
    "resolve_framework",
    "run_demo",
]

#: Where the demo keeps its studies unless told otherwise.
DEFAULT_DIRECTORY = "hyperscout_runs"
#: The search methods of the demo, and what each does (for the report).
STRATEGIES: dict[str, str] = {
    "bohb": "BOHB (Hyperband brackets; new configurations proposed by a Gaussian-process model)",
    "hyperband": "Hyperband (brackets of successive halving; random configurations)",
    "random": "random search (every trial trains the full number of epochs)",
    "bayes": "Bayesian optimization (a Gaussian process; every trial trains in full)",
    "grid": "grid search over a 12-point grid (every trial trains in full)",
}
#: The search method of ``hyperscout demo`` without ``--strategy``.
DEFAULT_STRATEGY = "bohb"
#: The frameworks the network can be trained with; ``"auto"`` picks the first installed.
FRAMEWORKS = ("torch", "sklearn")
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

_FEATURE = "hyperscout demo"
_CLASSES = 10
# One seed for the splits and another for the network weights and the order of the
# examples, so that a configuration always scores the same and the search compares
# configurations, not luck.
_SPLIT_SEED = 0
_MODEL_SEED = 0
# The warning MLPClassifier.partial_fit gives instead of letting KeyboardInterrupt through.
_INTERRUPTED = "Training interrupted by user"
# The scikit-learn network's checkpoint: arrays and JSON, never pickle (see _mlp_state), so
# that a file planted in a demo folder runs no code when the demo resumes.
_SKLEARN_CHECKPOINT = "model.npz"
_NAMES = {"torch": "PyTorch", "sklearn": "scikit-learn"}


# -- the data ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DigitsSplits:
    """The digits data, split once: train (60 %), validation (20 %), test (20 %)."""

    x_train: NDArray[np.float32]
    y_train: NDArray[np.int64]
    x_val: NDArray[np.float32]
    y_val: NDArray[np.int64]
    x_test: NDArray[np.float32]
    y_test: NDArray[np.int64]


@functools.lru_cache(maxsize=1)
def load_digits_splits() -> DigitsSplits:
    """The digits data scaled to [0, 1] and split with a fixed seed, stratified by digit.

    Cached: every trial of a search trains on the same arrays.
    """
    require("sklearn", feature=_FEATURE, extra="sklearn")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = np.asarray(x, dtype=np.float32) / 16.0  # pixel intensities are 0..16
    y = np.asarray(y, dtype=np.int64)
    x_dev, x_test, y_dev, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=_SPLIT_SEED
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_dev, y_dev, test_size=0.25, stratify=y_dev, random_state=_SPLIT_SEED
    )
    return DigitsSplits(x_train, y_train, x_val, y_val, x_test, y_test)


# -- the search space --------------------------------------------------------------------------
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


def _torch() -> Any:
    """The torch module (typed as Any: mypy does not analyse torch)."""
    return require("torch", feature=_FEATURE, extra="torch")


# -- the networks ------------------------------------------------------------------------------
def _metrics(
    y: NDArray[np.int64], probabilities: NDArray[Any], prefix: str = "val"
) -> dict[str, float]:
    """Accuracy and log loss; the loss is left out when the network diverged (NaN)."""
    metrics = {f"{prefix}_accuracy": float(np.mean(np.argmax(probabilities, axis=1) == y))}
    if np.all(np.isfinite(probabilities)):
        picked = np.clip(probabilities[np.arange(len(y)), y], 1e-15, 1.0)
        loss = float(-np.mean(np.log(picked)))
        if math.isfinite(loss):
            metrics[f"{prefix}_loss"] = loss
    return metrics


class _Network(abc.ABC):
    """A classifier trained epoch by epoch, with checkpoints in a trial's folder."""

    #: The file of the best model saved beside the study.
    best_model_file: str

    @abc.abstractmethod
    def __init__(self, values: Mapping[str, Any], model: Any = None) -> None:
        """A new network for the configuration ``values``, or ``model`` already trained."""

    @abc.abstractmethod
    def train_epoch(self, epoch: int) -> None:
        """One pass over the training split; ``epoch`` (0, 1, ...) seeds its order."""

    @abc.abstractmethod
    def probabilities(self, x: NDArray[np.float32]) -> NDArray[Any]:
        """Class probabilities, one row per image."""

    @abc.abstractmethod
    def save_checkpoint(self, trial: RunningTrial, epoch: int) -> None:
        """Keep the state after ``epoch`` epochs in the trial's checkpoint folder."""

    @abc.abstractmethod
    def load_checkpoint(self, trial: RunningTrial) -> int:
        """Continue the trial this one was promoted from; the epochs it trained, or 0."""

    @abc.abstractmethod
    def save_model(self, path: Path) -> None:
        """Save the trained model to ``path``."""

    def evaluate(
        self, x: NDArray[np.float32], y: NDArray[np.int64], prefix: str = "val"
    ) -> dict[str, float]:
        return _metrics(y, self.probabilities(x), prefix)


@functools.lru_cache(maxsize=1)
def _torch_tensors() -> tuple[Any, Any]:
    """The training split as torch tensors (made once per process)."""
    torch = _torch()
    data = load_digits_splits()
    return torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)


def build_torch_mlp(values: Mapping[str, Any]) -> Any:
    """The demo's PyTorch network for a configuration: ``layers`` hidden layers of ``units``.

    The weights are initialised from a fixed seed, without touching torch's global random
    state. To use the ``best_model.pt`` a demo saved::

        model = build_torch_mlp(best_values)
        model.load_state_dict(torch.load("hyperscout_runs/digits_torch_bohb/best_model.pt",
                                         weights_only=True))
    """
    torch = _torch()
    from torch import nn

    activation = {"relu": nn.ReLU, "tanh": nn.Tanh}[str(values["activation"])]
    width, units = 64, int(values["units"])
    layers: list[Any] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_MODEL_SEED)
        for _ in range(int(values["layers"])):
            layers += [nn.Linear(width, units), activation()]
            width = units
        layers.append(nn.Linear(width, _CLASSES))
        return nn.Sequential(*layers)


class _TorchNetwork(_Network):
    best_model_file = "best_model.pt"

    def __init__(self, values: Mapping[str, Any], model: Any = None) -> None:
        self.torch = _torch()
        self.values = values
        self.model = build_torch_mlp(values) if model is None else model
        self.optimizer = self.torch.optim.Adam(
            self.model.parameters(),
            lr=float(values["learning_rate"]),
            weight_decay=float(values["weight_decay"]),  # an L2 penalty, as scikit-learn's
        )

    def train_epoch(self, epoch: int) -> None:
        torch = self.torch
        x, y = _torch_tensors()
        batch = int(self.values["batch_size"])
        # The order of an epoch depends on the epoch only, so that a promoted trial that
        # continues from a checkpoint trains exactly as one trained from the start.
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(epoch))
        self.model.train()
        for start in range(0, len(y), batch):
            index = order[start : start + batch]
            self.optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(self.model(x[index]), y[index])
            loss.backward()
            self.optimizer.step()

    def probabilities(self, x: NDArray[np.float32]) -> NDArray[Any]:
        torch = self.torch
        self.model.eval()
        with torch.no_grad():
            logits = self.model(torch.from_numpy(x))
            return np.asarray(torch.softmax(logits, dim=1).numpy(), dtype=np.float64)

    def save_checkpoint(self, trial: RunningTrial, epoch: int) -> None:
        from hyperscout.integrations.torch import save_checkpoint

        save_checkpoint(trial, self.model, self.optimizer, epoch=epoch)

    def load_checkpoint(self, trial: RunningTrial) -> int:
        from hyperscout.integrations.torch import load_checkpoint

        return load_checkpoint(trial, self.model, self.optimizer)

    def save_model(self, path: Path) -> None:
        self.torch.save(self.model.state_dict(), path)


class _SklearnNetwork(_Network):
    best_model_file = "best_model.npz"

    def __init__(self, values: Mapping[str, Any], model: Any = None) -> None:
        require("sklearn", feature=_FEATURE, extra="sklearn")
        from sklearn.neural_network import MLPClassifier

        batch = int(values["batch_size"])
        if model is None:
            model = MLPClassifier(
                hidden_layer_sizes=(int(values["units"]),) * int(values["layers"]),
                activation=str(values["activation"]),
                # scikit-learn divides alpha by the batch size: this makes the same L2 step as
                # PyTorch's weight_decay.
                alpha=float(values["weight_decay"]) * batch,
                learning_rate_init=float(values["learning_rate"]),
                batch_size=batch,
                random_state=_MODEL_SEED,
            )
        self.model = model

    def train_epoch(self, epoch: int) -> None:
        from sklearn.exceptions import ConvergenceWarning

        # threadpoolctl is a dependency of scikit-learn; it ships no type information.
        from threadpoolctl import threadpool_limits

        data = load_digits_splits()
        # One BLAS thread: these matrices are small, and threads only fight over two cores.
        with warnings.catch_warnings(), threadpool_limits(limits=1):
            warnings.simplefilter("ignore", ConvergenceWarning)
            # partial_fit catches Ctrl-C, warns and returns. Turn the warning back into the
            # interrupt, so that the search stops as the user asked.
            warnings.filterwarnings("error", message=_INTERRUPTED, category=UserWarning)
            try:
                # The model's own random state, saved with it, orders the examples.
                self.model.partial_fit(data.x_train, data.y_train, classes=np.arange(_CLASSES))
            except UserWarning as exc:
                if str(exc).startswith(_INTERRUPTED):
                    raise KeyboardInterrupt from None
                raise

    def probabilities(self, x: NDArray[np.float32]) -> NDArray[Any]:
        return np.asarray(self.model.predict_proba(x), dtype=np.float64)

    def save_checkpoint(self, trial: RunningTrial, epoch: int) -> None:
        save_mlp(self.model, trial.checkpoint_dir / _SKLEARN_CHECKPOINT, {"epoch": epoch})

    def load_checkpoint(self, trial: RunningTrial) -> int:
        folder = trial.previous_checkpoint_dir
        if folder is None or not (folder / _SKLEARN_CHECKPOINT).is_file():
            return 0
        self.model, notes = load_mlp_and_notes(folder / _SKLEARN_CHECKPOINT)
        return int(notes["epoch"])

    def save_model(self, path: Path) -> None:
        save_mlp(self.model, path)


def load_sklearn_model(path: str | os.PathLike[str]) -> Any:
    """The scikit-learn network the demo saved in ``path`` (``best_model.npz``).

    The file holds arrays and JSON, not a pickle: loading it runs no code.

    Raises:
        InvalidArgumentError: the file is not a network the demo saved.
    """
    require("sklearn", feature=_FEATURE, extra="sklearn")
    return load_mlp(path)


_NETWORKS: dict[str, type[_Network]] = {"torch": _TorchNetwork, "sklearn": _SklearnNetwork}


def _train(
    network: _Network, trial: RunningTrial | None, start: int, epochs: int
) -> tuple[dict[str, float], int]:
    """Train from epoch ``start`` up to ``epochs``, reporting each epoch to the trial.

    Returns the last validation metrics and the epochs trained (fewer than ``epochs`` when
    the scheduler stopped the trial).
    """
    data = load_digits_splits()
    trained = start
    metrics = network.evaluate(data.x_val, data.y_val) if start >= epochs else {}
    while trained < epochs:
        network.train_epoch(trained)
        trained += 1
        metrics = network.evaluate(data.x_val, data.y_val)
        if trial is not None:
            trial.report(trained, **metrics)
            if trial.should_stop():
                break
    return metrics, trained


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
    network_class = _NETWORKS[framework]

    def objective(hp: HyperParameters, trial: RunningTrial) -> dict[str, float]:
        values = _configuration(hp, strategy)
        epochs = max_epochs if trial.budget is None else int(trial.budget)
        network = network_class(values)
        start = network.load_checkpoint(trial)
        metrics, trained = _train(network, trial, start, epochs)
        network.save_checkpoint(trial, trained)
        return metrics

    return objective


# -- choices -----------------------------------------------------------------------------------
def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def resolve_framework(framework: str) -> str:
    """``"torch"`` or ``"sklearn"``; ``"auto"`` is PyTorch when installed, else scikit-learn.

    Raises:
        InvalidArgumentError: an unknown name.
        MissingDependencyError: the framework asked for is not installed.
    """
    if framework == "auto":
        framework = "torch" if _installed("torch") else "sklearn"
    if framework not in FRAMEWORKS:
        raise InvalidArgumentError(
            f"run_demo(framework=...): expected 'auto' or one of {list(FRAMEWORKS)}, got "
            f"{framework!r}."
        )
    require(framework, feature=_FEATURE, extra=framework)
    require("sklearn", feature=f"{_FEATURE} (for the digits data)", extra="sklearn")
    return framework


def project_name(framework: str, strategy: str, max_epochs: int = MAX_EPOCHS) -> str:
    """The study of a demo: ``digits_torch_bohb``, or ``digits_torch_bohb_9epochs``.

    Each framework, strategy and budget has its own study, so that a demo run again resumes
    its own trials and never mixes networks, spaces or brackets.
    """
    name = f"digits_{framework}_{strategy}"
    return name if max_epochs == MAX_EPOCHS else f"{name}_{max_epochs}epochs"


def _planned_trials(max_epochs: int) -> int:
    """The trials of one run of Hyperband's brackets (each promotion is a trial)."""
    brackets = HyperbandScheduler(1, max_epochs, factor=FACTOR).brackets()
    return sum(rung.n_configs for bracket in brackets for rung in bracket.rungs)


def _make_tuner(
    strategy: str,
    function: Callable[..., Any],
    max_trials: int | None,
    max_epochs: int,
    **options: Any,
) -> Tuner:
    if strategy in ("bohb", "hyperband"):
        # The number of trials the brackets hold, so that the progress bar has an end.
        limit = _planned_trials(max_epochs) if max_trials is None else max_trials
        preset = BOHB if strategy == "bohb" else Hyperband
        return preset(function, max_epochs=max_epochs, factor=FACTOR, max_trials=limit, **options)
    if strategy == "grid":
        return GridSearch(function, max_trials=max_trials, **options)
    limit = DEFAULT_MAX_TRIALS if max_trials is None else max_trials
    if strategy == "bayes":
        return BayesianOptimization(function, max_trials=limit, **options)
    return RandomSearch(function, max_trials=limit, **options)


@contextlib.contextmanager
def _one_torch_thread(framework: str) -> Iterator[None]:
    """One intra-op thread while the demo trains: on tiny networks more threads only wait on
    each other (measured: 10 to 50 times slower per epoch with two threads on two cores)."""
    if framework != "torch":
        yield
        return
    torch = _torch()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _best_network(
    tuner: Tuner, framework: str, trial: Trial, max_epochs: int
) -> tuple[_Network, str]:
    """The best trial's network, reloaded from its checkpoint (or retrained when it is gone).

    Training is deterministic (fixed seeds, one thread), so retraining gives the same network.
    """
    folder = checkpoint_path(tuner.checkpoint_root, trial.number)
    values = dict(trial.values)
    if framework == "torch":
        from hyperscout.integrations.torch import CHECKPOINT_FILE, load_trial_model

        if (folder / CHECKPOINT_FILE).is_file():
            model = load_trial_model(tuner, trial, lambda hp: build_torch_mlp(hp.values))
            return _TorchNetwork(values, model), "checkpoint"
    elif (folder / _SKLEARN_CHECKPOINT).is_file():
        return _SklearnNetwork(values, load_mlp(folder / _SKLEARN_CHECKPOINT)), "checkpoint"
    network = _NETWORKS[framework](values)
    epochs = max_epochs if trial.budget is None else int(trial.budget)
    _train(network, None, 0, epochs)
    return network, "retrained"


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
        ``best_model`` (the file it was saved to), ``search_seconds``.

    Raises:
        InvalidArgumentError: an unknown strategy or framework, or a bad ``max_epochs``.
        MissingDependencyError: scikit-learn (or the framework asked for) is not installed.
        TooManyFailedTrialsError: the training failed repeatedly.
    """
    if strategy not in STRATEGIES:
        raise InvalidArgumentError(
            f"run_demo(strategy=...): expected one of {list(STRATEGIES)}, got {strategy!r}."
        )
    if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
        raise InvalidArgumentError(
            f"run_demo(max_epochs=...): expected an int >= 1, got {max_epochs!r}."
        )
    requested = framework
    framework = resolve_framework(framework)
    out = console or Console()
    show = verbose >= 1
    name = project_name(framework, strategy, max_epochs)
    project = Path(directory) / name
    database = project / DATABASE_FILE
    objective = demo_objective(framework, strategy, max_epochs)
    tuner = _make_tuner(
        strategy,
        objective,
        max_trials,
        max_epochs,
        objective=OBJECTIVE,
        directory=directory,
        project_name=name,
        seed=seed,
        overwrite=overwrite,
        verbose=verbose,
    )
    try:
        before = len(tuner.trials)
        data = load_digits_splits()
        if show:
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
                + (
                    f"1 to {_epochs(max_epochs)}."
                    if strategy in ("bohb", "hyperband")
                    else f"{_epochs(max_epochs)}."
                ),
            )
            if requested == "auto" and framework == "sklearn":
                _say(
                    out,
                    "PyTorch is not installed, so the network is scikit-learn's; for the "
                    "PyTorch version: pip install 'hyperscout[torch]'.",
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
        with _one_torch_thread(framework):
            started = time.monotonic()
            tuner.search()
            elapsed = time.monotonic() - started
            trials = tuner.trials
            best = tuner.get_best_trials(1)
            if not best:
                raise InvalidArgumentError(
                    f"The study in {database} has no complete trial to test; run more trials."
                )
            best_trial = best[0]
            network, how = _best_network(tuner, framework, best_trial, max_epochs)
        test_accuracy = network.evaluate(data.x_test, data.y_test, "test")["test_accuracy"]
        best_model = project / network.best_model_file
        network.save_model(best_model)
        epochs = max_epochs if best_trial.budget is None else int(best_trial.budget)
        result: dict[str, Any] = {
            "strategy": strategy,
            "framework": framework,
            "project_name": name,
            "directory": str(directory),
            "database": str(database),
            "trials_before": before,
            "trials": len(trials),
            "trials_by_state": {s.name: sum(t.state is s for t in trials) for s in TrialState},
            "best_trial": best_trial.number,
            "best_values": dict(best_trial.values),
            "best_epochs": epochs,
            "best_val_accuracy": best_trial.value,
            "test_accuracy": test_accuracy,
            "test_model": how,
            "best_model": str(best_model),
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
                f" (trial {best_trial.number}, {_epochs(epochs)}, "
                f"{OBJECTIVE}={best_trial.value:.4f}):",
            )
            for key, value in best_trial.values.items():
                _say(out, f"  {key} = {format_value(value)}")
            origin = (
                f"reloaded from trial {best_trial.number}'s checkpoint"
                if how == "checkpoint"
                else f"retrained as trial {best_trial.number} was (its checkpoint is gone)"
            )
            _say(
                out,
                ("Test accuracy", "bold"),
                f" of the best network ({origin}: {_epochs(epochs)} on the {len(data.y_train)} "
                f"training images), scored on the {len(data.y_test)} held-out test images: ",
                (f"{test_accuracy:.4f}", "bold"),
            )
            kind = (
                "a PyTorch state_dict"
                if framework == "torch"
                else "an MLPClassifier without pickle: hyperscout.demo.load_sklearn_model(path)"
            )
            _say(
                out,
                f"The study is saved in {database} ({len(trials)} trials; this run took "
                f"{elapsed:.1f} s). The best network is saved in {best_model} ({kind}). "
                f"Run the demo again to resume the study, or look at it with: "
                f"hyperscout show {project}",
            )
        return result
    finally:
        tuner.close()
