"""Ask and tell: trials started and finished by a loop of the user's own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hyperscout._validation import check
from hyperscout.exceptions import (
    ClaimTakenError,
    InvalidArgumentError,
    SearchFinished,
)
from hyperscout.hypermodel.results import BadResultError, check_result, metrics_of
from hyperscout.schedulers import Stop, Wait
from hyperscout.space import HyperParameters
from hyperscout.trial import (
    RunningTrial,
    Trial,
    TrialState,
)
from hyperscout.tuner._checks import check_enqueued
from hyperscout.tuner._loop import SearchLoop


class AskTell(SearchLoop):
    """Enqueued configurations, and :meth:`ask` / :meth:`tell` for a loop of the user's own."""

    def enqueue(self, values: Mapping[str, Any]) -> None:
        """Run a known configuration before the strategy proposes its own.

        For the lecture's "what did others do?": start from published or hand-tuned values;
        the sampler learns from them like from any trial. ``values`` may name only some
        parameters; the others are drawn as for a new parameter. A configuration enqueued
        again after a resume, and already started, is not run twice.

        A name the space does not know yet is accepted, since the objective may define it
        when it runs (define-by-run), unless it is a near miss of a known parameter (``Lr``
        for ``lr``, ``momentun`` for ``momentum``; names that differ only in digits, such as
        ``units_2`` and ``units_1``, are different parameters): that is a typo, refused. A
        name still unknown once the enqueued trial ran, while the objective defined a near
        miss of it, stops the search with :class:`~hyperscout.UsageError`.

        >>> import hyperscout as hs
        >>> tuner = hs.RandomSearch(lambda hp: hp.Float("lr", 1e-4, 1e-1, sampling="log"),
        ...                         max_trials=3, storage="memory", verbose=0, seed=0)
        >>> tuner.enqueue({"lr": 1e-3})
        >>> tuner.search()
        >>> tuner.trials[0].values
        {'lr': 0.001}

        Raises:
            InvalidArgumentError: a value is not one of its (already defined) parameter's
                values, or a name is a near miss of a known parameter.
        """
        check_enqueued(values, self._space)
        self._queue.append(dict(values))

    def ask(self) -> tuple[HyperParameters, RunningTrial]:
        """Start a trial for a loop of your own; finish it with :meth:`tell`.

        >>> import hyperscout as hs
        >>> tuner = hs.RandomSearch(seed=1, storage="memory", verbose=0)
        >>> hp, trial = tuner.ask()
        >>> x = hp.Float("x", 0.0, 1.0)
        >>> tuner.tell(trial, x ** 2).state.name
        'COMPLETE'

        Raises:
            SearchFinished: the strategy has nothing left to propose.
        """
        while True:
            history = self._history()
            step = self._next(history)
            if isinstance(step, Stop):
                raise SearchFinished(f"Nothing left to ask: {step.reason}.")
            if isinstance(step, Wait):
                if self._fail_dead_trials(history):
                    continue  # the strategy waited for a dead worker's trial: ask again
                raise SearchFinished(
                    f"Nothing to start now ({step.reason}): tell() the running trials first."
                )
            try:
                trial = self._start_trial(step)
            except ClaimTakenError:  # another worker took that slot: ask again
                continue
            break
        hp = self._trial_hp(trial)
        self._asked[trial.number] = hp
        return hp, self._running_trial(trial)

    def tell(
        self,
        trial: RunningTrial | int,
        result: Any = None,
        *,
        state: TrialState | None = None,
        error: str | None = None,
    ) -> Trial:
        """Finish a trial started by :meth:`ask` with its result (a float or metrics).

        ``state=TrialState.PRUNED`` records a stopped trial (its last report is its result);
        ``state=TrialState.FAILED`` with ``error=`` records a failure.

        Raises:
            UsageError: ``result`` holds no value of the objective (a dict without its name,
                None, a string) and no trial of the study has produced it: the loop is
                written wrongly. Nothing is recorded; the trial stays open for a corrected
                ``tell``. (Once some trial has produced the metric, such a result records
                this trial as FAILED.)
        """
        number = trial.number if isinstance(trial, RunningTrial) else int(trial)
        check(
            "Tuner.tell",
            "state",
            state,
            state in (None, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED),
            "TrialState.COMPLETE, PRUNED or FAILED",
        )
        if number not in self._asked:
            raise InvalidArgumentError(
                f"tell(trial={number}): that trial was not started by this tuner's ask(), or "
                "was already told."
            )
        if state in (None, TrialState.COMPLETE):
            check_result(result, self.objective, metric_seen=self._metric_seen)
        hp = self._asked.pop(number)
        if state is TrialState.FAILED:
            return self._finish(number, hp, state, error=error or "Told as failed.")
        if state is TrialState.PRUNED:
            reports = self.storage.get_trial(self._study_id, number).intermediate
            metrics = dict(reports[max(reports)]) if reports else None
            if result is not None:
                metrics = metrics_of(result, self.objective)
            return self._finish(number, hp, state, metrics=metrics)
        try:
            metrics = metrics_of(result, self.objective)
        except BadResultError as exc:
            return self._finish(number, hp, TrialState.FAILED, error=str(exc))
        return self._finish(number, hp, TrialState.COMPLETE, metrics=metrics)
