"""Every built-in scheduler through the scheduler conformance suite (hyperscout.testing).

The schedulers are built by the factories below only, so that a renamed keyword is a
one-line change here.
"""

from __future__ import annotations

from typing import Any

from hyperscout.samplers import Sampler, TPESampler
from hyperscout.schedulers import (
    ASHAScheduler,
    BOHBScheduler,
    FIFOScheduler,
    HyperbandScheduler,
    MedianStoppingScheduler,
    Scheduler,
    SuccessiveHalvingScheduler,
)
from hyperscout.testing.schedulers import SchedulerConformance

MIN_BUDGET, MAX_BUDGET = 1, 9


def hyperband(**kwargs: Any) -> HyperbandScheduler:
    return HyperbandScheduler(MAX_BUDGET, min_epochs=MIN_BUDGET, **kwargs)


def successive_halving(**kwargs: Any) -> SuccessiveHalvingScheduler:
    return SuccessiveHalvingScheduler(MIN_BUDGET, MAX_BUDGET, **kwargs)


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
        return hyperband(hyperband_iterations=None)


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
