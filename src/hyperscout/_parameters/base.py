"""The base of the parameter types: :class:`Parameter`, its :class:`Condition`, discrete values.

A parameter validates its definition, encodes its values to ``[0, 1]`` and decodes them back,
samples, and lists its grid values; the concrete types are in :mod:`.numeric` (``Int``,
``Float``) and :mod:`.choices` (``Choice``, ``Boolean``, ``Fixed``).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hyperscout import _validation
from hyperscout.exceptions import InvalidArgumentError, InvalidSpaceError

__all__ = ["DEFAULT_GRID_POINTS", "Condition", "Parameter"]

#: Number of points a Float without a step gets in a grid, unless the GridSampler says otherwise.
DEFAULT_GRID_POINTS = 5


def _tidy(x: float) -> float:
    """Round away float noise (0.30000000000000004 -> 0.3) so grid values print and compare well."""
    return float(f"{x:.12g}")


@dataclass(frozen=True)
class Condition:
    """A parameter exists only while ``parent`` takes one of ``values``."""

    parent: str
    values: tuple[Any, ...]

    def holds(self, values: Mapping[str, Any]) -> bool:
        """True when the parent is active and takes one of the condition's values."""
        return self.parent in values and values[self.parent] in self.values

    def to_dict(self) -> dict[str, Any]:
        return {"parent": self.parent, "values": list(self.values)}


class Parameter(abc.ABC):
    """One hyperparameter: its range, how it maps to ``[0, 1]``, and its conditions."""

    kind: ClassVar[str]
    _registry: ClassVar[dict[str, type[Parameter]]] = {}

    def __init__(self, name: str, *, conditions: Sequence[Condition] = ()) -> None:
        if not isinstance(name, str) or not name:
            owner = f"hp.{type(self).__name__}"
            raise InvalidSpaceError(_validation.message(owner, "name", name, "a non-empty str"))
        self.name = name
        self.conditions: tuple[Condition, ...] = tuple(conditions)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:  # concrete types register; shared bases do not
            Parameter._registry[cls.kind] = cls

    # -- what subclasses provide ---------------------------------------------------------
    @property
    @abc.abstractmethod
    def default(self) -> Any:
        """The value used when nothing else decides (first trial of a grid, ``hp.get``)."""

    @abc.abstractmethod
    def contains(self, value: Any) -> bool:
        """True when ``value`` is one of this parameter's values."""

    @abc.abstractmethod
    def encode(self, value: Any) -> float:
        """Map a value into ``[0, 1]``."""

    @abc.abstractmethod
    def decode(self, unit: float) -> Any:
        """Map a number of ``[0, 1]`` back to a value (rounded to the step or the choice)."""

    @abc.abstractmethod
    def grid(self, n_points: int = DEFAULT_GRID_POINTS) -> list[Any]:
        """The values a grid search visits, in order."""

    @abc.abstractmethod
    def _config(self) -> dict[str, Any]:
        """The fields that define the parameter (without name, kind and conditions)."""

    @property
    def cardinality(self) -> int | None:
        """How many values the parameter has, or None when it is continuous."""
        return None

    @property
    def is_categorical(self) -> bool:
        """True when the values have no order (unordered choices, booleans)."""
        return False

    # -- shared behaviour ----------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Any:
        """A random value, uniform in the encoded space."""
        return self.decode(float(rng.random()))

    def is_active(self, values: Mapping[str, Any]) -> bool:
        """True when every condition holds for ``values``."""
        if not self.conditions:  # most parameters: skip building a generator
            return True
        return all(condition.holds(values) for condition in self.conditions)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description; :meth:`from_dict` rebuilds the parameter from it."""
        data: dict[str, Any] = {"type": self.kind, "name": self.name, **self._config()}
        if self.conditions:
            data["conditions"] = [c.to_dict() for c in self.conditions]
        return data

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Parameter:
        """Rebuild a parameter written by :meth:`to_dict`."""
        fields = dict(data)
        try:
            cls = Parameter._registry[fields.pop("type")]
        except KeyError as exc:
            raise InvalidSpaceError(
                f"Unknown hyperparameter type {exc.args[0]!r} in {dict(data)!r}; expected one "
                f"of {sorted(Parameter._registry)}."
            ) from None
        conditions = tuple(
            Condition(c["parent"], tuple(c["values"])) for c in fields.pop("conditions", [])
        )
        name = fields.pop("name")
        return cls(name, **fields, conditions=conditions)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Parameter) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.kind, self.name))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config().items())
        return f"{type(self).__name__}({self.name!r}, {args})"

    def _label(self) -> str:
        return f"hp.{type(self).__name__}({self.name!r})"

    def _fail(self, message: str) -> InvalidSpaceError:
        return InvalidSpaceError(f"{self._label()}: {message}")


class _Discrete(Parameter):
    """A parameter with a finite list of values, encoded by buckets."""

    @property
    @abc.abstractmethod
    def _values(self) -> list[Any]: ...

    @property
    def cardinality(self) -> int:
        return len(self._values)

    def index(self, value: Any) -> int:
        """The position of ``value`` among the values."""
        for i, candidate in enumerate(self._values):
            if _same(candidate, value):
                return i
        raise InvalidArgumentError(
            f"{self._label()}: {value!r} is not one of its values {self._values!r}."
        )

    def contains(self, value: Any) -> bool:
        return any(_same(candidate, value) for candidate in self._values)

    def encode(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self._values)

    def decode(self, unit: float) -> Any:
        n = len(self._values)
        return self._values[min(max(int(unit * n), 0), n - 1)]

    def grid(self, n_points: int = DEFAULT_GRID_POINTS) -> list[Any]:
        return list(self._values)


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps True apart from 1 and tolerates float noise."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int) and isinstance(b, int):
        return a == b  # exact: 10**12 and 10**12 + 1 are two values, not float noise
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def _choice_type(value: Any) -> type | None:
    if isinstance(value, (bool, np.bool_)):
        return bool
    if isinstance(value, (int, np.integer)):
        return int
    if isinstance(value, (float, np.floating)):
        return float if math.isfinite(float(value)) else None
    if isinstance(value, str):
        return str
    return None
