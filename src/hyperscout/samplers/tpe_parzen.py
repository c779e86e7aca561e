"""The Parzen estimators of :class:`~hyperscout.samplers.tpe.TPESampler`: fit, draw, density.

A density here is a mixture over the encoded space of :class:`~hyperscout.samplers.tpe_layout.
Layout`: one component per trial (a product of kernels over the columns) and a uniform prior.
The kernels, the bandwidth rules and why they are what they are: see :mod:`hyperscout.samplers.
tpe`. ``multivariate=True`` draws and scores every column of a candidate from one component;
``False`` treats the columns as independent mixtures (the classic TPE).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hyperscout.samplers._scipy import special
from hyperscout.samplers.tpe_layout import CATEGORICAL, CONTINUOUS, Dim, Layout

__all__ = ["Parzen", "ParzenOptions", "draw", "fit", "log_density", "neighbour_gaps"]

Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]
Ints = NDArray[np.intp]

_RECENT = 25  # trials of a group that keep full weight under weights="old_decay"
_TINY = 1e-300  # floor of a kernel's mass, so that its logarithm stays finite
# Buckets at most this fraction of the bandwidth wide get the midpoint rule (error < 0.3%).
_NARROW = 0.25
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@dataclass(frozen=True)
class ParzenOptions:
    """The settings of :class:`~hyperscout.samplers.tpe.TPESampler` that shape a density."""

    prior_weight: float = 1.0
    consider_magic_clip: bool = True
    multivariate: bool = True
    min_bandwidth: float = 0.03
    weights: str = "uniform"
    n_ei_candidates: int = 24


@dataclass
class Parzen:
    """A kernel density estimator over the encoded space: one component per trial + a prior."""

    mu: Floats  # (n, D) centres; inactive entries hold 0.5 and are masked by ``active``
    active: Bools  # (n, D)
    weights: Floats  # (n,)
    prior_weight: float
    # (n, D): each component's Gaussian sigma in numeric columns; in categorical ones, beta
    # (the same for every component).
    bandwidth: Floats
    log_norm: Floats  # (n, D) log of each truncated Gaussian's mass on [0, 1]


def _normal_mass(za: Floats, zb: Floats) -> Floats:
    """P(za <= Z < zb) for a standard normal Z, accurate in both tails."""
    upper = special().ndtr(-za) - special().ndtr(-zb)
    lower = special().ndtr(zb) - special().ndtr(za)
    mass: Floats = np.where(za > 0, upper, lower)
    return mass


def _log_mix(log_components: Floats, log_prior: Floats) -> Floats:
    """log(sum(exp(row)) + exp(prior)) for each row of ``log_components``."""
    if log_components.shape[1] == 0:  # an empty group: only the prior
        return log_prior
    top = np.maximum(log_components.max(axis=1), log_prior)
    inner = np.exp(log_components - top[:, None]).sum(axis=1) + np.exp(log_prior - top)
    result: Floats = top + np.log(inner)
    return result


def _bucket_midpoints(dim: Dim, x: Floats, h: float) -> tuple[Floats | None, Floats | None]:
    """Where to evaluate a Gaussian density, and the log width it covers.

    Continuous values are their own point (width 1). The mass of a Gaussian over buckets that
    are narrow against its bandwidth is its density at the midpoint times the width (the
    midpoint rule); for wider buckets, (None, None): integrate exactly.
    """
    if dim.kind == CONTINUOUS:
        return x, np.zeros(len(x))
    a, b = dim.edges(x)
    width = b - a
    if width.max() > _NARROW * h:
        return None, None
    return (a + b) / 2, np.log(np.maximum(width, _TINY))


def _log_kernel(dim: Dim, model: Parzen, j: int, x: Floats) -> tuple[Floats, Floats]:
    """log k(x | component) for each candidate and component, and log prior(x), in column j."""
    mu = model.mu[:, j]
    if dim.kind == CATEGORICAL:
        beta = float(model.bandwidth[0, j]) if len(mu) else 0.5  # no components: unused
        same = x[:, None] == mu[None, :]
        log_k: Floats = np.where(same, math.log1p(-beta), math.log(beta / (dim.size - 1)))
        return log_k, np.full(len(x), -math.log(dim.size))
    h = model.bandwidth[:, j]
    # The Gaussian's log normalisation on [0, 1], per component.
    log_scale = (np.log(h) + _LOG_SQRT_2PI + model.log_norm[:, j])[None, :]
    if dim.kind == CONTINUOUS:
        z = (x[:, None] - mu[None, :]) / h
        log_k = -0.5 * z * z - log_scale
        return log_k, np.zeros(len(x))
    a, b = dim.edges(x)
    width = b - a
    if len(h) and width.max() <= _NARROW * h.min():
        z = ((a + b)[:, None] / 2 - mu[None, :]) / h
        log_width = np.log(np.maximum(width, _TINY))
        return -0.5 * z * z - log_scale + log_width[:, None], log_width
    mass = _normal_mass((a[:, None] - mu[None, :]) / h, (b[:, None] - mu[None, :]) / h)
    log_k = np.log(np.maximum(mass, _TINY)) - model.log_norm[None, :, j]
    return log_k, np.log(np.maximum(width, _TINY))


def neighbour_gaps(x: Floats) -> Floats:
    """Each value's bandwidth in its column: the larger gap to its two neighbours.

    The rule of Bergstra et al. (2011), as in Hyperopt and Optuna: a kernel is as wide as the
    empty space around its point, so kernels are narrow where a group's points crowd and wide
    where they are sparse. The outermost points of a column take the gap to their inner
    neighbour (not to the edge of the range); a lone point takes its distance to the farther
    edge; a value that several trials share gets 0 (the caller's floor), whatever order the
    sort leaves them in.
    """
    n, n_dims = x.shape
    if n < 2:
        return np.maximum(x, 1.0 - x)
    # Columns as rows (sorting along the last axis is the fast one), indexed flat.
    columns = np.ascontiguousarray(x.T)
    order = np.argsort(columns, axis=1)
    flat = (order + np.arange(0, n_dims * n, n)[:, None]).ravel()
    ranked = columns.ravel()[flat].reshape(n_dims, n)
    gaps = np.empty((n_dims, n + 1))  # gaps[:, i]: below the i-th smallest value
    np.subtract(ranked[:, 1:], ranked[:, :-1], out=gaps[:, 1:-1])
    gaps[:, 0] = gaps[:, 1]
    gaps[:, -1] = gaps[:, -2]
    below, above = gaps[:, :-1], gaps[:, 1:]
    widest = np.where(np.minimum(below, above) > 0.0, np.maximum(below, above), 0.0)
    result = np.empty(n_dims * n)
    result[flat] = widest.ravel()
    widths: Floats = result.reshape(n_dims, n).T
    return widths


def fit(layout: Layout, x: Floats, options: ParzenOptions, *, adaptive: bool = False) -> Parzen:
    """A density of the rows of ``x`` (NaN: inactive).

    Numeric bandwidths: with ``adaptive``, each trial's own, the gaps to its neighbours
    (:func:`neighbour_gaps`); otherwise one per column, by Scott's rule from the spread.
    Either way clipped below by ``min_bandwidth`` and the magic clip, above by 1.
    """
    n, n_dims = x.shape
    active = ~np.isnan(x)
    dense = bool(active.all())
    mu = x if dense else np.where(active, x, 0.5)
    weights = np.ones(n)
    if options.weights == "old_decay" and n > _RECENT:
        weights[: n - _RECENT] = np.linspace(1.0 / n, 1.0, n - _RECENT)
    count = np.full(n_dims, float(n)) if dense else active.sum(axis=0).astype(float)
    floor = np.full(n_dims, options.min_bandwidth)
    if options.consider_magic_clip:
        # n kernels and the prior: Watanabe's exponent 2 of Hyperopt's 1 / (n + 1).
        floor = np.maximum(floor, (count + 1.0) ** -2.0)
    numeric = layout.numeric
    if not adaptive:
        w = weights[:, None] * active
        total = w.sum(axis=0)
        safe_total = np.where(total > 0, total, 1.0)
        mean = (w * mu).sum(axis=0) / safe_total
        spread = np.sqrt((w * (mu - mean) ** 2).sum(axis=0) / safe_total)
        d = max(layout.n_numeric, 1) if options.multivariate else 1
        scott = (4.0 / (d + 2.0)) ** (1.0 / (d + 4.0)) * np.maximum(count, 1.0) ** (
            -1.0 / (d + 4.0)
        )
        bandwidth = np.repeat((scott * spread)[None, :], n, axis=0)
    elif dense:
        bandwidth = neighbour_gaps(mu)
    else:
        bandwidth = np.ones((n, n_dims))
        for j in np.flatnonzero(numeric):
            on = active[:, j]
            bandwidth[on, j] = neighbour_gaps(mu[on, j, None])[:, 0]
    bandwidth = np.clip(bandwidth, floor, 1.0)
    categories = layout.sizes[~numeric]
    bandwidth[:, ~numeric] = (categories - 1.0) / categories / (count[~numeric] + 1.0)
    # The mass of each truncated Gaussian on [0, 1] (1 for categorical columns).
    h = np.where(numeric, bandwidth, 1.0)
    centre = np.where(numeric, mu, 0.5)
    mass = special().ndtr((1.0 - centre) / h) - special().ndtr(-centre / h)
    log_norm = np.where(numeric, np.log(mass), 0.0)
    return Parzen(mu, active, weights, options.prior_weight, bandwidth, log_norm)


def draw(
    layout: Layout, model: Parzen, options: ParzenOptions, rng: np.random.Generator
) -> tuple[Floats, Bools]:
    """Candidates from the good density: encoded rows, and which entries are active.

    Every entry is drawn; a parameter whose condition fails in a candidate is then
    switched off (NaN), walking the parameters in definition order.
    """
    m = options.n_ei_candidates
    n, n_dims = model.active.shape
    # Component n is the prior: one pick per candidate (multivariate) or per entry.
    if options.multivariate:
        pick = np.repeat(_pick(model.weights, model.prior_weight, rng, m)[:, None], n_dims, axis=1)
    else:
        pick = np.column_stack(
            [
                _pick(model.weights * model.active[:, j], model.prior_weight, rng, m)
                for j in range(n_dims)
            ]
        )
    r1 = rng.random((m, n_dims))
    r2 = rng.random((m, n_dims))
    columns = np.arange(n_dims)
    from_kernel = pick < n
    comp = np.where(from_kernel, pick, 0)
    from_kernel &= model.active[comp, columns]
    centre = model.mu[comp, columns]
    bandwidth = model.bandwidth[comp, columns]
    numeric = layout.numeric
    # Numeric columns: a truncated Gaussian by inversion of its distribution function.
    h = np.where(numeric, bandwidth, 1.0)
    lo = special().ndtr(-centre / h)
    hi = special().ndtr((1.0 - centre) / h)
    p = np.clip(lo + r1 * (hi - lo), _TINY, 1.0 - 1e-16)
    gaussian = np.clip(centre + h * special().ndtri(p), 0.0, 1.0)
    # Categorical columns: keep the category with probability 1 - beta, else another one.
    sizes = layout.sizes
    other = np.floor(r2 * (sizes - 1.0))
    other += other >= centre
    categorical = np.where(r1 >= bandwidth, centre, other)
    uniform = np.where(numeric, r1, np.minimum(np.floor(r1 * sizes), sizes - 1.0))
    u = np.where(from_kernel, np.where(numeric, gaussian, categorical), uniform)
    active = np.ones((m, n_dims), dtype=bool)
    if layout.conditional:
        layout.switch_off(u, active)
    return u, active


def _pick(weights: Floats, prior_weight: float, rng: np.random.Generator, m: int) -> Ints:
    cumulative = np.cumsum(np.append(weights, prior_weight))
    picks: Ints = np.searchsorted(cumulative, rng.random(m) * cumulative[-1], side="right")
    return np.minimum(picks, len(weights))


def log_density(
    layout: Layout, model: Parzen, u: Floats, active: Bools, *, multivariate: bool
) -> Floats:
    """log l(u) of each candidate (entries where ``active`` is False are left out)."""
    if not multivariate:
        return _log_density_univariate(layout, model, u, active)
    m, n = u.shape[0], model.mu.shape[0]
    joint = np.zeros((m, n))
    component = np.log(np.maximum(model.weights, _TINY))  # terms of one component
    candidate = np.zeros(m)  # terms of one candidate, in every component
    prior = np.zeros(m)
    # Gaussian columns where every candidate and every component is active are summed in
    # one matrix product (_add_products); the others column by column.
    quad: list[int] = []
    quad_x: list[Floats] = []
    for j, dim in enumerate(layout.dims):
        on = active[:, j]
        if not on.any():
            continue
        all_on = bool(on.all())
        x = u[:, j] if all_on else np.where(on, u[:, j], 0.5)
        dense = all_on and bool(model.active[:, j].all())
        if dense and dim.kind != CATEGORICAL:
            narrowest = float(model.bandwidth[:, j].min()) if n else 1.0
            centre, log_width = _bucket_midpoints(dim, x, narrowest)
            if centre is not None and log_width is not None:
                quad.append(j)
                quad_x.append(centre)
                candidate += log_width
                prior += log_width
                continue
        log_k, log_prior = _log_kernel(dim, model, j, x)
        if not dense:
            # A trial without this parameter says nothing about it: the prior stands in.
            log_k = np.where(model.active[None, :, j], log_k, log_prior[:, None])
            log_k = np.where(on[:, None], log_k, 0.0)
            log_prior = np.where(on, log_prior, 0.0)
        joint += log_k
        prior += log_prior
    if quad:
        _add_products(model, quad, np.column_stack(quad_x), joint, component)
    joint += component[None, :]
    joint += candidate[:, None]
    total = float(model.weights.sum()) + model.prior_weight
    return _log_mix(joint, prior + math.log(model.prior_weight)) - math.log(total)


def _add_products(
    model: Parzen, quad: list[int], xs: Floats, joint: Floats, component: Floats
) -> None:
    """Add the Gaussian log kernels of columns ``quad`` (values ``xs``) in place.

    With precisions p = 1 / h^2 (h: a component's bandwidth), sum_d p_d (x_d - mu_d)^2 =
    sum_d x_d^2 p_d - 2 x_d (mu_d p_d) + mu_d^2 p_d: the first two terms are
    [x^2, x] @ [-p / 2, mu p]^T, one matrix product into ``joint`` (candidates by
    components); the last, with the normalisations, is one number per component.
    """
    whole = len(quad) == model.mu.shape[1]  # no copies in the common case
    h = model.bandwidth if whole else model.bandwidth[:, quad]
    mu = model.mu if whole else model.mu[:, quad]
    log_norm = model.log_norm if whole else model.log_norm[:, quad]
    precision = 1.0 / (h * h)
    weighted = mu * precision
    joint += np.hstack([xs * xs, xs]) @ np.hstack([-0.5 * precision, weighted]).T
    component -= (0.5 * mu * weighted + np.log(h) + log_norm).sum(axis=1)
    component -= len(quad) * _LOG_SQRT_2PI


def _log_density_univariate(layout: Layout, model: Parzen, u: Floats, active: Bools) -> Floats:
    """Sum over dimensions of log l_d(u_d), each l_d fitted where its parameter is active."""
    total = np.zeros(u.shape[0])
    log_w = np.log(np.maximum(model.weights, _TINY))
    for j, dim in enumerate(layout.dims):
        on = active[:, j]
        if not on.any():
            continue
        log_k, log_prior = _log_kernel(dim, model, j, np.where(on, u[:, j], 0.5))
        mixture = np.where(model.active[None, :, j], log_k + log_w[None, :], -np.inf)
        weight = float(model.weights @ model.active[:, j]) + model.prior_weight
        density = _log_mix(mixture, log_prior + math.log(model.prior_weight))
        total += np.where(on, density - math.log(weight), 0.0)
    return total
