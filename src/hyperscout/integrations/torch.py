"""PyTorch: save and restore a training loop's state through the trial's checkpoint folder.

There is no PyTorch tuner class. The objective is a plain function ``(hp, trial)`` that
builds a module from ``hp``, trains it for ``trial.budget`` epochs, reports each epoch with
``trial.report(epoch, val_loss=...)`` and returns when ``trial.should_stop()`` says so. These
helpers add what a budgeted search (``Hyperband``, ``BOHB``, ``SuccessiveHalving``) needs:
a configuration promoted to a larger budget continues from the epoch its lower-rung trial
reached, with the same weights and the same optimizer state::

    import hyperscout as hs
    from hyperscout.integrations.torch import load_best_model, load_checkpoint, save_checkpoint

    def objective(hp, trial):
        model = build_model(hp)
        optimizer = torch.optim.Adam(model.parameters(),
                                     lr=hp.Float("lr", 1e-4, 1e-2, sampling="log"))
        epochs = trial.budget or 20             # None: a strategy without budgets
        epoch = load_checkpoint(trial, model, optimizer)        # 0 unless promoted
        while epoch < epochs:
            train_one_epoch(model, optimizer)
            epoch += 1
            val_loss = evaluate(model)
            trial.report(epoch, val_loss=val_loss)
            if trial.should_stop():
                break
        save_checkpoint(trial, model, optimizer, epoch=epoch)
        return {"val_loss": val_loss}

    tuner = hs.Hyperband(objective, objective="val_loss", max_epochs=27, directory="runs",
                         project_name="cnn")
    tuner.search()
    best = load_best_model(tuner, build_model)                # weights of the best trial

The files are ``torch.save`` dictionaries of state dicts, read back with
``torch.load(weights_only=True)``: nothing in them is executed on load.

- ``checkpoint.pt`` (:func:`save_checkpoint`): the model, the optimizer, other objects with
  a ``state_dict`` (a learning-rate scheduler ...), and the epochs trained. Promoted trials
  continue from it; :func:`load_best_model` loads its model when there is no ``model.pt``.
- ``model.pt`` (:func:`save_model`): the weights the trial's result stands for, when they
  are not the last epoch's (an objective that returns its best epoch saves that epoch's
  weights here).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hyperscout.exceptions import InvalidArgumentError, require
from hyperscout.space import HyperParameters
from hyperscout.trial import RunningTrial, Trial, checkpoint_path, record_missing_checkpoint
from hyperscout.tuner import Tuner

__all__ = [
    "CHECKPOINT_FILE",
    "MODEL_FILE",
    "load_best_model",
    "load_checkpoint",
    "load_trial_model",
    "save_checkpoint",
    "save_model",
]

#: The training state of a trial, written by :func:`save_checkpoint`.
CHECKPOINT_FILE = "checkpoint.pt"
#: The weights a trial's result stands for, written by :func:`save_model`.
MODEL_FILE = "model.pt"

_FEATURE = "hyperscout.integrations.torch"


def _torch() -> Any:
    """The torch module, or MissingDependencyError with the install hint."""
    return require("torch", feature=_FEATURE, extra="torch")


def _check_trial(function: str, trial: Any) -> RunningTrial:
    if not isinstance(trial, RunningTrial):
        raise InvalidArgumentError(
            f"{function}(trial=...): expected the trial handle the objective receives as its "
            f"second argument (an hs.RunningTrial), got {trial!r}."
        )
    return trial


def _check_stateful(function: str, name: str, value: Any, *, saving: bool) -> None:
    method = "state_dict" if saving else "load_state_dict"
    if not callable(getattr(value, method, None)):
        raise InvalidArgumentError(
            f"{function}({name}=...): expected an object with a {method}() method (a "
            f"torch.nn.Module, an optimizer, a learning-rate scheduler ...), got {value!r}."
        )


def _save(payload: dict[str, Any], path: Path) -> None:
    """``torch.save`` through a temporary file, so that a crash never leaves half a file."""
    torch = _torch()
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        torch.save(payload, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _load(path: Path, map_location: Any) -> dict[str, Any]:
    """A file written by this module: tensors and plain data only (``weights_only=True``)."""
    payload = _torch().load(path, map_location=map_location, weights_only=True)
    if not isinstance(payload, dict) or "model" not in payload:
        raise InvalidArgumentError(
            f"{path} is not a checkpoint written by hyperscout.integrations.torch "
            "(expected a dict with a 'model' state dict)."
        )
    return payload


def save_checkpoint(
    trial: RunningTrial,
    model: Any,
    optimizer: Any = None,
    *,
    epoch: int,
    **extra: Any,
) -> Path:
    """Save the training state into ``trial.checkpoint_dir / "checkpoint.pt"``.

    Call it when the trial stops training (at ``epoch = trial.budget``, or earlier when
    ``trial.should_stop()``), or after every epoch if a killed trial should lose little.

    Args:
        trial: the objective's trial handle.
        model: the ``torch.nn.Module`` being trained.
        optimizer: its optimizer, whose state (Adam's moments ...) a promoted trial needs to
            continue exactly; None saves none.
        epoch: epochs trained so far: the first epoch a continuing trial runs.
        **extra: other objects with a ``state_dict()`` to restore, by name, e.g.
            ``scheduler=lr_scheduler``; pass the same names to :func:`load_checkpoint`.

    Returns:
        The path of the file written.

    Raises:
        InvalidArgumentError: ``epoch`` is not an int >= 0, or an object has no state dict.
        MissingDependencyError: torch is not installed.
    """
    _check_trial("save_checkpoint", trial)
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise InvalidArgumentError(
            f"save_checkpoint(epoch=...): expected the number of epochs trained, an int >= 0, "
            f"got {epoch!r}."
        )
    _check_stateful("save_checkpoint", "model", model, saving=True)
    if optimizer is not None:
        _check_stateful("save_checkpoint", "optimizer", optimizer, saving=True)
    for name, value in extra.items():
        _check_stateful("save_checkpoint", name, value, saving=True)
    payload = {
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "extra": {name: value.state_dict() for name, value in extra.items()},
    }
    path = trial.checkpoint_dir / CHECKPOINT_FILE
    _save(payload, path)
    return path


def load_checkpoint(
    trial: RunningTrial,
    model: Any,
    optimizer: Any = None,
    *,
    map_location: Any = "cpu",
    **extra: Any,
) -> int:
    """Restore the state of the trial this one continues; return the epoch to start from.

    A configuration promoted to a larger budget runs as a new trial whose
    ``trial.previous_checkpoint_dir`` is the folder of its lower-rung trial. This loads that
    trial's ``checkpoint.pt`` into ``model`` (and ``optimizer``, and the objects of
    ``extra``) in place. A trial that continues nothing (a new configuration, or a strategy
    without budgets) finds no checkpoint: nothing is loaded and the result is 0, so
    ``range(load_checkpoint(...), trial.budget)`` is right either way. A promoted trial whose
    lower-rung checkpoint is missing (deleted, or never saved) starts at 0 too, but not
    silently: its attrs record ``checkpoint_missing`` and a
    :class:`~hyperscout.HyperscoutWarning` says so, once per project.

    Args:
        trial: the objective's trial handle.
        model: a freshly built module of the same architecture.
        optimizer: an optimizer over ``model``'s parameters; None restores none.
        map_location: passed to ``torch.load`` (``"cpu"``: tensors are moved to the
            parameters' device by ``load_state_dict``).
        **extra: objects saved by name with :func:`save_checkpoint`.

    Returns:
        The epochs the continued trial had trained (its ``epoch=``), or 0.

    Raises:
        InvalidArgumentError: the checkpoint lacks a state that was asked for.
        MissingDependencyError: torch is not installed.
    """
    _check_trial("load_checkpoint", trial)
    _check_stateful("load_checkpoint", "model", model, saving=False)
    if optimizer is not None:
        _check_stateful("load_checkpoint", "optimizer", optimizer, saving=False)
    for name, value in extra.items():
        _check_stateful("load_checkpoint", name, value, saving=False)
    folder = trial.previous_checkpoint_dir
    if folder is None or not (folder / CHECKPOINT_FILE).is_file():
        # A promoted trial whose lower rung's file is gone: noted and warned, not silent.
        record_missing_checkpoint(trial, CHECKPOINT_FILE)
        return 0
    path = folder / CHECKPOINT_FILE
    payload = _load(path, map_location)
    if optimizer is not None and payload.get("optimizer") is None:
        raise InvalidArgumentError(
            f"load_checkpoint(optimizer=...): {path} holds no optimizer state; save it with "
            "save_checkpoint(trial, model, optimizer, epoch=...), or pass optimizer=None."
        )
    saved_extra = payload.get("extra") or {}
    missing = sorted(set(extra) - set(saved_extra))
    if missing:
        raise InvalidArgumentError(
            f"load_checkpoint(): {path} holds no state for {', '.join(missing)} (it has: "
            f"{', '.join(sorted(saved_extra)) or 'none'}); pass the same names to "
            "save_checkpoint."
        )
    model.load_state_dict(payload["model"])
    if optimizer is not None:
        optimizer.load_state_dict(payload["optimizer"])
    for name, value in extra.items():
        value.load_state_dict(saved_extra[name])
    return int(payload["epoch"])


def save_model(trial: RunningTrial, model: Any) -> Path:
    """Save the weights the trial's result stands for into ``trial.checkpoint_dir / "model.pt"``.

    Only needed when those are not the weights of the last :func:`save_checkpoint`: an
    objective that returns the metrics of its best epoch calls this at that epoch, so that
    :func:`load_best_model` loads the model that scored them.

    Returns:
        The path of the file written.
    """
    _check_trial("save_model", trial)
    _check_stateful("save_model", "model", model, saving=True)
    path = trial.checkpoint_dir / MODEL_FILE
    _save({"model": model.state_dict()}, path)
    return path


def load_trial_model(
    tuner: Tuner,
    trial: Trial | int,
    build_model: Callable[[HyperParameters], Any],
    *,
    map_location: Any = "cpu",
) -> Any:
    """Rebuild a trial's module from its hyperparameters and load the weights it saved.

    Args:
        tuner: the tuner that ran the trial (its study and checkpoint folders).
        trial: a :class:`~hyperscout.Trial` of the tuner, or its number.
        build_model: builds the module from ``hp``, as the objective does; it receives the
            trial's values.
        map_location: passed to ``torch.load``.

    Returns:
        The module with the weights of the trial's ``model.pt``, or else of its
        ``checkpoint.pt``, switched to evaluation mode (``model.eval()``).

    Raises:
        InvalidArgumentError: no such trial, or it saved no weights.
        MissingDependencyError: torch is not installed.
    """
    torch = _torch()
    if not isinstance(tuner, Tuner):
        raise InvalidArgumentError(
            f"load_trial_model(tuner=...): expected the hs.Tuner that ran the search, got "
            f"{tuner!r}."
        )
    if not callable(build_model):
        raise InvalidArgumentError(
            f"load_trial_model(build_model=...): expected a function of hp that returns a "
            f"torch.nn.Module, got {build_model!r}."
        )
    if isinstance(trial, Trial):
        number = trial.number
    elif isinstance(trial, int) and not isinstance(trial, bool):
        number = trial
    else:
        raise InvalidArgumentError(
            f"load_trial_model(trial=...): expected an hs.Trial or a trial number, got {trial!r}."
        )
    found = [t for t in tuner.trials if t.number == number]
    if not found:
        raise InvalidArgumentError(
            f"load_trial_model(trial={number}): the study {tuner.project_name!r} has no such "
            f"trial (it has {len(tuner.trials)})."
        )
    folder = checkpoint_path(tuner.checkpoint_root, number)
    for name in (MODEL_FILE, CHECKPOINT_FILE):
        if (folder / name).is_file():
            path = folder / name
            break
    else:
        raise InvalidArgumentError(
            f"Trial {number} saved no weights in {folder}: call save_checkpoint(trial, model, "
            "...) or save_model(trial, model) in the objective."
        )
    model = build_model(tuner.hyperparameters.with_values(found[0].values))
    if not isinstance(model, torch.nn.Module):
        raise InvalidArgumentError(
            f"load_trial_model(build_model=...): expected the function to return a "
            f"torch.nn.Module, got {type(model).__name__}."
        )
    model.load_state_dict(_load(path, map_location)["model"])
    return model.eval()


def load_best_model(
    tuner: Tuner,
    build_model: Callable[[HyperParameters], Any],
    *,
    map_location: Any = "cpu",
) -> Any:
    """The best trial's module: rebuilt from its hyperparameters, its saved weights loaded.

    Equivalent to ``load_trial_model(tuner, tuner.get_best_trials(1)[0], build_model)``.

    Raises:
        InvalidArgumentError: the study has no complete trial, or the best one saved no
            weights.
        MissingDependencyError: torch is not installed.
    """
    if not isinstance(tuner, Tuner):
        raise InvalidArgumentError(
            f"load_best_model(tuner=...): expected the hs.Tuner that ran the search, got {tuner!r}."
        )
    best = tuner.get_best_trials(1)
    if not best:
        raise InvalidArgumentError(
            f"load_best_model(): the study {tuner.project_name!r} has no complete trial yet; "
            "run tuner.search() first."
        )
    return load_trial_model(tuner, best[0], build_model, map_location=map_location)
