"""Random search: every parameter drawn independently and uniformly in its encoding."""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperscout._validation import check_int
from hyperscout.history import History
from hyperscout.samplers.base import Sampler, enumerate_grid, grid_size, sample_active
from hyperscout.space import HyperParameters

__all__ = ["RandomSampler"]

# Finite spaces up to this size are listed to find what is left once redraws keep colliding.
_LISTABLE = 200_000


class RandomSampler(Sampler):
    """Draws configurations at random; a configuration a trial already ran is drawn again.

    A trial ran every configuration that agrees with the values it read (see
    :class:`~hyperscout.samplers.base.Coverage`); a finite space whose configurations are
    all covered gives None.

    Args:
        max_redraws: draws tried before listing what is left of a finite space.

    >>> import numpy as np
    >>> from hyperscout.objective import Objective
    >>> hp = HyperParameters(); _ = hp.Int("n", 1, 3)
    >>> rng = np.random.default_rng(0)
    >>> RandomSampler().sample(hp, History([], Objective("loss")), rng)
    {'n': 2}
    """

    def __init__(self, *, max_redraws: int = 50) -> None:
        check_int("RandomSampler", "max_redraws", max_redraws, minimum=1)
        self.max_redraws = max_redraws

    def sample(
        self, space: HyperParameters, history: History, rng: np.random.Generator
    ) -> dict[str, Any] | None:
        if not len(space):
            # Nothing known yet (a define-by-run study whose first trial still runs): the
            # trial draws each parameter as its code reaches it, so an empty proposal is new.
            return {}
        seen = history.coverage
        values: dict[str, Any] = {}
        for _ in range(self.max_redraws):
            values = sample_active(space, rng)
            if not seen.covers(values):
                return values
        # Collisions keep coming: the space is finite and mostly explored, or tiny.
        if any(p.cardinality is None for p in space.space):
            return values  # a continuous space: a repeat is vanishingly unlikely to matter
        if grid_size(space) > _LISTABLE:
            return values
        left = [v for v in enumerate_grid(space) if not seen.covers(v)]
        if not left:
            return None
        return left[int(rng.integers(len(left)))]
