"""The parameter types of listed values: ``Choice``, ``Boolean`` and ``Fixed``.

Each has a finite list of values, encoded by buckets: value ``i`` of ``n`` maps to the middle
of the ``i``-th of ``n`` equal parts of ``[0, 1]``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from hyperscout._parameters.base import Condition, _choice_type, _Discrete, _same

__all__ = ["Boolean", "Choice", "Fixed"]


class Choice(_Discrete):
    """One value of a list of ints, floats, strs or bools (all of one type).

    ``ordered`` defaults to True for numbers and False otherwise; unordered choices are
    categories, and samplers never treat their position in the list as a distance.

    >>> Choice("activation", ["relu", "tanh"]).grid()
    ['relu', 'tanh']
    """

    kind = "choice"

    def __init__(
        self,
        name: str,
        values: Sequence[Any],
        ordered: bool | None = None,
        default: Any = None,
        *,
        conditions: Sequence[Condition] = (),
    ) -> None:
        super().__init__(name, conditions=conditions)
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise self._fail(f"values must be a non-empty list, got values={values!r}.")
        types = {_choice_type(v) for v in values}
        if None in types:
            bad = next(v for v in values if _choice_type(v) is None)
            raise self._fail(f"values must be ints, floats, strs or bools, got {bad!r}.")
        if len(types) > 1:
            names = sorted(t.__name__ for t in types if t is not None)
            raise self._fail(
                f"values must all have one type (int, float, str or bool), got a mix of "
                f"{', '.join(names)}: {list(values)!r}."
            )
        kind = cast(type, types.pop())
        # Distinct as contains() and index() see them: floats closer than noise are one value.
        ordered_values = sorted(values) if kind in (int, float) else []
        if len({repr(v) for v in values}) != len(values) or any(
            _same(a, b) for a, b in itertools.pairwise(ordered_values)
        ):
            raise self._fail(f"values must be distinct, got {list(values)!r}.")
        numeric = kind in (int, float)
        if ordered is None:
            ordered = numeric
        elif ordered and not numeric:
            raise self._fail(f"ordered=True needs numeric values, got {list(values)!r}.")
        self.values = [kind(v) for v in values]
        self.ordered = bool(ordered)
        if default is not None and not self.contains(default):
            raise self._fail(f"default must be one of {self.values!r}, got default={default!r}.")
        self._default = None if default is None else self.values[self.index(default)]

    @property
    def _values(self) -> list[Any]:
        return self.values

    @property
    def default(self) -> Any:
        return self.values[0] if self._default is None else self._default

    @property
    def is_categorical(self) -> bool:
        return not self.ordered

    def _config(self) -> dict[str, Any]:
        return {"values": list(self.values), "ordered": self.ordered, "default": self._default}


class Boolean(_Discrete):
    """True or False.

    >>> Boolean("dropout").grid()
    [False, True]
    """

    kind = "boolean"

    def __init__(
        self, name: str, default: bool = False, *, conditions: Sequence[Condition] = ()
    ) -> None:
        super().__init__(name, conditions=conditions)
        if not isinstance(default, (bool, np.bool_)):
            raise self._fail(f"default must be True or False, got default={default!r}.")
        self._default = bool(default)

    @property
    def _values(self) -> list[Any]:
        return [False, True]

    @property
    def default(self) -> bool:
        return self._default

    @property
    def is_categorical(self) -> bool:
        return True

    def _config(self) -> dict[str, Any]:
        return {"default": self._default}


class Fixed(_Discrete):
    """A constant, recorded with the trial's values but never searched.

    >>> Fixed("epochs", 10).grid()
    [10]
    """

    kind = "fixed"

    def __init__(self, name: str, value: Any, *, conditions: Sequence[Condition] = ()) -> None:
        super().__init__(name, conditions=conditions)
        if _choice_type(value) is None:
            raise self._fail(f"value must be an int, float, str or bool, got value={value!r}.")
        self.value = value

    @property
    def _values(self) -> list[Any]:
        return [self.value]

    @property
    def default(self) -> Any:
        return self.value

    def _config(self) -> dict[str, Any]:
        return {"value": self.value}
