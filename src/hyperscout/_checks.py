"""Argument checks of the tuner (and the presets), kept apart so that every such error reads alike.

Each check raises :class:`~hyperscout.exceptions.InvalidArgumentError` with a message that
names the argument, what was expected and what arrived.

>>> check_int("max_trials", 0, minimum=1)
Traceback (most recent call last):
...
hyperscout.exceptions.InvalidArgumentError: max_trials=: expected an int >= 1, got 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hyperscout.exceptions import InvalidArgumentError
from hyperscout.executors import Executor
from hyperscout.objective import Objective
from hyperscout.samplers import Sampler
from hyperscout.schedulers import Scheduler
from hyperscout.space import HyperParameters

__all__ = ["check_enqueued", "check_int", "check_same_objective", "check_tuner_arguments"]


def check_int(name: str, value: Any, *, minimum: int, allow_none: bool = False) -> None:
    """The shared argument check: an int >= minimum (or None when allowed)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        expected = f"an int >= {minimum}" + (" or None" if allow_none else "")
        raise InvalidArgumentError(f"{name}=: expected {expected}, got {value!r}.")


def check_tuner_arguments(
    *,
    hypermodel: Any,
    max_trials: Any,
    seed: Any,
    executions_per_trial: Any,
    max_retries_per_trial: Any,
    max_consecutive_failed_trials: Any,
    verbose: Any,
    timeout: Any,
    hyperparameters: Any,
    sampler: Any,
    scheduler: Any,
    executor: Any,
) -> None:
    """The checks of :class:`~hyperscout.Tuner`'s arguments, called first by its constructor."""
    if hypermodel is not None and not callable(hypermodel):
        raise InvalidArgumentError(
            "hypermodel: expected a function of hp that returns a metric or builds a model, "
            f"or an hs.HyperModel, got {hypermodel!r}."
        )
    check_int("max_trials", max_trials, minimum=1, allow_none=True)
    check_int("seed", seed, minimum=0, allow_none=True)
    check_int("executions_per_trial", executions_per_trial, minimum=1)
    check_int("max_retries_per_trial", max_retries_per_trial, minimum=0)
    check_int("max_consecutive_failed_trials", max_consecutive_failed_trials, minimum=1)
    check_int("verbose", verbose, minimum=0)
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
    ):
        raise InvalidArgumentError(f"timeout=: expected seconds > 0 or None, got {timeout!r}.")
    if hyperparameters is not None and not isinstance(hyperparameters, HyperParameters):
        raise InvalidArgumentError(
            f"hyperparameters=: expected an hs.HyperParameters, got {hyperparameters!r}."
        )
    for name, value, kind in (
        ("sampler", sampler, Sampler),
        ("scheduler", scheduler, Scheduler),
        ("executor", executor, Executor),
    ):
        if value is not None and not isinstance(value, kind):
            raise InvalidArgumentError(f"{name}=: expected a {kind.__name__}, got {value!r}.")


def check_same_objective(project_name: str, objective: Objective, meta: Mapping[str, Any]) -> None:
    """A study opened again must optimise the objective it was created with."""
    stored = meta.get("objective")
    if stored and stored != objective.to_dict():
        raise InvalidArgumentError(
            f"Project {project_name!r} optimises {stored['name']!r} "
            f"({stored['direction']}), not {objective.name!r} "
            f"({objective.direction}). Pass overwrite=True (--overwrite on the command "
            "line) to start over, or use another project_name (--project-name)."
        )


def check_enqueued(values: Any, space: HyperParameters) -> None:
    """The checks of :meth:`~hyperscout.Tuner.enqueue`'s values against the space known so far."""
    if not isinstance(values, Mapping):
        raise InvalidArgumentError(
            f"enqueue(values=...): expected a dict of parameter values, got {values!r}."
        )
    for name, value in values.items():
        if name in space and not space.parameter(name).contains(value):
            raise InvalidArgumentError(
                f"enqueue(): {value!r} is not a value of {name!r} ({space.parameter(name)!r})."
            )
