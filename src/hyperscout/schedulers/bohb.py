"""Model-based Hyperband (BOHB): Hyperband, ASHA or successive halving whose new
configurations come from a model.

BOHB (Falkner, Klein & Hutter, 2018, "BOHB: robust and efficient hyperparameter optimization
at scale", ICML) is Hyperband whose new configurations come from a model (TPE in the paper)
fitted on the results of the largest budget that has enough of them.

The wrapped scheduler gives budgets and promotes; this module only decides what the model
learns from. By default (``model_budgets="largest"``, the paper's rule) the model sees the
finished trials of the largest budget with enough complete results. With
``model_budgets="all"`` the Gaussian process sees every budget at once, the budget's log level
as an input (:meth:`~hyperscout.GPSampler.sample_across_budgets`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from hyperscout._validation import check, check_choice, check_int, check_number, plain
from hyperscout.exceptions import InvalidArgumentError
from hyperscout.history import History
from hyperscout.samplers.auto import AutoSampler
from hyperscout.samplers.base import Sampler
from hyperscout.samplers.gp import GPSampler
from hyperscout.samplers.random import RandomSampler
from hyperscout.schedulers.base import Decision, Scheduler, Stop, Suggestion, Wait
from hyperscout.space import HyperParameters, Parameter
from hyperscout.trial import Trial, TrialState

__all__ = ["MAX_MODEL_TRIALS", "BOHBScheduler", "budget_levels"]

_MODEL_BUDGETS = ("largest", "all")
#: The most trials the all-budgets model learns from (the highest budgets first): the GP's
#: cost grows with the cube of its data, and Hyperband runs many low-budget trials.
MAX_MODEL_TRIALS = 200


class BOHBScheduler(Scheduler):
    """Model-based Hyperband: new configurations come from a model of the best-known budget.

    Wraps a scheduler (:class:`HyperbandScheduler` as in Falkner et al., 2018, or
    :class:`ASHAScheduler` / :class:`SuccessiveHalvingScheduler`) and hands the tuner's
    sampler, the model (:class:`~hyperscout.TPESampler` or the Gaussian process), a history
    of only the finished trials of the largest budget with at least ``min_points_in_model``
    complete ones, with the keys of the whole history so that it proposes nothing tried. The
    new configurations proposed since that budget's latest result are in it too, as running
    trials: a bracket draws many configurations while the model's data stay the same, and
    shown them as pending (the constant liar of the GP and of TPE) the model spreads its
    proposals instead of proposing its acquisition's maximum again and again. While no
    budget has enough, the sampler sees an empty history and makes its own random start-up.
    Promotions are the wrapped scheduler's business, as are its brackets and attrs.

    With ASHA's stopping form every trial has the full budget, so only complete trials feed
    the model.

    Args:
        scheduler: the scheduler that gives budgets and promotes.
        min_points_in_model: complete trials a budget needs before the model is fitted on it;
            default the number of parameters plus one (the paper's), and at least the
            sampler's ``n_startup_trials`` when it has one, so the model is really used.
        random_fraction: once the model is used, the share of new configurations drawn at
            random instead (the paper's 1/3). They keep the search honest where the low
            budgets mislead the model (weak correlation between budgets).
        model_budgets: ``"largest"`` (the paper's rule, above) or ``"all"``: the Gaussian
            process learns from the finished trials of every budget at once (the
            ``MAX_MODEL_TRIALS`` of the highest budgets at most), the budget's log level as
            an input, and proposes for the full budget
            (:meth:`~hyperscout.GPSampler.sample_across_budgets`); while the results are all
            of one budget it models that budget alone. Needs a ``GPSampler`` or
            ``AutoSampler`` and a scheduler with a smallest and a full budget.
            ``min_points_in_model`` does not apply. ``docs/benchmarks.md`` measures both:
            ``"all"`` is far better where low budgets drift away from the full budget
            smoothly, worse on the MLP task, so it is not the default.

    >>> import hyperscout as hs
    >>> def objective(hp, trial):
    ...     return (hp.Float("x", -1.0, 1.0) - 0.5) ** 2 + 1.0 / trial.budget
    >>> tuner = hs.Tuner(objective, sampler=hs.TPESampler(n_startup_trials=3),
    ...                  scheduler=BOHBScheduler(hs.HyperbandScheduler(1, 9)),
    ...                  storage="memory", verbose=0, seed=0)
    >>> tuner.search()
    >>> len(tuner.trials), tuner.get_best_trials(1)[0].budget
    (22, 9)
    """

    def __init__(
        self,
        scheduler: Scheduler,
        *,
        min_points_in_model: int | None = None,
        random_fraction: float = 1 / 3,
        model_budgets: str = "largest",
    ) -> None:
        owner = "BOHBScheduler"
        check(
            owner,
            "scheduler",
            scheduler,
            isinstance(scheduler, Scheduler),
            "a Scheduler such as HyperbandScheduler(1, 81)",
        )
        check_int(
            owner, "min_points_in_model", plain(min_points_in_model), minimum=1, allow_none=True
        )
        check_number(owner, "random_fraction", plain(random_fraction), minimum=0, maximum=1)
        check_choice(owner, "model_budgets", model_budgets, _MODEL_BUDGETS)
        if model_budgets == "all":
            check(
                owner,
                "scheduler",
                scheduler,
                _budget_range(scheduler) is not None,
                "a scheduler with min and max budgets (Hyperband, ASHA, successive halving) "
                "for model_budgets='all'",
            )
        self.scheduler = scheduler
        self.min_points_in_model = None if min_points_in_model is None else int(min_points_in_model)
        self.random_fraction = float(random_fraction)
        self.model_budgets = model_budgets

    def next(
        self,
        space: HyperParameters,
        history: History,
        sampler: Sampler,
        rng: np.random.Generator,
    ) -> Suggestion | Wait | Stop:
        min_points = self.min_points_in_model
        if min_points is None:
            startup = getattr(sampler, "n_startup_trials", 0)
            min_points = max(len(space.space) + 1, startup if isinstance(startup, int) else 0)
        model: Sampler
        if self.model_budgets == "all":
            gp = _gp_of(sampler)
            budgets = _budget_range(self.scheduler)
            if gp is None:
                raise InvalidArgumentError(
                    "BOHBScheduler(model_budgets='all'): the budget is an input of the "
                    f"Gaussian process, so the sampler must be a GPSampler or AutoSampler, got "
                    f"{type(sampler).__name__}; use model_budgets='largest' with it."
                )
            assert budgets is not None  # checked in __init__
            model = _AllBudgetsModel(gp, budgets, self.random_fraction)
        else:
            model = _BudgetModel(sampler, min_points, self.random_fraction)
        return self.scheduler.next(space, history, model, rng)

    def on_report(self, trial: Trial, history: History) -> Decision:
        return self.scheduler.on_report(trial, history)

    def has_end(self, sampler: Sampler) -> bool:
        return self.scheduler.has_end(sampler)

    def settings(self) -> dict[str, Any]:
        return {
            "scheduler": {
                "class": type(self.scheduler).__name__,
                "settings": self.scheduler.settings(),
            },
            "min_points_in_model": self.min_points_in_model,
            "random_fraction": self.random_fraction,
            "model_budgets": self.model_budgets,
        }

    def __repr__(self) -> str:
        return (
            f"BOHBScheduler({self.scheduler!r}, min_points_in_model={self.min_points_in_model!r}, "
            f"random_fraction={self.random_fraction:.3g}, "
            f"model_budgets={self.model_budgets!r})"
        )


class _BudgetModel(Sampler):
    """A sampler seen through the history of one budget: the largest with enough results."""

    def __init__(self, model: Sampler, min_points: int, random_fraction: float = 0.0) -> None:
        self.model = model
        self.min_points = min_points
        self.random_fraction = random_fraction

    def sample(
        self, space: HyperParameters, history: History, rng: np.random.Generator
    ) -> dict[str, Any] | None:
        fitted = _model_history(history, self.min_points)
        if len(fitted) and self.random_fraction > 0 and rng.random() < self.random_fraction:
            unfitted = history.subset([])
            return RandomSampler().sample(space, unfitted, rng)
        if len(fitted):
            fitted = history.subset([*fitted, *_proposed_since(history, fitted)])
        return self.model.sample(space, fitted, rng)

    def sample_new(
        self, param: Parameter, values: Mapping[str, Any], rng: np.random.Generator
    ) -> Any:
        return self.model.sample_new(param, values, rng)


def _model_history(history: History, min_points: int) -> History:
    """The finished trials of the largest budget with ``min_points`` complete ones, or none."""
    by_budget: dict[float, list[Trial]] = {}
    for trial in history:
        if trial.is_finished and trial.budget is not None:
            by_budget.setdefault(trial.budget, []).append(trial)
    for budget in sorted(by_budget, reverse=True):
        group = by_budget[budget]
        complete = sum(1 for t in group if t.state is TrialState.COMPLETE and t.value is not None)
        if complete >= min_points:
            return history.subset(group)
    return history.subset([])


def _proposed_since(history: History, fitted: History) -> list[Trial]:
    """The new configurations proposed since the model's latest result, as running trials.

    The model's data (one budget's results) changes only when that budget gets a new result,
    so every configuration a bracket draws in between would come from the same model, and a
    model that maximises an acquisition proposes the same point again and again. Shown to
    the model as running (a constant liar for the GP and TPE), they make it spread its
    proposals, as a batch of parallel proposals does.
    """
    budget = max(t.budget for t in fitted if t.budget is not None)
    latest = max(t.number for t in fitted)
    pending = []
    for trial in history:
        if (
            trial.number > latest
            and trial.promoted_from is None
            and trial.budget is not None
            and trial.budget < budget
            and trial.state is not TrialState.RUNNING
        ):
            pending.append(dataclasses.replace(trial, state=TrialState.RUNNING, value=None))
        elif trial.number > latest and trial.state is TrialState.RUNNING:
            pending.append(trial)
    return pending


def _gp_of(sampler: Sampler) -> GPSampler | None:
    """The Gaussian process behind a sampler, if it has one."""
    if isinstance(sampler, GPSampler):
        return sampler
    if isinstance(sampler, AutoSampler):
        return sampler.gp
    return None


def _budget_range(scheduler: Scheduler) -> tuple[float, float] | None:
    """A scheduler's smallest and full budgets (``min_budget``, ``max_budget``), if it has them."""
    lo, hi = getattr(scheduler, "min_budget", None), getattr(scheduler, "max_budget", None)
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and 0 < lo < hi:
        return float(lo), float(hi)
    return None


def budget_levels(
    history: History, budgets: tuple[float, float], limit: int = MAX_MODEL_TRIALS
) -> dict[int, float]:
    """The finished trials the all-budgets model learns from, with their budgets' levels.

    A budget ``b`` between the smallest and the full budget has the level
    ``log(b / smallest) / log(full / smallest)``, from 0 to 1. At most ``limit`` trials are
    kept, the highest budgets first; where a budget has more than the room left, an evenly
    spaced subset of its trials (by number) is kept, so the choice does not depend on their
    results.
    """
    low, high = budgets
    by_budget: dict[float, list[Trial]] = {}
    for trial in history:
        if trial.is_finished and trial.budget is not None:
            by_budget.setdefault(float(trial.budget), []).append(trial)
    levels: dict[int, float] = {}
    for budget in sorted(by_budget, reverse=True):
        room = limit - len(levels)
        if room <= 0:
            break
        group = sorted(by_budget[budget], key=lambda t: t.number)
        if len(group) > room:
            picks = np.linspace(0, len(group) - 1, room).round().astype(int)
            group = [group[i] for i in sorted(set(picks.tolist()))]
        level = math.log(budget / low) / math.log(high / low)
        for trial in group:
            levels[trial.number] = min(max(level, 0.0), 1.0)
    return levels


class _AllBudgetsModel(Sampler):
    """The GP fitted on the finished trials of every budget, the budget as an input.

    While the results are all of one budget the GP models that budget alone (the joint model
    could not tell how it relates to the full budget, and would explore as if it knew
    nothing).
    """

    def __init__(
        self, gp: GPSampler, budgets: tuple[float, float], random_fraction: float = 0.0
    ) -> None:
        self.gp = gp
        self.budgets = budgets
        self.random_fraction = random_fraction

    def sample(
        self, space: HyperParameters, history: History, rng: np.random.Generator
    ) -> dict[str, Any] | None:
        levels = budget_levels(history, self.budgets)
        complete = [
            t
            for t in history
            if t.number in levels and t.state is TrialState.COMPLETE and t.value is not None
        ]
        used = len(complete) >= self.gp.n_startup_trials
        if used and self.random_fraction > 0 and rng.random() < self.random_fraction:
            unfitted = history.subset([])
            return RandomSampler().sample(space, unfitted, rng)
        if len({levels[t.number] for t in complete}) < 2:
            # One budget so far (the first rung of the first bracket): nothing tells how it
            # relates to the full budget, so model it as it is, as the paper does.
            alone = [t for t in history if t.number in levels]
            return self.gp.sample(space, history.subset(alone), rng)
        return self.gp.sample_across_budgets(space, history, rng, levels)

    def sample_new(
        self, param: Parameter, values: Mapping[str, Any], rng: np.random.Generator
    ) -> Any:
        return self.gp.sample_new(param, values, rng)
