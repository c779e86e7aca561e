"""ASHA: asynchronous successive halving, promoting as soon as a rung allows.

ASHA (Li et al., 2020, "A system for massively parallel hyperparameter tuning", MLSys) drops
the synchronisation of successive halving (:mod:`~hyperscout.schedulers.halving`): when a
worker is free, the best trial of the highest rung that is in the top ``1/factor`` of that
rung's finished trials, and has not been promoted yet, is promoted; otherwise a new
configuration starts on the bottom rung. No worker waits for stragglers. Its *stopping* form
(Ray Tune's ``ASHAScheduler``) gives every trial the full budget and stops it at a rung's
milestone step when its report there is not in the top ``1/factor`` of the reports at that
milestone.

Every trial the promotion form starts carries its place in its attrs,
``{"bracket": 0, "rung": i}``, and a promoted one the number of the trial it continues
(:attr:`~hyperscout.trial.Trial.promoted_from`), so a resumed search reads its rungs from the
history again.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hyperscout._validation import check_choice, check_int, plain
from hyperscout.history import History
from hyperscout.objective import Objective
from hyperscout.samplers.base import Sampler
from hyperscout.schedulers._rungs import (
    Roster,
    as_budget,
    check_budgets,
    check_metric,
    metric_objective,
    metric_settings,
    n_halvings,
    past_budget,
    promotion_claim,
    ranked,
    rung_budget,
)
from hyperscout.schedulers.base import Decision, Scheduler, Stop, Suggestion, Wait
from hyperscout.space import HyperParameters
from hyperscout.trial import Bookkeeping, Trial

__all__ = ["ASHAScheduler"]

_MODES = ("promotion", "stopping")


class ASHAScheduler(Scheduler):
    """Asynchronous successive halving: promote as soon as a rung allows, never wait.

    Rung ``k`` runs on ``max_budget / factor**(K - k)``, ``K = floor(log_factor(max_budget /
    min_budget))`` (rounded up when both limits are ints), listed in :attr:`budgets`.

    ``mode="promotion"`` (Li et al., 2020): when a worker is free, the best trial not yet
    promoted of the highest rung where it is in the top ``1/factor`` of that rung's finished
    trials runs again on the next rung's budget, as a new trial with ``attrs["promoted_from"]``;
    otherwise a new configuration starts on the bottom rung. The objective reads
    ``trial.budget``.

    ``mode="stopping"``: every trial gets ``max_budget``; when its reports pass a rung's
    milestone step (the rung's budget), it is stopped unless its report there is in the top
    ``ceil(n / factor)`` of the ``n`` trials that reported at that milestone (itself included,
    so the first trial always goes on). This works with any objective that calls
    ``trial.report(step, metric=...)``.

    Args:
        min_budget: the smallest budget worth running (epochs, steps, ...).
        max_budget: the full budget.
        factor: ``eta``: the top ``1/factor`` of a rung go on.
        mode: ``"promotion"`` or ``"stopping"``.
        metric: the reported metric that ranks trials at milestones (stopping form); default
            the objective. A name other than the objective's has its direction inferred, or
            pass an :class:`~hyperscout.Objective`.
        n_configs: new configurations to start at most; None: no limit (the tuner's
            ``max_trials`` or ``timeout`` ends the search).

    >>> ASHAScheduler(1, 81).budgets
    (1, 3, 9, 27, 81)
    """

    def __init__(
        self,
        min_budget: float,
        max_budget: float,
        *,
        factor: int = 3,
        mode: str = "promotion",
        metric: Objective | str | None = None,
        n_configs: int | None = None,
    ) -> None:
        owner = "ASHAScheduler"
        check_budgets(owner, min_budget, max_budget, factor)
        check_choice(owner, "mode", mode, _MODES)
        check_int(owner, "n_configs", plain(n_configs), minimum=1, allow_none=True)
        self.min_budget = as_budget(min_budget)
        self.max_budget = as_budget(max_budget)
        if not isinstance(self.min_budget, int):
            self.max_budget = float(self.max_budget)  # ints only when both limits are ints
        self.factor = int(factor)
        self.mode = mode
        self.metric = check_metric(owner, metric)
        self.n_configs = None if n_configs is None else int(n_configs)
        top = n_halvings(self.min_budget, self.max_budget, self.factor)
        self.budgets: tuple[float, ...] = tuple(
            rung_budget(self.max_budget, self.factor, top - k) for k in range(top + 1)
        )

    def next(
        self,
        space: HyperParameters,
        history: History,
        sampler: Sampler,
        rng: np.random.Generator,
    ) -> Suggestion | Wait | Stop:
        if self.mode == "stopping":
            started = history.first_attempts
            if self.n_configs is not None and started >= self.n_configs:
                return Stop(f"ASHA started its {self.n_configs} configurations")
            values = sampler.sample(space, history, rng)
            if values is None:
                return Stop("every configuration of the search space has been tried")
            return Suggestion(values, self.max_budget)

        roster = Roster(history, ("bracket", "rung"))
        for k in range(len(self.budgets) - 2, -1, -1):
            finished = [t for t in roster.get(0, k) if t.is_finished]
            promoted = {t.promoted_from for t in roster.get(0, k + 1)}
            for trial in ranked(history, finished)[: len(finished) // self.factor]:
                if trial.number not in promoted:
                    attrs = {"bracket": 0, "rung": k + 1, Bookkeeping.PROMOTED_FROM: trial.number}
                    return Suggestion(
                        dict(trial.values), self.budgets[k + 1], attrs, claim=promotion_claim(trial)
                    )
        reason = f"ASHA started its {self.n_configs} configurations and promoted all it may"
        if self.n_configs is None or len(roster.get(0, 0)) < self.n_configs:
            values = sampler.sample(space, history, rng)
            if values is not None:
                claim = f"new/{len(roster.get(0, 0))}"
                return Suggestion(values, self.budgets[0], {"bracket": 0, "rung": 0}, claim=claim)
            reason = "every configuration of the search space has been tried"
        # A running trial may still earn a promotion; a finished search stops.
        return Wait() if any(not t.is_finished for t in history) else Stop(reason)

    def has_end(self, sampler: Sampler) -> bool:
        return self.n_configs is not None or sampler.finite

    def on_report(self, trial: Trial, history: History) -> Decision:
        """Stopping form: stop a trial that is not in the top ``1/factor`` at a milestone."""
        if past_budget(trial) is Decision.STOP:
            return Decision.STOP
        if self.mode != "stopping":
            return Decision.CONTINUE
        objective = metric_objective(self.metric, history)
        name = objective.name
        steps = sorted(s for s, m in trial.intermediate.items() if name in m)
        if not steps:
            return Decision.CONTINUE
        now = steps[-1]
        before = steps[-2] if len(steps) > 1 else None
        mine = objective.loss(trial.intermediate[now][name])
        for milestone in self.budgets[:-1]:
            if milestone > now or (before is not None and before >= milestone):
                continue  # not passed with this report
            losses = [mine]
            for other in history:
                if other.number == trial.number or other.is_rerun:
                    continue  # a killed trial's retry reports again, in its place
                value = _first_report(other, name, milestone)
                if value is not None:
                    losses.append(objective.loss(value))
            losses.sort()
            if mine > losses[math.ceil(len(losses) / self.factor) - 1]:
                return Decision.STOP
        return Decision.CONTINUE

    def settings(self) -> dict[str, Any]:
        return {
            "min_budget": self.min_budget,
            "max_budget": self.max_budget,
            "factor": self.factor,
            "mode": self.mode,
            "metric": metric_settings(self.metric),
            "n_configs": self.n_configs,
        }

    def __repr__(self) -> str:
        return (
            f"ASHAScheduler(min_budget={self.min_budget!r}, max_budget={self.max_budget!r}, "
            f"factor={self.factor}, mode={self.mode!r}, metric={self.metric!r}, "
            f"n_configs={self.n_configs!r})"
        )


def _first_report(trial: Trial, name: str, milestone: float) -> float | None:
    """The trial's report of ``name`` at the first step at or after ``milestone``."""
    steps = [s for s, m in trial.intermediate.items() if s >= milestone and name in m]
    return trial.intermediate[min(steps)][name] if steps else None
