"""Grid search: every combination of the space once, in a fixed order."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from hyperscout._validation import check_int
from hyperscout.history import History
from hyperscout.samplers.base import Sampler, enumerate_grid
from hyperscout.space import DEFAULT_GRID_POINTS, HyperParameters, Parameter
from hyperscout.trial import config_key

__all__ = ["GridSampler"]


class GridSampler(Sampler):
    """Exhaustive search over the grid of the space.

    Choices, booleans, integers and stepped floats contribute all their values; a float
    without a step contributes ``float_points`` evenly spaced values of its scale (linear,
    log or reverse log), ends included. Combinations come in a deterministic order (the first
    parameter varies slowest), skipping those a trial already ran, so a resumed grid goes
    on where it stopped. A trial runs only the parameters its code reads: with
    ``for i in range(hp.Int("n_layers", 1, 3)): hp.Choice(f"units_{i}", [32, 64])`` the trial
    ``{n_layers: 1, units_0: 32}`` covers every combination that only differs in ``units_1``
    and ``units_2``, so the grid runs each of the 14 networks once (see
    :class:`~hyperscout.samplers.base.Coverage`). When every combination has been covered,
    :meth:`sample` returns None and the search stops.

    A parameter first met while a trial runs takes its first grid value; the grid then
    covers it from the next trial on.

    Args:
        float_points: values of a float without a step (default 5).

    >>> import numpy as np
    >>> from hyperscout.objective import Objective
    >>> hp = HyperParameters(); _ = hp.Float("x", 0.0, 1.0)
    >>> sampler = GridSampler(float_points=3)
    >>> sampler.sample(hp, History([], Objective("loss")), np.random.default_rng(0))
    {'x': 0.0}
    """

    def __init__(self, *, float_points: int = DEFAULT_GRID_POINTS) -> None:
        check_int("GridSampler", "float_points", float_points, minimum=2)
        self.float_points = float_points
        # A cursor into the enumeration of one space for one study. What the study ran only
        # grows, so a combination skipped once stays covered and the cursor never goes
        # back; another coverage (another study, or a History built by hand) starts over.
        self._signature: str | None = None
        self._cursor: Iterator[dict[str, Any]] | None = None
        self._pending: dict[str, Any] | None = None
        self._keys_seen: object = None

    def sample(
        self, space: HyperParameters, history: History, rng: np.random.Generator
    ) -> dict[str, Any] | None:
        signature = config_key(space.to_dict())
        seen = history.coverage
        if self._cursor is None or signature != self._signature or seen is not self._keys_seen:
            self._signature = signature
            self._cursor = enumerate_grid(space, self.float_points)
            self._pending = None
        self._keys_seen = seen
        while True:
            if self._pending is None:
                self._pending = next(self._cursor, None)
                if self._pending is None:
                    return None
            if not seen.covers(self._pending):
                return dict(self._pending)
            self._pending = None

    def sample_new(
        self, param: Parameter, values: Mapping[str, Any], rng: np.random.Generator
    ) -> Any:
        return param.grid(self.float_points)[0]

    finite = True

    def settings(self) -> dict[str, Any]:
        return {"float_points": self.float_points}

    def __repr__(self) -> str:
        return f"GridSampler(float_points={self.float_points})"
