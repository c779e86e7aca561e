"""Argument checks of the tuner and its presets, through the one template of
:mod:`hyperscout._validation`: ``Owner(name=...): expected X, got Y.``, the owner being the
preset the user made (``RandomSearch``, ``Hyperband``) or the method called.

>>> check_tuner_arguments("RandomSearch", max_trials=0)
Traceback (most recent call last):
...
hyperscout.exceptions.InvalidArgumentError: RandomSearch(max_trials=...): expected an int \
>= 1 or None, got 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hyperscout._validation import (
    check,
    check_bool,
    check_int,
    check_seconds,
    fail,
    is_int,
    near_miss,
)
from hyperscout.exceptions import InvalidArgumentError, UsageError
from hyperscout.executors import Executor
from hyperscout.hypermodel import HyperModel
from hyperscout.objective import Objective
from hyperscout.samplers import Sampler
from hyperscout.schedulers import Scheduler
from hyperscout.space import HyperParameters

__all__ = [
    "KERASTUNER_ONLY",
    "check_no_other_arguments",
    "check_enqueued",
    "check_enqueued_read",
    "check_same_objective",
    "check_tuner_arguments",
    "objective_changed",
]


def check_tuner_arguments(
    owner: str,
    *,
    hypermodel: Any = None,
    max_trials: Any = None,
    seed: Any = None,
    executions_per_trial: Any = 1,
    max_retries_per_trial: Any = 0,
    max_consecutive_failed_trials: Any = 1,
    verbose: Any = 0,
    timeout: Any = None,
    trial_timeout: Any = None,
    hyperparameters: Any = None,
    sampler: Any = None,
    scheduler: Any = None,
    executor: Any = None,
    flags: Mapping[str, Any] | None = None,
) -> None:
    """The checks of :class:`~hyperscout.Tuner`'s arguments, called first by its constructor.

    ``owner`` is the class the user made (a preset's name), so that errors name it.
    """
    if hypermodel is not None and not callable(hypermodel):
        fail(
            owner,
            "hypermodel",
            hypermodel,
            "a function of hp that returns a metric or builds a model, or an hs.HyperModel",
        )
    check_int(owner, "max_trials", max_trials, minimum=1, allow_none=True)
    check_int(owner, "seed", seed, minimum=0, allow_none=True)
    check_int(owner, "executions_per_trial", executions_per_trial, minimum=1)
    check_int(owner, "max_retries_per_trial", max_retries_per_trial, minimum=0)
    check_int(owner, "max_consecutive_failed_trials", max_consecutive_failed_trials, minimum=1)
    check(
        owner,
        "verbose",
        verbose,
        is_int(verbose) and verbose in (0, 1, 2),
        "0 (silent), 1 (a progress bar) or 2 (also a line per trial)",
    )
    check_seconds(owner, "timeout", timeout)
    check_seconds(owner, "trial_timeout", trial_timeout)
    for name, flag in (flags or {}).items():
        check_bool(owner, name, flag)
    for name, value, kind, expected in (
        ("hyperparameters", hyperparameters, HyperParameters, "an hs.HyperParameters"),
        ("sampler", sampler, Sampler, "a Sampler"),
        ("scheduler", scheduler, Scheduler, "a Scheduler"),
        ("executor", executor, Executor, "an Executor"),
    ):
        check(owner, name, value, value is None or isinstance(value, kind), expected)
    threads = executor is not None and not executor.runs_elsewhere
    if isinstance(hypermodel, HyperModel) and threads and executor.n_workers > 1:
        # An hs.HyperModel builds framework models, and the one framework hyperscout trains,
        # Keras, cannot train two in one process (hypermodel.ModelAdapter.supports_threads).
        raise UsageError(
            f"executor={executor!r} runs {executor.n_workers} trials at once in threads, but "
            f"the hypermodel {type(hypermodel).__name__} builds Keras models, which train one "
            "trial at a time in a process (Keras keeps global state that is reset between "
            "trials). Use executor=hs.ProcessExecutor(n) (one Keras per process), or drop "
            "executor=."
        )


#: KerasTuner's arguments that have no meaning here, and what to do instead.
KERASTUNER_ONLY = {
    "oracle": "a hyperscout tuner pairs a sampler with a scheduler: pass sampler= and "
    "scheduler=, or use a preset (hs.BayesianOptimization, hs.Hyperband ...)",
    "distribution_strategy": "a trial trains where its worker runs; to use several devices "
    "or machines, run several workers on one storage (README: Parallel trials)",
    "max_model_size": "hyperscout does not count a model's parameters; skip a model too "
    "large in build_model (raise hs.TrialPruned) or bound the space",
    "optimizer": "compile the model in build_model(hp) with the optimizer you want",
    "loss": "compile the model in build_model(hp) with the loss you want",
    "metrics": "compile the model in build_model(hp) with the metrics you want",
    "logger": "every trial is kept in the study's storage; read it with hyperscout show or export",
    "tuner_id": "a worker is named by its host and process; workers share a study through "
    "one storage and project_name",
}


def check_no_other_arguments(owner: str, unknown: Mapping[str, Any], known: Iterable[str]) -> None:
    """Refuse keywords the tuner does not take, with a sentence (KerasTuner's) or a near miss.

    >>> check_no_other_arguments("RandomSearch", {"logger": None}, ["objective"])
    Traceback (most recent call last):
    ...
    hyperscout.exceptions.InvalidArgumentError: RandomSearch(logger=...): KerasTuner's \
argument has no meaning in hyperscout: every trial is kept in the study's storage; read it \
with hyperscout show or export. Remove it.
    """
    for name, value in unknown.items():
        if name in KERASTUNER_ONLY:
            raise InvalidArgumentError(
                f"{owner}({name}=...): KerasTuner's argument has no meaning in hyperscout: "
                f"{KERASTUNER_ONLY[name]}. Remove it."
            )
        close = near_miss(name, known)
        hint = f"; did you mean {close}=?" if close is not None else ""
        fail(owner, name, value, f"no such argument{hint} (see help({owner}))")


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


def check_enqueued(values: Any, space: HyperParameters) -> None:
    """The checks of :meth:`~hyperscout.Tuner.enqueue`'s values against the space known so far.

    A name the space does not know yet is accepted (the objective may define it when it
    runs), unless it is a near miss of a known one (:func:`near_miss`): a typo.
    """
    check(
        "Tuner.enqueue", "values", values, isinstance(values, Mapping), "a dict of parameter values"
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
