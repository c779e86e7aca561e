"""The Gaussian process behind :class:`~hyperscout.samplers.gp.GPSampler`, and its acquisition.

A Matérn-5/2 kernel with one length scale per feature, a signal variance and a noise variance,
fitted by maximising the log marginal likelihood plus log priors (analytic gradients,
L-BFGS-B); outputs warped (Yeo-Johnson, rank-preserving) and standardised; log expected
improvement computed stably where plain EI underflows (Ament et al., 2023). See the module
docstring of :mod:`hyperscout.samplers.gp` for how the sampler uses them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from hyperscout.samplers._scipy import lapack, optimize, special

__all__ = [
    "NOISE_FLOOR",
    "GaussianProcess",
    "Priors",
    "dlog_h",
    "fit_gp",
    "log_expected_improvement",
    "log_h",
    "warp_losses",
]

FloatArray = npt.NDArray[np.float64]

_SQRT5 = math.sqrt(5.0)
_LOG_2PI = math.log(2.0 * math.pi)
_HALF_LOG_PI_OVER_2 = 0.5 * math.log(math.pi / 2.0)
_EPS = float(np.finfo(float).eps)

# Bounds of the kernel hyperparameters (features live in [0, 1], outputs are standardised).
_LENGTH_SCALE_BOUNDS = (1e-2, 1e2)
_SIGNAL_BOUNDS = (1e-2, 1e2)
_NOISE_CEILING = 1.0
NOISE_FLOOR = 1e-6
_DETERMINISTIC_NOISE = 1e-6
_JITTER = 1e-9
_MIN_VARIANCE = 1e-12
_BLOCK = 256


def _log1mexp(x: FloatArray) -> FloatArray:
    """``log(1 - exp(x))`` for ``x < 0``, accurate near 0 and far from it."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > -math.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def log_h(z: FloatArray) -> FloatArray:
    """``log(phi(z) + z * Phi(z))``, the log of the expected improvement of a unit normal.

    Three regimes as in Ament et al. (2023): direct above -1; ``log phi(z)`` plus a
    ``log1mexp`` of an ``erfcx`` term down to ``-1/sqrt(eps)``; the asymptote below. Each
    regime is computed on inputs clipped to its range (few calls: the arrays are small).
    """
    z = np.asarray(z, dtype=float)
    far_limit = -1.0 / math.sqrt(_EPS)
    zu = np.maximum(z, -1.0)
    upper = np.log(np.exp(-0.5 * zu**2 - 0.5 * _LOG_2PI) + zu * np.exp(special().log_ndtr(zu)))
    zm = np.clip(z, far_limit, -1.0)
    log_term = np.log(special().erfcx(-zm / math.sqrt(2.0)) * -zm) + _HALF_LOG_PI_OVER_2
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
    result: FloatArray = np.log(std) + log_h(z)
    return result


def dlog_h(z: FloatArray, log_h: FloatArray) -> FloatArray:
    """Derivative of :func:`log_h`: ``Phi(z) / h(z)``, computed in logs."""
    result: FloatArray = np.exp(special().log_ndtr(z) - log_h)
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
    factor, info = lapack().dpotrf(matrix, lower=1, clean=1)
    jitter = 1e-8 * max(float(np.mean(np.diag(matrix))), 1e-12)
    n = matrix.shape[0]
    for _ in range(4):
        if info == 0:
            result: FloatArray = factor
            return result
        factor, info = lapack().dpotrf(matrix + jitter * np.eye(n), lower=1, clean=1)
        jitter *= 100.0
    return None


def _cho_inverse(factor: FloatArray) -> FloatArray:
    """The inverse of ``L L^T`` from its lower factor (whose upper triangle is zero)."""
    inv, _ = lapack().dpotri(factor, lower=1)  # the lower triangle; the upper stays zero
    diagonal = np.diag(inv).copy()
    full: FloatArray = inv + inv.T
    full.flat[:: full.shape[0] + 1] = diagonal
    return full


class Priors:
    """Log-normal priors on the kernel hyperparameters, as a negative log density."""

    def __init__(self, n_features: int, *, fit_noise: bool) -> None:
        d = max(n_features, 1)
        self.means = np.concatenate(
            [np.full(d, math.sqrt(2.0) + 0.5 * math.log(d)), [0.0], [-6.0] if fit_noise else []]
        )
        self.stds = np.concatenate([np.full(d, math.sqrt(3.0)), [1.0], [2.0] if fit_noise else []])

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

    def __init__(self, x: FloatArray, y: FloatArray, priors: Priors, noise: float | None):
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
        alpha, _ = lapack().dpotrs(factor, y, lower=1)
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


class GaussianProcess:
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

    def with_points(self, x_new: FloatArray, y_new: FloatArray) -> GaussianProcess:
        """The GP conditioned also on ``(x_new, y_new)``, reusing the Cholesky factor."""
        if x_new.shape[0] == 0:
            return self
        k21 = self._kernel(x_new, self.scaled)
        k22 = self._kernel(x_new, x_new / self.length_scales)
        k22.flat[:: x_new.shape[0] + 1] += self.noise + _JITTER
        # [[L11, 0], [L21, L22]] with L21 = K21 L11^-T and L22 L22^T = K22 - L21 L21^T.
        l21 = lapack().dtrtrs(self.factor, k21.T, lower=1)[0].T
        l22 = _cholesky(k22 - l21 @ l21.T)
        if l22 is None:  # a pending point on top of an observed one: leave it out
            return self
        n, m = self.x.shape[0], x_new.shape[0]
        factor = np.zeros((n + m, n + m))
        factor[:n, :n] = self.factor
        factor[n:, :n] = l21
        factor[n:, n:] = l22
        return GaussianProcess(
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


def fit_gp(
    x: FloatArray,
    y: FloatArray,
    *,
    deterministic: bool,
    starts: Sequence[FloatArray],
    maxiter: int,
    noise_floor: float = NOISE_FLOOR,
) -> tuple[GaussianProcess, FloatArray]:
    """Fit the hyperparameters from each start; the GP of the best and its log parameters."""
    d = x.shape[1]
    fixed_noise = _DETERMINISTIC_NOISE if deterministic else None
    priors = Priors(d, fit_noise=not deterministic)
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
            result = optimize().minimize(
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
        return GaussianProcess(
            x,
            y,
            length_scales,
            signal,
            1.0,
            np.eye(n) * math.sqrt(1.0 + signal),
            np.eye(n) / (1.0 + signal),
        ), best_theta
    return (
        GaussianProcess(x, y, length_scales, signal, noise, last[1], last[2]),
        best_theta,
    )
