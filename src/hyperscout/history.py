"""The history of a study: its trials, read-only, with the objective that ranks them.

Samplers and schedulers decide from a :class:`History` (never from storage or the tuner);
the tuner, the report and the command line read "the best" and "how many" from it, so that
every one of them ranks and counts alike. :class:`Coverage` says which configurations the
trials already ran; :func:`rank_configurations` is the one ranking behind every "best".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence, Set
from typing import Any, overload

from hyperscout.objective import Objective
from hyperscout.trial import Trial, TrialState, config_key

__all__ = ["Coverage", "History", "budget_rank", "count_states", "rank_configurations"]


class Coverage:
    """Which configurations the trials of a study already ran, counting what they read.

    A trial records only the parameters its code read (see
    :attr:`~hyperscout.space.HyperParameters.read_values`). A configuration ``c`` over the
    known space is *covered* by a trial ``t`` when every value ``t`` has is also ``c``'s:
    running ``c`` would run ``t``'s program again (``n_layers=1`` reads ``units_0`` and never
    ``units_1``, so ``{n_layers: 1, units_0: 32}`` covers every value of ``units_1``).

    The trials are indexed by the set of names they hold (a study has few such sets), so a
    check costs one dict lookup per set. :meth:`update` takes a study's trial list and reads
    only the trials from the first unfinished one on (finished trials never change), so a
    coverage kept across the proposals of a study costs little per trial.

    >>> coverage = Coverage()
    >>> coverage.add({"n_layers": 1, "units_0": 32})
    >>> coverage.covers({"n_layers": 1, "units_0": 32, "units_1": 64})
    True
    >>> coverage.covers({"n_layers": 2, "units_0": 32, "units_1": 64})
    False
    """

    def __init__(self) -> None:
        self._index: dict[frozenset[str], set[str]] = {}
        self._stable = 0
        #: Every configuration added for good, in order: followers (a sampler's cache of
        #: what is left of a grid) can take the news from where they stopped.
        self.added: list[Mapping[str, Any]] = []
        #: The values of the trials still running: their proposals, replaced by what they
        #: read once they finish, so they are looked at anew on every update.
        self.running: list[Mapping[str, Any]] = []
        self._running_index: dict[frozenset[str], set[str]] = {}

    def add(self, values: Mapping[str, Any]) -> None:
        """Count ``values`` (a finished trial's, or any configuration run) as run, for good."""
        if _insert(self._index, values):
            self.added.append(values)

    def update(self, trials: Sequence[Trial]) -> Coverage:
        """Bring the coverage up to date with a study's trial list (which only grows).

        Finished trials are added for good; running ones for this update only, since they
        record what they read when they finish.
        """
        if len(trials) < self._stable:  # another (or an emptied) study: start over
            self.__init__()  # type: ignore[misc]
        self.running, self._running_index = [], {}
        for trial in trials[self._stable :]:
            if trial.is_finished:
                # A trial given up to run again (a failure retried, a killed worker's) covers
                # nothing: its rerun runs the configuration, and its values may be only the
                # proposal ({} for a define-by-run study's first trial covers everything).
                if not trial.is_rerun:
                    self.add(trial.values)
            elif _insert(self._running_index, trial.values):
                self.running.append(trial.values)
        while self._stable < len(trials) and trials[self._stable].is_finished:
            self._stable += 1
        return self

    def covers(self, values: Mapping[str, Any]) -> bool:
        """True when some trial's values are all among ``values`` (see the class docstring)."""
        return _covered(self._index, values) or _covered(self._running_index, values)


def _insert(index: dict[frozenset[str], set[str]], values: Mapping[str, Any]) -> bool:
    keys = index.setdefault(frozenset(values), set())
    key = config_key(values)
    if key in keys:
        return False
    keys.add(key)
    return True


def _covered(index: dict[frozenset[str], set[str]], values: Mapping[str, Any]) -> bool:
    names = values.keys()
    for held, keys in index.items():
        if held <= names and config_key({k: values[k] for k in held}) in keys:
            return True
    return False


class History(Sequence[Trial]):
    """The trials of a study, read-only, with the objective that ranks them.

    >>> from hyperscout.trial import Trial, TrialState
    >>> h = History([Trial(0, {"x": 1}, TrialState.COMPLETE, value=0.9)], Objective("acc", "max"))
    >>> h.losses()
    [-0.9]
    """

    def __init__(
        self,
        trials: Sequence[Trial],
        objective: Objective,
        *,
        keys: Set[str] | None = None,
        coverage: Coverage | None = None,
        first_attempts: int | None = None,
    ) -> None:
        self._trials = trials
        self.objective = objective
        self._keys = keys
        self._coverage = coverage
        self._first_attempts = first_attempts

    @property
    def first_attempts(self) -> int:
        """How many trials are not reruns of another (each fills a slot of the study).

        >>> from hyperscout.trial import Trial, TrialState
        >>> rerun = Trial(1, {"x": 1}, TrialState.COMPLETE, attrs={"retry_of": 0})
        >>> failed = Trial(0, {"x": 1}, TrialState.FAILED)
        >>> History([failed, rerun], Objective("loss")).first_attempts
        1
        """
        if self._first_attempts is None:
            self._first_attempts = sum(1 for t in self._trials if t.retry_of is None)
        return self._first_attempts

    @overload
    def __getitem__(self, index: int) -> Trial: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Trial]: ...
    def __getitem__(self, index: int | slice) -> Trial | Sequence[Trial]:
        return self._trials[index]

    def __len__(self) -> int:
        return len(self._trials)

    @property
    def keys(self) -> Set[str]:
        """The configuration keys of every trial (any state), its exact values.

        The tuner passes them in, kept up to date as trials arrive. What not to propose
        again is :attr:`coverage`: a trial also ran the configurations that differ only in
        parameters it did not read.
        """
        if self._keys is None:
            self._keys = frozenset(t.key for t in self._trials)
        return self._keys

    @property
    def coverage(self) -> Coverage:
        """What the trials ran (:class:`Coverage`): what not to propose again.

        The tuner passes one in, kept up to date as trials arrive; otherwise it is built from
        the trials on first use.
        """
        if self._coverage is None:
            self._coverage = Coverage().update(self._trials)
        return self._coverage

    def covers(self, values: Mapping[str, Any]) -> bool:
        """True when a trial already ran ``values``' program (it read a subset of them)."""
        return self.coverage.covers(values)

    def subset(self, trials: Sequence[Trial]) -> History:
        """A history of some of these trials that still knows what every trial ran."""
        return History(trials, self.objective, keys=self.keys, coverage=self.coverage)

    def in_state(self, *states: TrialState) -> list[Trial]:
        """The trials in any of ``states``."""
        return [t for t in self._trials if t.state in states]

    @property
    def completed(self) -> list[Trial]:
        """The COMPLETE trials that have a value."""
        return [t for t in self._trials if t.state is TrialState.COMPLETE and t.value is not None]

    def loss(self, trial: Trial) -> float:
        """The trial's value as a loss (lower is better); +inf when it has none."""
        return float("inf") if trial.value is None else self.objective.loss(trial.value)

    def losses(self) -> list[float]:
        """Losses of the completed trials, in trial order."""
        return [self.loss(t) for t in self.completed]

    def best(self, n: int = 1) -> list[Trial]:
        """The ``n`` best configurations' COMPLETE trials, best first.

        One trial per configuration under budgets (see :func:`rank_configurations`).

        >>> h = History([Trial(0, {"x": 1}, TrialState.COMPLETE, value=0.5),
        ...              Trial(1, {"x": 2}, TrialState.COMPLETE, value=0.2)],
        ...             Objective("val_loss", "min"))
        >>> [t.number for t in h.best(2)]
        [1, 0]
        """
        return rank_configurations(self._trials, self.objective)[:n]

    def counts(self) -> dict[TrialState, int]:
        """How many trials are in each state (every state, zeros included).

        >>> h = History([Trial(0, {}, TrialState.FAILED)], Objective("val_loss", "min"))
        >>> h.counts()[TrialState.FAILED], h.counts()[TrialState.COMPLETE]
        (1, 0)
        """
        return count_states(self._trials)


def count_states(trials: Iterable[Trial]) -> dict[TrialState, int]:
    """How many of ``trials`` are in each state (every state, zeros included)."""
    counts = dict.fromkeys(TrialState, 0)
    for trial in trials:
        counts[trial.state] += 1
    return counts


def budget_rank(budget: float | None) -> float:
    """A budget as a number to compare: ``None`` (the full budget) is above every number.

    >>> sorted([3, None, 27], key=budget_rank)
    [3, 27, None]
    """
    return math.inf if budget is None else float(budget)


def rank_configurations(trials: Iterable[Trial], objective: Objective) -> list[Trial]:
    """Each configuration's result once, best first: the ranking behind every "best".

    Only COMPLETE trials with a value are results (a pruned or failed trial is none). A
    configuration (the same values, see :func:`~hyperscout.trial.config_key`) promoted through
    several budgets is represented by its trial on the highest budget it completed (the
    latest one if it completed that budget twice): a configuration whose trial on 27 epochs
    failed, or is still running, is ranked with its result on 9. The order:

    1. the configurations that completed the highest budget of the search first, by their
       value there (the objective's direction);
    2. then those that stopped lower, by budget, highest first, and by value within a budget;
    3. ties: the earlier trial first.

    A value on a lower budget never outranks one on a higher budget: results after 1 and after
    27 epochs do not measure the same thing, and a configuration was stopped on a low budget
    because configurations beside it did better there. A budget of ``None`` is the full budget
    (above every number). A search without budgets (no complete trial has one) is ranked
    trial by trial, by value, as before: a configuration that ran twice there (enqueued twice,
    say) has two rows.

    >>> def t(n, x, budget, value):
    ...     return Trial(n, {"x": x}, TrialState.COMPLETE, value=value, budget=budget)
    >>> ranked = rank_configurations(
    ...     [t(0, 0.1, 1, 0.2), t(1, 0.2, 1, 0.5), t(2, 0.3, 1, 0.7), t(3, 0.2, 3, 0.4),
    ...      t(4, 0.3, 3, 0.3)], Objective("val_loss", "min"))
    >>> [(r.number, r.values["x"], r.budget) for r in ranked]
    [(4, 0.3, 3), (3, 0.2, 3), (0, 0.1, 1)]
    """
    complete = [
        t
        for t in trials
        if t.state is TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)
    ]

    def loss(trial: Trial) -> float:
        assert trial.value is not None  # complete trials have one
        return objective.loss(trial.value)

    if all(t.budget is None for t in complete):
        return sorted(complete, key=lambda t: (loss(t), t.number))
    results: dict[str, Trial] = {}
    for trial in sorted(complete, key=lambda t: (budget_rank(t.budget), t.number)):
        results[trial.key] = trial  # the highest budget, then the latest, comes last
    return sorted(results.values(), key=lambda t: (-budget_rank(t.budget), loss(t), t.number))
