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

    Trials record only the parameters their code read, so a define-by-run objective's
    ``if``/``else`` branches and ``for i in range(hp.Int("n_layers", ...))`` loops leave
    parameters out of some trials without declaring a condition. The sampler works on the
    space with the conditions those reads reveal
    (:func:`~hyperscout.samplers.base.infer_conditions`: ``units_2`` is on when
    ``n_layers`` is 3): its model sees ``n_layers=1`` networks as the same configuration
    whatever the units of the layers they lack, and its proposals leave those out.

The outputs
    The losses of the COMPLETE trials (lower is better; non-finite losses are replaced by the
    worst finite one) and of the PRUNED ones, which a scheduler stopped early: their last
    report clipped to the range from the median to the worst complete loss (the worst when
    they reported nothing). A report at an early step is not comparable with final losses,
    but the stop says the trial did worse than the typical one, so it counts as no better
    than the median (see ``_observations``). Left out, pruned trials would leave the
    acquisition's maximum where they ran and the same region would be proposed again and
    again; ``n_startup_trials`` counts them too. The losses are warped by a Yeo-Johnson
    transform whose exponent is fitted by maximum likelihood on a grid (monotone, so ranks
    are kept; it tames heavy tails and skew), then standardised to mean 0 and variance 1.

The hyperparameters
    Fitted by maximising the log marginal likelihood plus log priors with L-BFGS-B and
    analytic gradients. Length scales have the dimension-scaled log-normal prior of Hvarfner
    et al. (2024, "Vanilla Bayesian optimization performs great in high dimensions"),
    ``LogNormal(sqrt(2) + log(D) / 2, sqrt(3))`` with ``D`` the number of features; the signal
    variance ``LogNormal(0, 1)``; the noise variance ``LogNormal(-6, 2)`` with a floor of
    ``1e-6`` (``deterministic=True``: fixed at ``1e-6``). The wide, low noise prior lets an
    exact objective be interpolated closely while a noisy one still gets its noise from the
    data.

    The last fit is cached on the sampler. A full fit (4 starts: the cached fit, the prior's
    mode, the same with a tenth of the variance in noise, a draw from the prior) runs below
    30 completed trials and then at every 25th; otherwise a single L-BFGS-B run
    warm-started from the cached fit refines it, at each proposal below 50 completed trials
    and then at every 3rd; in between, the cached hyperparameters are used as they are with
    the new data. The schedule counts completed trials, so a resumed search (a new sampler,
    nothing cached) makes a full fit first and may then differ slightly from an
    uninterrupted one. This keeps proposals cheap as trials accumulate (the times are in
    ``docs/benchmarks.md``, from ``benchmarks/sample_efficiency.py --timing``).

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
    that workers asking at the same time get different proposals. No configuration a trial
    already ran (any state) is proposed again, counting a trial as having run every
    configuration that agrees with the values it read
    (:class:`~hyperscout.samplers.base.Coverage`); when the best candidate is one, the next
    best is taken, and failing all, a random unseen configuration. ``sample`` returns None
    only when a finite space has been covered entirely.

Cost
    One Cholesky factorisation per hyperparameter evaluation; the factor of the final fit is
    reused for the acquisition (extended by a block update for the running trials). While a
    proposal is computed, BLAS runs on one thread when ``threadpoolctl`` is installed: with
    matrices of a few hundred rows threads do not pay, and on a busy machine spinning BLAS
    threads make a factorisation many times slower.

Across budgets
    :meth:`GPSampler.sample_across_budgets` serves model-based Hyperband
    (``BOHBScheduler(model_budgets="all")``): trials run on different budgets enter the
    model with their budget's level in ``[0, 1]`` as one more feature, and the acquisition is
    computed at level 1, the full budget, with the best posterior mean there as the incumbent.
    The level's length scale is fitted like the others, so the data decide how much a low
    budget says about the full one.

The initial design
    The first ``n_startup_trials`` trials follow a scrambled Sobol sequence. Its scrambling is
    seeded by the ``rng`` of the first call, and afterwards by the first trial's configuration,
    so that every call of one study continues the same sequence; points already tried are
    skipped.

Where the code lives
    This module: the sampler, which trials the model learns from, the fit schedule.
    :mod:`~hyperscout.samplers.gp_model`: the Gaussian process, its fit, log expected
    improvement. :mod:`~hyperscout.samplers.gp_acquisition`: the acquisition's candidates and
    maximisation. :mod:`~hyperscout.samplers.gp_space`: what is cached about a space (its
    encoding, the grid of a small finite space, the initial design).
    :mod:`~hyperscout.samplers.gp_budgets`: the budget levels of
    :meth:`GPSampler.sample_across_budgets`.

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
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from hyperscout._validation import check_bool, check_int, check_number
from hyperscout.samplers.base import History, Sampler, infer_conditions, plain
from hyperscout.samplers.encoding import SpaceEncoding
from hyperscout.samplers.gp_acquisition import Acquisition, candidates, distinct_rows
from hyperscout.samplers.gp_budgets import AtFullBudget, check_levels, level_shifts
from hyperscout.samplers.gp_model import (
    NOISE_FLOOR,
    Priors,
    fit_gp,
    log_expected_improvement,
    warp_losses,
)
from hyperscout.samplers.gp_space import CachedSpace
from hyperscout.space import HyperParameters
from hyperscout.trial import Trial, TrialState

__all__ = ["GPSampler", "log_expected_improvement"]

FloatArray = npt.NDArray[np.float64]

_OWNER = "GPSampler"

# Restarts of the hyperparameter fit, and when a full fit (rather than a warm refinement) runs.
# A full fit (several starts) below _FULL_FIT_BELOW completed trials and then every
# _FULL_FIT_EVERY; otherwise one L-BFGS-B run from the cached fit, every time below
# _REFINE_BELOW and then every _REFINE_EVERY; in between the cached fit is reused as it is
# (the factorisation with the new data is all that is computed). Counted in completed trials,
# so the schedule does not depend on the sampler's past.
_FIT_RESTARTS = 4
_FULL_FIT_BELOW = 30
_FULL_FIT_EVERY = 25
_REFINE_BELOW = 50
_REFINE_EVERY = 3
_FULL_FIT_MAXITER = 100
_REFINE_MAXITER = 25

# Exhaustive scoring of finite spaces up to this many configurations (or n_candidates).
_ENUMERABLE = 4096
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


class GPSampler(Sampler):
    """Bayesian optimisation with a Gaussian process and log expected improvement.

    The model and the acquisition are described in the module docstring. All randomness
    comes from the ``rng`` the tuner passes to :meth:`sample`.

    Args:
        n_startup_trials: completed (or pruned) trials drawn from a scrambled Sobol sequence
            before the model is used (at least 1).
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
        noise_floor: float = NOISE_FLOOR,
        beta: float | None = None,
    ) -> None:
        check_int(_OWNER, "n_startup_trials", plain(n_startup_trials), minimum=1)
        check_int(_OWNER, "n_candidates", plain(n_candidates), minimum=1)
        check_int(_OWNER, "n_restarts", plain(n_restarts), minimum=0)
        check_number(_OWNER, "xi", plain(xi), minimum=0)
        check_bool(_OWNER, "deterministic", plain(deterministic))
        check_number(_OWNER, "noise_floor", plain(noise_floor), minimum=0, maximum=1, above=True)
        check_number(_OWNER, "beta", plain(beta), minimum=0, above=True, allow_none=True)
        self.n_startup_trials = int(n_startup_trials)
        self.n_candidates = int(n_candidates)
        self.n_restarts = int(n_restarts)
        self.xi = float(xi)
        self.deterministic = bool(deterministic)
        self.noise_floor = float(noise_floor)
        self.beta = None if beta is None else float(beta)
        # Caches: the space's encoding and the last fitted hyperparameters (a warm start).
        self._space_key: str | None = None
        self._space: CachedSpace | None = None
        self._theta: FloatArray | None = None

    def settings(self) -> dict[str, Any]:
        return {
            "n_startup_trials": self.n_startup_trials,
            "n_candidates": self.n_candidates,
            "n_restarts": self.n_restarts,
            "xi": self.xi,
            "deterministic": self.deterministic,
            "noise_floor": self.noise_floor,
            "beta": self.beta,
        }

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
            return None if history.covers({}) else {}
        cached = self._cached_space(infer_conditions(space, history))
        if cached.grid_units is not None and not cached.uncovered(history.coverage):
            return None
        observed, losses = _observations(history)
        if len(observed) < self.n_startup_trials:
            return cached.initial(history, rng)
        with _single_threaded_blas():
            return self._optimise(cached, history, observed, rng, losses=losses)

    def sample_across_budgets(
        self,
        space: HyperParameters,
        history: History,
        rng: np.random.Generator,
        levels: Mapping[int, float],
    ) -> dict[str, Any] | None:
        """Propose a configuration for the full budget, learning from every budget.

        Multi-fidelity Bayesian optimisation for the early-stopping schedulers. ``levels``
        maps the number of each trial the model should learn from to its budget's level in
        ``[0, 1]``: 1 is the full budget, for which proposals are made, lower levels are
        lower budgets (:class:`~hyperscout.BOHBScheduler` uses the log of the budget). The
        level is one more input of the GP with its own length scale, so the fit itself learns
        how well a low budget predicts the full one: where the budgets agree the low-budget
        results inform the proposals almost as much as full-budget ones; where they disagree
        the length scale shrinks and the model leans on the higher budgets. Expected
        improvement is computed at level 1 against the best posterior mean at level 1 among
        the trials. Trials not in ``levels`` are left out of the model; every trial's
        configuration still counts as tried. The first ``n_startup_trials`` completed
        trials of the model follow the Sobol design, as in :meth:`sample`.
        """
        if not space.space:
            return None if history.covers({}) else {}
        check_levels(levels)
        cached = self._cached_space(infer_conditions(space, history))
        if cached.grid_units is not None and not cached.uncovered(history.coverage):
            return None
        completed = [t for t in history.completed if t.number in levels]
        if len(completed) < self.n_startup_trials:
            return cached.initial(history, rng)
        with _single_threaded_blas():
            return self._optimise(cached, history, completed, rng, levels)

    def _cached_space(self, space: HyperParameters) -> CachedSpace:
        key = json.dumps(space.to_dict(), sort_keys=True, default=repr)
        if self._space is None or key != self._space_key:
            self._space = CachedSpace(space, min(self.n_candidates, _ENUMERABLE))
            self._space_key = key
        return self._space

    def _model(
        self,
        cached: CachedSpace,
        history: History,
        completed: list[Trial],
        levels: Mapping[int, float] | None = None,
        losses: FloatArray | None = None,
    ) -> Acquisition:
        if losses is None:
            losses = np.array([history.loss(t) for t in completed], dtype=float)
        finite = np.isfinite(losses)
        if not finite.all():
            worst = float(losses[finite].max()) if finite.any() else 0.0
            losses = np.where(finite, losses, worst)
        if levels is not None:
            losses = losses + level_shifts(completed, losses, levels)
        y = warp_losses(losses)
        pending = [t for t in history if t.state is TrialState.RUNNING]
        if levels is not None:
            pending = [t for t in pending if t.number in levels]
        units, units_pending = cached.units_of(completed), cached.units_of(pending)
        features = cached.feature_encoding(np.vstack([units, units_pending]))
        model_features: SpaceEncoding | AtFullBudget = features
        x = features.features(units)
        x_pending = features.features(units_pending)
        if levels is not None:
            model_features = AtFullBudget(features)
            x = np.hstack([x, np.array([[levels[t.number]] for t in completed])])
            x_pending = np.hstack(
                [x_pending, np.array([[levels[t.number]] for t in pending]).reshape(-1, 1)]
            )
        n = len(completed)
        prior = Priors(model_features.n_features, fit_noise=not self.deterministic)
        if self._theta is not None and self._theta.size != prior.means.size:
            self._theta = None  # the features changed: the cached fit does not apply
        starts, maxiter = self._fit_schedule(prior, n, model_features.n_features)
        gp, theta = fit_gp(
            x,
            y,
            deterministic=self.deterministic,
            starts=starts,
            maxiter=maxiter,
            noise_floor=self.noise_floor,
        )
        self._theta = theta
        best = float(y.min()) if y.size else 0.0
        ranking = y
        if levels is not None and y.size:
            # The incumbent at the full budget: the best posterior mean there among the
            # trials (most have only been run on lower budgets).
            ranking = gp.predict(model_features.features(units))[0]
            best = float(ranking.min())
        if pending:
            # Constant liar: the mean warped loss (0 after standardisation).
            gp = gp.with_points(x_pending, np.zeros(len(pending)))
        return Acquisition(
            gp, best, self.xi, cached, model_features, ranking, units, beta=self.beta
        )

    def _fit_schedule(self, prior: Priors, n: int, n_features: int) -> tuple[list[FloatArray], int]:
        """The starts of the hyperparameter fit, and its iterations (0: reuse the cached fit).

        A full fit below _FULL_FIT_BELOW completed trials and every _FULL_FIT_EVERY, else a
        refinement of the cached fit (see the constants).
        """
        if self._theta is None or n < _FULL_FIT_BELOW or n % _FULL_FIT_EVERY == 0:
            # Starts: the cached fit, the prior's mode, and draws from the prior by a
            # generator seeded by the data size (not the proposal's rng, so that a fit does
            # not depend on how many random numbers were drawn before it).
            fit_rng = np.random.default_rng([n, n_features])
            starts = [] if self._theta is None else [self._theta]
            starts.append(prior.mode())
            if not self.deterministic:
                # The likelihood has a noisy, smooth mode and an exact, wiggly one; the prior's
                # low noise starts near the second. A start at a tenth of the variance in
                # noise lets the data choose.
                noisy = prior.mode()
                noisy[-1] = math.log(0.1)
                starts.append(noisy)
            while len(starts) < _FIT_RESTARTS:
                starts.append(prior.draw(fit_rng))
            maxiter = _FULL_FIT_MAXITER
        else:
            starts = [self._theta]
            refine = n < _REFINE_BELOW or n % _REFINE_EVERY == 0
            maxiter = _REFINE_MAXITER if refine else 0
        return starts, maxiter

    def _optimise(
        self,
        cached: CachedSpace,
        history: History,
        completed: list[Trial],
        rng: np.random.Generator,
        levels: Mapping[int, float] | None = None,
        *,
        losses: FloatArray | None = None,
    ) -> dict[str, Any] | None:
        enc, seen = cached.encoding, history.coverage
        model = self._model(cached, history, completed, levels, losses)
        if cached.grid_units is not None:
            unseen = cached.uncovered(seen)
            scores = model.score(cached.grid_units[unseen])
            return dict(cached.grid_values[unseen[int(np.argmax(scores))]])

        latent = candidates(model, rng, self.n_candidates)
        scores = model.score(enc.mask_inactive(latent))
        order = np.argsort(-scores, kind="stable")
        starts = distinct_rows(latent[order], self.n_restarts)
        if starts.shape[0]:
            improved, improved_scores = model.maximise(starts)
            latent = np.vstack([improved, latent])
            scores = np.concatenate([improved_scores, scores])
            order = np.argsort(-scores, kind="stable")
        for i in order[:512]:
            values = enc.decode(enc.mask_inactive(latent[i])[0])
            if not seen.covers(values):
                return values
        return cached.random_unseen(history, rng)


def _observations(history: History) -> tuple[list[Trial], FloatArray]:
    """The trials the model learns from, in trial order, and their losses.

    The COMPLETE trials with their loss, and the PRUNED ones (stopped early by the
    scheduler) with a pessimistic loss: their last report clipped to the range from the
    median to the worst of the complete trials' losses (the worst when they reported
    nothing). A stopped trial's last report is a value at an earlier step, not comparable
    with final values (mostly worse, as losses fall with training), but the stop itself says
    it did worse than the typical trial: so it ranks no better than the median and no worse
    than the worst. Without pruned trials in the model, the acquisition's maximum stays where
    they were, and the GP proposes the same region (with parameters that do not matter
    changed) again and again. Without complete trials, pruned ones keep their last report.
    """
    trials = [
        t
        for t in history
        if (t.state is TrialState.COMPLETE and t.value is not None) or t.state is TrialState.PRUNED
    ]
    losses = np.array([history.loss(t) for t in trials], dtype=float)
    complete = np.array([t.state is TrialState.COMPLETE for t in trials], dtype=bool)
    known = complete & np.isfinite(losses)
    if known.any() and not complete.all():
        median, worst = float(np.median(losses[known])), float(losses[known].max())
        pruned = ~complete
        imputed = np.where(np.isfinite(losses), np.clip(losses, median, worst), worst)
        losses = np.where(pruned, imputed, losses)
    return trials, losses
