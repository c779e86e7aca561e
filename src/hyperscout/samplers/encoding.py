"""Configurations as arrays: the numeric view of a search space that model-based samplers share.

A configuration has three forms here:

``values``
    what a trial holds: ``{name: value}`` for the active parameters only.

``units``
    a row of floats, one column per parameter of ``space.space`` (definition order), each value
    mapped to ``[0, 1]`` by the parameter's own ``encode`` (log scales, steps and buckets
    included), and ``NaN`` where the parameter is inactive (or absent from the trial). Every
    unit is *representable*: it is ``encode(v)`` of some value ``v``, so ``decode`` gives ``v``
    back exactly. :meth:`SpaceEncoding.round` snaps arbitrary numbers of ``[0, 1]`` to such
    units (the model sees the rounded point, never a value that cannot be proposed).

``features``
    the input of a model (for example a Gaussian process):

    * a numeric parameter (``Int``, ``Float``, ordered numeric ``Choice``) is one column, its
      unit;
    * an unordered categorical parameter (unordered ``Choice``, ``Boolean``) is one-hot, one
      column per category (a single 0/1 column when it has two), so that the position of a
      category in its list never acts as a distance;
    * a constant (``Fixed``, a one-value choice, ``Float(a, a)``) has no column;
    * an inactive parameter's columns hold a constant (0.5 for a numeric or two-category
      column, all zeros for one-hot), and each distinct set of conditions adds an *activity
      indicator* column (1 active, 0 inactive). Two configurations that both lack a parameter
      are therefore equal in its columns, and a configuration that has it differs from one
      that lacks it by the indicator: no made-up value of an inactive parameter is ever
      presented as if it were observed.

Candidate generation works on *latent* units: a full matrix (no ``NaN``) holding a value for
every parameter. :meth:`SpaceEncoding.mask_inactive` evaluates the conditions on it (vectorised,
with the same walk as :func:`hyperscout.samplers.base.sample_active`) and blanks the inactive
entries, which gives units.

>>> from hyperscout.space import HyperParameters
>>> hp = HyperParameters()
>>> _ = hp.Float("lr", 1e-4, 1e-1, sampling="log")
>>> _ = hp.Choice("act", ["relu", "tanh", "gelu"])
>>> enc = SpaceEncoding(hp)
>>> units = enc.encode([{"lr": 1e-2, "act": "gelu"}])
>>> units.round(4).tolist()
[[0.6667, 0.8333]]
>>> enc.features(units).round(4).tolist()
[[0.6667, 0.0, 0.0, 1.0]]
>>> values = enc.decode(units[0])
>>> round(values["lr"], 12), values["act"]
(0.01, 'gelu')
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from hyperscout.samplers._scipy import qmc
from hyperscout.space import Boolean, Choice, Condition, Fixed, HyperParameters, Parameter

__all__ = ["EncodedParameter", "SpaceEncoding"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Discrete numeric parameters with at most this many values have their units listed.
_LISTABLE = 4096
#: The feature value of an inactive numeric (or two-category) column.
INACTIVE_VALUE = 0.5
_TOL = 1e-9

Kind = Literal["continuous", "discrete", "categorical", "constant"]


@dataclass(frozen=True, eq=False)
class EncodedParameter:
    """How one parameter appears in units and features.

    Attributes:
        param: the parameter.
        index: its column in units.
        kind: ``"continuous"`` (a float without step), ``"discrete"`` (ordered, finitely many
            values: ints, stepped floats, ordered choices), ``"categorical"`` (unordered) or
            ``"constant"`` (one value).
        n_values: how many values it has, ``None`` when continuous.
        columns: its feature columns (an empty slice for a constant).
        units: the units of its values in increasing order, when there are at most a few
            thousand of them (``None`` otherwise, or when continuous).
        bucketed: value ``k`` of ``n`` has the unit ``(k + 0.5) / n`` (choices, booleans,
            ints and stepped floats; not log-scaled ints without a step).
    """

    param: Parameter
    index: int
    kind: Kind
    n_values: int | None
    columns: slice
    units: FloatArray | None
    bucketed: bool

    @property
    def name(self) -> str:
        """The parameter's name."""
        return self.param.name

    def round(self, u: FloatArray) -> FloatArray:
        """Snap numbers of ``[0, 1]`` to this parameter's units (``NaN`` stays ``NaN``)."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        if self.kind == "continuous":
            return u
        if self.kind == "constant":
            return np.where(np.isnan(u), np.nan, self.param.encode(self.param.default))
        n = self.n_values
        assert n is not None
        if self.bucketed:
            with np.errstate(invalid="ignore"):
                k = np.minimum(np.floor(u * n), n - 1)
            return (k + 0.5) / n
        if self.units is not None:
            mids = (self.units[1:] + self.units[:-1]) / 2.0
            rounded: FloatArray = self.units[np.searchsorted(mids, np.nan_to_num(u))]
            return np.where(np.isnan(u), np.nan, rounded)
        # A huge log-scaled int: the exact round trip, element by element (rare).
        out = np.full(u.shape, np.nan)
        flat_u, flat_out = u.reshape(-1), out.reshape(-1)
        for i, x in enumerate(flat_u):
            if not math.isnan(x):
                flat_out[i] = self.param.encode(self.param.decode(float(x)))
        return out

    def category(self, u: FloatArray) -> npt.NDArray[np.int64]:
        """The position of each value among the parameter's values (-1 for ``NaN``).

        Exact for choices, booleans and bucketed or listed numbers; a huge log-scaled int
        without a step gets its bucket instead.
        """
        n = self.n_values or 1
        if self.units is not None and not self.bucketed:
            idx = np.searchsorted((self.units[1:] + self.units[:-1]) / 2.0, np.nan_to_num(u))
        else:
            idx = np.minimum(np.floor(np.nan_to_num(u) * n), n - 1)
        return np.where(np.isnan(u), -1, idx).astype(np.int64)


def _encoded(param: Parameter, index: int, start: int) -> tuple[EncodedParameter, int]:
    n = param.cardinality
    categorical = param.is_categorical
    bucketed = isinstance(param, (Choice, Boolean, Fixed))
    units: FloatArray | None = None
    kind: Kind
    if n == 1 or (n is None and param.decode(0.0) == param.decode(1.0)):
        kind, width = "constant", 0
    elif n is None:
        kind, width = "continuous", 1
    else:
        kind = "categorical" if categorical else "discrete"
        width = 1 if kind == "discrete" or n == 2 else n
        if not bucketed:
            # Ints and stepped floats encode value k of n to the middle of bucket k (see
            # space.py); a log int without a step does not, and is listed (or rounded exactly).
            first, last = param.encode(param.decode(0.0)), param.encode(param.decode(1.0))
            bucketed = abs(first - 0.5 / n) < _TOL and abs(last - (1 - 0.5 / n)) < _TOL
        if n <= _LISTABLE:
            units = (
                (np.arange(n) + 0.5) / n
                if bucketed
                else np.unique([param.encode(v) for v in param.grid()])
            )
    spec = EncodedParameter(
        param=param,
        index=index,
        kind=kind,
        n_values=None if kind == "continuous" else (n or 1),
        columns=slice(start, start + width),
        units=units,
        bucketed=bucketed,
    )
    return spec, start + width


class SpaceEncoding:
    """Encodes configurations of a space to units and features, and decodes units back.

    Build one per space (it is cheap); it does not follow a space that grows afterwards.

    Args:
        space: the search space.
        indicate: names of unconditional parameters that also get an activity indicator,
            because some configurations lack them (trials that ran before the parameter was
            added to a space that grows as the objective runs).
    """

    def __init__(self, space: HyperParameters, *, indicate: Collection[str] = ()) -> None:
        self.space = space
        self.parameters: list[EncodedParameter] = []
        self._position: dict[str, int] = {}
        start = 0
        for i, param in enumerate(space.space):
            spec, start = _encoded(param, i, start)
            self.parameters.append(spec)
            self._position[param.name] = i
        # One activity indicator per distinct set of conditions of a non-constant parameter.
        groups: dict[tuple[Condition, ...] | str, int] = {}
        self._indicator_of: dict[int, int] = {}
        for spec in self.parameters:
            group: tuple[Condition, ...] | str = spec.param.conditions
            if not group and spec.name in indicate:
                group = spec.name
            if group and spec.kind != "constant":
                if group not in groups:
                    groups[group] = start
                    start += 1
                self._indicator_of[spec.index] = groups[group]
        self.n_features = start
        # Conditions as (child, parent index, parent units) for the vectorised activity check.
        self._conditions: list[list[tuple[int, FloatArray]]] = []
        for spec in self.parameters:
            checks = []
            for condition in spec.param.conditions:
                parent = self.parameters[self._position[condition.parent]]
                targets = np.array([parent.param.encode(v) for v in condition.values])
                checks.append((parent.index, targets))
            self._conditions.append(checks)

    @property
    def n_params(self) -> int:
        """Number of parameters (columns of units)."""
        return len(self.parameters)

    @property
    def names(self) -> list[str]:
        """The parameter names, in unit-column order."""
        return [spec.name for spec in self.parameters]

    def parameter(self, name: str) -> EncodedParameter | None:
        """The encoded parameter named ``name``, or None when the space has none."""
        position = self._position.get(name)
        return None if position is None else self.parameters[position]

    # -- values -> units -----------------------------------------------------------------
    def encode_one(self, values: Mapping[str, Any]) -> FloatArray:
        """The units of one configuration.

        A parameter is kept only when it is present, active given the parameters kept before it
        (the walk of :func:`~hyperscout.samplers.base.sample_active`) and one of its values;
        otherwise its unit is ``NaN``. Names outside the space are ignored.
        """
        row = np.full(self.n_params, np.nan)
        kept: dict[str, Any] = {}
        for spec in self.parameters:
            param = spec.param
            if param.name not in values or not param.is_active(kept):
                continue
            value = values[param.name]
            if not param.contains(value):
                continue  # the space changed under the trial: treat the value as missing
            kept[param.name] = value
            row[spec.index] = param.encode(value)
        return row

    def encode(self, configs: Iterable[Mapping[str, Any]]) -> FloatArray:
        """The units of several configurations, one row each (see :meth:`encode_one`)."""
        rows = [self.encode_one(values) for values in configs]
        if not rows:
            return np.empty((0, self.n_params))
        return np.vstack(rows)

    # -- latent units, rounding and conditions --------------------------------------------
    def round(self, units: FloatArray) -> FloatArray:
        """Snap every column to representable units (clipped to ``[0, 1]``; ``NaN`` kept)."""
        units = np.asarray(units, dtype=float)
        out = np.empty_like(units)
        for spec in self.parameters:
            out[..., spec.index] = spec.round(units[..., spec.index])
        return out

    def active(self, latent: FloatArray) -> BoolArray:
        """Which parameters are active in each row, from the conditions (parents first).

        A ``NaN`` parent makes its children inactive.
        """
        latent = np.atleast_2d(latent)
        active = np.ones(latent.shape, dtype=bool)
        for j, checks in enumerate(self._conditions):
            for parent, targets in checks:
                column = latent[:, parent]
                with np.errstate(invalid="ignore"):
                    hit = (np.abs(column[:, None] - targets[None, :]) < _TOL).any(axis=1)
                active[:, j] &= active[:, parent] & hit
        return active

    def mask_inactive(self, latent: FloatArray) -> FloatArray:
        """Units from latent units: entries of inactive parameters set to ``NaN``."""
        latent = np.atleast_2d(latent)
        return np.where(self.active(latent), latent, np.nan)

    def random(self, n: int, rng: np.random.Generator) -> FloatArray:
        """``n`` latent rows drawn uniformly (then rounded)."""
        return self.round(rng.random((n, self.n_params)))

    def sobol(self, n: int, rng: np.random.Generator | int) -> FloatArray:
        """The first ``n`` points of a scrambled Sobol sequence as latent rows (rounded).

        Args:
            n: how many points.
            rng: the seed of the scrambling (a Generator or an int).
        """
        m = max(math.ceil(math.log2(max(n, 1))), 0)
        engine = qmc().Sobol(max(self.n_params, 1), scramble=True, rng=rng)
        points = engine.random_base2(m)[:n, : self.n_params]
        return self.round(points)

    # -- units -> features / values -------------------------------------------------------
    def features(self, units: FloatArray) -> FloatArray:
        """The model's input matrix for rows of units (``NaN`` meaning inactive)."""
        units = np.atleast_2d(units)
        n = units.shape[0]
        out = np.zeros((n, self.n_features))
        for spec in self.parameters:
            if spec.kind == "constant":
                continue
            u = units[:, spec.index]
            present = ~np.isnan(u)
            cols = spec.columns
            if spec.kind == "categorical" and cols.stop - cols.start > 1:
                idx = spec.category(u)
                rows = np.nonzero(present)[0]
                out[rows, cols.start + idx[rows]] = 1.0
            elif spec.kind == "categorical":
                out[:, cols.start] = np.where(present, spec.category(u), INACTIVE_VALUE)
            else:
                out[:, cols.start] = np.where(present, u, INACTIVE_VALUE)
            indicator = self._indicator_of.get(spec.index)
            if indicator is not None:
                out[:, indicator] = np.maximum(out[:, indicator], present)
        return out

    def decode(self, units: Sequence[float] | FloatArray) -> dict[str, Any]:
        """The values of one row of units: each active parameter decoded, in space order.

        Parameters whose unit is ``NaN`` or whose conditions fail are left out, as
        :func:`~hyperscout.samplers.base.sample_active` does.
        """
        values: dict[str, Any] = {}
        for spec in self.parameters:
            u = float(units[spec.index])
            if math.isnan(u) or not spec.param.is_active(values):
                continue
            value = spec.param.decode(u)
            values[spec.name] = value.item() if isinstance(value, np.generic) else value
        return values
