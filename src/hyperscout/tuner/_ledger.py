"""The tuner's running account of its study: what counts, what ran, what runs again.

:class:`Ledger` keeps the facts the search loop asks about on every step (trials that count
toward ``max_trials``, configurations already run or enqueued, failed trials to retry) and
brings them up to date from the storage's trial list without reading it all again.
"""

from __future__ import annotations

from hyperscout.history import Coverage, History
from hyperscout.objective import Objective
from hyperscout.schedulers import Suggestion
from hyperscout.trial import Bookkeeping, Trial, TrialState

__all__ = ["Ledger"]

# Attributes of a failed trial that describe that attempt, not the configuration it reruns.
_ATTEMPT_ATTRS = (
    Bookkeeping.RERUN,
    Bookkeeping.ABANDONED,
    Bookkeeping.WORKER,
    Bookkeeping.RETRY_OF,
    Bookkeeping.ATTEMPT,
)


class Ledger:
    """Facts the loop needs about the trial list, updated from the first trial that may change.

    Finished trials never change (the storage contract), so each refresh looks only at the
    trials from the first unfinished one on, and the loop's cost per trial stays flat as the
    study grows.
    """

    def __init__(self, objective: Objective) -> None:
        self.objective = objective
        self._stable = 0  # trials[:_stable] are finished and accounted for
        self._counted_stable = 0
        self.counted = 0  # finished trials that count toward max_trials
        self.keys: set[str] = set()
        self.coverage = Coverage()  # what the trials ran, by the values they read
        self.retried: set[int] = set()
        self._reruns_seen: set[int] = set()  # numbers of the trials that rerun another
        self.reruns: dict[int, Trial] = {}  # failed trials whose configuration runs again
        self.enqueued: set[str] = set()  # keys of enqueued configurations already started
        #: Parameter names of the finished trials: a name the tuner's space lacks was
        #: defined by another worker's trial, and the tuner reads the study's space again.
        self.names: set[str] = set()

    def refresh(self, trials: list[Trial]) -> History:
        if len(trials) < self._stable:  # the study was emptied under us: start over
            self.__init__(self.objective)  # type: ignore[misc]
        for trial in trials[self._stable :]:
            self.keys.add(trial.key)
            if "enqueued" in trial.attrs:
                self.enqueued.add(trial.attrs["enqueued"])
            retry_of = trial.retry_of
            if retry_of is not None:
                self.retried.add(retry_of)
                self._reruns_seen.add(trial.number)
                self.reruns.pop(retry_of, None)
        while self._stable < len(trials) and trials[self._stable].is_finished:
            trial = trials[self._stable]
            self.names.update(trial.values)
            if not trial.is_rerun:
                self._counted_stable += 1
            elif trial.state is TrialState.FAILED and trial.number not in self.retried:
                self.reruns[trial.number] = trial
            self._stable += 1
        unstable = trials[self._stable :]
        self.counted = self._counted_stable + sum(
            1 for t in unstable if t.is_finished and not t.is_rerun
        )
        coverage = self.coverage.update(trials)
        first_attempts = len(trials) - len(self._reruns_seen)
        return History(
            trials, self.objective, keys=self.keys, coverage=coverage, first_attempts=first_attempts
        )

    def rerun_suggestion(self) -> Suggestion | None:
        """The next attempt of the earliest failed trial that runs again, or None."""
        reruns = self.reruns
        if not reruns:
            return None
        rerun = reruns[min(reruns)]
        attrs = {k: v for k, v in rerun.attrs.items() if k not in _ATTEMPT_ATTRS}
        attrs.pop("claim", None)
        attrs[Bookkeeping.RETRY_OF] = rerun.number
        attrs[Bookkeeping.ATTEMPT] = rerun.attempt + 1
        return Suggestion(rerun.values, rerun.budget, attrs, claim=f"retry/{rerun.number}")
