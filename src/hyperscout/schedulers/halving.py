"""Successive halving and Hyperband: spend little on bad configurations.

**Successive halving** (Jamieson & Talwalkar, 2016, "Non-stochastic best arm identification
and hyperparameter optimization", AISTATS) runs ``n`` configurations on a small budget, keeps
the best ``1/factor`` of them, runs those on a ``factor`` times larger budget, and so on until
the survivors reach the full budget. Each budget level is a *rung*.

**Hyperband** (Li et al., 2018, "Hyperband: a novel bandit-based approach to hyperparameter
optimization", JMLR 18(185)) hedges the choice successive halving leaves open, how many
configurations to start on how small a budget, by running several successive halving
*brackets*. With ``eta = factor`` and ``s_max = floor(log_eta(max / min))``, bracket ``s``
(``s_max`` first, down to 0) starts ``n = ceil((s_max + 1) / (s + 1) * eta**s)``
configurations on ``r = max * eta**-s``, and its rung ``i`` keeps ``floor(n * eta**-i)`` of
them on ``r * eta**i``. For ``max = 81, eta = 3`` (the paper's table)::

    rung   s=4        s=3        s=2        s=1        s=0
    0      81 at 1    34 at 3    15 at 9    8 at 27    5 at 81
    1      27 at 3    11 at 9    5 at 27    2 at 81
    2      9 at 9     3 at 27    1 at 81
    3      3 at 27    1 at 81
    4      1 at 81

Budgets are ``max / eta**k``, so the top rung is always ``max``; when both limits are ints
they are rounded up, ``ceil(max / eta**k)``, as KerasTuner does. Successive halving here is
Hyperband's most aggressive bracket (``s = s_max``), with as many configurations as asked.

**ASHA**, the asynchronous form that never waits for a rung to finish, lives in
:mod:`hyperscout.schedulers.asha`; the rung and bracket bookkeeping that both use lives in
:mod:`hyperscout.schedulers._rungs`.

**BOHB** (Falkner, Klein & Hutter, 2018, "BOHB: robust and efficient hyperparameter
optimization at scale", ICML) is Hyperband whose new configurations come from a model (TPE in
the paper) fitted on the results of the largest budget that has enough of them; it wraps these
schedulers and lives in :mod:`hyperscout.schedulers.bohb`.

Where the state lives
    The schedulers keep nothing that the history does not imply. Every trial they start
    carries its place in its attrs: ``{"iteration": k, "bracket": s, "rung": i}``, and a
    promoted trial also the number of the lower-rung trial it continues
    (:attr:`~hyperscout.trial.Trial.promoted_from`). A promoted configuration is a new trial with
    the same values and the higher budget; budgets are totals (epochs to reach), so a tuner
    that hands it the checkpoint of trial ``n`` lets it continue training. A search resumed
    from storage reads the history again and goes on with the same brackets.

Failures
    A rung ranks its trials by loss (``COMPLETE`` ones, and ``PRUNED`` ones with a value);
    ``FAILED`` trials rank last and are never promoted, and a finished trial is never waited
    for. A trial whose process was killed (:attr:`~hyperscout.trial.Trial.is_rerun`) is
    replaced by its retry (:attr:`~hyperscout.trial.Trial.retry_of`), which keeps its place;
    until the retry exists it counts as failed, so a rung never waits for it.

Parallel workers
    A synchronous rung must finish before its best are promoted. While it runs, a free worker
    starts the work of the next bracket (or of the next Hyperband iteration), as BOHB's
    parallel scheme does, instead of idling; :class:`Wait` comes only when no bracket has
    anything to start. With one worker the order is exactly that of the paper.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from hyperscout._validation import check_int, plain
from hyperscout.history import History
from hyperscout.samplers.base import Sampler
from hyperscout.schedulers._rungs import (
    Bracket,
    NewConfigs,
    Roster,
    Rung,
    as_budget,
    check_budgets,
    hyperband_brackets,
    n_halvings,
    past_budget,
    promotion_claim,
    ranked,
    rung_budget,
)
from hyperscout.schedulers.base import Decision, Scheduler, Stop, Suggestion, Wait
from hyperscout.space import HyperParameters
from hyperscout.trial import Bookkeeping, Trial

__all__ = [
    "Bracket",
    "HyperbandScheduler",
    "Rung",
    "SuccessiveHalvingScheduler",
]


# -- synchronous successive halving and Hyperband --------------------------------------------
class _Blocked:
    """A bracket waits for a running rung."""


class _Done:
    """A bracket has nothing left to start, and nothing running."""


_BLOCKED = _Blocked()
_DONE = _Done()


class _SynchronousHalving(Scheduler):
    """Brackets of successive halving run one after the other, ``iterations`` times over."""

    _brackets: list[Bracket]
    _iterations: int | None  # None: again and again, until the tuner stops

    def brackets(self) -> list[Bracket]:
        """The brackets of one iteration, in the order they run (the paper's table)."""
        return list(self._brackets)

    def has_end(self, sampler: Sampler) -> bool:
        return self._iterations is not None

    def next(
        self,
        space: HyperParameters,
        history: History,
        sampler: Sampler,
        rng: np.random.Generator,
    ) -> Suggestion | Wait | Stop:
        roster = Roster(history, ("iteration", "bracket", "rung"))
        new = NewConfigs(space, history, sampler, rng)
        blocked = False
        for k in itertools.count() if self._iterations is None else range(self._iterations):
            for bracket in self._brackets:
                step = self._advance(k, bracket, roster, history, new)
                if step is _BLOCKED:
                    blocked = True  # a free worker moves on to the next bracket's work
                elif isinstance(step, Suggestion):
                    return step
            if self._iterations is None and not any(roster.get(k, b.s, 0) for b in self._brackets):
                break  # a fresh iteration found nothing to start: the space is exhausted
        if blocked:
            return Wait()
        return Stop(self._stop_reason())

    def _advance(
        self, k: int, bracket: Bracket, roster: Roster, history: History, new: NewConfigs
    ) -> Suggestion | _Blocked | _Done:
        """The bracket's next trial, or why there is none: its rung runs, or it is done."""
        below: list[Trial] = []
        for i, rung in enumerate(bracket.rungs):
            members = roster.get(k, bracket.s, i)
            attrs: dict[str, Any] = {"iteration": k, "bracket": bracket.s, "rung": i}
            if len(members) < rung.n_configs:
                if i == 0:
                    values = new.draw()
                    if values is not None:
                        claim = f"new/{k}/{bracket.s}/{len(members)}"
                        return Suggestion(values, rung.budget, attrs, claim=claim)
                else:
                    promoted = {t.promoted_from for t in members}
                    for trial in ranked(history, below)[: rung.n_configs]:
                        if trial.number not in promoted:
                            attrs[Bookkeeping.PROMOTED_FROM] = trial.number
                            return Suggestion(
                                dict(trial.values), rung.budget, attrs, claim=promotion_claim(trial)
                            )
            # The rung holds all it will get: fewer when the space ran out or trials failed.
            if not members:
                return _DONE
            if any(not t.is_finished for t in members):
                return _BLOCKED
            below = members
        return _DONE

    def on_report(self, trial: Trial, history: History) -> Decision:
        """Stop a trial that reports beyond its budget; the budget is the objective's job."""
        return past_budget(trial)

    def _stop_reason(self) -> str:
        return "every bracket has run"


class SuccessiveHalvingScheduler(_SynchronousHalving):
    """Successive halving: many configurations on a small budget, the best ``1/factor`` on more.

    Rung ``i`` runs ``max(1, n_configs // factor**i)`` configurations on
    ``max_budget / factor**(s - i)``, ``s = floor(log_factor(max_budget / min_budget))``: the
    top rung is ``max_budget`` (budgets are rounded up when both limits are ints). The search
    stops when the top rung has run. See the module docstring for the algorithm.

    Args:
        min_budget: the smallest budget worth running (epochs, steps, ...).
        max_budget: the full budget.
        factor: ``eta``, the ratio of one rung's budget to the one below it.
        n_configs: configurations on the bottom rung; default ``factor**s``, so that exactly
            one reaches ``max_budget``.
        iterations: how many times the bracket runs, each time with new configurations;
            None: again and again until the tuner stops (``max_trials``, ``timeout``).

    >>> sh = SuccessiveHalvingScheduler(1, 27)
    >>> [(r.n_configs, r.budget) for r in sh.brackets()[0].rungs]
    [(27, 1), (9, 3), (3, 9), (1, 27)]
    """

    def __init__(
        self,
        min_budget: float,
        max_budget: float,
        *,
        factor: int = 3,
        n_configs: int | None = None,
        iterations: int | None = 1,
    ) -> None:
        owner = "SuccessiveHalvingScheduler"
        check_budgets(owner, min_budget, max_budget, factor)
        check_int(owner, "n_configs", plain(n_configs), minimum=1, allow_none=True)
        check_int(owner, "iterations", plain(iterations), minimum=1, allow_none=True)
        self.min_budget = as_budget(min_budget)
        self.max_budget = as_budget(max_budget)
        self.factor = int(factor)
        if not isinstance(self.min_budget, int):
            self.max_budget = float(self.max_budget)  # ints only when both limits are ints
        s = n_halvings(self.min_budget, self.max_budget, self.factor)
        self.n_configs = int(n_configs) if n_configs is not None else self.factor**s
        rungs = tuple(
            Rung(
                max(1, self.n_configs // self.factor**i),
                rung_budget(self.max_budget, self.factor, s - i),
            )
            for i in range(s + 1)
        )
        self._brackets = [Bracket(s, rungs)]
        self.iterations = None if iterations is None else int(iterations)
        self._iterations = self.iterations

    def _stop_reason(self) -> str:
        if self.iterations is None:
            return "the search space is exhausted"
        if self.iterations == 1:
            return "successive halving has run its top rung"
        return f"successive halving has run its {self.iterations} brackets"

    def settings(self) -> dict[str, Any]:
        return {
            "min_budget": self.min_budget,
            "max_budget": self.max_budget,
            "factor": self.factor,
            "n_configs": self.n_configs,
            "iterations": self.iterations,
        }

    def __repr__(self) -> str:
        return (
            f"SuccessiveHalvingScheduler(min_budget={self.min_budget!r}, "
            f"max_budget={self.max_budget!r}, factor={self.factor}, n_configs={self.n_configs}, "
            f"iterations={self.iterations})"
        )


class HyperbandScheduler(_SynchronousHalving):
    """Hyperband: brackets of successive halving, from aggressive to none.

    See the module docstring for the brackets; :meth:`brackets` lists them. The search stops
    when every bracket of every iteration has run. The :class:`~hyperscout.Hyperband` preset
    takes KerasTuner's names for these arguments (``max_epochs``, ``min_epochs``,
    ``hyperband_iterations``).

    Args:
        min_budget: the smallest budget worth running (epochs, steps, ...).
        max_budget: the full budget.
        factor: ``eta``, the ratio of one rung's budget to the one below it.
        iterations: how many times the whole set of brackets runs; None: again and again
            until the tuner stops (``max_trials``, ``timeout``).

    >>> hb = HyperbandScheduler(1, 81)
    >>> [[(r.n_configs, r.budget) for r in b.rungs] for b in hb.brackets()][1]
    [(34, 3), (11, 9), (3, 27), (1, 81)]
    >>> [b.s for b in hb.brackets()]
    [4, 3, 2, 1, 0]
    """

    # Studies made before the budget vocabulary was shared stored KerasTuner's names.
    renamed_settings: ClassVar[Mapping[str, str]] = {
        "max_epochs": "max_budget",
        "min_epochs": "min_budget",
        "hyperband_iterations": "iterations",
    }

    def __init__(
        self,
        min_budget: float,
        max_budget: float,
        *,
        factor: int = 3,
        iterations: int | None = 1,
    ) -> None:
        owner = "HyperbandScheduler"
        check_budgets(owner, min_budget, max_budget, factor)
        check_int(owner, "iterations", plain(iterations), minimum=1, allow_none=True)
        self.min_budget = as_budget(min_budget)
        self.max_budget = as_budget(max_budget)
        if not isinstance(self.min_budget, int):
            self.max_budget = float(self.max_budget)  # ints only when both limits are ints
        self.factor = int(factor)
        self.iterations = None if iterations is None else int(iterations)
        self._brackets = hyperband_brackets(self.min_budget, self.max_budget, self.factor)
        self._iterations = self.iterations

    def _stop_reason(self) -> str:
        if self._iterations is None:
            return "the search space is exhausted"
        n = len(self._brackets) * self._iterations
        return f"Hyperband has run its {n} brackets"

    def settings(self) -> dict[str, Any]:
        return {
            "min_budget": self.min_budget,
            "max_budget": self.max_budget,
            "factor": self.factor,
            "iterations": self.iterations,
        }

    def __repr__(self) -> str:
        return (
            f"HyperbandScheduler(min_budget={self.min_budget!r}, "
            f"max_budget={self.max_budget!r}, factor={self.factor}, "
            f"iterations={self.iterations})"
        )
