"""Keras front end: tune a ``build_model(hp)`` (or an :class:`~hyperscout.HyperModel`) with
``tuner.search(x, y, ...)`` as with KerasTuner.

The tuner builds each trial's model and hands it to :class:`KerasAdapter`, which

- resets Keras between trials (``keras.backend.clear_session()``, which also runs the garbage
  collector) and seeds it (``keras.utils.set_random_seed``, from the tuner's seed and the trial
  number), so memory stays flat over a long search and a search with a seed is repeatable;
- forwards the arguments of ``tuner.search`` to ``model.fit`` (or ``HyperModel.fit``), with a
  deep copy of the user's callbacks for each trial, ``verbose=0`` unless given, and the
  lecture's form ``search(x_train, y_train, x_val, y_val, ...)`` read as
  ``validation_data=(x_val, y_val)`` (see :func:`fit_arguments`);
- reports every epoch's logs with ``trial.report(epoch, **logs)`` and stops training when the
  scheduler says so (``trial.should_stop()``; the trial is recorded ``PRUNED``);
- under a budget (``Hyperband``, ``BOHB``, ``SuccessiveHalving``) sets ``epochs`` to the
  budget (rounded up to whole epochs; it overrides an ``epochs=`` given to ``search``) and,
  for a promoted configuration, loads the lower rung's last weights and passes
  ``initial_epoch`` so that the epoch count continues;
- takes the trial's metrics from its best epoch for the tuner's objective, and saves that
  epoch's weights (``best.weights.h5``, for ``tuner.get_best_models``) and the last epoch's
  (``last.weights.h5``, for promotions) in the trial's checkpoint folder.

Weights are saved in Keras 3's ``.weights.h5`` files (through h5py, a dependency of Keras),
which also hold the optimizer's state: a promoted model continues with its optimizer's moments
and step count. ``best.weights.h5`` holds the best epoch's weights with the last epoch's
optimizer state.

Keras 3 needs a backend. When ``KERAS_BACKEND`` is unset, the Keras configuration file names
no other backend, TensorFlow is not installed and PyTorch is, importing this module sets
``KERAS_BACKEND=torch`` (Keras cannot import otherwise); it has no effect once Keras is
imported. Keras and PyTorch themselves are imported only when a model is trained.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hyperscout.exceptions import InvalidArgumentError, StorageError, UsageError, require
from hyperscout.hypermodel import HyperModel, ModelAdapter
from hyperscout.objective import Objective
from hyperscout.space import HyperParameters
from hyperscout.trial import RunningTrial, _as_float, record_missing_checkpoint

__all__ = [
    "BEST_WEIGHTS",
    "LAST_WEIGHTS",
    "RECORD_FILE",
    "KerasAdapter",
    "copy_callbacks",
    "fit_arguments",
    "use_default_backend",
]

#: The weights of a trial's best epoch, in its checkpoint folder.
BEST_WEIGHTS = "best.weights.h5"
#: The weights of a trial's last epoch, from which a promoted configuration continues.
LAST_WEIGHTS = "last.weights.h5"
#: What the adapter notes about a trial's saved weights (best epoch, value, input shape).
RECORD_FILE = "keras.json"


def use_default_backend() -> str | None:
    """Set ``KERAS_BACKEND=torch`` when Keras would otherwise fail to import; return it.

    Nothing is changed (and None returned) when Keras is already imported, when
    ``KERAS_BACKEND`` is set, when the Keras configuration file (``~/.keras/keras.json`` or
    ``$KERAS_HOME/keras.json``) names a backend other than TensorFlow, when TensorFlow is
    installed, or when PyTorch is not.
    """
    if "keras" in sys.modules or os.environ.get("KERAS_BACKEND"):
        return None
    if _configured_backend() not in (None, "tensorflow"):
        return None
    if importlib.util.find_spec("tensorflow") is not None:
        return None
    if importlib.util.find_spec("torch") is None:
        return None
    os.environ["KERAS_BACKEND"] = "torch"
    return "torch"


def _configured_backend() -> str | None:
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        config = json.loads(Path(home, "keras.json").read_text())
    except (OSError, ValueError):
        return None
    backend = config.get("backend") if isinstance(config, dict) else None
    return backend if isinstance(backend, str) else None


use_default_backend()


def _keras() -> Any:
    use_default_backend()
    return require("keras", feature="Tuning Keras models", extra="keras")


def _is_data(value: object) -> bool:
    """True for what may be inputs or targets (arrays, tensors, lists, dicts, datasets)."""
    return value is not None and not isinstance(value, (bool, int, float, str, bytes))


def fit_arguments(
    args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The positional and keyword arguments of ``model.fit`` for ``tuner.search(*args, **kwargs)``.

    ``search(x)`` and ``search(x, y)`` pass through. The lecture's
    ``search(x_train, y_train, x_val, y_val)`` (KerasTuner's examples pass validation data so,
    though ``model.fit`` would read the third positional as ``batch_size``) becomes
    ``fit(x_train, y_train, validation_data=(x_val, y_val))``, as does
    ``search(x, y, (x_val, y_val))``. Everything else goes by keyword.

    >>> fit_arguments(([1], [2], [3], [4]), {"epochs": 2})
    (([1], [2]), {'epochs': 2, 'validation_data': ([3], [4])})

    Raises:
        UsageError: positional arguments that cannot be read that way (a number
            after ``x, y``, more than four, or validation data given twice).
    """
    extra = args[2:]
    keywords = dict(kwargs)
    if not extra:
        return args, keywords
    if len(extra) == 2 and all(_is_data(v) for v in extra):
        validation: Any = (extra[0], extra[1])
    elif (
        len(extra) == 1
        and isinstance(extra[0], tuple)
        and len(extra[0]) in (2, 3)
        and all(_is_data(v) for v in extra[0])
    ):
        validation = extra[0]
    else:
        kinds = ", ".join(type(v).__name__ for v in args)
        raise UsageError(
            f"search() got {len(args)} positional arguments ({kinds}); with a Keras model it "
            "takes search(x, y, ...) or the lecture's search(x_train, y_train, x_val, y_val, "
            "...), whose last two become validation_data. Pass the rest by keyword: epochs=, "
            "batch_size=, validation_data=(x_val, y_val), callbacks=[...]."
        )
    if keywords.get("validation_data") is not None:
        raise UsageError(
            "search(): validation data was given twice, as positional arguments after x and y "
            "and as validation_data=; keep one."
        )
    keywords["validation_data"] = validation
    return args[:2], keywords


def copy_callbacks(callbacks: Any) -> list[Any]:
    """A deep copy of each callback, so that no state passes from one trial to the next.

    A model a callback is attached to (from an earlier ``fit``) is shared, not copied: Keras
    attaches the trial's model before training.

    Raises:
        UsageError: ``callbacks`` is not a list, or a callback cannot be copied.
    """
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise UsageError(
            f"search(callbacks=...): expected a list of Keras callbacks, got {callbacks!r}."
        )
    copies = []
    for index, callback in enumerate(callbacks):
        attached = getattr(callback, "_model", None)
        memo: dict[int, Any] = {} if attached is None else {id(attached): attached}
        try:
            copies.append(copy.deepcopy(callback, memo))
        except Exception as exc:
            raise UsageError(
                f"search(callbacks=...): callbacks[{index}] ({type(callback).__name__}) cannot "
                f"be copied ({type(exc).__name__}: {exc}). Each trial trains with its own deep "
                "copy of the callbacks so that no state leaks between trials; keep what cannot "
                "be copied (open files, locks, connections) out of the callback until "
                "on_train_begin."
            ) from exc
    return copies


def _epochs(budget: float) -> int:
    """A budget in whole epochs, rounded up (at least one)."""
    return max(1, math.ceil(budget - 1e-9))


def _input_shape(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> list[int | None] | None:
    """The batch input shape of array inputs ``x`` (``[None, *x.shape[1:]]``), or None."""
    x = args[0] if args else kwargs.get("x")
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) < 1:
        return None
    return [None, *(int(d) for d in shape[1:])]


def _prepare_for_loading(model: Any, input_shape: list[int | None] | None) -> None:
    """Create ``model``'s variables, and its optimizer's, so that saved ones can be loaded."""
    if not getattr(model, "built", True):
        if input_shape is None:
            raise InvalidArgumentError(
                f"The {type(model).__name__} built by the hypermodel has no weights until it "
                "sees data, and its input shape is unknown, so saved weights cannot be loaded "
                "into it. Start the model with keras.Input(shape=...) (or give its first layer "
                "input_shape=)."
            )
        model.build(tuple(input_shape))
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not getattr(optimizer, "built", True):
        # Weights files carry the optimizer's state too; Keras loads it into a built optimizer.
        optimizer.build(model.trainable_variables)


def _missing_metric(objective: Objective, names: list[str]) -> str:
    lack = f"have no {objective.name!r}, the metric this search optimises"
    if objective.parts:
        parts = [p.name for p in objective.parts]
        lack = f"lack some of {parts!r}, the metrics whose sum this search optimises"
    return (
        f"The model's fit() logs {lack}; they have {sorted(names)!r}. Metrics named val_... "
        "need validation data (validation_data=, validation_split=, or the lecture's "
        "search(x_train, y_train, x_val, y_val)); others need model.compile(metrics=[...]). "
        "Or pass objective= one of those names."
    )


@functools.cache
def _reporter_class() -> type:
    """The Keras callback that reports each epoch to the trial (made when Keras is loaded)."""
    callback_base: Any = _keras().callbacks.Callback

    class TrialReporter(callback_base):  # type: ignore[misc]
        """Reports each epoch's logs, keeps the best epoch's weights, stops on request.

        ``strict``: fail at the first epoch whose logs lack the objective (the plain
        ``model.fit``; a custom ``HyperModel.fit`` may return the objective itself).
        """

        def __init__(self, trial: RunningTrial, objective: Objective, *, strict: bool) -> None:
            super().__init__()
            self.trial = trial
            self.objective = objective
            self.strict = strict
            self.epochs_seen = 0
            self.names: list[str] = []
            self.best_epoch: int | None = None
            self.best_metrics: dict[str, float] = {}
            self.best_weights: list[Any] | None = None

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            logs = self.objective.with_value(logs or {})  # objective=[...]: their sum added
            if self.strict and self.objective.name not in logs:
                raise UsageError(_missing_metric(self.objective, list(logs)))
            self.epochs_seen += 1
            self.names = list(logs)
            metrics = {
                str(name): number
                for name, value in logs.items()
                if (number := _as_float(value)) is not None
            }
            if metrics:
                self.trial.report(int(epoch), **metrics)
            value = metrics.get(self.objective.name)
            if value is not None and (
                self.best_epoch is None
                or self.objective.is_better(value, self.best_metrics[self.objective.name])
            ):
                self.best_epoch = int(epoch)
                self.best_metrics = metrics
                # A custom training loop that calls the callbacks itself may not set_model().
                attached = self._model is not None
                self.best_weights = self.model.get_weights() if attached else None
            if self.trial.should_stop() and self._model is not None:
                self.model.stop_training = True

    return TrialReporter


class KerasAdapter(ModelAdapter):
    """Trains Keras models for the tuner (see the module's description).

    The tuner makes one when its hypermodel first returns a Keras model; users do not.
    """

    name = "keras"

    def before_build(self, seed: int) -> None:
        keras = _keras()
        keras.backend.clear_session()  # also runs gc.collect()
        keras.utils.set_random_seed(seed)

    def run(
        self,
        hp: HyperParameters,
        model: Any,
        trial: RunningTrial,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> dict[str, float]:
        fit_args, fit_kwargs = fit_arguments(args, kwargs)
        own_fit = isinstance(self.hypermodel, HyperModel) and (
            type(self.hypermodel).fit is not HyperModel.fit
        )
        reporter = _reporter_class()(trial, self.objective, strict=not own_fit)
        fit_kwargs["callbacks"] = [*copy_callbacks(fit_kwargs.get("callbacks")), reporter]
        fit_kwargs.setdefault("verbose", 0)
        input_shape = _input_shape(fit_args, fit_kwargs)
        if trial.budget is not None:
            fit_kwargs["epochs"] = _epochs(trial.budget)
            if _restore_previous(model, trial, input_shape):
                fit_kwargs["initial_epoch"] = _epochs(trial.previous_budget or 0)
        if isinstance(self.hypermodel, HyperModel):
            result = self.hypermodel.fit(hp, model, *fit_args, **fit_kwargs)
        else:
            result = model.fit(*fit_args, **fit_kwargs)
        metrics: dict[str, float]
        best_epoch: int | None
        best_weights = None
        if isinstance(getattr(result, "history", None), Mapping) or result is None:
            # What model.fit returns: the best epoch the reporter saw (the same logs).
            if not reporter.epochs_seen:
                raise InvalidArgumentError(
                    f"The model trained for no epoch, so it has no {self.objective.name!r} "
                    f"(fit() returned {result!r:.80}). Check epochs= and initial_epoch=."
                )
            if self.objective.name not in reporter.names:
                raise UsageError(_missing_metric(self.objective, reporter.names))
            if reporter.best_epoch is None:
                raise InvalidArgumentError(
                    f"{self.objective.name!r} was not a finite number at any epoch "
                    f"({reporter.epochs_seen} epochs): the training diverged."
                )
            metrics, best_epoch = reporter.best_metrics, reporter.best_epoch
            best_weights = reporter.best_weights
        else:  # HyperModel.fit returned its own metrics, which describe the final model
            metrics, best_epoch = self._metrics_of(result), None
        self._save(model, trial, metrics, best_epoch, best_weights, input_shape)
        return metrics

    def _metrics_of(self, result: Any) -> dict[str, float]:
        """The metrics ``HyperModel.fit`` returned instead of a History: a dict or a number."""
        if isinstance(result, Mapping):
            metrics = {str(k): v for k, x in result.items() if (v := _as_float(x)) is not None}
            metrics = self.objective.with_value(metrics)
        elif (number := _as_float(result)) is not None:
            metrics = {self.objective.name: number}
        else:
            raise InvalidArgumentError(
                f"HyperModel.fit returned a {type(result).__name__} ({result!r:.80}); expected "
                "what model.fit returns (a History), a dict of metrics or a number."
            )
        if self.objective.name not in metrics:
            raise InvalidArgumentError(
                f"HyperModel.fit returned the metrics {sorted(metrics)!r} without a finite "
                f"{self.objective.name!r}, the metric this search optimises."
            )
        return metrics

    def _save(
        self,
        model: Any,
        trial: RunningTrial,
        metrics: Mapping[str, float],
        best_epoch: int | None,
        best_weights: list[Any] | None,
        input_shape: list[int | None] | None,
    ) -> None:
        """Save the last and the best weights; with several executions, the best execution's."""
        folder = trial.checkpoint_dir
        model.save_weights(folder / LAST_WEIGHTS)
        value = metrics[self.objective.name]
        earlier = _read_record(folder)
        if "value" in earlier and not self.objective.is_better(value, earlier["value"]):
            return  # an earlier execution of this trial did better: keep its weights
        if best_weights is not None:
            model.set_weights(best_weights)
        model.save_weights(folder / BEST_WEIGHTS)
        record = {"value": value, "best_epoch": best_epoch, "input_shape": input_shape}
        (folder / RECORD_FILE).write_text(json.dumps(record))

    def load_best(self, model: Any, checkpoint_dir: Path) -> Any:
        path = checkpoint_dir / BEST_WEIGHTS
        if not path.is_file():
            raise StorageError(
                f"The best weights of this trial are not at {path}. A tuner given storage= "
                "without directory= keeps weights in a temporary folder only until close(); "
                "give it a directory= to keep them."
            )
        _prepare_for_loading(model, _read_record(checkpoint_dir).get("input_shape"))
        model.load_weights(path)
        return model


def _restore_previous(
    model: Any, trial: RunningTrial, input_shape: list[int | None] | None
) -> bool:
    """Load the last weights of the trial this one continues; False for a fresh start."""
    previous = trial.previous_checkpoint_dir
    if previous is None or not (previous / LAST_WEIGHTS).is_file():
        record_missing_checkpoint(trial, LAST_WEIGHTS)  # a promotion whose weights are gone
        return False
    _prepare_for_loading(model, input_shape or _read_record(previous).get("input_shape"))
    model.load_weights(previous / LAST_WEIGHTS)
    return True


def _read_record(folder: Path) -> dict[str, Any]:
    try:
        record = json.loads((folder / RECORD_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}
