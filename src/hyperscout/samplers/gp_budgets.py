"""Multi-fidelity for :meth:`~hyperscout.samplers.gp.GPSampler.sample_across_budgets`.

Trials run on different budgets enter one GP with their budget's level in ``[0, 1]`` as one
more feature (:class:`AtFullBudget` puts configurations at level 1, the full budget, where
proposals are made), and with their losses shifted to the full budget's scale
(:func:`level_shifts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from hyperscout._validation import fail
from hyperscout.samplers.encoding import SpaceEncoding
from hyperscout.trial import Trial

__all__ = ["AtFullBudget", "check_levels", "level_shifts"]

FloatArray = npt.NDArray[np.float64]


def check_levels(levels: Mapping[int, float]) -> None:
    """Refuse a budget level outside ``[0, 1]`` (NaN included)."""
    for number, level in levels.items():
        if not 0.0 <= level <= 1.0:
            fail(
                "GPSampler.sample_across_budgets",
                "levels",
                level,
                f"a level between 0 and 1 for trial {number}",
            )


def level_shifts(
    trials: Sequence[Trial], losses: FloatArray, levels: Mapping[int, float]
) -> FloatArray:
    """What to add to each loss to bring its budget level to the highest level's scale.

    Losses fall as training goes on, by much more than they differ between configurations;
    the GP's zero mean would have to explain that trend through the level's length scale.
    The shift between two consecutive levels is the median change of the configurations
    seen at both (a promotion is the same configuration trained further), so it measures
    the learning curve and not the selection of the better configurations; 0 where none is
    shared.
    """
    by_level: dict[float, dict[str, float]] = {}
    for trial, loss in zip(trials, losses, strict=True):
        by_level.setdefault(levels[trial.number], {})[trial.key] = float(loss)
    ordered = sorted(by_level)
    shift = {ordered[-1]: 0.0} if ordered else {}
    total = 0.0
    for low, high in zip(ordered[-2::-1], ordered[:0:-1], strict=True):
        shared = by_level[low].keys() & by_level[high].keys()
        if shared:
            total += float(np.median([by_level[high][k] - by_level[low][k] for k in shared]))
        shift[low] = total
    return np.array([shift[levels[t.number]] for t in trials], dtype=float)


class AtFullBudget:
    """The model's features of configurations at the full budget: the encoding's, then a
    budget level of 1 (the last column, so the encoding's columns keep their indices)."""

    def __init__(self, encoding: SpaceEncoding) -> None:
        self.encoding = encoding
        self.n_features = encoding.n_features + 1

    def features(self, units: FloatArray) -> FloatArray:
        out = self.encoding.features(units)
        return np.hstack([out, np.ones((out.shape[0], 1))])
