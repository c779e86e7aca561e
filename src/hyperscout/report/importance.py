"""Which parameters matter: PED-ANOVA (Watanabe, Bansal and Hutter, IJCAI 2023).

PED-ANOVA asks, for each parameter, how differently its values are spread among the best
trials and among all trials. With ``p_all`` the density of the parameter's values over the
trials that read it and ``p_top`` their density over the best fraction ``gamma`` of the
trials, the parameter's importance is the Pearson divergence

    D(p_top || p_all) = integral of (p_top(x) / p_all(x) - 1)^2 p_all(x) dx,

which the paper shows is, up to a constant, the f-ANOVA variance that the parameter alone
explains of the indicator "among the top gamma": a parameter whose values are spread alike among the
best and among all trials scores 0, one whose best trials crowd into a narrow part of its
range scores high. Densities are Parzen (kernel) estimators in the space's encoded unit
interval (so log-scaled parameters are measured on their log scale), discrete parameters by
smoothed frequencies of their values. The importances are normalised to sum to 1.

Limits: it measures each parameter alone (no interactions), for reaching the top ``gamma``
(a parameter that only separates bad from very bad trials scores low), and it is noisy with
few trials (a parameter without effect gets a few per cent from sampling noise with 100
trials, more with 20). A conditional parameter is compared over the trials that read it
only, and its divergence is weighted by the fraction of trials that read it (an extension of
ours: the paper has no conditional parameters). Under budgets only one budget's trials are
compared: the highest budget with at least 20 complete trials (else the one with the most).

Reference: S. Watanabe, A. Bansal, F. Hutter. "PED-ANOVA: Efficiently Quantifying
Hyperparameter Importance in Arbitrary Subspaces". IJCAI 2023. arXiv:2304.10255.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from hyperscout._validation import check_int, check_number
from hyperscout.exceptions import InvalidArgumentError
from hyperscout.report.plots._common import analysis_trials, axes_of, study_data
from hyperscout.report.study import StudyData
from hyperscout.trial import Trial

__all__ = ["DEFAULT_GAMMA", "parameter_importance"]

#: The fraction of the trials counted as the best (the paper's gamma').
DEFAULT_GAMMA = 0.1
# The fewest best trials compared (when the study has twice as many): the top 10 % of 20
# trials, two, would make noise look like an effect.
_MIN_TOP = 5
# Points of the grid on which a continuous parameter's densities are compared.
_GRID = 101
# A numeric parameter with at most this many values is compared value by value (frequencies);
# one with more (Int("units", 8, 64)) by kernel densities, as a continuous one.
_MAX_DISCRETE = 16


def parameter_importance(
    study: Any, *, seed: int = 0, gamma: float = DEFAULT_GAMMA
) -> dict[str, float]:
    """Each parameter's importance by PED-ANOVA (see the module docstring), summing to 1.

    Args:
        study: anything :func:`~hyperscout.report.study_of` accepts, or a
            :class:`~hyperscout.report.StudyData`.
        seed: breaks ties among equal values at the top-``gamma`` cut, so that equal
            studies give equal importances (the estimate is otherwise deterministic).
        gamma: the fraction of the best trials compared with all (at least 5 of them when
            the study has 10 or more).

    Returns:
        ``{name: importance}``, most important first; every parameter that varies among
        the compared trials, with values summing to 1 (all 0 when no parameter shows any
        difference, or when fewer than 4 trials completed).

    >>> import hyperscout as hs
    >>> def objective(hp):
    ...     return (hp.Float("x", 0.0, 1.0) - 0.2) ** 2 + 0.0 * hp.Float("y", 0.0, 1.0)
    >>> tuner = hs.RandomSearch(objective, max_trials=60, seed=0, storage="memory", verbose=0)
    >>> tuner.search()
    >>> importance = parameter_importance(tuner)
    >>> list(importance), importance["x"] > 0.8
    (['x', 'y'], True)
    """
    check_number("parameter_importance", "gamma", gamma, minimum=0.0, maximum=1.0, above=True)
    check_int("parameter_importance", "seed", seed, minimum=0)
    data = study_data(study)
    trials, _, _ = analysis_trials(data)
    axes = axes_of(data, trials, None)
    if len(trials) < 4 or not axes:
        return {axis.name: 0.0 for axis in axes}
    top = _top_trials(data, trials, gamma, seed)
    scores = {
        axis.name: _share(axis.name, trials) * _divergence(data, axis.name, trials, top)
        for axis in axes
    }
    total = sum(scores.values())
    normalised = {k: (v / total if total > 0 else 0.0) for k, v in scores.items()}
    return dict(sorted(normalised.items(), key=lambda kv: (-kv[1], kv[0])))


def _top_trials(data: StudyData, trials: Sequence[Trial], gamma: float, seed: int) -> set[int]:
    losses = np.array([data.objective.loss(float(t.value or 0.0)) for t in trials])
    ties = np.random.default_rng(seed).random(len(trials))
    order = np.lexsort((ties, losses))
    n_top = max(math.ceil(gamma * len(trials)), min(_MIN_TOP, len(trials) // 2))
    return {trials[i].number for i in order[:n_top]}


def _share(name: str, trials: Sequence[Trial]) -> float:
    """The fraction of the trials that read ``name``: a conditional parameter's divergence
    counts in proportion to how often it applies."""
    return sum(name in t.values for t in trials) / len(trials)


def _divergence(data: StudyData, name: str, trials: Sequence[Trial], top: set[int]) -> float:
    """Pearson divergence of the parameter's density among the top trials from all trials'."""
    active = [t for t in trials if name in t.values]
    best = [t for t in active if t.number in top]
    if len(active) < 2 or not best:
        return 0.0
    points = [_unit(data, name, t.values[name]) for t in active]
    if any(p is None for p in points):  # values that are not numbers: categories
        labels = [repr(t.values[name]) for t in active]
        kinds = sorted(set(labels))
        all_codes = np.array([kinds.index(v) for v in labels])
        top_codes = np.array([kinds.index(repr(t.values[name])) for t in best])
        return _discrete_divergence(all_codes, top_codes, len(kinds))
    units = np.array(points, dtype=float)
    top_units = np.array([_unit(data, name, t.values[name]) for t in best], dtype=float)
    if _is_discrete(data, name):  # a few values: frequencies of each
        distinct = np.unique(np.concatenate([units, top_units]))
        all_codes = np.searchsorted(distinct, units)
        top_codes = np.searchsorted(distinct, top_units)
        return _discrete_divergence(all_codes, top_codes, len(distinct))
    grid = np.linspace(0.0, 1.0, _GRID)
    p_all = _parzen(units, grid)
    p_top = _parzen(top_units, grid)
    return float(np.sum(p_all * (p_top / p_all - 1.0) ** 2))


def _is_discrete(data: StudyData, name: str) -> bool:
    if name not in data.space:
        return False
    cardinality = data.space.parameter(name).cardinality
    return cardinality is not None and cardinality <= _MAX_DISCRETE


def _unit(data: StudyData, name: str, value: Any) -> float | None:
    """The value in the parameter's unit interval (log scales respected), None for a category."""
    if name in data.space:
        param = data.space.parameter(name)
        if param.is_categorical or param.kind == "fixed":
            return None
        try:
            return float(param.encode(value))
        except (InvalidArgumentError, TypeError, ValueError):  # a value outside its range
            return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _parzen(units: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A Gaussian kernel density on ``grid``, mixed with a uniform prior.

    The prior (weight ``1 / (n + 1)``, as the TPE's Parzen estimators) keeps the density
    positive everywhere, so that the ratio of two densities stays finite.
    """
    n = len(units)
    spread = float(np.std(units)) if n > 1 else 0.0
    # Scott's rule, floored at 0.1 / sqrt(n): a few top trials that happen to sit together
    # must not make a spike that reads as a strong effect.
    bandwidth = min(max(1.06 * spread * n ** (-0.2), 0.1 / math.sqrt(n), 0.02), 0.5)
    kernel = np.exp(-0.5 * ((grid[:, None] - units[None, :]) / bandwidth) ** 2)
    density = kernel.sum(axis=1)
    density = density / density.sum()
    prior = 1.0 / (n + 1)
    mixed: np.ndarray = (1.0 - prior) * density + prior / len(grid)
    return mixed


def _discrete_divergence(all_codes: np.ndarray, top_codes: np.ndarray, k: int) -> float:
    """The Pearson divergence of two frequency tables, each smoothed by one uniform count."""
    p_all = (np.bincount(all_codes, minlength=k) + 1.0 / k) / (len(all_codes) + 1.0)
    p_top = (np.bincount(top_codes, minlength=k) + 1.0 / k) / (len(top_codes) + 1.0)
    return float(np.sum(p_all * (p_top / p_all - 1.0) ** 2))
