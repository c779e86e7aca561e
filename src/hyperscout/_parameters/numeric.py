"""The numeric parameter types: ``Int`` and ``Float``, on a linear, log or reverse-log scale.

A numeric parameter checks its range, step, sampling and default when it is defined, and maps
its values to ``[0, 1]`` and back: a stepped one (or a linear ``Int``) by buckets, one value a
bucket, computed rather than listed so that ``Int("seed", 0, 10**9)`` costs nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, cast

import numpy as np

from hyperscout._parameters.base import DEFAULT_GRID_POINTS, Condition, Parameter, _same, _tidy
from hyperscout.exceptions import InvalidArgumentError

__all__ = ["Float", "Int"]

_SAMPLINGS = ("linear", "log", "reverse_log")


def _check_number(param: Parameter, field: str, value: Any, *, integer: bool) -> None:
    expected = "an int" if integer else "a number"
    ok_types: tuple[type, ...] = (int, np.integer) if integer else (int, float, np.number)
    if isinstance(value, bool) or not isinstance(value, ok_types):
        raise param._fail(f"{field} must be {expected}, got {value!r}.")
    if not integer and not math.isfinite(float(cast(float, value))):
        raise param._fail(f"{field} must be finite, got {value!r}.")


class _Numeric(Parameter):
    """Shared checks and mapping of Int and Float."""

    integer: ClassVar[bool]

    def __init__(
        self,
        name: str,
        min_value: float,
        max_value: float,
        step: float | None = None,
        sampling: str = "linear",
        default: float | None = None,
        *,
        conditions: Sequence[Condition] = (),
    ) -> None:
        super().__init__(name, conditions=conditions)
        _check_number(self, "min_value", min_value, integer=self.integer)
        _check_number(self, "max_value", max_value, integer=self.integer)
        cast: Callable[[Any], Any] = int if self.integer else float
        self.min_value = cast(min_value)
        self.max_value = cast(max_value)
        if self.min_value > self.max_value:
            raise self._fail(
                f"min_value must be <= max_value, got min_value={min_value!r} > "
                f"max_value={max_value!r}."
            )
        allowed = ("linear", "log") if self.integer else _SAMPLINGS
        if sampling not in allowed:
            raise self._fail(f"sampling must be one of {allowed}, got sampling={sampling!r}.")
        self.sampling = sampling
        if sampling != "linear" and self.min_value <= 0:
            raise self._fail(
                f'sampling="{sampling}" needs min_value > 0, got min_value={min_value!r}.'
            )
        self.step = self._check_step(step)
        if default is not None:
            _check_number(self, "default", default, integer=self.integer)
            if not self.contains(default):
                where = f"between {self.min_value!r} and {self.max_value!r}"
                if self.step is not None:
                    where += f" on the step {self.step!r}"
                raise self._fail(f"default must be a value {where}, got default={default!r}.")
            default = cast(default)
        self._default = default

    def _check_step(self, step: float | None) -> Any:
        if step is None:
            return None
        _check_number(self, "step", step, integer=self.integer)
        if self.sampling == "reverse_log":
            raise self._fail('step cannot be combined with sampling="reverse_log".')
        if self.sampling == "log":
            if step <= 1:
                raise self._fail(
                    f'with sampling="log" the step is a factor (min_value, min_value*step, ...) '
                    f"and must be > 1, got step={step!r}."
                )
            if self.max_value > self.min_value and self.min_value * step > self.max_value * (
                1 + 1e-12
            ):
                raise self._fail(
                    f"step={step!r} is larger than the range: min_value*step = "
                    f"{self.min_value * step!r} > max_value={self.max_value!r}."
                )
        else:
            if step <= 0:
                raise self._fail(f"step must be > 0, got step={step!r}.")
            span = self.max_value - self.min_value
            if not math.isfinite(span):
                raise self._fail(
                    f"a step needs a range whose width is a finite float, got min_value="
                    f"{self.min_value!r} and max_value={self.max_value!r} (width {span!r})."
                )
            # The subtraction loses digits of large bounds: 100000.3 - 100000.1 < 0.2.
            noise = 1e-12 * max(abs(self.min_value), abs(self.max_value))
            if span > 0 and step > span * (1 + 1e-12) + noise:
                raise self._fail(
                    f"step={step!r} is larger than the range max_value - min_value = {span!r}."
                )
        return int(step) if self.integer else float(step)

    # A stepped (or linear integer) parameter has `count` values, value k at `_value_at(k)`.
    # They are computed, not listed, so that Int("seed", 0, 10**9) costs nothing.
    @property
    def _effective_step(self) -> Any:
        if self.step is None and self.integer and self.sampling == "linear":
            return 1
        return self.step

    @property
    def _count(self) -> int | None:
        step = self._effective_step
        if step is None:
            return None
        lo, hi = self.min_value, self.max_value
        if self.sampling == "log":
            return math.floor(math.log(hi / lo) / math.log(step) + 1e-9) + 1
        return math.floor(float(hi - lo) / float(step) + 1e-9) + 1

    def _value_at(self, k: int) -> Any:
        step = self._effective_step
        x = self.min_value * step**k if self.sampling == "log" else self.min_value + k * step
        return round(x) if self.integer else _tidy(x)

    def _index_of(self, x: float) -> int:
        step = self._effective_step
        if self.sampling == "log":
            k = round(math.log(x / self.min_value) / math.log(step))
        else:
            k = round((x - self.min_value) / step)
        count = self._count or 1
        return int(min(max(k, 0), count - 1))

    @property
    def default(self) -> Any:
        if self._default is not None:
            return self._default
        return self.min_value

    @property
    def cardinality(self) -> int | None:
        count = self._count
        if count is not None:
            return count
        if self.integer:  # log-sampled int without a step
            return int(self.max_value - self.min_value + 1)
        return None

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            return False
        x = float(value)
        if not math.isfinite(x) or (self.integer and x != int(x)):
            return False
        tol = 1e-9 * max(1.0, abs(self.max_value), abs(self.min_value))
        if not self.min_value - tol <= x <= self.max_value + tol:
            return False
        if self._count is None:
            return True
        return _same(self._value_at(self._index_of(x)), x)

    def _check_value(self, value: Any) -> float:
        if not self.contains(value):
            raise InvalidArgumentError(
                f"{self._label()}: {value!r} is not one of its values (from {self.min_value!r} "
                f"to {self.max_value!r}"
                + (f", step {self.step!r})." if self.step is not None else ").")
            )
        return float(value)

    def encode(self, value: Any) -> float:
        x = self._check_value(value)
        count = self._count
        if count is not None:
            return (self._index_of(x) + 0.5) / count
        lo, hi = float(self.min_value), float(self.max_value)
        x = min(max(x, lo), hi)  # contains() lets float noise past the bounds
        if self.integer:  # log int: a continuous log scale over [min - 1/2, max + 1/2]
            lo, hi = lo - 0.5, hi + 0.5
        # One value, or bounds so close that their logs are equal (no scale to divide by).
        if hi == lo or (self.sampling != "linear" and math.log(hi) == math.log(lo)):
            return 0.5
        if self.sampling == "linear":
            unit = _linear_unit(x, lo, hi)
        elif self.sampling == "log":
            unit = (math.log(x) - math.log(lo)) / (math.log(hi) - math.log(lo))
        else:  # reverse_log: dense near max_value.
            unit = 1.0 - (math.log(hi + lo - x) - math.log(lo)) / (math.log(hi) - math.log(lo))
        return min(max(unit, 0.0), 1.0)  # rounding in the logs can step just outside

    def decode(self, unit: float) -> Any:
        u = min(max(float(unit), 0.0), 1.0)
        count = self._count
        if count is not None:
            return self._value_at(min(int(u * count), count - 1))
        lo, hi = float(self.min_value), float(self.max_value)
        if self.integer:
            lo, hi = lo - 0.5, hi + 0.5
            x = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
            return int(min(max(round(x), self.min_value), self.max_value))
        if hi == lo:
            return lo
        if self.sampling == "linear":
            x = _linear_value(u, lo, hi)
        elif self.sampling == "log":
            x = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        else:
            x = hi + lo - math.exp(math.log(lo) + (1.0 - u) * (math.log(hi) - math.log(lo)))
        return min(max(x, lo), hi)

    def grid(self, n_points: int = DEFAULT_GRID_POINTS) -> list[Any]:
        count = self._count
        if count is not None:
            return [self._value_at(k) for k in range(count)]
        if self.integer:  # log int without a step: every integer in the range
            return list(range(int(self.min_value), int(self.max_value) + 1))
        if self.min_value == self.max_value:
            return [self.min_value]
        units = np.linspace(0.0, 1.0, max(int(n_points), 2))
        return list(dict.fromkeys(_tidy(self.decode(float(u))) for u in units))

    def _config(self) -> dict[str, Any]:
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "step": self.step,
            "sampling": self.sampling,
            "default": self._default,
        }


def _linear_unit(x: float, lo: float, hi: float) -> float:
    """Where ``x`` lies in ``[lo, hi]``, from 0 to 1."""
    if math.isinf(hi - lo):  # a range wider than the largest float: halve everything
        return (x / 2 - lo / 2) / (hi / 2 - lo / 2)
    return (x - lo) / (hi - lo)


def _linear_value(u: float, lo: float, hi: float) -> float:
    """The value at ``u`` (0 to 1) of ``[lo, hi]``, the inverse of :func:`_linear_unit`.

    ``Float("x", -1.7e308, 1.7e308)``, whose width overflows to infinity, spreads its values
    over the range too:

    >>> f"{_linear_value(0.25, -1.7e308, 1.7e308):.2e}"
    '-8.50e+307'
    """
    if math.isinf(hi - lo):
        return lo * (1.0 - u) + hi * u
    return lo + u * (hi - lo)


class Int(_Numeric):
    """An integer in ``[min_value, max_value]``; ``step`` (a factor under log sampling).

    >>> p = Int("units", 16, 64, step=16)
    >>> p.grid(), p.decode(0.99), p.encode(32)
    ([16, 32, 48, 64], 64, 0.375)
    """

    kind = "int"
    integer = True


class Float(_Numeric):
    """A float in ``[min_value, max_value]``, sampled on a linear, log or reverse-log scale.

    >>> p = Float("lr", 1e-4, 1e-2, sampling="log")
    >>> round(p.decode(0.5), 6), round(p.encode(1e-3), 6)
    (0.001, 0.5)
    """

    kind = "float"
    integer = False
