"""The bookkeeping that successive halving, Hyperband and ASHA share: rungs and brackets.

The budget arithmetic (:class:`Rung`, :class:`Bracket`, :func:`hyperband_brackets`), the
reading of a history by place (:class:`Roster`, :func:`ranked`), the claims that keep two
workers from running the same slot, and the checks of the budget vocabulary every scheduler
uses: ``min_budget``, ``max_budget``, ``factor``. The algorithms themselves live in
:mod:`~hyperscout.schedulers.halving` and :mod:`~hyperscout.schedulers.asha`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperscout._validation import check, check_int, check_number, is_number, plain
from hyperscout.history import History
from hyperscout.objective import Objective
from hyperscout.samplers.base import Sampler
from hyperscout.schedulers.base import Decision
from hyperscout.space import HyperParameters
from hyperscout.trial import Trial, TrialState

__all__ = [
    "Bracket",
    "NewConfigs",
    "Roster",
    "Rung",
    "as_budget",
    "check_budgets",
    "check_metric",
    "hyperband_brackets",
    "metric_objective",
    "metric_settings",
    "n_halvings",
    "past_budget",
    "promotion_claim",
    "ranked",
    "rung_budget",
]


# -- the budget vocabulary -------------------------------------------------------------------
def check_budgets(owner: str, min_budget: Any, max_budget: Any, factor: Any) -> None:
    """``min_budget``, ``max_budget`` and ``factor`` of a scheduler, or an error naming it."""
    min_budget, max_budget = plain(min_budget), plain(max_budget)
    check_number(owner, "max_budget", max_budget, minimum=0, above=True)
    check(
        owner,
        "min_budget",
        min_budget,
        is_number(min_budget) and 0 < min_budget <= max_budget,
        f"a finite number > 0 and <= max_budget={max_budget!r}",
    )
    check_int(owner, "factor", plain(factor), minimum=2)


def as_budget(value: Any) -> float:
    """An int stays an int (budgets in epochs), anything else becomes a float."""
    value = plain(value)
    return int(value) if isinstance(value, int) else float(value)


def check_metric(owner: str, metric: Any) -> Objective | str | None:
    """A scheduler's ``metric``: a reported metric's name, an Objective, or None."""
    ok = metric is None or isinstance(metric, Objective) or (isinstance(metric, str) and metric)
    check(owner, "metric", metric, bool(ok), "a metric name, an hs.Objective, or None")
    checked: Objective | str | None = metric
    return checked


def metric_settings(metric: Objective | str | None) -> Any:
    """A scheduler's ``metric`` as JSON, for :meth:`Scheduler.settings`."""
    return metric.to_dict() if isinstance(metric, Objective) else metric


def metric_objective(metric: Objective | str | None, history: History) -> Objective:
    """The metric watched in reports, with its direction (the objective's unless told)."""
    if metric is None:
        return history.objective
    if isinstance(metric, Objective):
        return metric
    if metric == history.objective.name:
        return history.objective
    return Objective.resolve(metric)


# -- the bracket arithmetic ------------------------------------------------------------------
@dataclass(frozen=True)
class Rung:
    """``n_configs`` configurations run on ``budget`` in one rung of a bracket."""

    n_configs: int
    budget: float


@dataclass(frozen=True)
class Bracket:
    """One run of successive halving: bracket ``s`` halves ``s`` times, rung by rung."""

    s: int
    rungs: tuple[Rung, ...]


def n_halvings(min_budget: float, max_budget: float, factor: int) -> int:
    """``s_max = floor(log_factor(max / min))``, exact for ints and tolerant for floats.

    >>> n_halvings(1, 81, 3), n_halvings(2, 81, 3), n_halvings(1 / 9, 1.0, 3)
    (4, 3, 2)
    """
    s = 0
    if isinstance(min_budget, int) and isinstance(max_budget, int):
        while min_budget * factor ** (s + 1) <= max_budget:
            s += 1
    else:
        while min_budget * factor ** (s + 1) <= max_budget * (1 + 1e-9):
            s += 1
    return s


def rung_budget(max_budget: float, factor: int, halvings: int) -> float:
    """``max / factor**halvings``, rounded up for an int ``max`` (as KerasTuner does).

    >>> rung_budget(100, 3, 2), rung_budget(1.0, 2, 1)
    (12, 0.5)
    """
    scale: int = factor**halvings
    if isinstance(max_budget, int):
        return -(-max_budget // scale)
    return max_budget / scale


def hyperband_brackets(min_budget: float, max_budget: float, factor: int) -> list[Bracket]:
    """Hyperband's brackets, ``s_max`` first (the table in the module docstring of halving)."""
    s_max = n_halvings(min_budget, max_budget, factor)
    brackets = []
    for s in range(s_max, -1, -1):
        n = -(-((s_max + 1) * factor**s) // (s + 1))  # ceil((s_max + 1) / (s + 1) * eta**s)
        rungs = tuple(
            Rung(n // factor**i, rung_budget(max_budget, factor, s - i)) for i in range(s + 1)
        )
        brackets.append(Bracket(s, rungs))
    return brackets


# -- reading the history ---------------------------------------------------------------------
def promotion_claim(trial: Trial) -> str:
    """The claim of promoting ``trial``: one promotion per trial, whoever asks."""
    return f"promote/{trial.number}"


class Roster:
    """The trials of a history grouped by their place (attrs), each retried one replaced.

    A trial whose retry exists is left out (the retry, with the same attrs, takes its place).
    Trials without the attrs (enqueued ones, another strategy's) belong to no group.
    """

    def __init__(self, history: History, fields: Sequence[str]) -> None:
        retried = {t.retry_of for t in history if t.retry_of is not None}
        self.groups: dict[tuple[Any, ...], list[Trial]] = {}
        for trial in history:
            if trial.number in retried or any(f not in trial.attrs for f in fields):
                continue
            key = tuple(trial.attrs[f] for f in fields)
            self.groups.setdefault(key, []).append(trial)

    def get(self, *key: Any) -> list[Trial]:
        return self.groups.get(key, [])


def ranked(history: History, trials: Sequence[Trial]) -> list[Trial]:
    """The trials that may be promoted, best first (ties: the earlier first).

    Those are the finished ones with a value that did not fail; failed trials rank last,
    which is to say never.
    """
    ok = [
        t
        for t in trials
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED) and t.value is not None
    ]
    return sorted(ok, key=lambda t: (history.loss(t), t.number))


def past_budget(trial: Trial) -> Decision:
    """STOP once a trial reports a step beyond its budget (its objective ignores the budget)."""
    if trial.budget is None or not trial.intermediate:
        return Decision.CONTINUE
    return Decision.STOP if max(trial.intermediate) > trial.budget else Decision.CONTINUE


class NewConfigs:
    """Draws new configurations from the sampler, and remembers when the space is exhausted."""

    def __init__(
        self,
        space: HyperParameters,
        history: History,
        sampler: Sampler,
        rng: np.random.Generator,
    ) -> None:
        self.space, self.history, self.sampler, self.rng = space, history, sampler, rng
        self.exhausted = False

    def draw(self) -> dict[str, Any] | None:
        if self.exhausted:
            return None
        values = self.sampler.sample(self.space, self.history, self.rng)
        self.exhausted = values is None
        return values
