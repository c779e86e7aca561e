"""TPE's view of a search space: the searched parameters as columns, and the trials as rows.

The parameters are read through :class:`~hyperscout.samplers.encoding.SpaceEncoding`, the
encoding the Gaussian process uses too: one classification of every parameter (constant,
continuous, discrete, categorical; which discrete ones are equal buckets of ``[0, 1]``), one
encoding of a trial's values (active, contained values only) and one decoding walk. What TPE
adds on top, and why it is its own:

- its matrix has a column per *searched* parameter only (constants are not searched), and an
  unordered categorical parameter is one column holding the category's position, where the
  GP's features are one-hot: TPE's kernel for it (Aitchison-Aitken) is over positions;
- a discrete column's value owns a *bucket* of ``[0, 1]`` and a kernel's mass over that
  bucket is its probability (:meth:`Dim.edges`). For a log-scaled int the buckets are those
  that ``decode`` rounds to each integer (edges at ``v +- 1/2`` on the log scale), so that a
  draw's density is that of the value it decodes to;
- conditions are checked on candidates by decoding the parents (:meth:`Layout.switch_off`),
  because TPE's draws are continuous inside a bucket rather than rounded units.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hyperscout.samplers.encoding import EncodedParameter, SpaceEncoding
from hyperscout.space import HyperParameters, Int, Parameter
from hyperscout.trial import Trial, TrialState

__all__ = ["BUCKETS", "CATEGORICAL", "CONTINUOUS", "LOG_INT", "Dim", "EncodedTrials", "Layout"]

Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]
Ints = NDArray[np.intp]

CONTINUOUS = 0  # a truncated Gaussian on [0, 1]
BUCKETS = 1  # n equal buckets of [0, 1] (ints, steps, ordered choices)
LOG_INT = 2  # an int on a log scale: integer v owns the part of [0, 1] that rounds to it
CATEGORICAL = 3  # unordered: an Aitchison-Aitken kernel over category indices


@dataclass(frozen=True)
class Dim:
    """One searched parameter, a column of the encoded matrix, and the kind of its kernel."""

    spec: EncodedParameter
    kind: int
    size: int  # buckets or categories; 0 for continuous parameters
    # For an int on a log scale: the log of its range edges, min - 1/2 and max + 1/2.
    log_lo: float = 0.0
    log_span: float = 1.0

    @classmethod
    def of(cls, spec: EncodedParameter) -> Dim | None:
        """The column of a parameter, or None for a constant (nothing to search)."""
        if spec.kind == "constant":
            return None
        if spec.kind == "continuous":
            return cls(spec, CONTINUOUS, 0)
        size = spec.n_values or 1
        if spec.kind == "categorical":
            return cls(spec, CATEGORICAL, size)
        if spec.bucketed:
            return cls(spec, BUCKETS, size)
        # A discrete parameter that is not in equal buckets: a log-scaled int without a step.
        param = spec.param
        assert isinstance(param, Int), param
        lo = math.log(param.min_value - 0.5)
        return cls(spec, LOG_INT, size, lo, math.log(param.max_value + 0.5) - lo)

    @property
    def param(self) -> Parameter:
        return self.spec.param

    def from_unit(self, unit: float) -> float:
        """The column's value of a unit: the unit, or a category's position."""
        if self.kind == CATEGORICAL:
            return float(min(int(unit * self.size), self.size - 1))
        return float(unit)

    def to_unit(self, x: float) -> float:
        """The unit of the column's value ``x`` (inverse of :meth:`from_unit`)."""
        return (x + 0.5) / self.size if self.kind == CATEGORICAL else x

    def encode(self, value: Any) -> float:
        return self.from_unit(self.param.encode(value))

    def decode(self, x: float) -> Any:
        return self.param.decode(self.to_unit(x))

    def edges(self, u: Floats) -> tuple[Floats, Floats]:
        """The bucket ``[a, b)`` of ``[0, 1]`` that each of ``u`` decodes to."""
        if self.kind == BUCKETS:
            k = np.clip(np.floor(u * self.size), 0, self.size - 1)
            return k / self.size, (k + 1) / self.size
        lo = math.exp(self.log_lo)
        hi = math.exp(self.log_lo + self.log_span)
        v = np.clip(np.round(np.exp(self.log_lo + u * self.log_span)), lo + 0.5, hi - 0.5)
        a = (np.log(v - 0.5) - self.log_lo) / self.log_span
        b = (np.log(v + 0.5) - self.log_lo) / self.log_span
        return np.clip(a, 0.0, 1.0), np.clip(b, 0.0, 1.0)


@dataclass(frozen=True)
class Layout:
    """How a space maps to the columns of the encoded matrix."""

    encoding: SpaceEncoding
    params: list[Parameter]
    dims: list[Dim]  # the searched parameters, in definition order
    column: dict[str, int]  # name -> column of a searched parameter
    parents: frozenset[str]  # names that some condition depends on
    numeric: Bools  # columns with a Gaussian kernel (the others are categorical)
    sizes: Floats  # buckets or categories of each column (0 for continuous ones)
    conditional: bool  # some parameter has a condition

    @property
    def n_numeric(self) -> int:
        return int(self.numeric.sum())

    @classmethod
    def of(cls, space: HyperParameters) -> Layout:
        encoding = SpaceEncoding(space)
        params = list(space.space)
        dims = [dim for spec in encoding.parameters if (dim := Dim.of(spec)) is not None]
        return cls(
            encoding=encoding,
            params=params,
            dims=dims,
            column={d.param.name: j for j, d in enumerate(dims)},
            parents=frozenset(c.parent for p in params for c in p.conditions),
            numeric=np.array([d.kind != CATEGORICAL for d in dims], dtype=bool),
            sizes=np.array([d.size for d in dims], dtype=float),
            conditional=any(p.conditions for p in params),
        )

    def encode(self, values: Mapping[str, Any]) -> Floats:
        """One trial as a row: encoded values, NaN where a parameter is absent or inactive.

        A value from an older definition of the space (one the parameter does not contain)
        is unknown here: NaN.
        """
        units = self.encoding.encode_one(values)
        row = np.full(len(self.dims), np.nan)
        for j, dim in enumerate(self.dims):
            unit = float(units[dim.spec.index])
            if not math.isnan(unit):
                row[j] = dim.from_unit(unit)
        return row

    def decode(self, row: Floats) -> dict[str, Any]:
        """The values of the active parameters of a candidate row (constants included)."""
        units = np.full(self.encoding.n_params, 0.5)  # a constant decodes from anywhere
        for j, dim in enumerate(self.dims):
            units[dim.spec.index] = dim.to_unit(float(row[j]))
        return self.encoding.decode(units)

    def switch_off(self, u: Floats, active: Bools) -> None:
        """Mark (and blank) the entries whose parameter's condition fails in the candidate."""
        for k in range(len(u)):
            values: dict[str, Any] = {}
            for param in self.params:
                j = self.column.get(param.name)
                if not param.is_active(values):
                    if j is not None:
                        active[k, j] = False
                        u[k, j] = np.nan
                elif param.name in self.parents:
                    values[param.name] = (
                        param.decode(0.5) if j is None else self.dims[j].decode(float(u[k, j]))
                    )


class EncodedTrials:
    """Finished trials encoded once (finished trials never change), found again cheaply.

    Row ``i`` holds ``trials[i]``. While the history starts with the very trial objects cached
    (``prefix`` of them, in order), those are matched by identity at C speed; other trials are
    looked up by number and compared.
    """

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.row_of: dict[int, int] = {}
        self.trials: list[Trial] = []
        self.matrix = np.empty((64, len(layout.dims)))
        self.value = np.empty(64)  # the objective's value; NaN unless complete with one
        self.pruned = np.empty(64, dtype=bool)
        self.number = np.empty(64, dtype=np.int64)
        self.prefix = 0

    def lookup(self, trials: list[Trial]) -> tuple[Ints, list[Trial]]:
        """Rows of the finished trials, and the running trials (encoded afresh each call)."""
        start = self.prefix
        if start and (
            len(trials) < start or not all(map(operator.is_, trials[:start], self.trials))
        ):
            start = 0  # another history (or copies of its trials): check trial by trial
        rows = list(range(start))
        running: list[Trial] = []
        prefix = start
        for position, trial in enumerate(trials[start:], start):
            if not trial.state.is_finished:
                running.append(trial)
                continue
            i = self.row_of.get(trial.number)
            if i is None or not _same_trial(self.trials[i], trial):
                i = self._add(trial)
            rows.append(i)
            if prefix == position == i and self.trials[i] is trial:
                prefix += 1
        self.prefix = prefix
        return np.array(rows, dtype=np.intp), running

    def _add(self, trial: Trial) -> int:
        i = len(self.trials)
        if i == len(self.matrix):
            self.matrix = np.concatenate([self.matrix, np.empty_like(self.matrix)])
            self.value = np.concatenate([self.value, np.empty_like(self.value)])
            self.pruned = np.concatenate([self.pruned, np.empty_like(self.pruned)])
            self.number = np.concatenate([self.number, np.empty_like(self.number)])
        self.matrix[i] = self.layout.encode(trial.values)
        complete = trial.state is TrialState.COMPLETE and trial.value is not None
        self.value[i] = float(trial.value) if complete else np.nan  # type: ignore[arg-type]
        self.pruned[i] = trial.state is TrialState.PRUNED
        self.number[i] = trial.number
        self.trials.append(trial)
        self.row_of[trial.number] = i
        return i


def _same_trial(a: Trial, b: Trial) -> bool:
    # Storage hands back the same objects or equal copies; another study's trial of the same
    # number differs in its values or value.
    return a is b or (a.state is b.state and a.value == b.value and a.values == b.values)
