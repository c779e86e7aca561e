"""The sampler interface, and the history samplers read.

A :class:`Sampler` proposes the values of the next trial from the space and the history of
trials. It keeps no state that the history does not imply (caches aside), so a search that
resumes from storage proposes what it would have proposed.
"""

from __future__ import annotations

import abc
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from hyperscout.history import Coverage, History
from hyperscout.space import DEFAULT_GRID_POINTS, Condition, HyperParameters, Parameter
from hyperscout.trial import Trial, TrialState, config_key

__all__ = [
    "Coverage",
    "History",
    "Sampler",
    "enumerate_grid",
    "grid_size",
    "infer_conditions",
    "plain",
    "sample_active",
]


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

    #: True when :meth:`sample` returns None after finitely many proposals on any space (a
    #: grid): a search that runs its proposals then has an end without ``max_trials``.
    finite: bool = False

    def settings(self) -> dict[str, Any]:
        """The settings that decide what this sampler proposes, as JSON.

        The tuner keeps them with the study (its provenance) and refuses to resume the study
        with other settings. The default: none.
        """
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


#: A parameter with at most this many values may be found to switch others on and off.
_MAX_PARENT_VALUES = 64


def infer_conditions(space: HyperParameters, trials: Iterable[Trial]) -> HyperParameters:
    """The space with the conditions that the trials' reads reveal.

    A trial records only the parameters its code read, so a parameter that some trials lack
    is switched on and off by the code: ``units_2`` is read only when ``n_layers`` is 3,
    ``svc_c`` only when ``classifier`` is ``"SVC"``. For each such parameter, the first
    parameter defined before it, with finitely many values, whose values tell exactly when
    it was read (read for some values, never read for the others, and always present when
    it is read) becomes its parent: the parameter gets the condition "parent takes a value
    other than those seen without it". Values of the parent no trial has tried yet keep it
    on. A parameter no parent explains (it joined the space after the first trials, say)
    is left as it is. Only COMPLETE and PRUNED trials are read (a running trial holds its
    whole proposal, a failed one its whole configuration).

    Model-based samplers build their encoding on this space, so that their model never
    sees a made-up value of a parameter a trial did not read, and their proposals hold
    only the parameters that will be read.

    >>> from hyperscout.trial import Trial, TrialState
    >>> hp = HyperParameters()
    >>> _ = hp.Int("n_layers", 1, 2); _ = hp.Choice("units_0", [8, 16])
    >>> _ = hp.Choice("units_1", [8, 16])
    >>> done = [Trial(0, {"n_layers": 1, "units_0": 8}, TrialState.COMPLETE, value=1.0),
    ...         Trial(1, {"n_layers": 2, "units_0": 8, "units_1": 16}, TrialState.PRUNED)]
    >>> infer_conditions(hp, done).parameter("units_1").conditions
    (Condition(parent='n_layers', values=(2,)),)
    """
    params = space.space
    done = [t.values for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    if all(len(values) >= len(params) for values in done):
        return space  # every trial read every parameter (the usual case): nothing to infer
    lacking = [p for p in params if any(p.name not in v and p.is_active(v) for v in done)]
    if not lacking:
        return space
    position = {p.name: i for i, p in enumerate(params)}
    changed: dict[str, Parameter] = {}
    for param in lacking:
        eligible = [v for v in done if param.is_active(v)]
        for parent in params[: position[param.name]]:
            condition = _explaining(param.name, parent, eligible)
            if condition is not None:
                data = param.to_dict()
                data["conditions"] = [c.to_dict() for c in (*param.conditions, condition)]
                changed[param.name] = Parameter.from_dict(data)
                break
    if not changed:
        return space
    return HyperParameters.from_dict(
        {"parameters": [changed.get(p.name, p).to_dict() for p in params]}
    )


def _explaining(
    name: str, parent: Parameter, trials: Sequence[Mapping[str, Any]]
) -> Condition | None:
    """The condition on ``parent`` under which exactly the ``trials`` that hold ``name`` ran.

    None when ``parent`` cannot tell (continuous or with many values, absent from a trial
    that read ``name``, or one of its values seen both with and without ``name``).
    """
    size = parent.cardinality
    if size is None or size > _MAX_PARENT_VALUES or size < 2:
        return None
    on: list[Any] = []
    off: list[Any] = []
    for values in trials:
        if parent.name not in values:
            if name in values:
                return None
            continue
        (on if name in values else off).append(values[parent.name])
    if not on or not off or any(v in off for v in on):
        return None
    kept = tuple(v for v in parent.grid() if v not in off)
    return Condition(parent.name, kept) if kept else None


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


def plain(value: Any) -> Any:
    """A NumPy scalar as the Python object it holds; anything else as it is.

    The model-based samplers take NumPy numbers and flags for their settings
    (``TPESampler(n_startup_trials=np.int64(5))``), and the checks of ``_validation`` take
    Python ones.

    >>> plain(np.int64(5)), plain(np.bool_(True)), plain("a")
    (5, True, 'a')
    """
    return value.item() if isinstance(value, np.generic) else value
