"""The search loop: what runs next, when to wait, when the search ends."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperscout.exceptions import (
    ClaimTakenError,
    InvalidArgumentError,
    TooManyFailedTrialsError,
    UsageError,
)
from hyperscout.executors.process import ProcessExecutor, resolve_n_jobs
from hyperscout.history import History
from hyperscout.schedulers import Stop, Suggestion, Wait
from hyperscout.space import HyperParameters
from hyperscout.trial import (
    Bookkeeping,
    Trial,
    TrialState,
    config_key,
)
from hyperscout.tuner._limits import (
    search_timeout_reason,
    trial_timeout_reason,
)
from hyperscout.tuner._processes import ProcessPlan, call_of, plan_processes, submit_to_process
from hyperscout.tuner._trial_run import TrialRunner

if TYPE_CHECKING:
    from hyperscout.tuner.progress import SearchProgress

#: Seconds of the first look at the storage after the scheduler said Wait.
_FIRST_POLL = 0.02


class SearchLoop(TrialRunner):
    """The loop of :meth:`search`: ask the strategy, submit the trial, record it, repeat."""

    def _counted(self) -> int:
        """Finished trials that count toward ``max_trials`` (reruns and leftovers do not)."""
        return self._ledger.counted

    def _next(self, history: History) -> Suggestion | Wait | Stop:
        """What this worker starts next: a rerun, an enqueued configuration, or a new slot.

        Every trial that is not a rerun fills the search's next slot, ``slot/k`` for the
        ``k``-th such trial of the study, and storage starts at most one trial per claim. So
        workers that read the same history cannot both start a trial: the one that loses the
        claim reads the history again (now holding the other's trial) and proposes anew. That
        makes ``max_trials`` exact for the whole study (slot ``max_trials`` is never taken),
        keeps a configuration from being proposed twice, and seeds proposal ``k`` from the
        seed and ``k`` alone, whichever worker draws it and however often the search resumed.

        The search ends (Stop) only when nothing runs anywhere: a running trial may still fail
        and need its rerun, or its worker may die and its trial be reclaimed.
        """
        rerun = self._ledger.rerun_suggestion()
        if rerun is not None:
            return rerun
        # Counted in the history the strategy reads, not in the ledger (which another call
        # of _history(), e.g. from a trial's report, may have brought further): a slot
        # claimed from an older history would let a strategy repeat what it cannot see.
        slot = history.first_attempts
        if self.max_trials is not None and slot >= self.max_trials:
            return self._unless_running(Stop(f"max_trials={self.max_trials} reached"), history)
        while self._queue:
            values = self._queue[0]
            key = config_key(values)
            if key not in self._ledger.enqueued:
                return self._in_slot(Suggestion(values, None, {"enqueued": key}), slot)
            self._queue.pop(0)
        rng = np.random.default_rng([self.seed, slot])
        self._load_new_parameters()
        with self._space_lock:
            space = self._space.copy()
        step = self.scheduler.next(space, history, self.sampler, rng)
        if isinstance(step, Stop):
            return self._unless_running(step, history)
        if isinstance(step, Wait):
            return step
        return self._in_slot(step, slot)

    def _load_new_parameters(self) -> None:
        """Learn the parameters that other workers' trials defined (define-by-run)."""
        with self._space_lock:
            if self._ledger.names.issubset(self._space.names):
                return
        study = self.storage.load_study(self.project_name)
        if study is not None:
            with self._space_lock:
                self._space.merge(HyperParameters.from_dict(study.space))

    @staticmethod
    def _unless_running(stop: Stop, history: History) -> Stop | Wait:
        """``stop``, or Wait while trials run anywhere in the study (they may need a rerun)."""
        if any(t.state is TrialState.RUNNING for t in history):
            return Wait(f"{stop.reason}; waiting for the trials still running")
        return stop

    @staticmethod
    def _in_slot(suggestion: Suggestion, slot: int) -> Suggestion:
        """``suggestion`` as the search's slot ``slot`` (its strategy's claim kept in attrs)."""
        attrs = dict(suggestion.attrs)
        attrs[Bookkeeping.SLOT] = slot
        if suggestion.claim is not None:
            attrs[Bookkeeping.STRATEGY_CLAIM] = suggestion.claim
        return dataclasses.replace(suggestion, attrs=attrs, claim=f"slot/{slot}")

    _process_plan: ProcessPlan | None = None

    def search(self, *args: Any, n_jobs: int | None = None, **kwargs: Any) -> None:
        """Run trials until ``max_trials`` count, the strategy stops, or ``timeout`` passes.

        Finished trials of earlier runs count; a resumed search goes on where it stopped.
        Arguments are passed to the objective after ``hp`` (and ``trial``); for a hypermodel
        that builds models, to the model's ``fit`` (``search(x, y, validation_data=...,
        epochs=...)``, see :mod:`hyperscout.integrations.keras`).

        ``n_jobs=N`` runs N trials at once in worker processes for this search, as
        ``executor=hs.ProcessExecutor(N)`` does (-1: one per core of the machine).

        Raises:
            TooManyFailedTrialsError: ``max_consecutive_failed_trials`` failures in a row, or
                the search ended with failed trials and no successful one in the study.
            UsageError: a trial showed a mistake in how the search is set up (an objective
                that returns metrics without the one optimised, say); no result was recorded.
            KeyboardInterrupt: after recording what finished (Ctrl-C).
        """
        if self.hypermodel is None and not self._overrides_run_trial():
            raise InvalidArgumentError(
                "search() needs a hypermodel (the objective function), or a subclass of the "
                "tuner that overrides run_trial(self, trial, *args, **kwargs); a tuner built "
                "with hypermodel=None is otherwise driven by ask() and tell()."
            )
        self._check_has_end()
        if n_jobs is None:
            self._search_with(args, kwargs)
            return
        workers = resolve_n_jobs(f"{type(self).__name__}.search", n_jobs)
        executor, self.executor = self.executor, ProcessExecutor(workers)
        try:
            self._search_with(args, kwargs)
        finally:
            self.executor = executor

    def _search_with(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """:meth:`search` on the tuner's executor."""
        # Imported here: the progress bar loads rich and hyperscout.report, which neither
        # `import hyperscout` nor a worker process needs.
        from hyperscout.tuner.progress import SearchProgress

        self._process_plan = None
        if self.executor.runs_elsewhere:  # checked before any trial starts
            self._process_plan = plan_processes(self, args, kwargs)
        started = time.monotonic()
        self._search_deadline = None if self.timeout is None else started + self.timeout
        progress = SearchProgress(
            self.objective,
            total=self.max_trials,
            enabled=self.verbose >= 1,
            per_trial=self.verbose >= 2,
        )
        running: dict[Future[Trial], int] = {}
        with progress:
            best = [t.value for t in self._history().best(1)]
            progress.start(self._counted(), best[0] if best else None)
            try:
                self._loop(started, running, progress, args, kwargs)
            except (KeyboardInterrupt, UsageError) as exc:
                if self._process_plan is not None:  # before its ended processes say "ended"
                    for number in running.values():
                        self._abandon(number, _stopped_by(exc))
                self.executor.cancel()
                for number in running.values():
                    self._abandon(number, _stopped_by(exc))
                raise
            finally:
                self.executor.close()
        self._check_some_trial_succeeded()

    def _loop(
        self,
        started: float,
        running: dict[Future[Trial], int],
        progress: SearchProgress,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        """Start trials while workers are free, record them as they end, until the end."""
        history = self._history()
        failures_in_row = 0
        self._poll_delay = None
        while True:
            history, stop = self._fill(started, history, running, args, kwargs)
            if not running:
                if stop is not None:
                    return
                # The scheduler waits for trials that other workers run (a shared storage):
                # look again shortly.
                self._wait_for_others(history)
                history = self._history()
                continue
            timeout = self._time_to_deadline(running)
            if self._poll_delay is not None and len(running) < self.executor.n_workers:
                # Free workers wait for trials that may run elsewhere (other workers of the
                # study): look at the storage again soon, not only when a trial here ends.
                poll = self._next_poll_delay()
                timeout = poll if timeout is None else min(timeout, poll)
            done, _ = wait(list(running), timeout=timeout, return_when=FIRST_COMPLETED)
            for future in done:
                running.pop(future)  # before its result, which may raise (a usage error)
                finished = future.result()
                progress.advance(finished)
                failures_in_row = self._count_failure(finished, failures_in_row)
            for finished in self._give_up_late(running):
                progress.advance(finished)
                failures_in_row = self._count_failure(finished, failures_in_row)
            history = self._history()

    def _fill(
        self,
        started: float,
        history: History,
        running: dict[Future[Trial], int],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> tuple[History, Stop | None]:
        """Start trials until every worker is busy, the strategy waits, or the search ends."""
        stop = self._should_stop(started, history, len(running))
        while stop is None and len(running) < self.executor.n_workers:
            step = self._next(history)
            if isinstance(step, Stop):
                return history, step
            if isinstance(step, Wait):
                if self._poll_delay is None:
                    self._poll_delay = 0.0  # waiting starts: the first look comes soon
                break
            try:
                trial = self._start_trial(step)
            except ClaimTakenError:  # another worker took that slot: look again
                history = self._history()
                continue
            future = self._submit(trial, args, kwargs)
            self._poll_delay = None
            running[future] = trial.number
            if len(running) < self.executor.n_workers:
                history = self._history()
            stop = self._should_stop(started, history, len(running))
        return history, stop

    def _submit(self, trial: Trial, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Future[Trial]:
        """Run ``trial`` on the executor: here or in threads, or in a worker process."""
        if self._process_plan is not None:
            return submit_to_process(self, self._process_plan, trial)
        return self.executor.submit(self._run_trial, trial, args, kwargs)

    def _check_has_end(self) -> None:
        """Refuse a search that would never end by itself (before any trial)."""
        if self.max_trials is not None or self.timeout is not None or self.run_until_stopped:
            return
        if self.scheduler.has_end(self.sampler):
            return
        raise InvalidArgumentError(
            f"{type(self).__name__}(max_trials=None, timeout=None): this search has no end: "
            f"{self.scheduler!r} runs what {self.sampler!r} proposes, and that never runs "
            "out. Give max_trials= (trials to finish) or timeout= (seconds), or "
            "run_until_stopped=True for a search meant to run until it is stopped (Ctrl-C)."
        )

    def _time_to_deadline(self, running: Mapping[Future[Trial], int]) -> float | None:
        """Seconds until the next deadline of the search or of a running trial; None: none."""
        deadlines = [] if self._search_deadline is None else [self._search_deadline]
        unseen = False  # a trial whose thread has not started yet: its deadline is not set
        for number in running.values():
            handle = self._handles.get(number)
            if handle is None:
                unseen = True
            elif handle.deadline is not None:
                deadlines.append(handle.deadline)
        if unseen and self.trial_timeout is not None:
            deadlines.append(time.monotonic() + min(1.0, self.trial_timeout))
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - time.monotonic()) + 0.001

    def _give_up_late(self, running: dict[Future[Trial], int]) -> list[Trial]:
        """Record the running trials past their deadline; the executor cannot stop them.

        Only an executor that runs trials elsewhere (threads) leaves such trials: the
        default one interrupts them itself (see :mod:`hyperscout.tuner._limits`). Returns the
        trials failed by ``trial_timeout``; those given up at the search's ``timeout`` run
        again on resume and are not returned.
        """
        now = time.monotonic()
        failed: list[Trial] = []
        for future, number in list(running.items()):
            if future.done():
                continue
            handle = self._handles.get(number)
            late = self._deadline_passed(handle, now)
            if late is None and self._search_deadline is not None and now >= self._search_deadline:
                late = "search"  # a trial whose thread has not even started
            if late is None:
                continue
            running.pop(future)
            if handle is not None:
                handle.revoke()  # its late result and reports are dropped
            self.executor.give_up(call_of(future))
            if late == "trial":
                hp = self._trial_hp(self.storage.get_trial(self._study_id, number))
                reason = trial_timeout_reason(self.trial_timeout or 0.0)
                failed.append(self._finish(number, hp, TrialState.FAILED, error=reason))
            else:
                self._abandon(number, search_timeout_reason(self.timeout or 0.0))
        return failed

    def _wait_for_others(self, history: History) -> None:
        """Sleep while trials of other workers run; fail if the scheduler waits for nothing.

        A trial whose worker died would be waited for forever: it is marked FAILED (to run
        again) instead of sleeping, and the loop looks at the history again at once.
        """
        if not any(t.state is TrialState.RUNNING for t in history):
            raise RuntimeError(
                f"{self.scheduler!r} asked to wait while no trial runs anywhere; this is a bug "
                "in the scheduler."
            )
        if self._fail_dead_trials(history):
            return
        time.sleep(self._next_poll_delay())

    #: Seconds of the last sleep while the scheduler waits; None while trials start.
    _poll_delay: float | None = None

    def _next_poll_delay(self) -> float:
        """How long to wait before looking at the storage again while the scheduler waits.

        Short at first (the trial waited for, a rung's last one say, often ends within
        moments of the wait's start), then doubling up to ``poll_interval``: a worker that
        waits long reads the storage twice a second, and one that waits briefly is not left
        idle for ``poll_interval``.
        """
        last = self._poll_delay or 0.0
        delay = min(self.poll_interval, max(_FIRST_POLL, 2 * last))
        self._poll_delay = delay
        return delay

    def _should_stop(self, started: float, history: History, n_running: int) -> Stop | None:
        # max_trials is kept by the slots of _next(), for every worker of the study at once.
        if self.timeout is not None and time.monotonic() - started >= self.timeout:
            return Stop(f"timeout={self.timeout}s reached")
        return None

    def _check_some_trial_succeeded(self) -> None:
        """At the end of a search: fail when trials failed and none of the study succeeded.

        ``max_consecutive_failed_trials`` may never be reached (``max_trials`` below it, a
        timeout, a small grid); a search that produced nothing but failures still says so.
        """
        trials = self.storage.trials(self._study_id)
        if any(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials):
            return
        failed = [t for t in trials if t.state is TrialState.FAILED and "abandoned" not in t.attrs]
        if failed:
            raise TooManyFailedTrialsError(
                f"The search ended and no trial succeeded: all {len(failed)} finished trials "
                "of the study failed (before max_consecutive_failed_trials="
                f"{self.max_consecutive_failed_trials} failures in a row stopped it). Every "
                f"trial is kept in the study. The last failure, trial {failed[-1].number}:"
                f"\n\n{failed[-1].error}"
            )

    def _count_failure(self, trial: Trial, failures_in_row: int) -> int:
        if trial.state is not TrialState.FAILED:
            return 0
        if trial.is_rerun:
            return failures_in_row  # it runs again; only its last attempt counts
        failures_in_row += 1
        if failures_in_row >= self.max_consecutive_failed_trials:
            raise TooManyFailedTrialsError(
                f"{failures_in_row} trials failed in a row (max_consecutive_failed_trials="
                f"{self.max_consecutive_failed_trials}); the search stops. Every trial is kept "
                f"in the study. The last failure, trial {trial.number}:\n\n{trial.error}"
            )
        return failures_in_row


def _stopped_by(exc: BaseException) -> str:
    """Why a search gave up the trials it was running when ``exc`` stopped it."""
    if isinstance(exc, UsageError):
        return f"The search stopped on a usage error shown by another trial: {exc}"
    return "The search was interrupted (Ctrl-C)."
