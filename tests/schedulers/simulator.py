"""A simulated tuner: ``n_workers`` workers drive a scheduler the way ``hyperscout.Tuner`` does.

Each free worker asks ``scheduler.next(space, history, sampler, rng)``; a suggestion becomes a
RUNNING :class:`Trial` (number, values, budget, attrs) that finishes after a simulated time
with a value of a synthetic learning curve ``curve(values, budget)``. With ``reports=True`` a
trial reports the curve at every step ``1 .. ceil(budget)`` through ``scheduler.on_report``
and a STOP ends it PRUNED at that step. ``fails(trial)`` makes a trial FAILED;
``kills(trial)`` kills its process halfway (FAILED with ``rerun=True``), and, like the tuner,
the simulator then runs the configuration again (``retry_of``) before asking the scheduler.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from hyperscout.objective import Objective
from hyperscout.samplers import History, RandomSampler, Sampler
from hyperscout.schedulers import Decision, Scheduler, Stop, Suggestion, Wait
from hyperscout.space import HyperParameters
from hyperscout.trial import Trial, TrialState

Curve = Callable[[Mapping[str, Any], float], float]
Predicate = Callable[[Trial], bool]

_RETRY_DROPS = ("rerun", "abandoned", "worker", "retry_of", "attempt")


def quadratic_curve(values: Mapping[str, Any], step: float) -> float:
    """A loss that falls with the budget; the order of configurations is the same at each step."""
    return (values["x"] - 0.3) ** 2 + 1.0 / (step + 1.0)


def space_x() -> HyperParameters:
    hp = HyperParameters()
    hp.Float("x", 0.0, 1.0)
    return hp


@dataclasses.dataclass(frozen=True)
class Call:
    """One call of ``next``: when, with how many trials running, and what came back."""

    time: float
    n_running: int
    result: Suggestion | Wait | Stop


class Simulator:
    def __init__(
        self,
        scheduler: Scheduler,
        space: HyperParameters | None = None,
        *,
        sampler: Sampler | None = None,
        objective: Objective | None = None,
        n_workers: int = 1,
        seed: int = 0,
        curve: Curve = quadratic_curve,
        speed: Callable[[Trial], float] | None = None,
        fails: Predicate | None = None,
        kills: Predicate | None = None,
        reports: bool = False,
        trials: list[Trial] | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.space = space if space is not None else space_x()
        self.sampler = sampler if sampler is not None else RandomSampler()
        self.objective = objective or Objective("loss", "min")
        self.n_workers = n_workers
        self.seed = seed
        self.curve = curve
        self.speed = speed or (lambda trial: 1.0)
        self.fails = fails or (lambda trial: False)
        self.kills = kills or (lambda trial: False)
        self.reports = reports
        self.trials: list[Trial] = list(trials or [])
        self.calls: list[Call] = []
        self.now = 0.0
        self._events: list[tuple[float, int, int, str, int]] = []
        self._seq = 0

    # -- reading -------------------------------------------------------------------------
    def history(self) -> History:
        return History(list(self.trials), self.objective)

    @property
    def running(self) -> list[Trial]:
        return [t for t in self.trials if t.state is TrialState.RUNNING]

    def places(self) -> list[tuple[Any, ...]]:
        """(iteration, bracket, rung, budget) of every trial, in order."""
        return [
            (t.attrs.get("iteration"), t.attrs.get("bracket"), t.attrs.get("rung"), t.budget)
            for t in self.trials
        ]

    def counted(self) -> int:
        return sum(1 for t in self.trials if t.is_finished and not t.attrs.get("rerun"))

    # -- the loop ------------------------------------------------------------------------
    def run(self, max_trials: int | None = None) -> Simulator:
        """Run until the scheduler stops and nothing runs (or ``max_trials`` count)."""
        while True:
            while len(self.running) < self.n_workers:
                if max_trials is not None and self.counted() + len(self.running) >= max_trials:
                    break
                step = self._ask()
                if isinstance(step, Suggestion):
                    self._start(step)
                    continue
                if isinstance(step, Wait) and not self.running:
                    raise AssertionError(f"{self.scheduler!r} waits while no trial runs")
                break
            if not self._events:
                return self
            self._process_next_event()

    def _ask(self) -> Suggestion | Wait | Stop:
        retried = {t.attrs.get("retry_of") for t in self.trials}
        for trial in self.trials:
            if (
                trial.state is TrialState.FAILED
                and trial.attrs.get("rerun")
                and trial.number not in retried
            ):
                attrs = {k: v for k, v in trial.attrs.items() if k not in _RETRY_DROPS}
                attrs["retry_of"] = trial.number
                attrs["attempt"] = int(trial.attrs.get("attempt", 0)) + 1
                return Suggestion(dict(trial.values), trial.budget, attrs)
        rng = np.random.default_rng([self.seed, len(self.trials)])
        result = self.scheduler.next(self.space, self.history(), self.sampler, rng)
        self.calls.append(Call(self.now, len(self.running), result))
        return result

    def _start(self, suggestion: Suggestion) -> None:
        trial = Trial(
            number=len(self.trials),
            values=dict(suggestion.values),
            state=TrialState.RUNNING,
            budget=suggestion.budget,
            started_at=self.now,
            attrs=dict(suggestion.attrs),
        )
        self.trials.append(trial)
        budget = float(suggestion.budget if suggestion.budget is not None else 1.0)
        unit = self.speed(trial)
        if self.kills(trial):
            self._push(self.now + unit * budget / 2, trial.number, "kill", 0)
            return
        if self.reports:
            for step in range(1, math.ceil(budget) + 1):
                self._push(self.now + unit * step, trial.number, "report", step)
        self._push(self.now + unit * budget, trial.number, "finish", 0)

    def _push(self, time: float, number: int, kind: str, step: int) -> None:
        self._seq += 1
        heapq.heappush(self._events, (time, self._seq, number, kind, step))

    def _process_next_event(self) -> None:
        time, _, number, kind, step = heapq.heappop(self._events)
        trial = self.trials[number]
        if trial.is_finished:
            return  # stopped earlier; its later events are void
        self.now = time
        if kind == "kill":
            self._set(trial, TrialState.FAILED, attrs={"rerun": True, "abandoned": True})
        elif kind == "report":
            value = self.curve(trial.values, step)
            intermediate = {**trial.intermediate, step: {self.objective.name: value}}
            trial = dataclasses.replace(trial, intermediate=intermediate)
            self.trials[number] = trial
            if self.scheduler.on_report(trial, self.history()) is Decision.STOP:
                self._set(trial, TrialState.PRUNED, value=value)
        elif self.fails(trial):
            self._set(trial, TrialState.FAILED)
        else:
            budget = float(trial.budget if trial.budget is not None else 1.0)
            self._set(trial, TrialState.COMPLETE, value=self.curve(trial.values, budget))

    def _set(
        self,
        trial: Trial,
        state: TrialState,
        *,
        value: float | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        self.trials[trial.number] = dataclasses.replace(
            trial,
            state=state,
            value=value,
            finished_at=self.now,
            attrs={**trial.attrs, **(attrs or {})},
        )
