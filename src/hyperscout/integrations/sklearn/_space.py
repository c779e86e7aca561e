"""The search space of SearchCV: parameters declared without a name, and the compiled space.

A space maps estimator parameters to lists of values, ranges (:func:`Int`, :func:`Float` ...),
``scipy.stats`` distributions or hyperscout parameters; or it is a function of ``hp``.
:func:`_compile_space` checks it and turns it into a hyperscout space plus a builder of the
estimator parameters of one trial.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from hyperscout import space as hs_space
from hyperscout.exceptions import InvalidArgumentError, InvalidSpaceError
from hyperscout.space import HyperParameters, Parameter

#: The parameter that picks one grid of a list of grids (no estimator parameter has a "#").
GRID = "#grid"
#: The range of the quantile of a distribution drawn through its ppf.
_QUANTILES = (1e-6, 1.0 - 1e-6)


# -- parameters declared without a name ------------------------------------------------------
class ParameterSpec:
    """A hyperparameter declared without its name; the key of ``space`` names it.

    Made by :func:`Int`, :func:`Float`, :func:`Choice`, :func:`Boolean` and :func:`Fixed`.

    >>> spec = Float(1e-3, 1e2, sampling="log")
    >>> spec
    Float(0.001, 100.0, sampling='log')
    >>> spec.bind("C")
    Float('C', min_value=0.001, max_value=100.0, step=None, sampling='log', default=None)
    """

    def __init__(
        self, kind: type[Parameter], args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> None:
        self.kind = kind
        self.args = args
        self.kwargs = dict(kwargs)
        try:  # check the definition now, where the mistake was made
            self.bind("_")
        except InvalidSpaceError as exc:
            raise InvalidSpaceError(
                str(exc).replace(f"hp.{kind.__name__}('_')", repr(self))
            ) from None

    def bind(self, name: str) -> Parameter:
        """The hyperscout parameter named ``name``."""
        return self.kind(name, *self.args, **self.kwargs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParameterSpec) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))

    def __repr__(self) -> str:
        parts = [repr(a) for a in self.args]
        parts += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.kind.__name__}({', '.join(parts)})"


def _spec(kind: type[Parameter], args: tuple[Any, ...], **kwargs: Any) -> ParameterSpec:
    """A spec with the keyword arguments that differ from their defaults (for a short repr)."""
    defaults = {"step": None, "sampling": "linear", "default": None, "ordered": None}
    given = {k: v for k, v in kwargs.items() if not (k in defaults and v == defaults[k])}
    if kind is hs_space.Boolean and given.get("default") is False:
        given.pop("default")
    return ParameterSpec(kind, args, given)


def Int(
    min_value: int,
    max_value: int,
    step: int | None = None,
    sampling: str = "linear",
    default: int | None = None,
) -> ParameterSpec:
    """An integer range, as ``hp.Int`` without the name.

    >>> Int(1, 64, sampling="log")
    Int(1, 64, sampling='log')
    """
    return _spec(
        hs_space.Int, (min_value, max_value), step=step, sampling=sampling, default=default
    )


def Float(
    min_value: float,
    max_value: float,
    step: float | None = None,
    sampling: str = "linear",
    default: float | None = None,
) -> ParameterSpec:
    """A float range (``sampling`` linear, log or reverse_log), as ``hp.Float`` without the name.

    >>> Float(0.0, 1.0, step=0.25).bind("alpha").grid()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    return _spec(
        hs_space.Float, (min_value, max_value), step=step, sampling=sampling, default=default
    )


def Choice(
    values: Sequence[Any], ordered: bool | None = None, default: Any = None
) -> ParameterSpec:
    """One of a list of ints, floats, strs or bools, as ``hp.Choice`` without the name.

    A plain list in ``space`` is a choice too, and takes any objects; ``Choice`` adds
    ``ordered`` and ``default``.

    >>> Choice(["l1", "l2"], default="l2")
    Choice(['l1', 'l2'], default='l2')
    """
    return _spec(hs_space.Choice, (list(values),), ordered=ordered, default=default)


def Boolean(default: bool = False) -> ParameterSpec:
    """True or False, as ``hp.Boolean`` without the name.

    >>> Boolean()
    Boolean()
    """
    return _spec(hs_space.Boolean, (), default=default)


def Fixed(value: Any) -> ParameterSpec:
    """A constant recorded with each trial, as ``hp.Fixed`` without the name.

    >>> Fixed("saga")
    Fixed('saga')
    """
    return _spec(hs_space.Fixed, (value,))


# -- the search space ------------------------------------------------------------------------
@dataclass(frozen=True)
class _Entry:
    """One key of a mapping space: its hyperscout parameter and, for a list, the listed objects.

    ``quantile`` (a scipy distribution without a bounded equivalent): the parameter is a
    quantile in (0, 1) and the estimator receives the distribution's value there.
    """

    key: str
    parameter: Parameter
    objects: tuple[Any, ...] | None = None
    quantile: Any = None

    def value(self, hp_value: Any) -> Any:
        if self.quantile is not None:
            value = self.quantile.ppf(hp_value)
            return int(value) if _is_discrete(self.quantile) else float(value)
        if self.objects is None:
            return hp_value
        choice = cast(hs_space.Choice, self.parameter)
        return self.objects[choice.index(hp_value)]

    def within(self, grid: int, name: str) -> _Entry:
        """This entry as the parameter ``name`` of grid number ``grid`` of a list of grids."""
        data = {**self.parameter.to_dict(), "name": name}
        data["conditions"] = [{"parent": GRID, "values": [grid]}]
        return _Entry(self.key, Parameter.from_dict(data), self.objects, self.quantile)


@dataclass
class _Space:
    """A compiled space: the hyperscout space declared ahead, and the parameters of one trial."""

    hyperparameters: HyperParameters
    build: Callable[[HyperParameters], dict[str, Any]]
    names: tuple[str, ...]  # the estimator parameters known ahead (for resource checks)
    complete: bool = True  # False: a function of hp, whose parameters show up as it runs


def _choice_values(values: list[Any]) -> list[Any] | None:
    """The values as a hyperscout Choice takes them (one plain type), or None."""
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return [bool(v) for v in values]
    numbers = [
        v
        for v in values
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    ]
    if len(numbers) == len(values) and all(math.isfinite(float(v)) for v in values):
        if all(isinstance(v, (int, np.integer)) for v in values):
            return [int(v) for v in values]
        return [float(v) for v in values]
    if all(isinstance(v, str) for v in values):
        return [str(v) for v in values]
    return None


def _list_entry(key: str, values: list[Any]) -> _Entry:
    if not values:
        raise InvalidSpaceError(f"space[{key!r}]: the list of values is empty; give at least one.")
    plain = _choice_values(values)
    if plain is not None:
        return _Entry(key, hs_space.Choice(key, plain), tuple(values))
    # Objects hyperscout cannot store (None, estimators, tuples, a mix of types): the study
    # records their position in the list, as an unordered choice.
    return _Entry(key, hs_space.Choice(key, list(range(len(values))), ordered=False), tuple(values))


def _is_discrete(dist: Any) -> bool:
    from scipy import stats

    return isinstance(getattr(dist, "dist", None), stats.rv_discrete)


def _distribution_entry(key: str, dist: Any) -> _Entry:
    name = getattr(getattr(dist, "dist", None), "name", None)
    if hasattr(dist, "support"):
        low, high = dist.support()
        if name == "uniform":
            return _Entry(key, hs_space.Float(key, float(low), float(high)))
        if name in ("loguniform", "reciprocal"):
            return _Entry(key, hs_space.Float(key, float(low), float(high), sampling="log"))
        if name == "randint":
            return _Entry(key, hs_space.Int(key, int(low), int(high)))
    if callable(getattr(dist, "ppf", None)):
        # Any other distribution (expon, norm, poisson ...): a draw is ppf(uniform quantile),
        # so random quantiles give the distribution itself. The extreme quantiles are left
        # out, where unbounded distributions are infinite.
        low_q, high_q = _QUANTILES
        return _Entry(key, hs_space.Float(f"quantile({key})", low_q, high_q), quantile=dist)
    raise InvalidSpaceError(
        f"space[{key!r}]: the distribution {dist!r} has rvs but no ppf, so hyperscout cannot "
        "draw from it with its own seeded strategies; expected a scipy.stats distribution "
        "(uniform, loguniform, randint, expon, norm ...) or a range such as Float(0.0, 1.0)."
    )


def _entry(key: Any, value: Any) -> _Entry:
    if not isinstance(key, str) or not key:
        raise InvalidArgumentError(
            f"space: expected estimator parameter names (non-empty str) as keys, got {key!r}."
        )
    if isinstance(value, ParameterSpec):
        return _Entry(key, value.bind(key))
    if isinstance(value, Parameter):
        if value.name != key:
            raise InvalidSpaceError(
                f"space[{key!r}]: the parameter is named {value.name!r}; name it {key!r}, or "
                f"declare it without a name (Float(...), Int(...) ...) so that the key names it."
            )
        if value.conditions:
            raise InvalidSpaceError(
                f"space[{key!r}]: a parameter with conditions needs a space function of hp "
                "(with hp.conditional_scope); a dict space is flat."
            )
        return _Entry(key, value)
    if isinstance(value, (list, tuple)):
        return _list_entry(key, list(value))
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return _list_entry(key, list(value))
    if hasattr(value, "rvs"):
        return _distribution_entry(key, value)
    raise InvalidSpaceError(
        f"space[{key!r}]: expected a list of values, a range such as Float(1e-3, 1e2, "
        "sampling='log') or Int(1, 10), a hyperscout parameter, or a scipy.stats uniform, "
        f"loguniform or randint distribution; got {value!r}. A constant goes in a list "
        f"([{value!r}]) or Fixed({value!r})."
    )


def _entries(grid: Mapping[Any, Any]) -> list[_Entry]:
    # Sorted keys, as scikit-learn's ParameterGrid: a grid runs in GridSearchCV's order.
    return [_entry(key, grid[key]) for key in sorted(grid, key=str)]


def _is_list_of_grids(space: Any) -> bool:
    return isinstance(space, (list, tuple)) and all(isinstance(g, Mapping) for g in space)


def _compile_grids(grids: list[Mapping[Any, Any]]) -> _Space:
    """A list of grids (``param_grid=[{...}, {...}]``): a conditional space.

    The parameter ``#grid`` picks a grid, and each grid's parameters exist only under it:
    the grid strategy runs the grids one after the other, each in ParameterGrid's order, and
    random draws pick a grid uniformly first, as ``ParameterSampler`` does. A key in several
    grids is a parameter of each (``C#0``, ``C#1``), since its values may differ.
    """
    if not grids:
        raise InvalidArgumentError("space: the list of grids is empty; give at least one dict.")
    if len(grids) == 1:
        return _compile_space(grids[0])
    per_grid = [_entries(grid) for grid in grids]
    shared = {e.key for entries in per_grid for e in entries}
    counts = {key: sum(key in grid for grid in grids) for key in shared}
    selector = hs_space.Choice(GRID, list(range(len(grids))), ordered=False)
    chosen = [
        [
            e.within(i, e.parameter.name if counts[e.key] == 1 else f"{e.parameter.name}#{i}")
            for e in entries
        ]
        for i, entries in enumerate(per_grid)
    ]
    parameters = [selector.to_dict()] + [e.parameter.to_dict() for es in chosen for e in es]
    hp = HyperParameters.from_dict({"parameters": parameters})

    def build(hp: HyperParameters) -> dict[str, Any]:
        return {e.key: e.value(hp.get(e.parameter.name)) for e in chosen[int(hp.get(GRID))]}

    return _Space(hp, build, tuple(sorted(shared)))


def _compile_space(space: Any) -> _Space:
    """Check ``space`` and turn it into a hyperscout space plus a builder of trial parameters."""
    if isinstance(space, Mapping):
        entries = _entries(space)
        hp = HyperParameters.from_dict({"parameters": [e.parameter.to_dict() for e in entries]})

        def build(hp: HyperParameters) -> dict[str, Any]:
            return {e.key: e.value(hp.get(e.parameter.name)) for e in entries}

        return _Space(hp, build, tuple(e.key for e in entries))
    if _is_list_of_grids(space):
        return _compile_grids(list(space))
    if callable(space):
        function = cast(Callable[[HyperParameters], Any], space)

        def build(hp: HyperParameters) -> dict[str, Any]:
            params = function(hp)
            if not isinstance(params, Mapping) or not all(isinstance(k, str) and k for k in params):
                raise InvalidArgumentError(
                    f"space: the function {getattr(function, '__name__', function)!r} must "
                    f"return a dict of estimator parameters (name -> value), got {params!r}."
                )
            return dict(params)

        # One call with every parameter at its default registers the parameters it meets.
        declared = HyperParameters()
        names = tuple(build(declared))
        return _Space(declared, build, names, complete=False)
    raise InvalidArgumentError(
        "space: expected a dict of estimator parameter names to values (a list, Float(...), "
        f"Int(...) ...), a list of such dicts, or a function of hp that returns the "
        f"parameters, got {space!r}."
    )
