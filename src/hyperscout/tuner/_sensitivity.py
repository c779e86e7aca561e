"""One-factor-at-a-time sweeps around the best configuration (``Tuner.sensitivity``).

The lecture's manual tweaking, "modify one parameter at a time and see how the model
responds", made systematic: each parameter goes over its range, with every other parameter
held at the best configuration's value, and each point is a trial of the study.

The trials are started and run by the tuner's own machinery (``_start_trial`` and
``_run_trial``, as :meth:`~hyperscout.Tuner.search` and :meth:`~hyperscout.Tuner.ask` do:
heartbeats, retries' bookkeeping, time limits, the executor's workers), with their own claims
instead of the search's slots. Each trial's attrs say what it is
(:mod:`hyperscout.report.sensitivity` reads them back):

- ``"sensitivity"``: the parameter swept;
- ``"sensitivity_center"``: the number of the trial whose configuration is held;
- ``"sensitivity_value"``: the value given to the swept parameter.

So a sweep resumes: a point of the same center that already ran (or runs on another worker)
is not run again; a point given up (Ctrl-C, a dead worker) runs again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperscout._parameters.base import _Discrete
from hyperscout._validation import check_int, fail
from hyperscout.exceptions import ClaimTakenError, InvalidArgumentError
from hyperscout.history import rank_configurations
from hyperscout.report.sensitivity import (
    CENTER_ATTR,
    SENSITIVITY_ATTR,
    VALUE_ATTR,
    Sensitivity,
    read_sensitivity,
)
from hyperscout.schedulers import Suggestion
from hyperscout.space import HyperParameters, Parameter
from hyperscout.trial import Trial, config_key
from hyperscout.tuner._processes import plan_processes, submit_to_process

if TYPE_CHECKING:
    from hyperscout.tuner._tuner import Tuner

__all__ = ["run_sensitivity", "sweep_values"]


def sweep_values(param: Parameter, points: int) -> list[Any]:
    """The values a sweep of ``param`` tries, in order.

    Every value of a :class:`~hyperscout.space.Choice` or a Boolean; ``points`` values evenly
    spread over a numeric range in its own scale (log for ``sampling="log"``), both ends
    included, on its steps for a stepped or integer parameter (fewer when it has fewer
    values); none for a Fixed one.

    >>> from hyperscout.space import HyperParameters
    >>> hp = HyperParameters()
    >>> _ = hp.Float("lr", 1e-4, 1e-2, sampling="log"), hp.Int("units", 16, 64, step=16)
    >>> sweep_values(hp.parameter("lr"), 3), sweep_values(hp.parameter("units"), 5)
    ([0.0001, 0.001, 0.01], [16, 32, 48, 64])
    """
    cardinality = param.cardinality
    if cardinality is not None and cardinality < 2:
        return []
    if isinstance(param, _Discrete):
        return param.grid()
    if cardinality is not None and cardinality <= points:
        return param.grid()
    if cardinality is None:
        return param.grid(points)
    units = np.linspace(0.0, 1.0, points)
    return list(dict.fromkeys(param.decode(float(u)) for u in units))


def run_sensitivity(
    tuner: Tuner,
    points: int,
    parameters: Sequence[str] | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Sensitivity:
    """Run the sweeps' missing points around the best configuration; the sweeps as read back.

    See :meth:`hyperscout.Tuner.sensitivity` for the arguments.
    """
    owner = f"{type(tuner).__name__}.sensitivity"
    check_int(owner, "points", points, minimum=2)
    if tuner.hypermodel is None and not tuner._overrides_run_trial():
        raise InvalidArgumentError(
            f"{owner}() needs the objective: this tuner was built with hypermodel=None."
        )
    center = _center(tuner, owner)
    space = tuner.hyperparameters
    names = _swept(owner, space, center, parameters)
    suggestions = _missing_points(tuner, space, center, names, points)
    _run(tuner, suggestions, args, kwargs)
    result = read_sensitivity(tuner)
    assert result is not None  # the center's sweeps were just recorded
    return result


def _center(tuner: Tuner, owner: str) -> Trial:
    """The best configuration among the trials that are not sweeps."""
    sample = [t for t in tuner.trials if SENSITIVITY_ATTR not in t.attrs]
    ranked = rank_configurations(sample, tuner.objective)
    if not ranked:
        raise InvalidArgumentError(
            f"{owner}(): the study has no complete trial to sweep around; run search() first."
        )
    return ranked[0]


def _swept(
    owner: str, space: HyperParameters, center: Trial, parameters: Sequence[str] | None
) -> list[str]:
    """The parameters to sweep: those given, else every active one of the center."""
    active = [name for name in space.names if name in center.values]
    if parameters is None:
        return active
    if isinstance(parameters, str):
        fail(owner, "parameters", parameters, "a list of parameter names")
    for name in parameters:
        if name not in active:
            fail(owner, "parameters", list(parameters), f"names among {active}")
    return list(parameters)


def _missing_points(
    tuner: Tuner, space: HyperParameters, center: Trial, names: list[str], points: int
) -> list[Suggestion]:
    """The sweep points of ``center`` that no trial ran yet or runs now."""
    taken: dict[tuple[str, str], int] = {}  # (parameter, value key) -> attempts given up
    done: set[tuple[str, str]] = set()
    for trial in tuner.trials:
        if trial.attrs.get(CENTER_ATTR) != center.number or SENSITIVITY_ATTR not in trial.attrs:
            continue
        point = (str(trial.attrs[SENSITIVITY_ATTR]), config_key({"v": trial.attrs[VALUE_ATTR]}))
        if trial.is_rerun:
            taken[point] = taken.get(point, 0) + 1
        else:
            done.add(point)
    suggestions = []
    for name in names:
        param = space.parameter(name)
        held = center.values[name]
        for value in sweep_values(param, points):
            point = (name, config_key({"v": value}))
            if point in done or config_key({"v": held}) == point[1]:
                continue  # ran already, or the center itself (its trial stands for it)
            attrs = {SENSITIVITY_ATTR: name, CENTER_ATTR: center.number, VALUE_ATTR: value}
            digest = hashlib.sha256(point[1].encode()).hexdigest()[:16]
            claim = f"sensitivity/{center.number}/{name}/{digest}/{taken.get(point, 0)}"
            values = {**center.values, name: value}
            suggestions.append(Suggestion(values, center.budget, attrs, claim=claim))
    return suggestions


def _run(
    tuner: Tuner, suggestions: list[Suggestion], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """Run the points on the tuner's executor, as many at once as it has workers."""
    # Worker processes (or a cluster) get what they need as for a search, checked before
    # any point starts.
    plan = plan_processes(tuner, args, kwargs) if tuner.executor.runs_elsewhere else None
    pending = list(suggestions)
    running: dict[Future[Trial], int] = {}
    try:
        while pending or running:
            while pending and len(running) < tuner.executor.n_workers:
                try:
                    trial = tuner._start_trial(pending.pop(0))
                except ClaimTakenError:  # another worker runs that point
                    continue
                if plan is not None:
                    future = submit_to_process(tuner, plan, trial)
                else:
                    future = tuner.executor.submit(tuner._run_trial, trial, args, kwargs)
                running[future] = trial.number
            if running:
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    running.pop(future)
                    future.result()
    except KeyboardInterrupt:
        tuner.executor.cancel()
        for number in running.values():
            tuner._abandon(number, "The sensitivity sweep was interrupted (Ctrl-C).")
        raise
    finally:
        tuner.executor.close()
