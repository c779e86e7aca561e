"""The conformance suite of :class:`~hyperscout.schedulers.base.Scheduler` implementations.

Subclass :class:`SchedulerConformance` in a test module (with ``Test`` in its name) and
implement :meth:`~SchedulerConformance.make_scheduler`; pytest drives it through a simulated
tuner and checks every rule::

    from hyperscout.schedulers import ASHAScheduler
    from hyperscout.testing.schedulers import SchedulerConformance

    class TestMyScheduler(SchedulerConformance):
        min_budget, max_budget = 1, 9

        def make_scheduler(self):
            return ASHAScheduler(1, 9)

The rules, each a test of the suite, with one worker and with several, trials reporting
every step and some failing:

- the same history gives the same decision: a fresh scheduler (and a fresh sampler) asked
  with the same history and seed answers :meth:`~hyperscout.schedulers.base.Scheduler.next`
  and :meth:`~hyperscout.schedulers.base.Scheduler.on_report` alike;
- claims (:attr:`Suggestion.claim <hyperscout.schedulers.base.Suggestion.claim>`) are unique:
  no suggestion names a slot a trial already holds;
- never a :class:`~hyperscout.schedulers.base.Wait` while nothing runs (nothing would end to
  make the answer change);
- a :class:`~hyperscout.schedulers.base.Stop` comes, with nothing running, when
  :meth:`~hyperscout.schedulers.base.Scheduler.has_end` says the scheduler has an end (with
  the default sampler, and with a finite one, a grid);
- budgets are None (the full budget) or numbers within
  [:attr:`~SchedulerConformance.min_budget`, :attr:`~SchedulerConformance.max_budget`];
  suggested values are configurations of the space;
- :meth:`~hyperscout.schedulers.base.Scheduler.settings` is JSON.

:func:`drive_scheduler` is the simulated tuner, for tests of one's own.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from hyperscout.history import History
from hyperscout.samplers import GridSampler, RandomSampler, Sampler
from hyperscout.schedulers import Decision, Scheduler, Stop, Suggestion, Wait
from hyperscout.space import HyperParameters
from hyperscout.testing.samplers import LOSS, finite_space, made_up_loss, problems_of
from hyperscout.trial import Bookkeeping, Trial, TrialState

__all__ = ["SchedulerConformance", "SchedulerRun", "drive_scheduler", "learning_curve"]

#: ``check_next(space, history, rng_seed, answer)``: sees every answer of ``next``.
NextCheck = Callable[[HyperParameters, History, list[int], Suggestion | Wait | Stop], None]
#: ``check_report(trial, history, decision)``: sees every decision of ``on_report``.
ReportCheck = Callable[[Trial, History, Decision], None]


def learning_curve(values: Any, step: float) -> float:
    """A loss that falls with the budget; configurations keep their order at every step."""
    return made_up_loss(values) + 1.0 / (step + 1.0)


@dataclasses.dataclass
class SchedulerRun:
    """What :func:`drive_scheduler` saw: the trials, every answer of ``next``, how it ended."""

    trials: list[Trial]
    answers: list[Suggestion | Wait | Stop]
    #: True when a Stop came while nothing ran (False: ``max_trials`` ended the run).
    stopped: bool


def _space() -> HyperParameters:
    hp = HyperParameters()
    hp.Float("x", 0.0, 1.0)
    hp.Choice("kind", ["a", "b", "c"])
    return hp


def drive_scheduler(
    scheduler: Scheduler,
    sampler: Sampler,
    space: HyperParameters | None = None,
    *,
    n_workers: int = 1,
    max_trials: int = 100,
    seed: int = 0,
    full_steps: int = 9,
    fails: Callable[[Trial], bool] | None = None,
    check_next: NextCheck | None = None,
    check_report: ReportCheck | None = None,
) -> SchedulerRun:
    """Drive ``scheduler`` as the tuner does, with ``n_workers`` simulated workers.

    A free worker asks ``next`` (its ``rng`` seeded from ``seed`` and the number of trials,
    as the tuner does). A suggestion becomes a RUNNING trial whose attrs hold the
    suggestion's and its claim (``Bookkeeping.STRATEGY_CLAIM``); the trial reports
    :func:`learning_curve` at each step up to its budget (``full_steps`` when it has none)
    through ``on_report``, which may stop it (PRUNED), then ends COMPLETE, or FAILED when
    ``fails(trial)``. Trials of different numbers run at different speeds, so that workers
    finish out of order. A Stop while trials run is asked again when one ends, as the tuner
    does. The run ends at a Stop with nothing running, or after ``max_trials`` trials.

    ``check_next(space, history, rng_seed, answer)`` sees every answer of ``next`` and
    ``check_report(trial, history, decision)`` every decision of ``on_report``.

    Raises:
        AssertionError: the scheduler waited while nothing ran, or answered something other
            than a Suggestion, Wait or Stop (``next``) or a Decision (``on_report``).

    >>> from hyperscout.schedulers import SuccessiveHalvingScheduler
    >>> run = drive_scheduler(SuccessiveHalvingScheduler(1, 9), RandomSampler())
    >>> run.stopped, [t.budget for t in run.trials]
    (True, [1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 9])
    """
    simulation = _Simulation(
        scheduler,
        sampler,
        space if space is not None else _space(),
        n_workers=n_workers,
        seed=seed,
        full_steps=full_steps,
        fails=fails or (lambda trial: False),
        check_next=check_next,
        check_report=check_report,
    )
    while True:
        stopped = simulation.fill(max_trials)
        if stopped is not None:
            return SchedulerRun(simulation.trials, simulation.answers, stopped=stopped)
        simulation.process_next_event()


class _Simulation:
    """The state of :func:`drive_scheduler`'s run: trials, answers, and timed events."""

    def __init__(
        self,
        scheduler: Scheduler,
        sampler: Sampler,
        space: HyperParameters,
        *,
        n_workers: int,
        seed: int,
        full_steps: int,
        fails: Callable[[Trial], bool],
        check_next: NextCheck | None,
        check_report: ReportCheck | None,
    ) -> None:
        self.scheduler, self.sampler, self.space = scheduler, sampler, space
        self.n_workers, self.seed, self.full_steps, self.fails = n_workers, seed, full_steps, fails
        self.check_next, self.check_report = check_next, check_report
        self.trials: list[Trial] = []
        self.answers: list[Suggestion | Wait | Stop] = []
        self.now = 0.0
        self._events: list[tuple[float, int, int, int]] = []  # (time, order, trial, step)
        self._order = itertools.count()

    def running(self) -> int:
        return sum(1 for t in self.trials if t.state is TrialState.RUNNING)

    def fill(self, max_trials: int) -> bool | None:
        """Ask ``next`` for each free worker; True: stopped, False: nothing left to happen."""
        while self.running() < self.n_workers and len(self.trials) < max_trials:
            history = History(list(self.trials), LOSS)
            rng_seed = [self.seed, len(self.trials)]
            rng = np.random.default_rng(rng_seed)
            answer = self.scheduler.next(self.space, history, self.sampler, rng)
            assert isinstance(answer, (Suggestion, Wait, Stop)), f"next() gave {answer!r}"
            self.answers.append(answer)
            if self.check_next is not None:
                self.check_next(self.space, history, rng_seed, answer)
            if isinstance(answer, Suggestion):
                self._start(answer)
                continue
            if not self.running():
                assert not isinstance(answer, Wait), (
                    f"{self.scheduler!r} answered {answer!r} after {len(self.trials)} trials "
                    "while nothing runs: nothing will end to change its mind"
                )
                return True
            break
        return None if self._events else False

    def _start(self, suggestion: Suggestion) -> None:
        number = len(self.trials)
        attrs = {**suggestion.attrs, Bookkeeping.SLOT: number}
        if suggestion.claim is not None:
            attrs[Bookkeeping.STRATEGY_CLAIM] = suggestion.claim
        values = dict(suggestion.values)
        trial = Trial(number, values, TrialState.RUNNING, budget=suggestion.budget, attrs=attrs)
        self.trials.append(trial)
        budget = suggestion.budget
        steps = math.ceil(budget) if budget is not None else self.full_steps
        speed = 1.0 + 0.5 * (number % 3) if self.n_workers > 1 else 1.0
        for step in [*range(1, steps + 1), 0]:  # step 0: the end, after the last report
            when = self.now + speed * (step or steps)
            heapq.heappush(self._events, (when, next(self._order), number, step))

    def process_next_event(self) -> None:
        self.now, _, number, step = heapq.heappop(self._events)
        trial = self.trials[number]
        if trial.is_finished:
            return  # stopped before this event
        if step:
            self._report(trial, step)
        elif self.fails(trial):
            self.trials[number] = dataclasses.replace(trial, state=TrialState.FAILED)
        else:
            budget = trial.budget if trial.budget is not None else self.full_steps
            value = learning_curve(trial.values, budget)
            self.trials[number] = dataclasses.replace(trial, state=TrialState.COMPLETE, value=value)

    def _report(self, trial: Trial, step: int) -> None:
        value = learning_curve(trial.values, step)
        intermediate = {**trial.intermediate, step: {LOSS.name: value}}
        trial = self.trials[trial.number] = dataclasses.replace(trial, intermediate=intermediate)
        history = History(list(self.trials), LOSS)
        decision = self.scheduler.on_report(trial, history)
        assert isinstance(decision, Decision), f"on_report() gave {decision!r}"
        if self.check_report is not None:
            self.check_report(trial, history, decision)
        if decision is Decision.STOP:
            pruned = dataclasses.replace(trial, state=TrialState.PRUNED, value=value)
            self.trials[trial.number] = pruned


def _every_fourth_fails(trial: Trial) -> bool:
    return trial.number % 4 == 3


#: The scenarios every rule is checked in: (workers, fails).
SCENARIOS = [
    pytest.param(1, None, id="one-worker"),
    pytest.param(3, None, id="three-workers"),
    pytest.param(3, _every_fourth_fails, id="three-workers-failing"),
]


class SchedulerConformance:
    """The behaviour every :class:`Scheduler` must show; subclass it with ``Test`` in the name.

    Attributes:
        min_budget, max_budget: the range of the budgets the scheduler gives (None: not
            checked; a budget is then None or any number > 0).
        max_trials: trials a run goes to when the scheduler has no end.
        max_trials_to_end: trials within which a scheduler that has an end must stop.
    """

    min_budget: float | None = None
    max_budget: float | None = None
    max_trials: int = 30
    max_trials_to_end: int = 300

    def make_scheduler(self) -> Scheduler:
        """A new scheduler, in the state the tuner gets it."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_scheduler()")

    def make_sampler(self) -> Sampler:
        """A new sampler for the scheduler; the default: a :class:`RandomSampler`."""
        return RandomSampler()

    def make_finite_sampler(self) -> Sampler:
        """A new sampler for the runs on :func:`finite_space`, until it is exhausted.

        The default: a :class:`GridSampler` (whose proposals end on any space).
        """
        return GridSampler()

    def drive(
        self, n_workers: int, fails: Any, *, finite: bool = False, **checks: Any
    ) -> SchedulerRun:
        """One run of :func:`drive_scheduler` in a scenario, with ``checks``.

        ``finite``: with :meth:`make_finite_sampler` on a finite space, until the Stop.
        """
        return drive_scheduler(
            self.make_scheduler(),
            self.make_finite_sampler() if finite else self.make_sampler(),
            finite_space() if finite else None,
            n_workers=n_workers,
            max_trials=self.max_trials_to_end if finite else self.max_trials,
            fails=fails,
            **checks,
        )

    @pytest.mark.parametrize("finite", [False, True], ids=["sampler", "finite-sampler"])
    @pytest.mark.parametrize(("n_workers", "fails"), SCENARIOS)
    def test_the_same_history_gives_the_same_decision(
        self, n_workers: int, fails: Any, finite: bool
    ) -> None:
        make_sampler = self.make_finite_sampler if finite else self.make_sampler

        def check_next(
            space: HyperParameters, history: History, seed: list[int], answer: Any
        ) -> None:
            again = self.make_scheduler().next(
                space, history, make_sampler(), np.random.default_rng(seed)
            )
            assert again == answer, f"after {len(history)} trials: {answer!r}, then {again!r}"

        def check_report(trial: Trial, history: History, decision: Decision) -> None:
            again = self.make_scheduler().on_report(trial, history)
            assert again is decision, f"trial {trial.number}: {decision}, then {again}"

        self.drive(
            n_workers, fails, finite=finite, check_next=check_next, check_report=check_report
        )

    @pytest.mark.parametrize(("n_workers", "fails"), SCENARIOS)
    def test_claims_are_unique(self, n_workers: int, fails: Any) -> None:
        def check_next(
            space: HyperParameters, history: History, seed: list[int], answer: Any
        ) -> None:
            if isinstance(answer, Suggestion) and answer.claim is not None:
                held = {t.attrs.get(Bookkeeping.STRATEGY_CLAIM): t.number for t in history}
                assert answer.claim not in held, (
                    f"claim {answer.claim!r} of trial {len(history)} is held by trial "
                    f"{held.get(answer.claim)}"
                )

        self.drive(n_workers, fails, check_next=check_next)

    @pytest.mark.parametrize(("n_workers", "fails"), SCENARIOS)
    def test_never_waits_while_nothing_runs(self, n_workers: int, fails: Any) -> None:
        # drive_scheduler fails on such a Wait; here the finite sampler runs out as well.
        self.drive(n_workers, fails)
        self.drive(n_workers, fails, finite=True)

    @pytest.mark.parametrize("finite", [False, True], ids=["sampler", "finite-sampler"])
    @pytest.mark.parametrize(("n_workers", "fails"), SCENARIOS)
    def test_stops_when_it_has_an_end(self, n_workers: int, fails: Any, finite: bool) -> None:
        sampler = self.make_finite_sampler() if finite else self.make_sampler()
        scheduler = self.make_scheduler()
        if not scheduler.has_end(sampler):
            pytest.skip(f"{scheduler!r} with {sampler!r} has no end")
        run = drive_scheduler(
            scheduler,
            sampler,
            finite_space() if finite else None,
            n_workers=n_workers,
            max_trials=self.max_trials_to_end,
            fails=fails,
        )
        assert run.stopped, f"no Stop after {len(run.trials)} trials, but has_end() is True"
        assert isinstance(run.answers[-1], Stop)

    @pytest.mark.parametrize(("n_workers", "fails"), SCENARIOS)
    def test_budgets_are_in_range_and_values_in_the_space(self, n_workers: int, fails: Any) -> None:
        low = -math.inf if self.min_budget is None else self.min_budget
        high = math.inf if self.max_budget is None else self.max_budget

        def check_next(
            space: HyperParameters, history: History, seed: list[int], answer: Any
        ) -> None:
            if not isinstance(answer, Suggestion):
                return
            budget = answer.budget
            if budget is not None:
                assert isinstance(budget, (int, float)) and not isinstance(budget, bool)
                assert math.isfinite(budget) and budget > 0, f"budget {budget!r}"
                assert low <= budget <= high, f"budget {budget!r} outside [{low}, {high}]"
            problems = problems_of(space, answer.values)
            assert not problems, f"{answer.values!r}: " + "; ".join(problems)

        self.drive(n_workers, fails, check_next=check_next)

    def test_settings_are_json(self) -> None:
        settings = self.make_scheduler().settings()
        assert isinstance(settings, dict)
        assert json.loads(json.dumps(settings)) == settings
