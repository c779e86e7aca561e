"""First in, first out: every trial gets the full budget and runs to the end."""

from __future__ import annotations

import numpy as np

from hyperscout.history import History
from hyperscout.samplers.base import Sampler
from hyperscout.schedulers.base import Scheduler, Stop, Suggestion, Wait
from hyperscout.space import HyperParameters

__all__ = ["FIFOScheduler"]


class FIFOScheduler(Scheduler):
    """Runs the sampler's proposals one after the other at full budget; never stops a trial.

    >>> import numpy as np
    >>> from hyperscout.objective import Objective
    >>> from hyperscout.samplers import GridSampler, History
    >>> from hyperscout.space import HyperParameters
    >>> hp = HyperParameters(); _ = hp.Boolean("b")
    >>> FIFOScheduler().next(hp, History([], Objective("loss")), GridSampler(),
    ...                      np.random.default_rng(0))
    Suggestion(values={'b': False}, budget=None, attrs={}, claim=None)
    """

    def next(
        self,
        space: HyperParameters,
        history: History,
        sampler: Sampler,
        rng: np.random.Generator,
    ) -> Suggestion | Wait | Stop:
        values = sampler.sample(space, history, rng)
        if values is None:
            return Stop("every configuration of the search space has been tried")
        return Suggestion(values)

    def has_end(self, sampler: Sampler) -> bool:
        return sampler.finite
