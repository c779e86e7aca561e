"""What :class:`~hyperscout.samplers.gp.GPSampler` keeps about one search space.

The encoding of the space (:class:`~hyperscout.samplers.encoding.SpaceEncoding`), the units of
the trials (a trial's values never change), which parameters the acquisition's gradient
ascent moves and which its local search tries value by value, the whole grid of a small
finite space with which of its configurations no trial has run, and the configurations
proposed before the model is used: the study's scrambled Sobol sequence, then random unseen
ones.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from hyperscout.samplers.base import Coverage, History, enumerate_grid, grid_size, sample_active
from hyperscout.samplers.encoding import SpaceEncoding
from hyperscout.space import HyperParameters
from hyperscout.trial import Trial

__all__ = ["ALL_VALUES_UP_TO", "CachedSpace"]

FloatArray = npt.NDArray[np.float64]

# Discrete parameters with at most this many values try all of them in the local search.
ALL_VALUES_UP_TO = 64
# Finite spaces up to this many configurations are listed to find an unseen one.
_LISTABLE = 200_000
# Random draws for an unseen configuration before the space is listed.
_MAX_REDRAWS = 50


class CachedSpace:
    """What the sampler caches about one search space."""

    def __init__(self, space: HyperParameters, n_enumerable: int) -> None:
        self.encoding = SpaceEncoding(space)
        specs = self.encoding.parameters
        self.finite = all(s.kind != "continuous" for s in specs)
        self.size: int | None = None
        self.grid_units: FloatArray | None = None
        self.grid_values: list[dict[str, Any]] = []
        if self.finite:
            self.size = _finite_size(space)
            if self.size <= n_enumerable:
                self.grid_values = list(enumerate_grid(space))
                self.grid_units = self.encoding.encode(self.grid_values)
        parents = {c.parent for s in specs for c in s.param.conditions}
        # Relaxed in L-BFGS-B: continuous parameters and discrete ones with many values,
        # unless a condition depends on them (their value would switch other parameters).
        self.relaxed = [
            s
            for s in specs
            if s.name not in parents
            and (
                s.kind == "continuous"
                or (s.kind == "discrete" and (s.n_values or 0) > ALL_VALUES_UP_TO)
            )
        ]
        self.searched = [s for s in specs if s.kind in ("discrete", "categorical")]
        # Units of trials by number, with the values they were computed from (a trial's
        # values never change; the check guards against a sampler shared by two studies).
        self._units: dict[int, tuple[Mapping[str, Any], FloatArray]] = {}
        self._variants: dict[frozenset[str], SpaceEncoding] = {}
        # Which grid configurations a study's trials already ran, brought up to date from
        # the coverage's list of additions (it only grows).
        self._covered: npt.NDArray[np.bool_] | None = None
        self._covered_by: tuple[Coverage, int] | None = None

    def uncovered(self, coverage: Coverage) -> list[int]:
        """Indices of the grid configurations no trial has run yet (see :class:`Coverage`)."""
        if self._covered is None or self._covered_by is None or coverage is not self._covered_by[0]:
            self._covered = np.zeros(len(self.grid_values), dtype=bool)
            self._covered_by = (coverage, 0)
        covered, start = self._covered, self._covered_by[1]
        for values in coverage.added[start:]:
            covered |= self._matches(values)
        self._covered_by = (coverage, len(coverage.added))
        now = covered.copy()
        for values in coverage.running:
            now |= self._matches(values)
        return [int(i) for i in np.nonzero(~now)[0]]

    def _matches(self, values: Mapping[str, Any]) -> npt.NDArray[np.bool_]:
        """Which grid configurations hold every value of ``values``."""
        assert self.grid_units is not None
        match = np.ones(len(self.grid_values), dtype=bool)
        for name, value in values.items():
            spec = self.encoding.parameter(name)
            if spec is None or not spec.param.contains(value):
                match[:] = False  # a parameter (or value) no grid configuration has
                break
            with np.errstate(invalid="ignore"):
                match &= np.abs(self.grid_units[:, spec.index] - spec.param.encode(value)) < 1e-9
        return match

    def feature_encoding(self, units: FloatArray) -> SpaceEncoding:
        """The encoding for the model's features, given the units of the trials.

        An unconditional parameter that some trials lack (they ran before it joined a space
        that grows) gets an activity indicator too, rather than a made-up value.
        """
        missing = frozenset(
            s.name
            for s in self.encoding.parameters
            if not s.param.conditions and s.kind != "constant" and np.isnan(units[:, s.index]).any()
        )
        if not missing:
            return self.encoding
        if missing not in self._variants:
            self._variants[missing] = SpaceEncoding(self.encoding.space, indicate=missing)
        return self._variants[missing]

    def units_of(self, trials: Sequence[Trial]) -> FloatArray:
        rows = []
        for trial in trials:
            entry = self._units.get(trial.number)
            if entry is None or (entry[0] is not trial.values and entry[0] != trial.values):
                entry = (trial.values, self.encoding.encode_one(trial.values))
                self._units[trial.number] = entry
            rows.append(entry[1])
        if not rows:
            return np.empty((0, self.encoding.n_params))
        return np.vstack(rows)

    def initial(self, history: History, rng: np.random.Generator) -> dict[str, Any] | None:
        """The next unseen point of the study's scrambled Sobol sequence."""
        enc, seen = self.encoding, history.coverage
        if len(history) == 0:
            points = enc.sobol(1, rng)
            start = 0
        else:
            first = min(history, key=lambda t: t.number)
            seed = zlib.crc32(first.key.encode())
            start = len(history)
            points = enc.sobol(start + 64, seed)
        for row in points[start:]:
            values = enc.decode(enc.mask_inactive(row)[0])
            if not seen.covers(values):
                return values
        return self.random_unseen(history, rng)

    def random_unseen(self, history: History, rng: np.random.Generator) -> dict[str, Any] | None:
        """A random configuration not in the history; None when a finite space is exhausted."""
        seen = history.coverage
        space = self.encoding.space
        if self.grid_units is not None:
            unseen = self.uncovered(seen)
            if not unseen:
                return None
            return dict(self.grid_values[unseen[int(rng.integers(len(unseen)))]])
        values: dict[str, Any] = {}
        for _ in range(_MAX_REDRAWS):
            values = sample_active(space, rng)
            if not seen.covers(values):
                return values
        if not self.finite or (self.size or 0) > _LISTABLE:
            return values  # a repeat is all there is left to give, or vanishingly unlikely
        left = [v for v in enumerate_grid(space) if not seen.covers(v)]
        return left[int(rng.integers(len(left)))] if left else None


def _finite_size(space: HyperParameters) -> int:
    if all(not p.conditions for p in space.space):
        total = 1
        for p in space.space:
            total *= p.cardinality or 1
        return total
    return grid_size(space)
