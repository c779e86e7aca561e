"""Bayesian optimisation with a Gaussian process (NumPy and SciPy only).

The model
    A Gaussian process with a constant zero mean and a Matérn-5/2 kernel with one length
    scale per feature, a signal variance and a noise variance. It sees the configurations
    through :class:`~hyperscout.samplers.encoding.SpaceEncoding`: numeric parameters as their
    unit in ``[0, 1]`` (log scales through the parameter's encoding; integers and steps as the
    rounded, representable unit, so the model never sees a point that cannot be proposed),
    unordered categorical parameters one-hot (never by their position in the list), ordered
    numeric choices as ordinal units.

Conditional parameters
    An inactive parameter's feature is set to a constant (0.5; all zeros for one-hot) and an
    activity indicator column (one per distinct set of conditions) says whether it is active.
    Two configurations that both lack a parameter do not differ in it; a configuration that
    has it differs from one that lacks it through the indicator, with its own length scale.
    No made-up value of an inactive parameter is presented to the model as if it had been
    observed. Proposals contain only the active parameters (the walk of ``sample_active``).

The outputs
    The losses of the COMPLETE trials (lower is better; non-finite losses are replaced by the
    worst finite one) are warped by a Yeo-Johnson transform whose exponent is fitted by
    maximum likelihood on a grid (monotone, so ranks are kept; it tames heavy tails and skew),
    then standardised to mean 0 and variance 1.

The hyperparameters
    Fitted by maximising the log marginal likelihood plus log priors with L-BFGS-B and
    analytic gradients. Length scales have the dimension-scaled log-normal prior of Hvarfner
    et al. (2024, "Vanilla Bayesian optimization performs great in high dimensions"),
    ``LogNormal(sqrt(2) + log(D) / 2, sqrt(3))`` with ``D`` the number of features; the signal
    variance ``LogNormal(0, 1)``; the noise variance ``LogNormal(-4, 1)`` with a floor of
    ``1e-4`` (``deterministic=True``: fixed at ``1e-6``).

    The last fit is cached on the sampler. A full fit (3 starts: the cached fit, the prior's
    mode, a draw from the prior) runs below 30 completed trials and then at every 25th;
    otherwise a single L-BFGS-B run warm-started from the cached fit refines it, at each
    proposal below 50 completed trials and then at every 3rd; in between, the cached
    hyperparameters are used as they are with the new data. The schedule counts completed
    trials, so a resumed search (a new sampler, nothing cached) makes a full fit first and may
    then differ slightly from an uninterrupted one. This keeps a proposal with 6 continuous
    parameters around 25 ms at 100 trials and 45 ms at 200 on a 2-core machine.

The acquisition
    Log expected improvement (Ament et al. 2023, "Unexpected improvements to expected
    improvement"), computed stably where expected improvement underflows (``log1mexp`` and
    ``erfcx``). It is maximised over a scrambled Sobol set of candidates plus perturbations of
    the best trials, then from the best few candidates by a multi-start L-BFGS-B (analytic
    gradients) over the continuous parameters (and integers with many values, relaxed then
    rounded), alternated with a local search over the values of categorical and discrete
    parameters. Small finite spaces are scored exhaustively instead.

Parallel trials
    RUNNING trials enter the model with a constant liar, the mean of the warped losses, so
    that workers asking at the same time get different proposals. No configuration already in
    the history (any state) is proposed again; when the best candidate is one, the next best
    is taken, and failing all, a random unseen configuration. ``sample`` returns None only when
    a finite space has been tried entirely.

Cost
    One Cholesky factorisation per hyperparameter evaluation; the factor of the final fit is
    reused for the acquisition (extended by a block update for the running trials). While a
    proposal is computed, BLAS runs on one thread when ``threadpoolctl`` is installed: with
    matrices of a few hundred rows threads do not pay, and on a busy machine spinning BLAS
    threads make a factorisation many times slower.

The initial design
    The first ``n_startup_trials`` trials follow a scrambled Sobol sequence. Its scrambling is
    seeded by the ``rng`` of the first call, and afterwards by the first trial's configuration,
    so that every call of one study continues the same sequence; points already tried are
    skipped.

>>> import hyperscout as hs
>>> def objective(hp):
...     return (hp.Float("x", -2.0, 2.0) - 1.0) ** 2 + 0.1 * hp.Int("n", 0, 5)
>>> tuner = hs.Tuner(objective, sampler=GPSampler(n_startup_trials=5), max_trials=15,
...                  seed=0, storage="memory", verbose=0)
>>> tuner.search()
>>> best = tuner.get_best_hyperparameters()[0]
>>> abs(best["x"] - 1.0) < 0.1, best["n"]
(True, 0)
"""

from __future__ import annotations

import contextlib
import json
import math
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import optimize  # type: ignore[import-untyped, unused-ignore]
from scipy.linalg import lapack  # type: ignore[import-untyped, unused-ignore]
from scipy.special import (  # type: ignore[import-untyped, unused-ignore]
    erfcx,
    log_ndtr,
)

from hyperscout.exceptions import InvalidArgumentError
from hyperscout.samplers.base import History, Sampler, enumerate_grid, grid_size, sample_active
from hyperscout.samplers.encoding import INACTIVE_VALUE, EncodedParameter, SpaceEncoding
from hyperscout.space import HyperParameters
from hyperscout.trial import Trial, TrialState, config_key

__all__ = ["GPSampler", "log_expected_improvement"]

FloatArray = npt.NDArray[np.float64]

_SQRT5 = math.sqrt(5.0)
_LOG_2PI = math.log(2.0 * math.pi)
_HALF_LOG_PI_OVER_2 = 0.5 * math.log(math.pi / 2.0)
_EPS = float(np.finfo(float).eps)

# Bounds of the kernel hyperparameters (features live in [0, 1], outputs are standardised).
_LENGTH_SCALE_BOUNDS = (1e-2, 1e2)
_SIGNAL_BOUNDS = (1e-2, 1e2)
_NOISE_CEILING = 1.0
_NOISE_FLOOR = 1e-4
_DETERMINISTIC_NOISE = 1e-6
_JITTER = 1e-9
_MIN_VARIANCE = 1e-12
_BLOCK = 256
_ACQ_MAXITER = 30
_ACQ_FTOL = 1e-5

# Restarts of the hyperparameter fit, and when a full fit (rather than a warm refinement) runs.
# A full fit (several starts) below _FULL_FIT_BELOW completed trials and then every
# _FULL_FIT_EVERY; otherwise one L-BFGS-B run from the cached fit, every time below
# _REFINE_BELOW and then every _REFINE_EVERY; in between the cached fit is reused as it is
# (the factorisation with the new data is all that is computed). Counted in completed trials,
# so the schedule does not depend on the sampler's past.
_FIT_RESTARTS = 3
_FULL_FIT_BELOW = 30
_FULL_FIT_EVERY = 25
_REFINE_BELOW = 50
_REFINE_EVERY = 3
_FULL_FIT_MAXITER = 100
_REFINE_MAXITER = 25

# Exhaustive scoring of finite spaces up to this many configurations (or n_candidates).
_ENUMERABLE = 4096
# Discrete parameters with at most this many values try all of them in the local search.
_ALL_VALUES_UP_TO = 64
_LOCAL_SEARCH_SWEEPS = 3
_LISTABLE = 200_000
_MAX_REDRAWS = 50


# -- log expected improvement --------------------------------------------------------------
def _log1mexp(x: FloatArray) -> FloatArray:
    """``log(1 - exp(x))`` for ``x < 0``, accurate near 0 and far from it."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > -math.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def _log_h(z: FloatArray) -> FloatArray:
    """``log(phi(z) + z * Phi(z))``, the log of the expected improvement of a unit normal.

    Three regimes as in Ament et al. (2023): direct above -1; ``log phi(z)`` plus a
    ``log1mexp`` of an ``erfcx`` term down to ``-1/sqrt(eps)``; the asymptote below. Each
    regime is computed on inputs clipped to its range (few calls: the arrays are small).
    """
    z = np.asarray(z, dtype=float)
    far_limit = -1.0 / math.sqrt(_EPS)
    zu = np.maximum(z, -1.0)
    upper = np.log(np.exp(-0.5 * zu**2 - 0.5 * _LOG_2PI) + zu * np.exp(log_ndtr(zu)))
    zm = np.clip(z, far_limit, -1.0)
    log_term = np.log(erfcx(-zm / math.sqrt(2.0)) * -zm) + _HALF_LOG_PI_OVER_2
    middle = -0.5 * zm**2 - 0.5 * _LOG_2PI + _log1mexp(log_term)
    zf = np.minimum(z, far_limit)
    far = -0.5 * zf**2 - 0.5 * _LOG_2PI - 2.0 * np.log(-zf)
    result: FloatArray = np.where(z > -1.0, upper, np.where(z > far_limit, middle, far))
    return result


def log_expected_improvement(
    mean: FloatArray, std: FloatArray, best: float, *, xi: float = 0.0
) -> FloatArray:
    """The log of the expected improvement below ``best - xi`` (minimisation).

    Finite wherever ``std > 0``, also far where the expected improvement itself underflows to
    zero, and increasing in ``-mean`` there too, so an optimiser still has a slope to follow.

    Args:
        mean: the posterior means.
        std: the posterior standard deviations (> 0).
        best: the incumbent (lowest observed) value.
        xi: a margin that favours exploration.

    >>> import numpy as np
    >>> log_ei = log_expected_improvement(np.array([0.0, 40.0]), np.array([1.0, 1.0]), 0.0)
    >>> bool(np.isfinite(log_ei).all()), bool(log_ei[1] < -800)
    (True, True)
    """
    z = (best - xi - np.asarray(mean, dtype=float)) / np.asarray(std, dtype=float)
    result: FloatArray = np.log(std) + _log_h(z)
    return result


def _dlog_h(z: FloatArray, log_h: FloatArray) -> FloatArray:
    """Derivative of :func:`_log_h`: ``Phi(z) / h(z)``, computed in logs."""
    result: FloatArray = np.exp(log_ndtr(z) - log_h)
    return result


# -- output warping --------------------------------------------------------------------------
_YJ_LAMBDAS = np.linspace(-2.0, 3.0, 51)[:, None]


def _yeo_johnson(y: FloatArray, lam: FloatArray) -> FloatArray:
    """The Yeo-Johnson transform of ``y`` (a row) for each exponent of ``lam`` (a column)."""
    log_pos = np.log1p(np.maximum(y, 0.0))[None, :]
    log_neg = np.log1p(np.maximum(-y, 0.0))[None, :]
    result: FloatArray = np.zeros((lam.shape[0], y.size))
    for power, logs, sign in ((lam, log_pos, 1.0), (2.0 - lam, log_neg, -1.0)):
        near_zero = np.abs(power) < 1e-12
        safe = np.where(near_zero, 1.0, power)
        result += sign * np.where(near_zero, logs, np.expm1(power * logs) / safe)
    return result


def warp_losses(losses: FloatArray) -> FloatArray:
    """Yeo-Johnson warped and standardised losses (same order, same ranks).

    The losses are first centred on their median and scaled by their interquartile range (a
    transform fitted on robust units), the Yeo-Johnson exponent is chosen by maximum
    likelihood on a grid of values in ``[-2, 3]``, and the result is standardised.

    >>> import numpy as np
    >>> losses = np.array([0.1, 0.2, 0.3, 0.5, 100.0])
    >>> warped = warp_losses(losses)
    >>> bool((np.argsort(warped) == np.argsort(losses)).all()), bool(warped.max() < 2.0)
    (True, True)
    """
    y = np.asarray(losses, dtype=float)
    if y.size < 3:
        return _standardise(y)
    q25, q50, q75 = np.percentile(y, [25, 50, 75])
    scale = q75 - q25
    if not scale > 0:
        scale = float(np.std(y))
    if not scale > 0:
        return np.zeros_like(y)
    y0 = (y - q50) / scale
    log_terms = float((np.sign(y0) * np.log1p(np.abs(y0))).sum())
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        warped = _yeo_johnson(y0, _YJ_LAMBDAS)
        var = warped.var(axis=1)
        llf = -0.5 * y.size * np.log(var) + (_YJ_LAMBDAS[:, 0] - 1.0) * log_terms
    llf = np.where(np.isfinite(llf) & (var > 0), llf, -np.inf)
    if not np.isfinite(llf).any():
        return _standardise(y0)
    return _standardise(warped[int(np.argmax(llf))])


def _standardise(y: FloatArray) -> FloatArray:
    std = float(np.std(y)) if y.size else 0.0
    result: FloatArray = (y - float(np.mean(y))) / std if std > 1e-12 else np.zeros(y.shape)
    return result


# -- the Gaussian process ------------------------------------------------------------------
# The Matérn-5/2 kernel with a = sqrt(5) r:  k = s (1 + a + a^2 / 3) exp(-a), and
# d k / d(r^2) = -(5/6) s (1 + a) exp(-a). Arrays are updated in place: at a few hundred
# trials the elementwise passes over n x n matrices are what a proposal costs.
def _squared_distances(a: FloatArray, b: FloatArray) -> FloatArray:
    """Squared Euclidean distances between rows (already divided by the length scales)."""
    d2: FloatArray = a @ b.T
    d2 *= -2.0
    d2 += (a * a).sum(1)[:, None]
    d2 += (b * b).sum(1)[None, :]
    np.maximum(d2, 0.0, out=d2)
    return d2


def _matern_parts(r2: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``(1 + a + a^2/3) exp(-a)`` and ``(1 + a) exp(-a)`` for ``a = sqrt(5 r^2)``.

    ``r2`` is overwritten.
    """
    a = np.sqrt(r2, out=r2)
    a *= _SQRT5
    e = np.exp(-a)
    slope = a + 1.0
    slope *= e
    a *= a
    a *= 1.0 / 3.0
    a *= e
    a += slope
    return a, slope


def _cholesky(matrix: FloatArray) -> FloatArray | None:
    """The lower Cholesky factor, with growing jitter when needed; None when it fails."""
    factor, info = lapack.dpotrf(matrix, lower=1, clean=1)
    jitter = 1e-8 * max(float(np.mean(np.diag(matrix))), 1e-12)
    n = matrix.shape[0]
    for _ in range(4):
        if info == 0:
            result: FloatArray = factor
            return result
        factor, info = lapack.dpotrf(matrix + jitter * np.eye(n), lower=1, clean=1)
        jitter *= 100.0
    return None


def _cho_inverse(factor: FloatArray) -> FloatArray:
    """The inverse of ``L L^T`` from its lower factor (whose upper triangle is zero)."""
    inv, _ = lapack.dpotri(factor, lower=1)  # the lower triangle; the upper stays zero
    diagonal = np.diag(inv).copy()
    full: FloatArray = inv + inv.T
    full.flat[:: full.shape[0] + 1] = diagonal
    return full


class _Priors:
    """Log-normal priors on the kernel hyperparameters, as a negative log density."""

    def __init__(self, n_features: int, *, fit_noise: bool) -> None:
        d = max(n_features, 1)
        self.means = np.concatenate(
            [np.full(d, math.sqrt(2.0) + 0.5 * math.log(d)), [0.0], [-4.0] if fit_noise else []]
        )
        self.stds = np.concatenate([np.full(d, math.sqrt(3.0)), [1.0], [1.0] if fit_noise else []])

    def __call__(self, theta: FloatArray) -> tuple[float, FloatArray]:
        # The density of the hyperparameter itself (not of its log), as BoTorch does: the
        # mode of log(length scale) is then mean - std**2.
        standard = (theta - self.means) / self.stds
        value = float(theta.sum() + 0.5 * (standard**2).sum())
        return value, 1.0 + standard / self.stds

    def mode(self) -> FloatArray:
        result: FloatArray = self.means - self.stds**2
        return result

    def draw(self, rng: np.random.Generator) -> FloatArray:
        result: FloatArray = self.mode() + self.stds * rng.standard_normal(self.means.size)
        return result


class _Objective:
    """Negative log posterior of the hyperparameters, with its gradient.

    ``theta`` holds the logs of the length scales, of the signal variance and (unless the
    noise is fixed) of the noise variance.
    """

    def __init__(self, x: FloatArray, y: FloatArray, priors: _Priors, noise: float | None):
        self.x, self.y, self.priors, self.fixed_noise = x, y, priors, noise
        self.n, self.d = x.shape
        self.sq = x * x
        self.last: tuple[FloatArray, FloatArray, FloatArray] | None = None

    def kernel_parts(self, theta: FloatArray) -> tuple[FloatArray, float, float]:
        d = self.d
        length_scales = np.exp(theta[:d])
        signal = math.exp(theta[d])
        noise = self.fixed_noise if self.fixed_noise is not None else math.exp(theta[d + 1])
        return length_scales, signal, noise

    def _spread(self, q: FloatArray) -> FloatArray:
        """``sum_ij q_ij (x_id - x_jd)^2`` for each feature d (q symmetric)."""
        result: FloatArray = 2.0 * (self.sq.T @ q.sum(1) - ((q @ self.x) * self.x).sum(0))
        return result

    def __call__(self, theta: FloatArray) -> tuple[float, FloatArray]:
        length_scales, signal, noise = self.kernel_parts(theta)
        scaled = self.x / length_scales
        k, slope = _matern_parts(_squared_distances(scaled, scaled))
        k *= signal
        shift = noise + _JITTER
        k.flat[:: self.n + 1] += shift
        factor = _cholesky(k)
        if factor is None:
            return 1e25, np.zeros_like(theta)
        y, n = self.y, self.n
        alpha, _ = lapack.dpotrs(factor, y, lower=1)
        y_alpha = float(y @ alpha)
        nll = 0.5 * y_alpha + float(np.log(np.diag(factor)).sum()) + 0.5 * n * _LOG_2PI
        k_inv = _cho_inverse(factor)
        self.last = (theta.copy(), factor, k_inv)
        # dK/dlog(l_d) = s (5/3) slope * (x_id - x_jd)^2 / l_d^2, and
        # d nll = -1/2 sum((alpha alpha^T - K^-1) * dK); the rank-one part without n x n work.
        slope_alpha = slope @ alpha
        rank_one = 2.0 * (
            self.sq.T @ (alpha * slope_alpha)
            - ((slope @ (alpha[:, None] * self.x)) * (alpha[:, None] * self.x)).sum(0)
        )
        slope *= k_inv
        spread = rank_one - self._spread(slope)
        grad = np.empty_like(theta)
        grad[: self.d] = -0.5 * signal * (5.0 / 3.0) * spread / length_scales**2
        trace_inv = float(np.trace(k_inv))
        alpha2 = float(alpha @ alpha)
        # sum(W * Kf) with Kf = K - shift I: alpha^T Kf alpha - tr(K^-1 Kf).
        grad[self.d] = -0.5 * ((y_alpha - shift * alpha2) - (n - shift * trace_inv))
        if self.fixed_noise is None:
            grad[self.d + 1] = -0.5 * noise * (alpha2 - trace_inv)
        prior_value, prior_grad = self.priors(theta)
        return nll + prior_value, grad + prior_grad


class _GaussianProcess:
    """A fitted GP: training features, the Cholesky factor and the weights."""

    def __init__(
        self,
        x: FloatArray,
        y: FloatArray,
        length_scales: FloatArray,
        signal: float,
        noise: float,
        factor: FloatArray,
        k_inv: FloatArray,
    ) -> None:
        self.x, self.y = x, y
        self.length_scales, self.signal, self.noise = length_scales, signal, noise
        self.factor, self.k_inv = factor, k_inv
        self.scaled = x / length_scales
        self.alpha = k_inv @ y
        # The kernel is s * unit(x, x'): fold s into the weights once.
        self._s_alpha = signal * self.alpha
        self._s2_k_inv = signal * signal * k_inv

    def _kernel(self, xa: FloatArray, scaled_b: FloatArray) -> FloatArray:
        unit, _ = _matern_parts(_squared_distances(xa / self.length_scales, scaled_b))
        unit *= self.signal
        return unit

    def with_points(self, x_new: FloatArray, y_new: FloatArray) -> _GaussianProcess:
        """The GP conditioned also on ``(x_new, y_new)``, reusing the Cholesky factor."""
        if x_new.shape[0] == 0:
            return self
        k21 = self._kernel(x_new, self.scaled)
        k22 = self._kernel(x_new, x_new / self.length_scales)
        k22.flat[:: x_new.shape[0] + 1] += self.noise + _JITTER
        # [[L11, 0], [L21, L22]] with L21 = K21 L11^-T and L22 L22^T = K22 - L21 L21^T.
        l21 = lapack.dtrtrs(self.factor, k21.T, lower=1)[0].T
        l22 = _cholesky(k22 - l21 @ l21.T)
        if l22 is None:  # a pending point on top of an observed one: leave it out
            return self
        n, m = self.x.shape[0], x_new.shape[0]
        factor = np.zeros((n + m, n + m))
        factor[:n, :n] = self.factor
        factor[n:, :n] = l21
        factor[n:, n:] = l22
        return _GaussianProcess(
            np.vstack([self.x, x_new]),
            np.concatenate([self.y, y_new]),
            self.length_scales,
            self.signal,
            self.noise,
            factor,
            _cho_inverse(factor),
        )

    def predict(
        self, xc: FloatArray, grad_columns: npt.NDArray[np.int64] | None = None
    ) -> tuple[FloatArray, FloatArray, FloatArray | None, FloatArray | None]:
        """Posterior mean and variance of the latent function at ``xc`` (and gradients).

        The gradients (with respect to the features ``grad_columns``) are returned when those
        columns are given.
        """
        if grad_columns is None and xc.shape[0] > _BLOCK:
            # Blocks of rows keep the n x block temporaries in cache (twice as fast).
            parts = [self.predict(xc[i : i + _BLOCK]) for i in range(0, xc.shape[0], _BLOCK)]
            return (
                np.concatenate([p[0] for p in parts]),
                np.concatenate([p[1] for p in parts]),
                None,
                None,
            )
        unit, slope = _matern_parts(_squared_distances(xc / self.length_scales, self.scaled))
        mean = unit @ self._s_alpha
        v = unit @ self._s2_k_inv
        var = self.signal - np.einsum("ij,ij->i", v, unit)
        np.maximum(var, _MIN_VARIANCE, out=var)
        if grad_columns is None:
            return mean, var, None, None
        # d k(x, x_i) / d x_c = -s (5/3) slope_i (x_c - x_ic) / l_c^2
        inv_l2 = (5.0 / 3.0) / self.length_scales[grad_columns] ** 2
        x_cols = xc[:, grad_columns]
        train_cols = self.x[:, grad_columns]
        sa = slope @ self._s_alpha
        d_mean = -(x_cols * sa[:, None] - slope @ (self._s_alpha[:, None] * train_cols)) * inv_l2
        slope *= v
        d_var = 2.0 * (x_cols * slope.sum(1)[:, None] - slope @ train_cols) * inv_l2
        return mean, var, d_mean, d_var


def _fit(
    x: FloatArray,
    y: FloatArray,
    *,
    deterministic: bool,
    starts: Sequence[FloatArray],
    maxiter: int,
    noise_floor: float = _NOISE_FLOOR,
) -> tuple[_GaussianProcess, FloatArray]:
    """Fit the hyperparameters from each start; the GP of the best and its log parameters."""
    d = x.shape[1]
    fixed_noise = _DETERMINISTIC_NOISE if deterministic else None
    priors = _Priors(d, fit_noise=not deterministic)
    bounds = [tuple(math.log(b) for b in _LENGTH_SCALE_BOUNDS)] * d
    bounds.append(tuple(math.log(b) for b in _SIGNAL_BOUNDS))
    if not deterministic:
        bounds.append((math.log(noise_floor), math.log(max(_NOISE_CEILING, noise_floor))))
    lower = np.array([b[0] for b in bounds])
    upper = np.array([b[1] for b in bounds])
    objective = _Objective(x, y, priors, fixed_noise)
    best_theta, best_value = np.clip(starts[0], lower, upper), math.inf
    for start in starts:
        theta0 = np.clip(start, lower, upper)
        if maxiter == 0:
            value, _ = objective(theta0)
            if value < best_value:
                best_value, best_theta = value, theta0
            continue
        with np.errstate(over="ignore", under="ignore"):
            result = optimize.minimize(
                objective,
                theta0,
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": maxiter},
            )
        if math.isfinite(result.fun) and result.fun < best_value:
            best_value, best_theta = float(result.fun), np.asarray(result.x, dtype=float)
    last = objective.last
    if last is None or not np.array_equal(last[0], best_theta):
        objective(best_theta)  # the factor of the best hyperparameters, computed once more
        last = objective.last
    length_scales, signal, noise = objective.kernel_parts(best_theta)
    if last is None:  # every factorisation failed (not seen in practice): all noise
        n = x.shape[0]
        return _GaussianProcess(
            x,
            y,
            length_scales,
            signal,
            1.0,
            np.eye(n) * math.sqrt(1.0 + signal),
            np.eye(n) / (1.0 + signal),
        ), best_theta
    return (
        _GaussianProcess(x, y, length_scales, signal, noise, last[1], last[2]),
        best_theta,
    )


# -- the sampler -------------------------------------------------------------------------------
_THREADPOOLS: Any = None


def _single_threaded_blas() -> contextlib.AbstractContextManager[Any]:
    """Limit BLAS to one thread while a proposal is computed, when threadpoolctl is there.

    The matrices are small (a few hundred rows): threads cost more than they bring, and
    on a busy machine OpenBLAS threads that spin-wait make a factorisation 10-100x slower.
    """
    global _THREADPOOLS
    if _THREADPOOLS is None:
        try:
            # threadpoolctl comes with scikit-learn; it is optional here.
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _THREADPOOLS = False
        else:
            _THREADPOOLS = ThreadpoolController()
    if _THREADPOOLS is False:
        return contextlib.nullcontext()
    limiter: contextlib.AbstractContextManager[Any] = _THREADPOOLS.limit(limits=1, user_api="blas")
    return limiter


def _check_positive(name: str, value: Any, *, upper: float) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.number))
        or not 0 < float(value) <= upper
    ):
        expected = "a number > 0" + (f" and <= {upper}" if math.isfinite(upper) else "")
        raise InvalidArgumentError(f"GPSampler({name}=...): expected {expected}, got {value!r}.")


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidArgumentError(
            f"GPSampler({name}=...): expected an int >= {minimum}, got {value!r}."
        )


class _Space:
    """What the sampler caches about one search space."""

    def __init__(self, space: HyperParameters, n_enumerable: int) -> None:
        self.encoding = SpaceEncoding(space)
        specs = self.encoding.parameters
        self.finite = all(s.kind != "continuous" for s in specs)
        self.size: int | None = None
        self.grid_units: FloatArray | None = None
        self.grid_keys: list[str] = []
        self.grid_values: list[dict[str, Any]] = []
        if self.finite:
            self.size = _finite_size(space)
            if self.size <= n_enumerable:
                self.grid_values = list(enumerate_grid(space))
                self.grid_keys = [config_key(v) for v in self.grid_values]
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
                or (s.kind == "discrete" and (s.n_values or 0) > _ALL_VALUES_UP_TO)
            )
        ]
        self.searched = [s for s in specs if s.kind in ("discrete", "categorical")]
        # Units of trials by number, with the values they were computed from (a trial's
        # values never change; the check guards against a sampler shared by two studies).
        self._units: dict[int, tuple[Mapping[str, Any], FloatArray]] = {}
        self._variants: dict[frozenset[str], SpaceEncoding] = {}

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


def _finite_size(space: HyperParameters) -> int:
    if all(not p.conditions for p in space.space):
        total = 1
        for p in space.space:
            total *= p.cardinality or 1
        return total
    return grid_size(space)


class GPSampler(Sampler):
    """Bayesian optimisation with a Gaussian process and log expected improvement.

    The model and the acquisition are described in the module docstring. All randomness
    comes from the ``rng`` the tuner passes to :meth:`sample`.

    Args:
        n_startup_trials: completed trials drawn from a scrambled Sobol sequence before the
            model is used (at least 1).
        n_candidates: random (Sobol) candidates scored by the acquisition in each proposal,
            before the local optimisation.
        n_restarts: how many of the best candidates start an L-BFGS-B optimisation of the
            acquisition (0: keep the best candidate as it is).
        xi: an exploration margin, in standard deviations of the (warped) losses: improvement
            is counted below the best loss minus ``xi``.
        deterministic: the objective returns the same value for the same configuration; the
            noise of the model is then fixed to a tiny floor instead of being fitted.
        noise_floor: the smallest noise variance the fit may choose, relative to the
            standardised losses (KerasTuner's ``alpha``); raise it for noisy objectives.
        beta: None (the default) maximises log expected improvement; a number switches the
            acquisition to the lower confidence bound ``mean - beta * std`` of the loss
            (KerasTuner's UCB with its ``beta``).

    >>> import numpy as np
    >>> from hyperscout.objective import Objective
    >>> hp = HyperParameters(); _ = hp.Float("x", 0.0, 1.0)
    >>> sampler = GPSampler(n_startup_trials=1)
    >>> history = History([Trial(0, {"x": 0.25}, TrialState.COMPLETE, value=1.0)],
    ...                   Objective("loss"))
    >>> proposal = sampler.sample(hp, history, np.random.default_rng(0))
    >>> sorted(proposal), proposal["x"] != 0.25
    (['x'], True)
    """

    def __init__(
        self,
        *,
        n_startup_trials: int = 10,
        n_candidates: int = 2048,
        n_restarts: int = 5,
        xi: float = 0.0,
        deterministic: bool = False,
        noise_floor: float = _NOISE_FLOOR,
        beta: float | None = None,
    ) -> None:
        _check_int("n_startup_trials", n_startup_trials, 1)
        _check_int("n_candidates", n_candidates, 1)
        _check_int("n_restarts", n_restarts, 0)
        if (
            isinstance(xi, bool)
            or not isinstance(xi, (int, float, np.number))
            or not math.isfinite(float(xi))
            or xi < 0
        ):
            raise InvalidArgumentError(
                f"GPSampler(xi=...): expected a finite number >= 0, got {xi!r}."
            )
        _check_positive("noise_floor", noise_floor, upper=1.0)
        if beta is not None:
            _check_positive("beta", beta, upper=math.inf)
        if not isinstance(deterministic, (bool, np.bool_)):
            raise InvalidArgumentError(
                f"GPSampler(deterministic=...): expected True or False, got {deterministic!r}."
            )
        self.n_startup_trials = int(n_startup_trials)
        self.n_candidates = int(n_candidates)
        self.n_restarts = int(n_restarts)
        self.xi = float(xi)
        self.deterministic = bool(deterministic)
        self.noise_floor = float(noise_floor)
        self.beta = None if beta is None else float(beta)
        # Caches: the space's encoding and the last fitted hyperparameters (a warm start).
        self._space_key: str | None = None
        self._space: _Space | None = None
        self._theta: FloatArray | None = None

    def __repr__(self) -> str:
        return (
            f"GPSampler(n_startup_trials={self.n_startup_trials}, "
            f"n_candidates={self.n_candidates}, n_restarts={self.n_restarts}, xi={self.xi}, "
            f"deterministic={self.deterministic}, noise_floor={self.noise_floor}, "
            f"beta={self.beta})"
        )

    # -- the proposal ----------------------------------------------------------------------
    def sample(
        self, space: HyperParameters, history: History, rng: np.random.Generator
    ) -> dict[str, Any] | None:
        if not space.space:
            return None if config_key({}) in history.keys else {}
        cached = self._cached_space(space)
        seen = history.keys
        if cached.grid_units is not None and all(k in seen for k in cached.grid_keys):
            return None
        completed = history.completed
        if len(completed) < self.n_startup_trials:
            return self._initial(cached, history, rng)
        with _single_threaded_blas():
            return self._optimise(cached, history, completed, rng)

    def _cached_space(self, space: HyperParameters) -> _Space:
        key = json.dumps(space.to_dict(), sort_keys=True, default=repr)
        if self._space is None or key != self._space_key:
            self._space = _Space(space, min(self.n_candidates, _ENUMERABLE))
            self._space_key = key
        return self._space

    def _initial(
        self, cached: _Space, history: History, rng: np.random.Generator
    ) -> dict[str, Any] | None:
        """The next unseen point of the study's scrambled Sobol sequence."""
        enc, seen = cached.encoding, history.keys
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
            if config_key(values) not in seen:
                return values
        return self._random_unseen(cached, history, rng)

    def _random_unseen(
        self, cached: _Space, history: History, rng: np.random.Generator
    ) -> dict[str, Any] | None:
        """A random configuration not in the history; None when a finite space is exhausted."""
        seen = history.keys
        space = cached.encoding.space
        if cached.grid_units is not None:
            left = [
                v
                for v, k in zip(cached.grid_values, cached.grid_keys, strict=True)
                if k not in seen
            ]
            return dict(left[int(rng.integers(len(left)))]) if left else None
        values: dict[str, Any] = {}
        for _ in range(_MAX_REDRAWS):
            values = sample_active(space, rng)
            if config_key(values) not in seen:
                return values
        if not cached.finite or (cached.size or 0) > _LISTABLE:
            return values  # a repeat is all there is left to give, or vanishingly unlikely
        left = [v for v in enumerate_grid(space) if config_key(v) not in seen]
        return left[int(rng.integers(len(left)))] if left else None

    def _model(self, cached: _Space, history: History, completed: list[Trial]) -> _Model:
        losses = np.array([history.loss(t) for t in completed], dtype=float)
        finite = np.isfinite(losses)
        if not finite.all():
            worst = float(losses[finite].max()) if finite.any() else 0.0
            losses = np.where(finite, losses, worst)
        y = warp_losses(losses)
        pending = [t for t in history if t.state is TrialState.RUNNING]
        units, units_pending = cached.units_of(completed), cached.units_of(pending)
        features = cached.feature_encoding(np.vstack([units, units_pending]))
        x = features.features(units)
        n = len(completed)
        prior = _Priors(features.n_features, fit_noise=not self.deterministic)
        if self._theta is not None and self._theta.size != prior.means.size:
            self._theta = None  # the features changed: the cached fit does not apply
        if self._theta is None or n < _FULL_FIT_BELOW or n % _FULL_FIT_EVERY == 0:
            # Starts: the cached fit, the prior's mode, and draws from the prior by a
            # generator seeded by the data size (not the proposal's rng, so that a fit does
            # not depend on how many random numbers were drawn before it).
            fit_rng = np.random.default_rng([n, features.n_features])
            starts = [] if self._theta is None else [self._theta]
            starts.append(prior.mode())
            while len(starts) < _FIT_RESTARTS:
                starts.append(prior.draw(fit_rng))
            maxiter = _FULL_FIT_MAXITER
        else:
            starts = [self._theta]
            refine = n < _REFINE_BELOW or n % _REFINE_EVERY == 0
            maxiter = _REFINE_MAXITER if refine else 0
        gp, theta = _fit(
            x,
            y,
            deterministic=self.deterministic,
            starts=starts,
            maxiter=maxiter,
            noise_floor=self.noise_floor,
        )
        self._theta = theta
        best = float(y.min()) if y.size else 0.0
        if pending:
            # Constant liar: the mean warped loss (0 after standardisation).
            gp = gp.with_points(features.features(units_pending), np.zeros(len(pending)))
        return _Model(gp, best, self.xi, cached, features, y, units, beta=self.beta)

    def _optimise(
        self,
        cached: _Space,
        history: History,
        completed: list[Trial],
        rng: np.random.Generator,
    ) -> dict[str, Any] | None:
        enc, seen = cached.encoding, history.keys
        model = self._model(cached, history, completed)
        if cached.grid_units is not None:
            unseen = [i for i, k in enumerate(cached.grid_keys) if k not in seen]
            scores = model.score(cached.grid_units[unseen])
            return dict(cached.grid_values[unseen[int(np.argmax(scores))]])

        latent = self._candidates(model, rng)
        scores = model.score(enc.mask_inactive(latent))
        order = np.argsort(-scores, kind="stable")
        starts = _distinct_rows(latent[order], self.n_restarts)
        if starts.shape[0]:
            improved, improved_scores = model.maximise(starts)
            latent = np.vstack([improved, latent])
            scores = np.concatenate([improved_scores, scores])
            order = np.argsort(-scores, kind="stable")
        for i in order[:512]:
            values = enc.decode(enc.mask_inactive(latent[i])[0])
            if config_key(values) not in seen:
                return values
        return self._random_unseen(cached, history, rng)

    def _candidates(self, model: _Model, rng: np.random.Generator) -> FloatArray:
        """Sobol candidates, and perturbations of the best trials (latent units, rounded)."""
        enc = model.cached.encoding
        n_local = self.n_candidates // 4 if model.y.size else 0
        sobol = enc.sobol(self.n_candidates - n_local, rng)
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


def _distinct_rows(rows: FloatArray, n: int) -> FloatArray:
    kept: list[FloatArray] = []
    for row in rows:
        if len(kept) >= n:
            break
        if not any(np.allclose(row, other, atol=1e-9) for other in kept):
            kept.append(row)
    return np.array(kept) if kept else np.empty((0, rows.shape[1]))


class _Model:
    """The fitted GP with the acquisition and its maximisation over latent units."""

    def __init__(
        self,
        gp: _GaussianProcess,
        best: float,
        xi: float,
        cached: _Space,
        features: SpaceEncoding,
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
            log_h = _log_h(z)
            value = np.log(std) + log_h
            d_z = (-d_mean - z[:, None] * d_std) / std[:, None]
            grad = d_std / std[:, None] + _dlog_h(z, log_h)[:, None] * d_z
            grad = np.where(active, grad, 0.0)
            return -float(value.sum()), -grad.reshape(-1)

        x0 = latent[:, params].reshape(-1)
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            result = optimize.minimize(
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


def _options(spec: EncodedParameter, current: FloatArray) -> FloatArray:
    """Units to try for one parameter in the local search, one row per start."""
    n = spec.n_values or 1
    if spec.units is not None and n <= _ALL_VALUES_UP_TO:
        return np.tile(spec.units, (current.size, 1))
    # Many values: neighbours at 1, 2, 4, ... steps on either side.
    steps = 2.0 ** np.arange(int(math.log2(n)) + 1) / n
    offsets = np.concatenate([-steps, [0.0], steps])
    result: FloatArray = spec.round(current[:, None] + offsets[None, :])
    return result
