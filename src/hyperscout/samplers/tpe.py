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

Where the code lives: this module splits the trials into the good and bad groups and picks
the proposal; :mod:`~hyperscout.samplers.tpe_layout` maps the space to the columns of the
encoded matrix (through :class:`~hyperscout.samplers.encoding.SpaceEncoding`, which the GP
uses too) and caches the encoded trials; :mod:`~hyperscout.samplers.tpe_parzen` fits the
densities, draws the candidates and computes their log densities.

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

import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hyperscout._validation import check, check_bool, check_choice, check_int, check_number, fail
from hyperscout.history import History
from hyperscout.samplers.base import Sampler, plain
from hyperscout.samplers.random import RandomSampler
from hyperscout.samplers.tpe_layout import EncodedTrials, Layout
from hyperscout.samplers.tpe_parzen import ParzenOptions, draw, fit, log_density
from hyperscout.space import HyperParameters

__all__ = ["TPESampler", "default_gamma"]

_OWNER = "TPESampler"
_WEIGHTS = ("uniform", "old_decay")

Floats = NDArray[np.float64]


def default_gamma(n: int) -> int:
    """How many of ``n`` completed trials form the good group: ``min(ceil(0.1 n), 25)``.

    >>> [default_gamma(n) for n in (1, 10, 11, 100, 1000)]
    [1, 1, 2, 10, 25]
    """
    return min(math.ceil(0.1 * n), 25)


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
        check_int(_OWNER, "n_startup_trials", plain(n_startup_trials), minimum=1)
        check_int(_OWNER, "n_ei_candidates", plain(n_ei_candidates), minimum=1)
        check(
            _OWNER,
            "gamma",
            gamma,
            gamma is None or callable(gamma),
            "a function of the number of completed trials, or None",
        )
        check_number(_OWNER, "prior_weight", plain(prior_weight), minimum=0, above=True)
        check_bool(_OWNER, "consider_magic_clip", plain(consider_magic_clip))
        check_bool(_OWNER, "multivariate", plain(multivariate))
        check_bool(_OWNER, "constant_liar", plain(constant_liar))
        check_number(
            _OWNER, "min_bandwidth", plain(min_bandwidth), minimum=0, maximum=1, above=True
        )
        check_choice(_OWNER, "weights", weights, _WEIGHTS)
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
        self._cache: EncodedTrials | None = None
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
        layout, groups = self._groups(space, history)
        if groups is None:  # still starting up (or nothing to search)
            return self._random.sample(space, history, rng)
        good_x, bad_x = groups
        options = self._options()
        good = fit(layout, good_x, options)
        worse = fit(layout, bad_x, options, adaptive=True)
        u, active = draw(layout, good, options, rng)
        multivariate = self.multivariate
        score = log_density(layout, good, u, active, multivariate=multivariate) - log_density(
            layout, worse, u, active, multivariate=multivariate
        )
        seen = history.coverage
        for k in np.argsort(-score, kind="stable"):
            values = layout.decode(u[k])
            if not seen.covers(values):
                return values
        # Every candidate was tried already: the good region is exhausted (or the space is).
        return self._random.sample(space, history, rng)

    def _options(self) -> ParzenOptions:
        return ParzenOptions(
            prior_weight=self.prior_weight,
            consider_magic_clip=self.consider_magic_clip,
            multivariate=self.multivariate,
            min_bandwidth=self.min_bandwidth,
            weights=self.weights,
            n_ei_candidates=self.n_ei_candidates,
        )

    def _groups(
        self, space: HyperParameters, history: History
    ) -> tuple[Layout, tuple[Floats, Floats] | None]:
        """The space's layout, and the encoded good and bad trials once the model is used.

        Good: the best ``gamma(n)`` of the ``n`` completed trials. Bad: the other completed
        trials, the pruned ones and (``constant_liar``) the running ones.
        """
        params = space.space
        with self._lock:
            cache = self._cache
            if cache is None or cache.layout.params != params:
                cache = self._cache = EncodedTrials(Layout.of(space))
            rows, running = cache.lookup(list(history[:]))
            # Copies, so that a thread extending the cache cannot change them under us.
            value = cache.value[rows]
            number = cache.number[: len(cache.trials)].copy()
            pruned = cache.pruned[rows]
            matrix = cache.matrix
        layout = cache.layout
        complete = rows[~np.isnan(value)]
        if len(complete) < self.n_startup_trials or not layout.dims:
            return layout, None

        losses = value[~np.isnan(value)] * history.objective.sign
        n_good = self._n_good(len(complete))
        ranked = complete[np.lexsort((number[complete], losses))]  # by loss, then trial number
        # Components in trial order, whatever order the cache met the trials in: the same
        # history gives the same proposal from a fresh sampler or a warm one.
        good_rows = ranked[:n_good]
        good_rows = good_rows[np.argsort(number[good_rows])]
        bad_rows = np.concatenate([ranked[n_good:], rows[pruned]])
        bad_rows = bad_rows[np.argsort(number[bad_rows])]
        bad_x = matrix[bad_rows]
        if self.constant_liar and running:
            pending = np.array([layout.encode(t.values) for t in running])
            bad_x = np.vstack([bad_x, pending])
        return layout, (matrix[good_rows], bad_x)

    def _n_good(self, n: int) -> int:
        value = plain(self.gamma(n))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail(_OWNER, "gamma", value, f"gamma({n}) to return a number of trials")
        return int(min(max(math.ceil(value), 1), n))
