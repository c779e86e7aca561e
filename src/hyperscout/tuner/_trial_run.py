"""Running one trial: from a started trial in storage to its recorded outcome."""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Mapping
from typing import Any

import numpy as np

from hyperscout.exceptions import (
    InvalidArgumentError,
    InvalidSpaceError,
    StorageError,
    TrialPruned,
    UsageError,
)
from hyperscout.hypermodel import (
    run_trial_metrics,
)
from hyperscout.hypermodel.results import BadResultError, average
from hyperscout.schedulers import Decision, Scheduler, Suggestion
from hyperscout.space import HyperParameters, Parameter
from hyperscout.trial import (
    Bookkeeping,
    RunningTrial,
    Trial,
    TrialState,
)
from hyperscout.tuner._checks import (
    check_enqueued_read,
)
from hyperscout.tuner._leases import (
    abandon_trial,
    worker_stamp,
)
from hyperscout.tuner._limits import (
    DeadlinePassed,
    search_timeout_reason,
    trial_timeout_reason,
)
from hyperscout.tuner._state import TunerState


class TrialRunner(TunerState):
    """Runs one trial: its ``hp``, its live handle, the objective, and the record of its outcome.

    The objective is called through :class:`~hyperscout.hypermodel.caller.ObjectiveCaller`,
    which builds and trains models where the hypermodel builds them.
    """

    def _start_trial(self, suggestion: Suggestion) -> Trial:
        attrs = {**suggestion.attrs, Bookkeeping.WORKER: worker_stamp(self._trial_lease)}
        trial = self.storage.create_trial(
            self._study_id,
            values=suggestion.values,
            budget=suggestion.budget,
            attrs=attrs,
            claim=suggestion.claim,
        )
        self._heartbeat.add(trial.number)  # until _finish() or _abandon()
        return trial

    def _abandon(self, number: int, reason: str) -> None:
        error = reason + " Its configuration runs again when the search resumes."
        abandon_trial(self.storage, self._study_id, number, error)
        self._heartbeat.discard(number)

    def _trial_hp(self, trial: Trial) -> HyperParameters:
        rngs: list[np.random.Generator] = []

        def new_value(param: Parameter, values: Mapping[str, Any]) -> Any:
            if not rngs:  # made on first need: most trials meet no new parameter
                # Seeded by the slot, not the trial number, so that a rerun (after a crash or
                # on another worker) draws what the first attempt drew.
                slot = trial.slot
                rngs.append(np.random.default_rng([self.seed, slot, 1]))
            return self.sampler.sample_new(param, values, rngs[0])

        with self._space_lock:
            hp = self._space.with_values(trial.values, new_value=new_value)
        if trial.promoted_from is not None:
            # A promoted trial continues the model its lower-rung trial built from this whole
            # configuration, so its result depends on all of it, even when its code restores
            # a checkpoint and reads no parameter again: record it all.
            hp.values  # noqa: B018 (looking at the values counts as reading them)
        return hp

    def _running_trial(self, trial: Trial) -> RunningTrial:
        watches = type(self.scheduler).on_report is not Scheduler.on_report

        def on_report(step: int, metrics: dict[str, float]) -> bool:
            # A deadline's hard stop waits for hyperscout's own writes and reads to end.
            with self._hard_stop.writing():
                return record_report(step, metrics)

        def record_report(step: int, metrics: dict[str, float]) -> bool:
            metrics = self.objective.with_value(metrics)  # objective=[...]: its sum kept too
            try:
                self.storage.report(self._study_id, trial.number, step, metrics)
            except StorageError:
                # Finished elsewhere before a heartbeat told us: the trial is no longer ours.
                if not self.storage.get_trial(self._study_id, trial.number).is_finished:
                    raise
                handle.revoke()
                return True
            if not watches:
                return False
            current = self.storage.get_trial(self._study_id, trial.number)
            return self.scheduler.on_report(current, self._history()) is Decision.STOP

        previous = None
        parent = trial.promoted_from
        if parent is not None:
            with contextlib.suppress(StorageError):
                previous = (int(parent), self.storage.get_trial(self._study_id, int(parent)).budget)
        handle = RunningTrial(
            trial.number,
            trial.budget,
            attrs=trial.attrs,
            on_report=on_report,
            checkpoint_root=self.checkpoint_root,
            previous=previous,
        )
        # Taken for dead by another worker (our heartbeats did not reach the storage for
        # longer than the lease): the objective sees should_stop() and its result is dropped.
        self._heartbeat.watch(trial.number, handle.revoke)
        return handle

    def _run_trial(self, trial: Trial, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Trial:
        """Run the objective for one trial and record the outcome. Runs inside the executor."""
        try:
            return self._run_started_trial(trial, args, kwargs)
        finally:
            self._heartbeat.discard(trial.number)  # however it ended
            self._handles.pop(trial.number, None)

    def _run_started_trial(
        self, trial: Trial, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Trial:
        hp = self._trial_hp(trial)
        handle = self._running_trial(trial)
        deadlines = [] if self._search_deadline is None else [self._search_deadline]
        if self.trial_timeout is not None:
            deadlines.append(time.monotonic() + self.trial_timeout)
        handle.deadline = min(deadlines, default=None)
        self._handles[trial.number] = handle
        interrupted = False
        try:
            try:
                with self._hard_stop.armed(handle.deadline):
                    state, metrics, error, attrs = self._outcome(hp, handle, args, kwargs)
            except DeadlinePassed:  # interrupted at its deadline (see HardStop)
                state, metrics, error, attrs = TrialState.FAILED, None, None, None
                interrupted = True
            if "enqueued" in trial.attrs:
                check_enqueued_read(trial.values, hp)
        except KeyboardInterrupt:
            self._merge_space(hp)
            self._abandon(trial.number, "The search was interrupted (Ctrl-C) during this trial.")
            raise
        except UsageError as exc:
            # A mistake in how the search is set up, not a result: give the trial up (it runs
            # again on resume) and stop the search with the error.
            with contextlib.suppress(InvalidSpaceError):
                self._merge_space(hp)
            self._abandon(trial.number, f"The search stopped at this trial on a usage error: {exc}")
            raise
        if handle.revoked:
            return self._keep_theirs(trial.number, hp)
        now = time.monotonic()
        if interrupted and handle.deadline is not None:
            now = max(now, handle.deadline)
        late = self._deadline_passed(handle, now)
        if late == "search":
            # Stopped by the search's timeout, not by a fault of its own: it runs again.
            self._merge_space(hp)
            self._abandon(trial.number, search_timeout_reason(self.timeout or 0.0))
            return self.storage.get_trial(self._study_id, trial.number)
        if late == "trial":
            state, metrics, attrs = TrialState.FAILED, None, None
            error = trial_timeout_reason(self.trial_timeout or 0.0)
        if handle.notes:  # e.g. checkpoint_missing, from the checkpoint helpers
            attrs = {**handle.notes, **(attrs or {})}
        return self._finish(trial.number, hp, state, metrics=metrics, error=error, attrs=attrs)

    def _outcome(
        self,
        hp: HyperParameters,
        handle: RunningTrial,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> tuple[TrialState, dict[str, Any] | None, str | None, dict[str, Any] | None]:
        """Run the objective for one trial: the state, metrics, error and attrs to record.

        A failure of the trial (the objective raised, returned NaN) is an outcome; a
        :class:`UsageError` (and Ctrl-C) is raised.
        """
        try:
            runs = []
            for execution in range(self.executions_per_trial):
                runs.append(self._execute(hp, handle, args, kwargs, execution))
        except TrialPruned:
            last = handle.reports[max(handle.reports)] if handle.reports else {}
            return TrialState.PRUNED, dict(last), None, None
        except UsageError:
            raise
        except InvalidSpaceError as exc:
            # A parameter defined wrongly (a bad range, one name defined two ways) is how the
            # objective is written: every trial that reaches it fails the same way.
            if exc.parameter in self._stored_names:
                raise UsageError(str(self._space_changed(exc))) from exc
            raise UsageError(f"The objective defined a hyperparameter wrongly: {exc}") from exc
        except BadResultError as exc:
            return TrialState.FAILED, None, str(exc), None
        except Exception as exc:
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            reason = f"The objective raised {type(exc).__name__}: {exc}"
            return TrialState.FAILED, None, f"{reason}\n\n{text}", None
        state = TrialState.PRUNED if handle.should_stop() else TrialState.COMPLETE
        attrs = self._caller.outcome_attrs()
        return state, average(runs), None, attrs

    def run_trial(self, trial: RunningTrial, *args: Any, **kwargs: Any) -> Any:
        """Run one execution of a trial and return its result; override it as in KerasTuner.

        The tuner calls it with the trial's live handle (``trial.hyperparameters`` is its
        ``hp``, ``trial.trial_id`` its id, and ``trial.report``/``trial.should_stop`` work as
        for any objective) and the arguments of :meth:`search`. A subclass that overrides it
        needs no hypermodel; ``hp`` reads inside define the space as they run. It may return
        what KerasTuner's ``run_trial`` returns (see
        :func:`~hyperscout.hypermodel.run_trial_metrics`): a float, a dict of metrics, a Keras
        ``History`` (its best epoch counts), or a list of those (averaged). The default runs
        the hypermodel (builds and trains its model) and returns the metrics, so an override
        may change the arguments and call ``super().run_trial(trial, *args, **kwargs)``.

        >>> import hyperscout as hs
        >>> class MyTuner(hs.RandomSearch):
        ...     def run_trial(self, trial, *args, **kwargs):
        ...         x = trial.hyperparameters.Float("x", -1.0, 1.0)
        ...         return x * x + 1
        >>> tuner = MyTuner(max_trials=10, seed=0, storage="memory", verbose=0)
        >>> tuner.search()
        >>> abs(tuner.get_best_hyperparameters()[0].get("x")) < 0.5
        True
        """
        hp = trial.hyperparameters
        if hp is None or self.hypermodel is None:
            raise InvalidArgumentError(
                "Tuner.run_trial(): the default run_trial runs the hypermodel, but this tuner "
                "has none (hypermodel=None) or the trial has no hyperparameters. Override "
                "run_trial without calling super().run_trial(), or give the tuner a hypermodel."
            )
        return self._caller(hp, trial, args, kwargs, trial.execution)

    def _overrides_run_trial(self) -> bool:
        return type(self).run_trial is not TrialRunner.run_trial

    def _execute(
        self,
        hp: HyperParameters,
        handle: RunningTrial,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        execution: int,
    ) -> dict[str, Any]:
        """One execution of a trial: the subclass's ``run_trial``, or the hypermodel's run."""
        if not self._overrides_run_trial():
            return self._caller(hp, handle, args, kwargs, execution)
        handle.hyperparameters = hp
        handle.execution = execution
        return run_trial_metrics(self.run_trial(handle, *args, **kwargs), self.objective)

    def _finish(
        self,
        number: int,
        hp: HyperParameters,
        state: TrialState,
        *,
        metrics: Mapping[str, Any] | None = None,
        error: str | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> Trial:
        try:
            return self._record(number, hp, state, metrics=metrics, error=error, attrs=attrs)
        finally:
            self._heartbeat.discard(number)

    def _keep_theirs(self, number: int, hp: HyperParameters) -> Trial:
        """Record nothing for a revoked trial: the record of whoever took it stands."""
        self._merge_space(hp)
        self._heartbeat.discard(number)
        return self.storage.get_trial(self._study_id, number)

    def _record(
        self,
        number: int,
        hp: HyperParameters,
        state: TrialState,
        *,
        metrics: Mapping[str, Any] | None,
        error: str | None,
        attrs: Mapping[str, Any] | None,
    ) -> Trial:
        self._merge_space(hp)
        value = None
        if metrics is not None and self.objective.name in metrics:
            value = metrics[self.objective.name]
        attrs = dict(attrs or {})
        if state is TrialState.FAILED:
            attempt = self.storage.get_trial(self._study_id, number).attempt
            if attempt < self.max_retries_per_trial:
                attrs[Bookkeeping.RERUN] = True
        # Only what the trial read: a parameter it never reached (another branch, a layer it
        # did not build) did not shape its result. A failed trial may have stopped before
        # reading what it would have, so it keeps the whole configuration it was given.
        values = hp.values if state is TrialState.FAILED else hp.read_values
        try:
            return self.storage.finish_trial(
                self._study_id,
                number,
                state=state,
                values=values,
                value=value,
                metrics=metrics,
                error=error,
                attrs=attrs,
            )
        except StorageError:
            # Already finished elsewhere (an interrupted search gave it up, or a worker that
            # took this one for dead): keep that record.
            return self.storage.get_trial(self._study_id, number)

    def _deadline_passed(self, handle: RunningTrial | None, now: float) -> str | None:
        """Which deadline the trial of ``handle`` passed: ``"trial"``, ``"search"`` or None."""
        if handle is None or handle.deadline is None or now < handle.deadline:
            return None
        if self._search_deadline is not None and handle.deadline >= self._search_deadline:
            return "search"
        return "trial"
