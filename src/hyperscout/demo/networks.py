"""The demo's networks: a multilayer perceptron in PyTorch or scikit-learn, trained by epochs.

Either network trains epoch by epoch (PyTorch's loop, scikit-learn's ``partial_fit``), reports
each epoch to its trial, and keeps a checkpoint in the trial's folder, so that a configuration
promoted to a larger budget continues where its lower-rung trial stopped. Training is
deterministic (fixed seeds, one thread): a configuration always scores the same.

>>> resolve_framework("sklearn")
'sklearn'
"""

from __future__ import annotations

import abc
import contextlib
import functools
import importlib.util
import math
import os
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from hyperscout._validation import fail
from hyperscout.demo._mlp_state import load_mlp, load_mlp_and_notes, save_mlp
from hyperscout.demo.data import CLASSES, FEATURE, load_digits_splits
from hyperscout.exceptions import require
from hyperscout.trial import RunningTrial, Trial, checkpoint_path

if TYPE_CHECKING:
    from hyperscout.tuner import Tuner

__all__ = [
    "FRAMEWORKS",
    "NETWORKS",
    "Network",
    "SklearnNetwork",
    "TorchNetwork",
    "best_network",
    "build_torch_mlp",
    "load_sklearn_model",
    "one_torch_thread",
    "resolve_framework",
    "train",
]

#: The frameworks the network can be trained with; ``"auto"`` picks the first installed.
FRAMEWORKS = ("torch", "sklearn")

# The seed of the network weights and of the order of the examples, so that a configuration
# always scores the same and the search compares configurations, not luck.
_MODEL_SEED = 0
# The warning MLPClassifier.partial_fit gives instead of letting KeyboardInterrupt through.
_INTERRUPTED = "Training interrupted by user"
# The scikit-learn network's checkpoint: arrays and JSON, never pickle (see _mlp_state), so
# that a file planted in a demo folder runs no code when the demo resumes.
_SKLEARN_CHECKPOINT = "model.npz"


def _torch() -> Any:
    """The torch module (typed as Any: mypy does not analyse torch)."""
    return require("torch", feature=FEATURE, extra="torch")


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


class Network(abc.ABC):
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
        layers.append(nn.Linear(width, CLASSES))
        return nn.Sequential(*layers)


class TorchNetwork(Network):
    """The PyTorch MLP of :func:`build_torch_mlp`, trained with Adam."""

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


class SklearnNetwork(Network):
    """scikit-learn's ``MLPClassifier``, trained with ``partial_fit`` and saved without pickle."""

    best_model_file = "best_model.npz"

    def __init__(self, values: Mapping[str, Any], model: Any = None) -> None:
        require("sklearn", feature=FEATURE, extra="sklearn")
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
                self.model.partial_fit(data.x_train, data.y_train, classes=np.arange(CLASSES))
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
    require("sklearn", feature=FEATURE, extra="sklearn")
    return load_mlp(path)


#: The network class of each framework.
NETWORKS: dict[str, type[Network]] = {"torch": TorchNetwork, "sklearn": SklearnNetwork}


def train(
    network: Network, trial: RunningTrial | None, start: int, epochs: int
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


def best_network(
    tuner: Tuner, framework: str, trial: Trial, max_epochs: int
) -> tuple[Network, str]:
    """The best trial's network, reloaded from its checkpoint (or retrained when it is gone).

    Returns the network and how it was made: ``"checkpoint"`` or ``"retrained"``. Training is
    deterministic (fixed seeds, one thread), so retraining gives the same network.
    """
    folder = checkpoint_path(tuner.checkpoint_root, trial.number)
    values = dict(trial.values)
    if framework == "torch":
        from hyperscout.integrations.torch import CHECKPOINT_FILE, load_trial_model

        if (folder / CHECKPOINT_FILE).is_file():
            model = load_trial_model(tuner, trial, lambda hp: build_torch_mlp(hp.values))
            return TorchNetwork(values, model), "checkpoint"
    elif (folder / _SKLEARN_CHECKPOINT).is_file():
        return SklearnNetwork(values, load_mlp(folder / _SKLEARN_CHECKPOINT)), "checkpoint"
    network = NETWORKS[framework](values)
    epochs = max_epochs if trial.budget is None else int(trial.budget)
    train(network, None, 0, epochs)
    return network, "retrained"


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
        fail("run_demo", "framework", framework, f"'auto' or one of {list(FRAMEWORKS)}")
    require(framework, feature=FEATURE, extra=framework)
    require("sklearn", feature=f"{FEATURE} (for the digits data)", extra="sklearn")
    return framework


@contextlib.contextmanager
def one_torch_thread(framework: str) -> Iterator[None]:
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
