"""Tree-structured Parzen estimator (TPE): a model-based sampler that stays fast at scale.

TPE (Bergstra et al., 2011) does not model the loss; it models where good and bad
configurations lie. Each call:

1. ranks the completed trials by loss and splits them: the best ``gamma(n)`` form the *good*
   group, the others (with the trials still running and the pruned ones) the *bad* group;
2. fits a kernel density estimator to each group in the ``[0, 1]`` encoding of the space,
   ``l(x)`` to the good trials and ``g(x)`` to the bad ones;
3. draws ``n_ei_candidates`` configurations from ``l`` and proposes the one with the largest
   ``l(x) / g(x)``, which is the one with the largest expected improvement.

The defaults follow the ablation study of Watanabe (2023), "Tree-structured Parzen estimator:
understanding its algorithm components and their roles for better empirical performance"
(arXiv:2304.11127):

- **Multivariate kernel.** Each trial is one component of the mixture, a product of kernels
  over all dimensions. A candidate is drawn by picking a component and sampling every dimension
  from that component's kernels, so correlated parameters are proposed together.
  ``multivariate=False`` gives the classic independent (univariate) TPE.
- **Prior.** A uniform component (uniform in the encoding, over the categories) of weight
  ``prior_weight=1.0`` joins both mixtures, so no region is ever ruled out.
- **Bandwidth.** For ``l``, Scott's rule per dimension, ``sigma * (4 / (d + 2)) ** (1 / (d +
  4)) * n ** (-1 / (d + 4))`` from the spread ``sigma`` of the good trials. For ``g``, each
  trial's own per dimension, the larger gap to its two neighbours among the bad trials (the
  rule of Bergstra et al., as in Hyperopt and Optuna). Both are clipped from below by
  ``min_bandwidth=0.03`` and by the magic clip (``consider_magic_clip``), ``1 / (n + 1) ** 2``
  of the range for ``n`` trials and the prior: Hyperopt's ``1 / min(100, n + 1)`` with the
  exponent 2 of the paper's reference implementation (which also takes 0.03 as the minimum).

  Why: the bad trials crowd where the search has been, around the good ones. One bandwidth
  from their spread (a fifth of the range or so) smeared them over the good region, so
  ``l / g`` peaked in the gaps *between* the bad trials, away from the good ones; and
  Hyperopt's clip, with ``n`` about a tenth of the trials, kept ``l`` at a third to a seventh
  of the range for the first 60 trials, so the candidates hardly depended on where the good
  trials were. Searches stalled far from any optimum (Branin, 3 seeds of 10 at 60 trials).
- **Split.** ``gamma(n) = min(ceil(0.1 n), 25)`` good trials out of ``n`` completed ones
  (:func:`default_gamma`): linear in ``n`` and capped.
- **Weights.** Every trial weighs the same (``weights="uniform"``); ``"old_decay"`` ramps
  the weight of all but the 25 newest trials of a group down linearly, as Hyperopt does.
- ``n_ei_candidates=24`` candidates, after ``n_startup_trials=10`` random trials.

Kernels, by kind of parameter:

- continuous numbers: a Gaussian truncated to ``[0, 1]``;
- numbers with finitely many values (ints, stepped floats, ordered choices): the same
  Gaussian *discretised* over the buckets of the encoding (for a log-scaled int, the unequal
  stretches of ``[0, 1]`` that round to each integer). A draw is a continuous draw that
  ``decode`` rounds to its bucket, and a value's probability is the kernel's mass over its
  bucket: exact, or by the midpoint rule once buckets are narrower than a quarter of the
  bandwidth (within 0.3%). So values are always on their grid and the density is that of
  the draws;
- unordered choices and booleans: an Aitchison-Aitken kernel that keeps ``1 - beta`` on the
  observed category and spreads ``beta = (C - 1) / C / (n + 1)`` over the others. The position
  of a category in its list never matters.

Constants (``hp.Fixed``, a range of one value) are not searched; they take their value.
Conditional parameters are absent from the trials where their condition fails. In such a trial
the component's kernel for that dimension is replaced by the uniform prior (the trial says
nothing about it), and bandwidths are fitted on the trials where the dimension is active. A
candidate is built by walking the parameters in definition order and drawing a parameter only
when its condition holds for the values drawn so far; so proposals hold exactly the active
parameters.

Running trials count as bad (``constant_liar=True``): parallel workers asking at the same
time are pushed away from one another's pending configurations. A proposal is never a
configuration a trial already ran (a trial ran every configuration that agrees with the values
it read, see :class:`~hyperscout.samplers.base.Coverage`): the next best candidate is taken,
then a random unseen configuration; a finite space that is exhausted gives None. Parameters a
trial did not read are absent from it, and treated as inactive there.

The encoded trials are cached on the sampler (finished trials never change), so a call
encodes only the new trials and the rest is a few vectorised NumPy operations.

>>> import hyperscout as hs
>>> def objective(hp):
...     x = hp.Float("x", -5.0, 5.0)
...     kind = hp.Choice("kind", ["a", "b", "c"])
...     return (x - 1.0) ** 2 + (0.0 if kind == "b" else 1.0)
>>> tuner = hs.Tuner(
...     objective, sampler=TPESampler(), max_trials=40, storage="memory", verbose=0, seed=0
... )
>>> tuner.search()
>>> best = tuner.get_best_hyperparameters()[0]
>>> best["kind"], abs(best["x"] - 1.0) < 0.5
('b', True)
"""

from __future__ import annotations

import contextlib
import math
import operator
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hyperscout.exceptions import InvalidArgumentError
from hyperscout.history import History
from hyperscout.samplers._scipy import special
from hyperscout.samplers.base import Sampler
from hyperscout.samplers.random import RandomSampler
from hyperscout.space import HyperParameters, Int, Parameter
from hyperscout.trial import Trial, TrialState

__all__ = ["TPESampler", "default_gamma"]

Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]
Ints = NDArray[np.intp]

_CONTINUOUS = 0  # a truncated Gaussian on [0, 1]
_BUCKETS = 1  # n equal buckets of [0, 1] (ints, steps, ordered choices)
_LOG_INT = 2  # an int on a log scale: integer v owns the part of [0, 1] that rounds to it
_CATEGORICAL = 3  # unordered: an Aitchison-Aitken kernel over category indices

_WEIGHTS = ("uniform", "old_decay")
_RECENT = 25  # trials of a group that keep full weight under weights="old_decay"
_TINY = 1e-300  # floor of a kernel's mass, so that its logarithm stays finite
# Buckets at most this fraction of the bandwidth wide get the midpoint rule (error < 0.3%).
_NARROW = 0.25
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def default_gamma(n: int) -> int:
    """How many of ``n`` completed trials form the good group: ``min(ceil(0.1 n), 25)``.

    >>> [default_gamma(n) for n in (1, 10, 11, 100, 1000)]
    [1, 1, 2, 10, 25]
    """
    return min(math.ceil(0.1 * n), 25)


@dataclass(frozen=True)
class _Dim:
    """One searched parameter, a column of the encoded matrix, and the kind of its kernel."""

    param: Parameter
    kind: int
    size: int  # buckets or categories; 0 for continuous parameters
    # For an int on a log scale: the log of its range edges, min - 1/2 and max + 1/2.
    log_lo: float = 0.0
    log_span: float = 1.0

    def encode(self, value: Any) -> float:
        unit = self.param.encode(value)
        if self.kind == _CATEGORICAL:
            return float(min(int(unit * self.size), self.size - 1))
        return float(unit)

    def decode(self, x: float) -> Any:
        if self.kind == _CATEGORICAL:
            return self.param.decode((x + 0.5) / self.size)
        return self.param.decode(x)

    def edges(self, u: Floats) -> tuple[Floats, Floats]:
        """The bucket ``[a, b)`` of ``[0, 1]`` that each of ``u`` decodes to."""
        if self.kind == _BUCKETS:
            k = np.clip(np.floor(u * self.size), 0, self.size - 1)
            return k / self.size, (k + 1) / self.size
        lo = math.exp(self.log_lo)
        hi = math.exp(self.log_lo + self.log_span)
        v = np.clip(np.round(np.exp(self.log_lo + u * self.log_span)), lo + 0.5, hi - 0.5)
        a = (np.log(v - 0.5) - self.log_lo) / self.log_span
        b = (np.log(v + 0.5) - self.log_lo) / self.log_span
        return np.clip(a, 0.0, 1.0), np.clip(b, 0.0, 1.0)


@dataclass(frozen=True)
class _Layout:
    """How a space maps to the columns of the encoded matrix."""

    params: list[Parameter]
    dims: list[_Dim]  # the searched parameters, in definition order
    column: dict[str, int]  # name -> column of a searched parameter
    parents: frozenset[str]  # names that some condition depends on
    numeric: Bools  # columns with a Gaussian kernel (the others are categorical)
    sizes: Floats  # buckets or categories of each column (0 for continuous ones)
    conditional: bool  # some parameter has a condition

    @property
    def n_numeric(self) -> int:
        return int(self.numeric.sum())

    @classmethod
    def of(cls, params: list[Parameter]) -> _Layout:
        dims: list[_Dim] = []
        for param in params:
            size = param.cardinality
            if size == 1 or (size is None and param.decode(0.0) == param.decode(1.0)):
                continue  # a constant: nothing to search
            if param.is_categorical and size is not None:
                dims.append(_Dim(param, _CATEGORICAL, size))
            elif size is None:
                dims.append(_Dim(param, _CONTINUOUS, 0))
            elif isinstance(param, Int) and param.sampling == "log" and param.step is None:
                lo = math.log(param.min_value - 0.5)
                span = math.log(param.max_value + 0.5) - lo
                dims.append(_Dim(param, _LOG_INT, size, lo, span))
            else:
                dims.append(_Dim(param, _BUCKETS, size))
        return cls(
            params=params,
            dims=dims,
            column={d.param.name: j for j, d in enumerate(dims)},
            parents=frozenset(c.parent for p in params for c in p.conditions),
            numeric=np.array([d.kind != _CATEGORICAL for d in dims], dtype=bool),
            sizes=np.array([d.size for d in dims], dtype=float),
            conditional=any(p.conditions for p in params),
        )

    def encode(self, values: Mapping[str, Any]) -> Floats:
        """One trial as a row: encoded values, NaN where a parameter is absent."""
        row = np.full(len(self.dims), np.nan)
        for j, dim in enumerate(self.dims):
            if dim.param.name in values:
                # A value from an older definition of the space is unknown here: NaN.
                with contextlib.suppress(ValueError, TypeError):
                    row[j] = dim.encode(values[dim.param.name])
        return row


class _EncodedTrials:
    """Finished trials encoded once (finished trials never change), found again cheaply.

    Row ``i`` holds ``trials[i]``. While the history starts with the very trial objects cached
    (``prefix`` of them, in order), those are matched by identity at C speed; other trials are
    looked up by number and compared.
    """

    def __init__(self, layout: _Layout) -> None:
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


@dataclass
class _Parzen:
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


def _bucket_midpoints(dim: _Dim, x: Floats, h: float) -> tuple[Floats | None, Floats | None]:
    """Where to evaluate a Gaussian density, and the log width it covers.

    Continuous values are their own point (width 1). The mass of a Gaussian over buckets that
    are narrow against its bandwidth is its density at the midpoint times the width (the
    midpoint rule); for wider buckets, (None, None): integrate exactly.
    """
    if dim.kind == _CONTINUOUS:
        return x, np.zeros(len(x))
    a, b = dim.edges(x)
    width = b - a
    if width.max() > _NARROW * h:
        return None, None
    return (a + b) / 2, np.log(np.maximum(width, _TINY))


def _log_kernel(dim: _Dim, model: _Parzen, j: int, x: Floats) -> tuple[Floats, Floats]:
    """log k(x | component) for each candidate and component, and log prior(x), in column j."""
    mu = model.mu[:, j]
    if dim.kind == _CATEGORICAL:
        beta = float(model.bandwidth[0, j]) if len(mu) else 0.5  # no components: unused
        same = x[:, None] == mu[None, :]
        log_k: Floats = np.where(same, math.log1p(-beta), math.log(beta / (dim.size - 1)))
        return log_k, np.full(len(x), -math.log(dim.size))
    h = model.bandwidth[:, j]
    # The Gaussian's log normalisation on [0, 1], per component.
    log_scale = (np.log(h) + _LOG_SQRT_2PI + model.log_norm[:, j])[None, :]
    if dim.kind == _CONTINUOUS:
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


def _neighbour_gaps(x: Floats) -> Floats:
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


class TPESampler(Sampler):
    """A multivariate tree-structured Parzen estimator; see the module docs for the algorithm.

    Args:
        n_startup_trials: completed trials drawn at random before the model is used.
        n_ei_candidates: candidates drawn from the good density each call; the best ratio wins.
        gamma: ``gamma(n)`` gives how many of ``n`` completed trials are good;
            None for :func:`default_gamma`.
        prior_weight: weight of the uniform prior component (each trial weighs at most 1).
        consider_magic_clip: clip bandwidths below at ``1 / (n + 1) ** 2`` of the range, for
            a density of ``n`` trials.
        multivariate: a joint product kernel (True) or independent dimensions (False).
        constant_liar: count running trials as bad, so parallel workers spread out.
        min_bandwidth: the smallest bandwidth, as a fraction of the encoded range ``[0, 1]``.
        weights: ``"uniform"`` or ``"old_decay"`` (older trials weigh less).

    >>> import numpy as np
    >>> from hyperscout.objective import Objective
    >>> from hyperscout.trial import Trial, TrialState
    >>> hp = HyperParameters(); _ = hp.Float("x", 0.0, 1.0)
    >>> done = [Trial(i, {"x": i / 10}, TrialState.COMPLETE, value=abs(i / 10 - 0.3))
    ...         for i in range(11)]
    >>> proposal = TPESampler().sample(hp, History(done, Objective("loss")),
    ...                                np.random.default_rng(0))
    >>> 0.0 <= proposal["x"] <= 1.0
    True
    """

    def __init__(
        self,
        *,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        gamma: Callable[[int], int] | None = None,
        prior_weight: float = 1.0,
        consider_magic_clip: bool = True,
        multivariate: bool = True,
        constant_liar: bool = True,
        min_bandwidth: float = 0.03,
        weights: str = "uniform",
    ) -> None:
        _check("n_startup_trials", n_startup_trials, _is_int(n_startup_trials, 1), "an int >= 1")
        _check("n_ei_candidates", n_ei_candidates, _is_int(n_ei_candidates, 1), "an int >= 1")
        _check(
            "gamma",
            gamma,
            gamma is None or callable(gamma),
            "a function of the number of completed trials, or None",
        )
        _check(
            "prior_weight",
            prior_weight,
            _is_real(prior_weight) and 0 < prior_weight < math.inf,
            "a finite number > 0",
        )
        for name, flag in (
            ("consider_magic_clip", consider_magic_clip),
            ("multivariate", multivariate),
            ("constant_liar", constant_liar),
        ):
            _check(name, flag, isinstance(flag, (bool, np.bool_)), "True or False")
        _check(
            "min_bandwidth",
            min_bandwidth,
            _is_real(min_bandwidth) and 0 < min_bandwidth <= 1,
            "a number in (0, 1] (a fraction of the encoded range)",
        )
        _check("weights", weights, weights in _WEIGHTS, f"one of {_WEIGHTS}")
        self.n_startup_trials = int(n_startup_trials)
        self.n_ei_candidates = int(n_ei_candidates)
        self.gamma: Callable[[int], int] = default_gamma if gamma is None else gamma
        self.prior_weight = float(prior_weight)
        self.consider_magic_clip = bool(consider_magic_clip)
        self.multivariate = bool(multivariate)
        self.constant_liar = bool(constant_liar)
        self.min_bandwidth = float(min_bandwidth)
        self.weights = weights
        self._random = RandomSampler()
        self._cache: _EncodedTrials | None = None
        self._lock = threading.Lock()  # the cache, when threads ask at once

    def __getstate__(self) -> dict[str, Any]:
        # The cache is rebuilt from the history; a lock cannot be pickled.
        state = dict(self.__dict__)
        state["_cache"] = None
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def settings(self) -> dict[str, Any]:
        gamma = None if self.gamma is default_gamma else getattr(self.gamma, "__name__", "custom")
        return {
            "n_startup_trials": self.n_startup_trials,
            "n_ei_candidates": self.n_ei_candidates,
            "gamma": gamma,
            "prior_weight": self.prior_weight,
            "consider_magic_clip": self.consider_magic_clip,
            "multivariate": self.multivariate,
            "constant_liar": self.constant_liar,
            "min_bandwidth": self.min_bandwidth,
            "weights": self.weights,
        }

    def __repr__(self) -> str:
        return (
            f"TPESampler(n_startup_trials={self.n_startup_trials}, "
            f"n_ei_candidates={self.n_ei_candidates}, multivariate={self.multivariate}, "
            f"constant_liar={self.constant_liar})"
        )

    # -- the proposal ---------------------------------------------------------------------
    def sample(
        self, space: HyperParameters, history: History, rng: np.random.Generator
    ) -> dict[str, Any] | None:
        params = space.space
        with self._lock:
            cache = self._cache
            if cache is None or cache.layout.params != params:
                cache = self._cache = _EncodedTrials(_Layout.of(params))
            rows, running = cache.lookup(list(history[:]))
            # Copies, so that a thread extending the cache cannot change them under us.
            value = cache.value[rows]
            number = cache.number[: len(cache.trials)].copy()
            pruned = cache.pruned[rows]
            matrix = cache.matrix
        layout = cache.layout
        complete = rows[~np.isnan(value)]
        if len(complete) < self.n_startup_trials or not layout.dims:
            return self._random.sample(space, history, rng)

        losses = value[~np.isnan(value)] * history.objective.sign
        n_good = self._n_good(len(complete))
        ranked = complete[np.lexsort((number[complete], losses))]  # by loss, then trial number
        # Components in trial order, whatever order the cache met the trials in: the same
        # history gives the same proposal from a fresh sampler or a warm one.
        good_rows = ranked[:n_good]
        good_rows = good_rows[np.argsort(number[good_rows])]
        bad_rows = np.concatenate([ranked[n_good:], rows[pruned]])
        bad_rows = bad_rows[np.argsort(number[bad_rows])]
        good_x = matrix[good_rows]
        bad_x = matrix[bad_rows]
        if self.constant_liar and running:
            pending = np.array([layout.encode(t.values) for t in running])
            bad_x = np.vstack([bad_x, pending])

        good = self._fit(layout, good_x)
        worse = self._fit(layout, bad_x, adaptive=True)
        u, active = self._draw(layout, good, rng)
        score = self._log_density(layout, good, u, active) - self._log_density(
            layout, worse, u, active
        )
        seen = history.coverage
        for k in np.argsort(-score, kind="stable"):
            values = self._decode(layout, u[k])
            if not seen.covers(values):
                return values
        # Every candidate was tried already: the good region is exhausted (or the space is).
        return self._random.sample(space, history, rng)

    def _n_good(self, n: int) -> int:
        value = self.gamma(n)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise InvalidArgumentError(
                f"TPESampler(gamma=...): gamma({n}) must return a number of trials, got {value!r}."
            )
        return int(min(max(math.ceil(value), 1), n))

    # -- the model ------------------------------------------------------------------------
    def _fit(self, layout: _Layout, x: Floats, *, adaptive: bool = False) -> _Parzen:
        """A density of the rows of ``x`` (NaN: inactive).

        Numeric bandwidths: with ``adaptive``, each trial's own, the gaps to its neighbours
        (:func:`_neighbour_gaps`); otherwise one per column, by Scott's rule from the spread.
        Either way clipped below by ``min_bandwidth`` and the magic clip, above by 1.
        """
        n, n_dims = x.shape
        active = ~np.isnan(x)
        dense = bool(active.all())
        mu = x if dense else np.where(active, x, 0.5)
        weights = np.ones(n)
        if self.weights == "old_decay" and n > _RECENT:
            weights[: n - _RECENT] = np.linspace(1.0 / n, 1.0, n - _RECENT)
        count = np.full(n_dims, float(n)) if dense else active.sum(axis=0).astype(float)
        floor = np.full(n_dims, self.min_bandwidth)
        if self.consider_magic_clip:
            # n kernels and the prior: Watanabe's exponent 2 of Hyperopt's 1 / (n + 1).
            floor = np.maximum(floor, (count + 1.0) ** -2.0)
        numeric = layout.numeric
        if not adaptive:
            w = weights[:, None] * active
            total = w.sum(axis=0)
            safe_total = np.where(total > 0, total, 1.0)
            mean = (w * mu).sum(axis=0) / safe_total
            spread = np.sqrt((w * (mu - mean) ** 2).sum(axis=0) / safe_total)
            d = max(layout.n_numeric, 1) if self.multivariate else 1
            scott = (4.0 / (d + 2.0)) ** (1.0 / (d + 4.0)) * np.maximum(count, 1.0) ** (
                -1.0 / (d + 4.0)
            )
            bandwidth = np.repeat((scott * spread)[None, :], n, axis=0)
        elif dense:
            bandwidth = _neighbour_gaps(mu)
        else:
            bandwidth = np.ones((n, n_dims))
            for j in np.flatnonzero(numeric):
                on = active[:, j]
                bandwidth[on, j] = _neighbour_gaps(mu[on, j, None])[:, 0]
        bandwidth = np.clip(bandwidth, floor, 1.0)
        categories = layout.sizes[~numeric]
        bandwidth[:, ~numeric] = (categories - 1.0) / categories / (count[~numeric] + 1.0)
        # The mass of each truncated Gaussian on [0, 1] (1 for categorical columns).
        h = np.where(numeric, bandwidth, 1.0)
        centre = np.where(numeric, mu, 0.5)
        mass = special().ndtr((1.0 - centre) / h) - special().ndtr(-centre / h)
        log_norm = np.where(numeric, np.log(mass), 0.0)
        return _Parzen(mu, active, weights, self.prior_weight, bandwidth, log_norm)

    def _draw(
        self, layout: _Layout, model: _Parzen, rng: np.random.Generator
    ) -> tuple[Floats, Bools]:
        """Candidates from the good density: encoded rows, and which entries are active.

        Every entry is drawn; a parameter whose condition fails in a candidate is then
        switched off (NaN), walking the parameters in definition order.
        """
        m = self.n_ei_candidates
        n, n_dims = model.active.shape
        # Component n is the prior: one pick per candidate (multivariate) or per entry.
        if self.multivariate:
            pick = np.repeat(
                self._pick(model.weights, model.prior_weight, rng, m)[:, None], n_dims, axis=1
            )
        else:
            pick = np.column_stack(
                [
                    self._pick(model.weights * model.active[:, j], model.prior_weight, rng, m)
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
            self._switch_off(layout, u, active)
        return u, active

    @staticmethod
    def _switch_off(layout: _Layout, u: Floats, active: Bools) -> None:
        """Mark (and blank) the entries whose parameter's condition fails in the candidate."""
        for k in range(len(u)):
            values: dict[str, Any] = {}
            for param in layout.params:
                j = layout.column.get(param.name)
                if not param.is_active(values):
                    if j is not None:
                        active[k, j] = False
                        u[k, j] = np.nan
                elif param.name in layout.parents:
                    values[param.name] = (
                        param.decode(0.5) if j is None else layout.dims[j].decode(float(u[k, j]))
                    )

    @staticmethod
    def _pick(weights: Floats, prior_weight: float, rng: np.random.Generator, m: int) -> Ints:
        cumulative = np.cumsum(np.append(weights, prior_weight))
        picks: Ints = np.searchsorted(cumulative, rng.random(m) * cumulative[-1], side="right")
        return np.minimum(picks, len(weights))

    def _log_density(self, layout: _Layout, model: _Parzen, u: Floats, active: Bools) -> Floats:
        """log l(u) of each candidate (entries where ``active`` is False are left out)."""
        if not self.multivariate:
            return self._log_density_univariate(layout, model, u, active)
        m, n = u.shape[0], model.mu.shape[0]
        joint = np.zeros((m, n))
        component = np.log(np.maximum(model.weights, _TINY))  # terms of one component
        candidate = np.zeros(m)  # terms of one candidate, in every component
        prior = np.zeros(m)
        # Gaussian columns where every candidate and every component is active are summed in
        # one matrix product. With precisions p = 1 / h^2 (h: a component's bandwidth),
        # sum_d p_d (x_d - mu_d)^2 = sum_d x_d^2 p_d - 2 x_d (mu_d p_d) + mu_d^2 p_d: the first
        # two terms are [x^2, x] @ [-p / 2, mu p]^T, the last is one number per component.
        quad: list[int] = []
        quad_x: list[Floats] = []
        for j, dim in enumerate(layout.dims):
            on = active[:, j]
            if not on.any():
                continue
            all_on = bool(on.all())
            x = u[:, j] if all_on else np.where(on, u[:, j], 0.5)
            dense = all_on and bool(model.active[:, j].all())
            if dense and dim.kind != _CATEGORICAL:
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
            whole = len(quad) == len(layout.dims)  # no copies in the common case
            h = model.bandwidth if whole else model.bandwidth[:, quad]
            mu = model.mu if whole else model.mu[:, quad]
            log_norm = model.log_norm if whole else model.log_norm[:, quad]
            xs = np.column_stack(quad_x)
            precision = 1.0 / (h * h)
            weighted = mu * precision
            joint += np.hstack([xs * xs, xs]) @ np.hstack([-0.5 * precision, weighted]).T
            component -= (0.5 * mu * weighted + np.log(h) + log_norm).sum(axis=1)
            component -= len(quad) * _LOG_SQRT_2PI
        joint += component[None, :]
        joint += candidate[:, None]
        total = float(model.weights.sum()) + model.prior_weight
        return _log_mix(joint, prior + math.log(model.prior_weight)) - math.log(total)

    def _log_density_univariate(
        self, layout: _Layout, model: _Parzen, u: Floats, active: Bools
    ) -> Floats:
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

    @staticmethod
    def _decode(layout: _Layout, row: Floats) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for param in layout.params:
            if not param.is_active(values):
                continue
            j = layout.column.get(param.name)
            if j is None:
                values[param.name] = param.decode(0.5)
            else:
                values[param.name] = layout.dims[j].decode(float(row[j]))
        return values


def _is_int(value: Any, minimum: int) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        return False
    return int(value) >= minimum


def _is_real(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))


def _check(name: str, value: Any, ok: bool, expected: str) -> None:
    """The one template of the argument errors of :class:`TPESampler`."""
    if not ok:
        raise InvalidArgumentError(f"TPESampler({name}=...): expected {expected}, got {value!r}.")
