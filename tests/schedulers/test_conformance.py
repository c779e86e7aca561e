"""Every built-in scheduler through the scheduler conformance suite (hyperscout.testing).

The schedulers are built by the factories below only, so that a renamed keyword is a
one-line change here.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from hyperscout.samplers import GPSampler, History, Sampler, TPESampler
from hyperscout.schedulers import (
    ASHAScheduler,
    BOHBScheduler,
    FIFOScheduler,
    HyperbandScheduler,
    MedianStoppingScheduler,
    Scheduler,
    Stop,
    SuccessiveHalvingScheduler,
    Suggestion,
    Wait,
)
from hyperscout.space import HyperParameters
from hyperscout.testing.schedulers import SchedulerConformance

MIN_BUDGET, MAX_BUDGET = 1, 9


def hyperband(iterations: int | None = 1, max_budget: int = MAX_BUDGET) -> HyperbandScheduler:
    return HyperbandScheduler(MIN_BUDGET, max_budget, iterations=iterations)


def successive_halving(n_configs: int | None = None, iterations: int | None = 1) -> Scheduler:
    return SuccessiveHalvingScheduler(
        MIN_BUDGET, MAX_BUDGET, n_configs=n_configs, iterations=iterations
    )


def asha(**kwargs: Any) -> ASHAScheduler:
    return ASHAScheduler(MIN_BUDGET, MAX_BUDGET, **kwargs)


class Budgeted(SchedulerConformance):
    min_budget, max_budget = MIN_BUDGET, MAX_BUDGET


class TestFIFOScheduler(SchedulerConformance):
    def make_scheduler(self) -> Scheduler:
        return FIFOScheduler()


class TestMedianStoppingScheduler(SchedulerConformance):
    def make_scheduler(self) -> Scheduler:
        return MedianStoppingScheduler(n_startup_trials=3)


class TestSuccessiveHalvingScheduler(Budgeted):
    def make_scheduler(self) -> Scheduler:
        return successive_halving()


class TestSuccessiveHalvingSchedulerIterations(Budgeted):
    def make_scheduler(self) -> Scheduler:
        return successive_halving(n_configs=5, iterations=2)


class TestHyperbandScheduler(Budgeted):
    def make_scheduler(self) -> Scheduler:
        return hyperband()


class TestHyperbandSchedulerForever(Budgeted):
    def make_scheduler(self) -> Scheduler:
        return hyperband(iterations=None)


class TestASHAScheduler(Budgeted):
    def make_scheduler(self) -> Scheduler:
        return asha()


class TestASHASchedulerWithAnEnd(Budgeted):
    def make_scheduler(self) -> Scheduler:
        return asha(n_configs=10)


class TestASHASchedulerStopping(Budgeted):
    def make_scheduler(self) -> Scheduler:
        return asha(mode="stopping", n_configs=12)


class TestBOHBScheduler(Budgeted):
    def make_scheduler(self) -> Scheduler:
        return BOHBScheduler(hyperband())

    def make_sampler(self) -> Sampler:
        return TPESampler(n_startup_trials=3)


class TestBOHBSchedulerOverASHA(Budgeted):
    def make_scheduler(self) -> Scheduler:
        return BOHBScheduler(asha(), min_points_in_model=3)

    def make_sampler(self) -> Sampler:
        return TPESampler(n_startup_trials=3)


# -- the suite itself: it fails schedulers that break a rule -------------------------------
class _WaitsForever(FIFOScheduler):
    """Waits after its first trial, whether or not anything runs."""

    def next(
        self,
        space: HyperParameters,
        history: History,
        sampler: Sampler,
        rng: np.random.Generator,
    ) -> Suggestion | Wait | Stop:
        return Wait() if len(history) else super().next(space, history, sampler, rng)


class _OneClaim(FIFOScheduler):
    """Claims the same slot for every trial."""

    def next(
        self,
        space: HyperParameters,
        history: History,
        sampler: Sampler,
        rng: np.random.Generator,
    ) -> Suggestion | Wait | Stop:
        answer = super().next(space, history, sampler, rng)
        if isinstance(answer, Suggestion):
            return dataclasses.replace(answer, claim="new/0")
        return answer


class _Unseeded(FIFOScheduler):
    """Budgets from global state (a counter shared by every instance), not from the history."""

    _calls = itertools.count(1)

    def next(
        self,
        space: HyperParameters,
        history: History,
        sampler: Sampler,
        rng: np.random.Generator,
    ) -> Suggestion | Wait | Stop:
        answer = super().next(space, history, sampler, rng)
        if isinstance(answer, Suggestion):
            return dataclasses.replace(answer, budget=1 + next(self._calls) % 9)
        return answer


class _TooLong(FIFOScheduler):
    """Budgets 1, 2, 3 ... past the range [1, 9]; and an end it does not have."""

    def next(
        self,
        space: HyperParameters,
        history: History,
        sampler: Sampler,
        rng: np.random.Generator,
    ) -> Suggestion | Wait | Stop:
        answer = super().next(space, history, sampler, rng)
        if isinstance(answer, Suggestion):
            return dataclasses.replace(answer, budget=len(history) + 1)
        return answer

    def has_end(self, sampler: Sampler) -> bool:
        return True


def suite_for(scheduler: Callable[[], Scheduler]) -> SchedulerConformance:
    class Suite(Budgeted):
        max_trials_to_end = 40

        def make_scheduler(self) -> Scheduler:
            return scheduler()

    return Suite()


def test_the_suite_fails_a_scheduler_that_waits_while_nothing_runs() -> None:
    with pytest.raises(AssertionError, match="while nothing runs"):
        suite_for(_WaitsForever).test_never_waits_while_nothing_runs(1, None)


def test_the_suite_fails_a_scheduler_that_claims_a_slot_twice() -> None:
    with pytest.raises(AssertionError, match="claim 'new/0' of trial 1 is held by trial 0"):
        suite_for(_OneClaim).test_claims_are_unique(1, None)


def test_the_suite_fails_a_scheduler_that_ignores_its_rng() -> None:
    with pytest.raises(AssertionError, match="after 0 trials"):
        suite_for(_Unseeded).test_the_same_history_gives_the_same_decision(1, None, False)


def test_the_suite_fails_budgets_out_of_range_and_a_false_end() -> None:
    suite = suite_for(_TooLong)
    with pytest.raises(AssertionError, match=r"budget 10 outside \[1, 9\]"):
        suite.test_budgets_are_in_range_and_values_in_the_space(1, None)
    with pytest.raises(AssertionError, match="no Stop after 40 trials"):
        suite.test_stops_when_it_has_an_end(1, None, finite=False)


class TestBOHBSchedulerAllBudgets(Budgeted):
    # model_budgets="all" needs the Gaussian process, on the finite space too; a Hyperband
    # of 6 trials (budgets 1 and 3) keeps its fits few.
    max_budget = 3

    def make_scheduler(self) -> Scheduler:
        return BOHBScheduler(hyperband(max_budget=3), model_budgets="all")

    def make_sampler(self) -> Sampler:
        return GPSampler(n_startup_trials=3, n_candidates=16, n_restarts=0)

    make_finite_sampler = make_sampler
