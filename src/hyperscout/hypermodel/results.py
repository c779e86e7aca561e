"""Reading what an objective returns: a float or a dict of metrics, checked and averaged.

The tuner turns each run's result into metrics with :func:`metrics_of`, and averages the runs
of a trial (``executions_per_trial``) with :func:`average`. A result that is not a metric
raises :class:`BadResultError`, whose message says what arrived and what was expected; the
tuner records it as the trial's error. An objective's value too large for a float (an int
such as ``10**400``) is such an error. Another metric that is not a finite number (NaN, a
string) is stored as null, with a :class:`~hyperscout.HyperscoutWarning` (shown once per
metric name).

>>> from hyperscout.objective import Objective
>>> metrics_of({"val_loss": 0.5, "loss": 0.25}, Objective("val_loss", "min"))
{'val_loss': 0.5, 'loss': 0.25}
>>> average([{"val_loss": 0.5}, {"val_loss": 0.25}])
{'val_loss': 0.375}
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from hyperscout._validation import near_miss
from hyperscout.exceptions import HyperscoutWarning, UsageError
from hyperscout.objective import DEFAULT_METRIC, Objective
from hyperscout.trial import _as_float

__all__ = ["BadResultError", "average", "check_result", "metrics_of"]


class BadResultError(Exception):
    """The objective returned something that is not a metric."""


def metrics_of(result: Any, objective: Objective) -> dict[str, Any]:
    """The metrics in what the objective returned, or BadResultError saying what is wrong."""
    if isinstance(result, Mapping):
        result = objective.with_value(result)  # a sum of metrics (objective=[...]) added
        metrics: dict[str, Any] = {}
        for name, value in result.items():
            number = _as_float(value)
            metrics[str(name)] = number
            if number is None and str(name) != objective.name:
                _warn_null_metric(str(name))
        if objective.name not in metrics:
            raise BadResultError(
                f"The objective returned the metrics {sorted(metrics)!r} without "
                f"{objective.name!r}, the metric this search optimises. Return it, or "
                "pass objective= one of those names."
            )
        if metrics[objective.name] is None:
            raise BadResultError(
                f"The objective returned {objective.name}="
                f"{_shown(result[objective.name])}{_too_large(result[objective.name])}; "
                "expected a finite number."
            )
        return metrics
    if result is None:
        raise BadResultError(
            "The objective returned None; expected a float or a dict of metrics "
            f"(with {objective.name!r})."
        )
    number = _as_float(result)
    if number is None:
        if isinstance(result, (int, float, np.number)) and not isinstance(result, bool):
            raise BadResultError(
                f"The objective returned {_shown(result)}{_too_large(result)}; expected a "
                "finite number."
            )
        raise BadResultError(
            f"The objective returned a {type(result).__name__} ({result!r:.80}); expected "
            "a float or a dict of metrics."
        )
    return {objective.name: number}


def _shown(value: Any) -> str:
    """A value for a message: an int too long to read is shortened to its size."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return f"an int of {len(str(abs(value)))} digits"
    return repr(value)


def _too_large(value: Any) -> str:
    """The reason a number is not a float, when it is its size."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            float(value)
        except OverflowError:
            return ", too large for a float (at most about 1.8e308)"
    return ""


def _warn_null_metric(name: str) -> None:
    # The message names only the metric, so that Python shows it once, not once per trial.
    warnings.warn(
        f"The objective returned metric {name!r} that is not a finite number (NaN, infinity, "
        "a string ...); it is stored as null. Return numbers, or leave the metric out.",
        HyperscoutWarning,
        stacklevel=3,
    )


def average(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The mean of each metric over executions (a metric missing in a run is left out)."""
    if len(runs) == 1:
        return runs[0]
    merged: dict[str, Any] = {}
    for name in runs[0]:
        values = [run.get(name) for run in runs]
        numbers = [v for v in values if isinstance(v, float) and math.isfinite(v)]
        merged[name] = sum(numbers) / len(numbers) if numbers else None
    return merged


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
