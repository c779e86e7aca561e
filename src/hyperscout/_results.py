"""Reading what an objective returns: a float or a dict of metrics, checked and averaged.

The tuner turns each run's result into metrics with :func:`metrics_of`, and averages the runs
of a trial (``executions_per_trial``) with :func:`average`. A result that is not a metric
raises :class:`BadResultError`, whose message says what arrived and what was expected; the
tuner records it as the trial's error.

>>> from hyperscout.objective import Objective
>>> metrics_of({"val_loss": 0.5, "loss": 0.25}, Objective("val_loss", "min"))
{'val_loss': 0.5, 'loss': 0.25}
>>> average([{"val_loss": 0.5}, {"val_loss": 0.25}])
{'val_loss': 0.375}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from hyperscout.objective import Objective
from hyperscout.trial import _as_float

__all__ = ["BadResultError", "average", "metrics_of"]


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
        if objective.name not in metrics:
            raise BadResultError(
                f"The objective returned the metrics {sorted(metrics)!r} without "
                f"{objective.name!r}, the metric this search optimises. Return it, or "
                "pass objective= one of those names."
            )
        if metrics[objective.name] is None:
            raise BadResultError(
                f"The objective returned {objective.name}="
                f"{result[objective.name]!r}; expected a finite number."
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
            raise BadResultError(f"The objective returned {result!r}; expected a finite number.")
        raise BadResultError(
            f"The objective returned a {type(result).__name__} ({result!r:.80}); expected "
            "a float or a dict of metrics."
        )
    return {objective.name: number}


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
