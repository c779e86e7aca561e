"""Argument checks of the tuner (and the presets), kept apart so that every such error reads alike.

Each check raises :class:`~hyperscout.exceptions.InvalidArgumentError` with a message that
names the argument, what was expected and what arrived.

>>> check_int("max_trials", 0, minimum=1)
Traceback (most recent call last):
...
hyperscout.exceptions.InvalidArgumentError: max_trials=: expected an int >= 1, got 0.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from hyperscout.exceptions import InvalidArgumentError, UsageError
from hyperscout.executors import Executor
from hyperscout.hypermodel import HyperModel
from hyperscout.objective import DEFAULT_METRIC, Objective
from hyperscout.samplers import Sampler
from hyperscout.schedulers import Scheduler
from hyperscout.space import HyperParameters

__all__ = [
    "check_bool",
    "check_enqueued",
    "check_enqueued_read",
    "check_int",
    "check_result",
    "check_same_objective",
    "check_seconds",
    "check_tuner_arguments",
    "near_miss",
    "objective_changed",
]


def check_int(name: str, value: Any, *, minimum: int, allow_none: bool = False) -> None:
    """The shared argument check: an int >= minimum (or None when allowed)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        expected = f"an int >= {minimum}" + (" or None" if allow_none else "")
        raise InvalidArgumentError(f"{name}=: expected {expected}, got {value!r}.")


def check_seconds(name: str, value: Any) -> None:
    """A duration: finite seconds > 0, or None (no limit).

    >>> check_seconds("timeout", float("nan"))
    Traceback (most recent call last):
    ...
    hyperscout.exceptions.InvalidArgumentError: timeout=: expected a finite number of seconds \
> 0, or None for no limit, got nan.
    """
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidArgumentError(
            f"{name}=: expected a finite number of seconds > 0, or None for no limit, "
            f"got {value!r}."
        )


def check_bool(name: str, value: Any) -> None:
    """An argument that must be True or False (not 0, 1 or a string)."""
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name}=: expected True or False, got {value!r}.")


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
    if isinstance(verbose, bool) or not isinstance(verbose, int) or verbose not in (0, 1, 2):
        raise InvalidArgumentError(
            "verbose=: expected 0 (silent), 1 (a progress bar) or 2 (also a line per trial), "
            f"got {verbose!r}."
        )
    check_seconds("timeout", timeout)
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
    if isinstance(hypermodel, HyperModel) and executor is not None and executor.n_workers > 1:
        # An hs.HyperModel builds framework models, and the one framework hyperscout trains,
        # Keras, cannot train two in one process (hypermodel.ModelAdapter.supports_threads).
        raise UsageError(
            f"executor={executor!r} runs {executor.n_workers} trials at once in threads, but "
            f"the hypermodel {type(hypermodel).__name__} builds Keras models, which train one "
            "trial at a time in a process (Keras keeps global state that is reset between "
            "trials). Drop executor=; run several processes on one storage to train in "
            "parallel."
        )


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


def objective_changed(objective: Objective, meta: Mapping[str, Any]) -> bool:
    """True when a study opened again was created for another objective than ``objective``."""
    stored = meta.get("objective")
    return bool(stored) and stored != objective.to_dict()


def near_miss(name: str, known: Iterable[str]) -> str | None:
    """The name of ``known`` that ``name`` is most likely a typo of, or None.

    Names are compared without case and separators (``Lr`` and ``lr``, ``batch-size`` and
    ``batch_size`` are one name), and close spellings (``momentun``, ``momentum``) match;
    names that differ only in their digits (``units_1``, ``units_2``) are different
    parameters, as define-by-run loops name them.

    >>> near_miss("Lr", ["lr", "units_1"]), near_miss("units_2", ["lr", "units_1"])
    ('lr', None)
    """

    def plain(text: str) -> str:
        return re.sub(r"[\s_.\-]", "", text.lower())

    def letters(text: str) -> str:
        return re.sub(r"\d", "", plain(text))

    known = list(known)
    if name in known:
        return None
    wanted = plain(name)
    candidates: dict[str, str] = {}
    for other in known:
        if plain(other) != wanted and letters(other) == letters(name):
            continue  # units_1 and units_2: another parameter, not a typo
        candidates.setdefault(plain(other), other)
    match = difflib.get_close_matches(wanted, list(candidates), n=1, cutoff=0.8)
    return candidates[match[0]] if match else None


def check_enqueued(values: Any, space: HyperParameters) -> None:
    """The checks of :meth:`~hyperscout.Tuner.enqueue`'s values against the space known so far.

    A name the space does not know yet is accepted (the objective may define it when it
    runs), unless it is a near miss of a known one (:func:`near_miss`): a typo.
    """
    if not isinstance(values, Mapping):
        raise InvalidArgumentError(
            f"enqueue(values=...): expected a dict of parameter values, got {values!r}."
        )
    for name, value in values.items():
        if not isinstance(name, str):
            raise InvalidArgumentError(
                f"enqueue(): expected parameter names (str) as keys, got {name!r}."
            )
        if name in space:
            if not space.parameter(name).contains(value):
                raise InvalidArgumentError(
                    f"enqueue(): {value!r} is not a value of {name!r} ({space.parameter(name)!r})."
                )
            continue
        close = near_miss(name, space.names)
        if close is not None:
            raise InvalidArgumentError(
                f"enqueue(): {name!r} is no parameter of the space, and a near miss of the "
                f"parameter {close!r}. Enqueue {close!r}; for a new parameter really called "
                f"{name!r}, declare it first (hyperparameters=)."
            )


def check_enqueued_read(values: Mapping[str, Any], hp: HyperParameters) -> None:
    """After an enqueued configuration ran: its names must be parameters the objective defined.

    Called with the trial's ``hp`` once the objective returned: a name the space still lacks
    while the objective defined a near miss of it was a typo that :func:`check_enqueued`
    could not see (the space was not known yet), and its value was never used.
    """
    for name in values:
        if name in hp:
            continue
        close = near_miss(name, hp.names)
        if close is not None:
            raise UsageError(
                f"enqueue(): the objective defines the parameter {close!r}, not {name!r}, so "
                f"the enqueued {name}={values[name]!r} was never used. Enqueue {close!r}."
            )


def _is_number(result: Any) -> bool:
    """A number of some kind, finite or not (a float, a NumPy or a framework scalar)."""
    if isinstance(result, (bool, str, bytes)):
        return False
    try:
        float(result)
    except OverflowError:  # an int past the largest float is a number, just too large
        return True
    except (TypeError, ValueError):
        return False
    return True


def check_result(result: Any, objective: Objective, *, metric_seen: Callable[[], bool]) -> None:
    """Raise :class:`UsageError` when a run's result shows how the objective is written.

    A result that holds no value of the objective at all (a dict without its name, None, a
    string, an object) is a mistake in how the search is set up as long as no trial of the
    study has produced the metric (``metric_seen()`` is False): no trial can succeed, so the
    search stops. Once one has, the same result is one trial's failure (a branch of the
    objective), and so is a value that is not finite (NaN, inf) in any trial: the caller
    records those as failed trials.
    """
    name = objective.name
    if isinstance(result, Mapping):
        if name in objective.with_value(result):  # objective=[...]: the sum of its metrics
            return
        keys = sorted(str(k) for k in result)
        if metric_seen():
            return
        if name == DEFAULT_METRIC:
            example = f"objective={keys[0]!r}" if keys else "objective='val_loss'"
            raise UsageError(
                f"The objective returned the metrics {keys!r} and no objective= says which "
                f"of them to optimise. Pass objective= one of those names, e.g. {example} "
                "(on the command line: --objective NAME); its direction is inferred from "
                "names like val_loss or val_accuracy."
            )
        close = near_miss(name, keys)
        hint = f" Did you mean {close!r}?" if close is not None else ""
        raise UsageError(
            f"objective={name!r}: the objective returned the metrics {keys!r}, without "
            f"{name!r}, and no trial of the study has produced {name!r}.{hint} Return "
            f"{name!r}, or pass objective= one of those names (on the command line: "
            "--objective NAME)."
        )
    if _is_number(result) or metric_seen():
        return
    if result is None:
        what = "None (is a return statement missing?)"
    else:
        what = f"a {type(result).__name__} ({result!r:.80})"
    raise UsageError(
        f"The objective returned {what}; expected a float or a dict of metrics with "
        f"{name!r}. No trial of the study has returned one, so the objective needs fixing: "
        "the search stops."
    )
