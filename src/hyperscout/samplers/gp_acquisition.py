"""The acquisition of :class:`~hyperscout.samplers.gp.GPSampler` and its maximisation.

Log expected improvement (or a lower confidence bound) of the fitted Gaussian process,
scored on latent units (:mod:`hyperscout.samplers.encoding`), maximised from Sobol candidates
and perturbations of the best trials by L-BFGS-B over the relaxed parameters (analytic
gradients) alternated with a coordinate search over the values of the others.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from hyperscout.samplers._scipy import optimize
from hyperscout.samplers.encoding import INACTIVE_VALUE, EncodedParameter, SpaceEncoding
from hyperscout.samplers.gp_budgets import AtFullBudget
from hyperscout.samplers.gp_model import GaussianProcess, dlog_h, log_expected_improvement, log_h
from hyperscout.samplers.gp_space import ALL_VALUES_UP_TO, CachedSpace

__all__ = ["Acquisition", "candidates", "distinct_rows"]

FloatArray = npt.NDArray[np.float64]

_ACQ_MAXITER = 30
_ACQ_FTOL = 1e-5
_LOCAL_SEARCH_SWEEPS = 3


class Acquisition:
    """The fitted GP with the acquisition and its maximisation over latent units."""

    def __init__(
        self,
        gp: GaussianProcess,
        best: float,
        xi: float,
        cached: CachedSpace,
        features: SpaceEncoding | AtFullBudget,
        y: FloatArray,
        units: FloatArray,
        *,
        beta: float | None = None,
    ) -> None:
        self.gp, self.best, self.xi, self.cached = gp, best, xi, cached
        self.beta = beta
        self.features, self.y, self.units = features, y, units

    def score(self, units: FloatArray) -> FloatArray:
        """Log expected improvement at rows of units."""
        if units.shape[0] == 0:
            return np.empty(0)
        mean, var, _, _ = self.gp.predict(self.features.features(units))
        if self.beta is not None:  # the lower confidence bound of the loss, negated
            bound: FloatArray = self.beta * np.sqrt(var) - mean
            return bound
        return log_expected_improvement(mean, np.sqrt(var), self.best, xi=self.xi)

    def maximise(self, latent: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Improve each row: L-BFGS-B on the relaxed parameters, local search on the others."""
        latent = latent.copy()
        scores = self.score(self.cached.encoding.mask_inactive(latent))
        for _ in range(2):
            latent, scores = self._gradient_ascent(latent, scores)
            latent, scores, changed = self._local_search(latent, scores)
            if not changed:
                break
        return latent, scores

    def _gradient_ascent(
        self, latent: FloatArray, scores: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        relaxed = self.cached.relaxed
        if not relaxed:
            return latent, scores
        enc = self.cached.encoding
        units = enc.mask_inactive(latent)
        base = self.features.features(units)
        params = np.array([s.index for s in relaxed])
        columns = np.array([s.columns.start for s in relaxed], dtype=np.int64)
        active = ~np.isnan(units[:, params])
        n_starts, n_vars = active.shape

        def negative(flat: FloatArray) -> tuple[float, FloatArray]:
            x = flat.reshape(n_starts, n_vars)
            feats = base.copy()
            feats[:, columns] = np.where(active, x, INACTIVE_VALUE)
            mean, var, d_mean, d_var = self.gp.predict(feats, columns)
            assert d_mean is not None and d_var is not None
            std = np.sqrt(var)
            d_std = d_var / (2.0 * std[:, None])
            if self.beta is not None:
                bound = self.beta * std - mean
                d_bound = np.where(active, self.beta * d_std - d_mean, 0.0)
                return -float(bound.sum()), -d_bound.reshape(-1)
            z = (self.best - self.xi - mean) / std
            log_hz = log_h(z)
            value = np.log(std) + log_hz
            d_z = (-d_mean - z[:, None] * d_std) / std[:, None]
            grad = d_std / std[:, None] + dlog_h(z, log_hz)[:, None] * d_z
            grad = np.where(active, grad, 0.0)
            return -float(value.sum()), -grad.reshape(-1)

        x0 = latent[:, params].reshape(-1)
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            result = optimize().minimize(
                negative,
                x0,
                jac=True,
                method="L-BFGS-B",
                bounds=[(0.0, 1.0)] * x0.size,
                options={"maxiter": _ACQ_MAXITER, "ftol": _ACQ_FTOL},
            )
        moved = latent.copy()
        moved[:, params] = np.asarray(result.x).reshape(n_starts, n_vars)
        moved = enc.round(moved)
        moved_scores = self.score(enc.mask_inactive(moved))
        better = moved_scores > scores
        return np.where(better[:, None], moved, latent), np.where(better, moved_scores, scores)

    def _local_search(
        self, latent: FloatArray, scores: FloatArray
    ) -> tuple[FloatArray, FloatArray, bool]:
        """Coordinate search over the values of categorical and discrete parameters."""
        enc = self.cached.encoding
        changed = False
        for _ in range(_LOCAL_SEARCH_SWEEPS):
            improved = False
            for spec in self.cached.searched:
                options = _options(spec, latent[:, spec.index])
                n_starts, n_options = options.shape
                trial = np.repeat(latent, n_options, axis=0)
                trial[:, spec.index] = options.reshape(-1)
                trial_scores = self.score(enc.mask_inactive(trial)).reshape(n_starts, n_options)
                pick = np.argmax(trial_scores, axis=1)
                best_scores = trial_scores[np.arange(n_starts), pick]
                better = best_scores > scores + 1e-12
                if better.any():
                    improved = changed = True
                    latent = latent.copy()
                    rows = np.nonzero(better)[0]
                    latent[rows, spec.index] = options[rows, pick[rows]]
                    scores = np.where(better, best_scores, scores)
            if not improved:
                break
        return latent, scores, changed


def candidates(model: Acquisition, rng: np.random.Generator, n_candidates: int) -> FloatArray:
    """Sobol candidates, and perturbations of the best trials (latent units, rounded)."""
    enc = model.cached.encoding
    n_local = n_candidates // 4 if model.y.size else 0
    sobol = enc.sobol(n_candidates - n_local, rng)
    if n_local == 0:
        return sobol
    top = np.argsort(model.y, kind="stable")[: min(5, model.y.size)]
    units = model.units[top]
    base = units[rng.integers(len(top), size=n_local)]
    # Inactive parameters get a random latent value (they may switch on).
    base = np.where(np.isnan(base), rng.random(base.shape), base)
    scale = np.exp(rng.uniform(math.log(0.005), math.log(0.2), size=(n_local, 1)))
    moved = base + scale * rng.standard_normal(base.shape)
    # Categories have no order: they are not nudged, only redrawn now and then (as
    # every parameter is).
    redraw = rng.random(base.shape) < 1.0 / max(enc.n_params, 2)
    kinds = np.array([s.kind in ("categorical", "constant") for s in enc.parameters])
    moved = np.where(kinds[None, :], base, moved)
    moved = np.where(redraw, rng.random(base.shape), moved)
    return np.vstack([sobol, enc.round(moved)])


def distinct_rows(rows: FloatArray, n: int) -> FloatArray:
    kept: list[FloatArray] = []
    for row in rows:
        if len(kept) >= n:
            break
        if not any(np.allclose(row, other, atol=1e-9) for other in kept):
            kept.append(row)
    return np.array(kept) if kept else np.empty((0, rows.shape[1]))


def _options(spec: EncodedParameter, current: FloatArray) -> FloatArray:
    """Units to try for one parameter in the local search, one row per start."""
    n = spec.n_values or 1
    if spec.units is not None and n <= ALL_VALUES_UP_TO:
        return np.tile(spec.units, (current.size, 1))
    # Many values: neighbours at 1, 2, 4, ... steps on either side.
    steps = 2.0 ** np.arange(int(math.log2(n)) + 1) / n
    offsets = np.concatenate([-steps, [0.0], steps])
    result: FloatArray = spec.round(current[:, None] + offsets[None, :])
    return result
