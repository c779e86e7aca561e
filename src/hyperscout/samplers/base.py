"""The sampler interface, and the history samplers read.

A :class:`Sampler` proposes the values of the next trial from the space and the history of
trials. It keeps no state that the history does not imply (caches aside), so a search that
resumes from storage proposes what it would have proposed.
"""

from __future__ import annotations

import abc
import itertools
from collections.abc import Iterator, Mapping, Sequence, Set
from typing import Any, overload

import numpy as np

from hyperscout.objective import Objective
from hyperscout.space import DEFAULT_GRID_POINTS, HyperParameters, Parameter
from hyperscout.trial import Trial, TrialState, config_key

__all__ = ["History", "Sampler", "enumerate_grid", "grid_size", "sample_active"]


class History(Sequence[Trial]):
    """The trials of a study, read-only, with the objective that ranks them.

    >>> from hyperscout.trial import Trial, TrialState
    >>> h = History([Trial(0, {"x": 1}, TrialState.COMPLETE, value=0.9)], Objective("acc", "max"))
    >>> h.losses()
    [-0.9]
    """

    def __init__(
        self,
        trials: Sequence[Trial],
        objective: Objective,
        *,
        keys: Set[str] | None = None,
    ) -> None:
        self._trials = trials
        self.objective = objective
        self._keys = keys

    @overload
    def __getitem__(self, index: int) -> Trial: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Trial]: ...
    def __getitem__(self, index: int | slice) -> Trial | Sequence[Trial]:
        return self._trials[index]

    def __len__(self) -> int:
        return len(self._trials)

    @property
    def keys(self) -> Set[str]:
        """The configuration keys of every trial (any state): what not to propose again.

        The tuner passes them in, kept up to date as trials arrive, so that a sampler's
        duplicate check costs nothing per trial.
        """
        if self._keys is None:
            self._keys = frozenset(t.key for t in self._trials)
        return self._keys

    def in_state(self, *states: TrialState) -> list[Trial]:
        """The trials in any of ``states``."""
        return [t for t in self._trials if t.state in states]

    @property
    def completed(self) -> list[Trial]:
        """The COMPLETE trials that have a value."""
        return [t for t in self._trials if t.state is TrialState.COMPLETE and t.value is not None]

    def loss(self, trial: Trial) -> float:
        """The trial's value as a loss (lower is better); +inf when it has none."""
        return float("inf") if trial.value is None else self.objective.loss(trial.value)

    def losses(self) -> list[float]:
        """Losses of the completed trials, in trial order."""
        return [self.loss(t) for t in self.completed]


class Sampler(abc.ABC):
    """Proposes configurations. The tuner's scheduler calls :meth:`sample` for each new trial.

    Subclasses draw all randomness from ``rng``, which the tuner seeds from the tuner's seed
    and the number of trials so far: the same seed and history give the same proposal.
    """

    @abc.abstractmethod
    def sample(
        self, space: HyperParameters, history: History, rng: np.random.Generator
    ) -> dict[str, Any] | None:
        """Values for the active parameters of ``space``, or None when the space is exhausted."""

    def sample_new(
        self, param: Parameter, values: Mapping[str, Any], rng: np.random.Generator
    ) -> Any:
        """The value of a parameter that a running trial defines for the first time.

        The default draws it at random.
        """
        return param.sample(rng)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def sample_active(space: HyperParameters, rng: np.random.Generator) -> dict[str, Any]:
    """A random value for each parameter that is active given the values drawn before it."""
    values: dict[str, Any] = {}
    for param in space.space:
        if param.is_active(values):
            values[param.name] = param.sample(rng)
    return values


def enumerate_grid(
    space: HyperParameters, n_points: int = DEFAULT_GRID_POINTS
) -> Iterator[dict[str, Any]]:
    """Every reachable combination of the space once, the first parameter varying slowest.

    A parameter switched off by its condition is left out, so a conditional space yields
    each reachable combination exactly once.

    >>> hp = HyperParameters()
    >>> _ = hp.Boolean("dropout")
    >>> with hp.conditional_scope("dropout", [True]):
    ...     _ = hp.Choice("rate", [0.1, 0.2])
    >>> list(enumerate_grid(hp))
    [{'dropout': False}, {'dropout': True, 'rate': 0.1}, {'dropout': True, 'rate': 0.2}]
    """
    params = space.space
    grids = [p.grid(n_points) for p in params]

    def walk(i: int, values: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if i == len(params):
            yield dict(values)
            return
        param = params[i]
        if not param.is_active(values):
            yield from walk(i + 1, values)
            return
        for value in grids[i]:
            values[param.name] = value
            yield from walk(i + 1, values)
        del values[param.name]

    return walk(0, {})


def grid_size(space: HyperParameters, n_points: int = DEFAULT_GRID_POINTS) -> int:
    """How many combinations :func:`enumerate_grid` yields (counted without listing them)."""
    params = space.space
    if not params:
        return 1
    # Unconditional spaces multiply; conditional ones are counted by walking parents.
    if all(not p.conditions for p in params):
        total = 1
        for p in params:
            total *= p.cardinality if p.cardinality is not None else len(p.grid(n_points))
        return total
    return sum(1 for _ in itertools.islice(enumerate_grid(space, n_points), 10_000_000))


def key_of(values: Mapping[str, Any]) -> str:
    """Shorthand for :func:`hyperscout.trial.config_key`."""
    return config_key(values)
