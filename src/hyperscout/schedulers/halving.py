"""Successive halving, Hyperband, ASHA and BOHB: spend little on bad configurations.

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

**ASHA** (Li et al., 2020, "A system for massively parallel hyperparameter tuning", MLSys)
drops the synchronisation of successive halving: when a worker is free, the best trial of the
highest rung that is in the top ``1/factor`` of that rung's finished trials, and has not been
promoted yet, is promoted; otherwise a new configuration starts on the bottom rung. No worker
waits for stragglers. Its *stopping* form (Ray Tune's ``ASHAScheduler``) gives every trial
the full budget and stops it at a rung's milestone step when its report there is not in the top
``1/factor`` of the reports at that milestone.

**BOHB** (Falkner, Klein & Hutter, 2018, "BOHB: robust and efficient hyperparameter
optimization at scale", ICML) is Hyperband whose new configurations come from a model (TPE in
the paper) fitted on the results of the largest budget that has enough of them; it wraps these
schedulers and lives in :mod:`hyperscout.schedulers.bohb`.

Where the state lives
    The schedulers keep nothing that the history does not imply. Every trial they start
    carries its place in its attrs: ``{"iteration": k, "bracket": s, "rung": i}`` (ASHA:
    ``{"bracket": 0, "rung": i}``), and a promoted trial also ``"promoted_from": n``, the
    number of the lower-rung trial it continues. A promoted configuration is a new trial with
    the same values and the higher budget; budgets are totals (epochs to reach), so a tuner
    that hands it the checkpoint of trial ``n`` lets it continue training. A search resumed
    from storage reads the history again and goes on with the same brackets.

Failures
    A rung ranks its trials by loss (``COMPLETE`` ones, and ``PRUNED`` ones with a value);
    ``FAILED`` trials rank last and are never promoted, and a finished trial is never waited
    for. A trial whose process was killed (``attrs["rerun"]``) is replaced by its retry
    (``attrs["retry_of"]``), which keeps its place; until the retry exists it counts as
    failed, so a rung never waits for it.

Parallel workers
    A synchronous rung must finish before its best are promoted. While it runs, a free worker
    starts the work of the next bracket (or of the next Hyperband iteration), as BOHB's
    parallel scheme does, instead of idling; :class:`Wait` comes only when no bracket has
    anything to start. With one worker the order is exactly that of the paper.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperscout.exceptions import InvalidArgumentError
from hyperscout.history import History
from hyperscout.objective import Objective
from hyperscout.samplers.base import Sampler
from hyperscout.schedulers.base import Decision, Scheduler, Stop, Suggestion, Wait
from hyperscout.space import HyperParameters
from hyperscout.trial import Bookkeeping, Trial, TrialState

__all__ = [
    "ASHAScheduler",
    "Bracket",
    "HyperbandScheduler",
    "Rung",
    "SuccessiveHalvingScheduler",
]

_MODES = ("promotion", "stopping")


# -- argument checks -------------------------------------------------------------------------
def _check(owner: str, name: str, value: Any, ok: bool, expected: str) -> None:
    """The one template of the argument errors of the schedulers."""
    if not ok:
        raise InvalidArgumentError(f"{owner}({name}=...): expected {expected}, got {value!r}.")


def _is_int(value: Any, minimum: int) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        return False
    return int(value) >= minimum


def _is_positive(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    return math.isfinite(float(value)) and float(value) > 0


def _check_budgets(
    owner: str, min_name: str, min_value: Any, max_name: str, max_value: Any, factor: Any
) -> None:
    _check(owner, max_name, max_value, _is_positive(max_value), "a number > 0")
    _check(
        owner,
        min_name,
        min_value,
        _is_positive(min_value) and float(min_value) <= float(max_value),
        f"a number > 0 and <= {max_name}={max_value!r}",
    )
    _check(owner, "factor", factor, _is_int(factor, 2), "an int >= 2")


def _as_number(value: Any) -> float:
    """An int stays an int (budgets in epochs), anything else becomes a float."""
    return int(value) if isinstance(value, (int, np.integer)) else float(value)


def _check_metric(owner: str, metric: Any) -> Objective | str | None:
    ok = metric is None or isinstance(metric, Objective) or (isinstance(metric, str) and metric)
    _check(owner, "metric", metric, bool(ok), "a metric name, an hs.Objective, or None")
    checked: Objective | str | None = metric
    return checked


def _metric_settings(metric: Objective | str | None) -> Any:
    """A scheduler's ``metric`` as JSON, for :meth:`Scheduler.settings`."""
    return metric.to_dict() if isinstance(metric, Objective) else metric


def _metric_objective(metric: Objective | str | None, history: History) -> Objective:
    """The metric watched in reports, with its direction (the objective's unless told)."""
    if metric is None:
        return history.objective
    if isinstance(metric, Objective):
        return metric
    if metric == history.objective.name:
        return history.objective
    return Objective.resolve(metric)


# -- the bracket arithmetic ------------------------------------------------------------------
def _promotion(trial: Trial) -> str:
    """The claim of promoting ``trial``: one promotion per trial, whoever asks."""
    return f"promote/{trial.number}"


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


def _n_halvings(min_budget: float, max_budget: float, factor: int) -> int:
    """``s_max = floor(log_factor(max / min))``, exact for ints and tolerant for floats."""
    s = 0
    if isinstance(min_budget, int) and isinstance(max_budget, int):
        while min_budget * factor ** (s + 1) <= max_budget:
            s += 1
    else:
        while min_budget * factor ** (s + 1) <= max_budget * (1 + 1e-9):
            s += 1
    return s


def _budget(max_budget: float, factor: int, halvings: int) -> float:
    """``max / factor**halvings``, rounded up for an int ``max`` (as KerasTuner does)."""
    scale: int = factor**halvings
    if isinstance(max_budget, int):
        return -(-max_budget // scale)
    return max_budget / scale


def _hyperband_brackets(min_budget: float, max_budget: float, factor: int) -> list[Bracket]:
    s_max = _n_halvings(min_budget, max_budget, factor)
    brackets = []
    for s in range(s_max, -1, -1):
        n = -(-((s_max + 1) * factor**s) // (s + 1))  # ceil((s_max + 1) / (s + 1) * eta**s)
        rungs = tuple(
            Rung(n // factor**i, _budget(max_budget, factor, s - i)) for i in range(s + 1)
        )
        brackets.append(Bracket(s, rungs))
    return brackets


# -- reading the history ---------------------------------------------------------------------
class _Roster:
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


def _ranked(history: History, trials: Sequence[Trial]) -> list[Trial]:
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


def _past_budget(trial: Trial) -> Decision:
    """STOP once a trial reports a step beyond its budget (its objective ignores the budget)."""
    if trial.budget is None or not trial.intermediate:
        return Decision.CONTINUE
    return Decision.STOP if max(trial.intermediate) > trial.budget else Decision.CONTINUE


class _NewConfigs:
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
        roster = _Roster(history, ("iteration", "bracket", "rung"))
        new = _NewConfigs(space, history, sampler, rng)
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
        self, k: int, bracket: Bracket, roster: _Roster, history: History, new: _NewConfigs
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
                    for trial in _ranked(history, below)[: rung.n_configs]:
                        if trial.number not in promoted:
                            attrs[Bookkeeping.PROMOTED_FROM] = trial.number
                            return Suggestion(
                                dict(trial.values), rung.budget, attrs, claim=_promotion(trial)
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
        return _past_budget(trial)

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
        _check_budgets(owner, "min_budget", min_budget, "max_budget", max_budget, factor)
        _check(
            owner, "n_configs", n_configs, n_configs is None or _is_int(n_configs, 1), "an int >= 1"
        )
        _check(
            owner,
            "iterations",
            iterations,
            iterations is None or _is_int(iterations, 1),
            "an int >= 1 or None",
        )
        self.min_budget = _as_number(min_budget)
        self.max_budget = _as_number(max_budget)
        self.factor = int(factor)
        if not isinstance(self.min_budget, int):
            self.max_budget = float(self.max_budget)  # ints only when both limits are ints
        s = _n_halvings(self.min_budget, self.max_budget, self.factor)
        self.n_configs = int(n_configs) if n_configs is not None else self.factor**s
        rungs = tuple(
            Rung(
                max(1, self.n_configs // self.factor**i),
                _budget(self.max_budget, self.factor, s - i),
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
    """Hyperband: brackets of successive halving, from aggressive to none (KerasTuner's names).

    See the module docstring for the brackets; :meth:`brackets` lists them. The search stops
    when every bracket of every iteration has run.

    Args:
        max_epochs: the full budget (epochs by default; any resource works).
        factor: ``eta``, the ratio of one rung's budget to the one below it.
        min_epochs: the smallest budget worth running.
        hyperband_iterations: how many times the whole set of brackets runs; None: again
            and again until the tuner stops (``max_trials``, ``timeout``).

    >>> hb = HyperbandScheduler(81)
    >>> [[(r.n_configs, r.budget) for r in b.rungs] for b in hb.brackets()][1]
    [(34, 3), (11, 9), (3, 27), (1, 81)]
    >>> [b.s for b in hb.brackets()]
    [4, 3, 2, 1, 0]
    """

    def __init__(
        self,
        max_epochs: float,
        *,
        factor: int = 3,
        min_epochs: float = 1,
        hyperband_iterations: int | None = 1,
    ) -> None:
        owner = "HyperbandScheduler"
        _check_budgets(owner, "min_epochs", min_epochs, "max_epochs", max_epochs, factor)
        _check(
            owner,
            "hyperband_iterations",
            hyperband_iterations,
            hyperband_iterations is None or _is_int(hyperband_iterations, 1),
            "an int >= 1 or None",
        )
        self.max_epochs = _as_number(max_epochs)
        self.min_epochs = _as_number(min_epochs)
        if not isinstance(self.min_epochs, int):
            self.max_epochs = float(self.max_epochs)  # ints only when both limits are ints
        self.factor = int(factor)
        self.hyperband_iterations = (
            None if hyperband_iterations is None else int(hyperband_iterations)
        )
        self._brackets = _hyperband_brackets(self.min_epochs, self.max_epochs, self.factor)
        self._iterations = self.hyperband_iterations

    def _stop_reason(self) -> str:
        if self._iterations is None:
            return "the search space is exhausted"
        n = len(self._brackets) * self._iterations
        return f"Hyperband has run its {n} brackets"

    def settings(self) -> dict[str, Any]:
        return {
            "max_epochs": self.max_epochs,
            "factor": self.factor,
            "min_epochs": self.min_epochs,
            "hyperband_iterations": self.hyperband_iterations,
        }

    def __repr__(self) -> str:
        return (
            f"HyperbandScheduler(max_epochs={self.max_epochs!r}, factor={self.factor}, "
            f"min_epochs={self.min_epochs!r}, hyperband_iterations={self.hyperband_iterations})"
        )


# -- asynchronous successive halving ---------------------------------------------------------
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
        _check_budgets(owner, "min_budget", min_budget, "max_budget", max_budget, factor)
        _check(owner, "mode", mode, mode in _MODES, f"one of {_MODES}")
        _check(
            owner, "n_configs", n_configs, n_configs is None or _is_int(n_configs, 1), "an int >= 1"
        )
        self.min_budget = _as_number(min_budget)
        self.max_budget = _as_number(max_budget)
        if not isinstance(self.min_budget, int):
            self.max_budget = float(self.max_budget)
        self.factor = int(factor)
        self.mode = mode
        self.metric = _check_metric(owner, metric)
        self.n_configs = None if n_configs is None else int(n_configs)
        top = _n_halvings(self.min_budget, self.max_budget, self.factor)
        self.budgets: tuple[float, ...] = tuple(
            _budget(self.max_budget, self.factor, top - k) for k in range(top + 1)
        )

    def next(
        self,
        space: HyperParameters,
        history: History,
        sampler: Sampler,
        rng: np.random.Generator,
    ) -> Suggestion | Wait | Stop:
        if self.mode == "stopping":
            started = sum(1 for t in history if t.retry_of is None)
            if self.n_configs is not None and started >= self.n_configs:
                return Stop(f"ASHA started its {self.n_configs} configurations")
            values = sampler.sample(space, history, rng)
            if values is None:
                return Stop("every configuration of the search space has been tried")
            return Suggestion(values, self.max_budget)

        roster = _Roster(history, ("bracket", "rung"))
        for k in range(len(self.budgets) - 2, -1, -1):
            finished = [t for t in roster.get(0, k) if t.is_finished]
            promoted = {t.promoted_from for t in roster.get(0, k + 1)}
            for trial in _ranked(history, finished)[: len(finished) // self.factor]:
                if trial.number not in promoted:
                    attrs = {"bracket": 0, "rung": k + 1, Bookkeeping.PROMOTED_FROM: trial.number}
                    return Suggestion(
                        dict(trial.values), self.budgets[k + 1], attrs, claim=_promotion(trial)
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
        if _past_budget(trial) is Decision.STOP:
            return Decision.STOP
        if self.mode != "stopping":
            return Decision.CONTINUE
        objective = _metric_objective(self.metric, history)
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
            "metric": _metric_settings(self.metric),
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
