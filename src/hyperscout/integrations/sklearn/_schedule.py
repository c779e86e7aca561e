"""scikit-learn's successive-halving schedule, and the scheduler that runs it.

scikit-learn fixes its schedule before the first fit: ``n`` candidates on ``min_resources``,
then the best ``ceil(n / factor)`` of each iteration on ``factor`` times more, for
``min(n_possible_iterations, n_required_iterations)`` iterations. :func:`_schedule`
computes it with scikit-learn's formulas, and :class:`_PlannedHalving` (a hyperscout
scheduler) runs it, one rung per iteration. ``SearchCV(strategy="halving")`` and the
``Halving*SearchCV`` drop-ins both use them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperscout.integrations.sklearn._space import _Space
from hyperscout.samplers.base import grid_size
from hyperscout.schedulers._rungs import Bracket, Rung
from hyperscout.schedulers.halving import _SynchronousHalving


@dataclass(frozen=True)
class _Schedule:
    """The candidates and resources of each iteration, and how the count was reached."""

    min_resources: Any  # min_resources_, as scikit-learn reports it (a float for float factors)
    max_resources: int
    factor: float
    n_candidates: list[int]
    n_resources: list[int]
    n_required_iterations: int
    n_possible_iterations: int

    @property
    def rungs(self) -> list[tuple[int, int]]:
        return list(zip(self.n_candidates, self.n_resources, strict=True))


def _schedule(
    n_candidates: int,
    min_resources: int,
    max_resources: int,
    factor: float,
    *,
    exhaust: bool = False,
    aggressive: bool = False,
) -> _Schedule:
    """scikit-learn's schedule for ``n_candidates`` first candidates.

    ``exhaust`` raises ``min_resources`` so that the last iteration uses as much of
    ``max_resources`` as it can (``min_resources="exhaust"``); ``aggressive`` runs as many
    iterations as needed to end with fewer than ``factor`` candidates, staying on the first
    budget while the budgets cannot grow (``aggressive_elimination=True``).

    >>> s = _schedule(35, 20, 700, 2)
    >>> s.n_candidates, s.n_resources
    ([35, 18, 9, 5, 3, 2], [20, 40, 80, 160, 320, 640])
    """
    n = n_candidates
    min_r: Any = min_resources
    required = 1 + math.floor(math.log(n, factor))
    if exhaust:
        min_r = max(min_r, max_resources // factor ** (required - 1))
    possible = 1 + math.floor(math.log(max_resources // min_r, factor))
    iterations = required if aggressive else min(possible, required)
    candidates, resources = [], []
    for itr in range(iterations):
        power = itr
        if aggressive:  # stay on the first budget while eliminating
            power = max(0, itr - required + possible)
        resources.append(min(int(factor**power * min_r), max_resources))
        candidates.append(n)
        n = math.ceil(n / factor)
    return _Schedule(min_r, int(max_resources), factor, candidates, resources, required, possible)


class _PlannedHalving(_SynchronousHalving):
    """Successive halving on a schedule given iteration by iteration (one rung each)."""

    def __init__(self, schedule: _Schedule) -> None:
        self.schedule = schedule
        rungs = tuple(Rung(n, budget) for n, budget in schedule.rungs)
        self._brackets = [Bracket(len(rungs) - 1, rungs)]
        self._iterations = 1

    def _stop_reason(self) -> str:
        return "successive halving has run its last iteration"

    def __repr__(self) -> str:
        return f"_PlannedHalving({self.schedule.rungs})"


def _n_configurations(space: _Space) -> float:
    """How many distinct configurations the space holds (infinity with a continuous range)."""
    if any(p.cardinality is None for p in space.hyperparameters.space):
        return math.inf
    return float(grid_size(space.hyperparameters))


def _halving_attributes(schedule: _Schedule, iterations: Any) -> dict[str, Any]:
    """scikit-learn's fitted attributes of a halving search (``iterations``: its ``iter``)."""
    rungs = np.asarray(iterations)
    counts = [int(np.sum(rungs == i)) for i in range(len(schedule.n_resources))]
    last = counts[-1]
    return {
        "n_resources_": list(schedule.n_resources),
        "n_candidates_": counts,
        "n_iterations_": len(schedule.n_resources),
        "n_required_iterations_": schedule.n_required_iterations,
        "n_possible_iterations_": schedule.n_possible_iterations,
        "n_remaining_candidates_": min(last, math.ceil(last / schedule.factor)),
        "min_resources_": schedule.min_resources,
        "max_resources_": schedule.max_resources,
    }
