"""ASHA, promotion and stopping forms, driven by a simulated tuner and by the Tuner."""

from __future__ import annotations

import collections
from typing import Any

import pytest

import hyperscout as hs
from hyperscout.samplers import History
from hyperscout.schedulers import Decision, Stop, Suggestion, Wait
from hyperscout.schedulers.asha import ASHAScheduler
from hyperscout.space import HyperParameters
from hyperscout.trial import Trial, TrialState

from .helpers import (
    LOSS,
    reported,
    rung_members,
    top,
)
from .simulator import Simulator


def test_asha_rungs() -> None:
    assert ASHAScheduler(1, 81).budgets == (1, 3, 9, 27, 81)
    assert ASHAScheduler(1, 100, factor=4).budgets == (2, 7, 25, 100)
    assert ASHAScheduler(0.5, 2.0, factor=2).budgets == pytest.approx((0.5, 1.0, 2.0))


def straggler_speed(trial: Trial) -> float:
    """Every seventh trial is ten times slower."""
    return 10.0 if trial.number % 7 == 3 else 1.0 + (trial.number % 3) / 3


def test_asha_keeps_four_workers_busy_and_promotes_without_waiting_for_stragglers() -> None:
    sim = Simulator(ASHAScheduler(1, 27), n_workers=4, speed=straggler_speed)
    sim.run(max_trials=150)
    assert all(isinstance(c.result, Suggestion) for c in sim.calls)  # never Wait, never Stop
    promoted = [t for t in sim.trials if "promoted_from" in t.attrs]
    assert {t.attrs["rung"] for t in promoted} == {1, 2, 3}
    # Some promotion started while a bottom-rung trial started before it still ran.
    assert any(
        any(
            s.attrs["rung"] == 0 and s.started_at < p.started_at and s.finished_at > p.started_at
            for s in sim.trials
        )
        for p in promoted
    )


def test_asha_promotes_only_from_the_top_third_of_the_finished_trials_of_a_rung() -> None:
    def fails(trial: Trial) -> bool:
        return trial.number % 11 == 4

    sim = Simulator(ASHAScheduler(1, 27), n_workers=4, speed=straggler_speed, fails=fails)
    sim.run(max_trials=200)
    promoted = [t for t in sim.trials if "promoted_from" in t.attrs]
    assert len(promoted) > 20
    sources = [t.attrs["promoted_from"] for t in promoted]
    assert len(sources) == len(set(sources)), "a trial is promoted once"
    for trial in promoted:
        source = sim.trials[trial.attrs["promoted_from"]]
        assert source.state is TrialState.COMPLETE
        assert source.attrs["rung"] == trial.attrs["rung"] - 1
        assert trial.budget == source.budget * 3
        finished = [
            t
            for t in sim.trials
            if t.attrs.get("rung") == source.attrs["rung"]
            and t.finished_at is not None
            and t.finished_at <= trial.started_at
        ]
        assert source.number in top(finished, len(finished) // 3)


def test_asha_with_a_fixed_number_of_configurations_waits_then_stops() -> None:
    sim = Simulator(
        ASHAScheduler(1, 9, n_configs=30),
        n_workers=4,
        speed=straggler_speed,
        fails=lambda t: t.number % 6 == 1,
    ).run()
    assert len(rung_members(sim.trials, rung=0)) == 30
    assert isinstance(sim.calls[-1].result, Stop)
    waits = [c for c in sim.calls if isinstance(c.result, Wait)]
    assert all(c.n_running > 0 for c in waits)
    # Waits come only once every configuration has started.
    first_wait = sim.calls.index(waits[0]) if waits else len(sim.calls)
    started = [c for c in sim.calls[:first_wait] if isinstance(c.result, Suggestion)]
    assert sum(1 for c in started if c.result.attrs["rung"] == 0) == 30
    assert not any(
        sim.trials[t.attrs["promoted_from"]].state is TrialState.FAILED
        for t in sim.trials
        if "promoted_from" in t.attrs
    )


def test_asha_stopping_form_stops_at_milestones_and_lets_the_best_finish() -> None:
    sim = Simulator(
        ASHAScheduler(1, 27, mode="stopping"), n_workers=4, reports=True, speed=straggler_speed
    )
    sim.run(max_trials=60)
    assert all(t.budget == 27 for t in sim.trials)
    pruned = [t for t in sim.trials if t.state is TrialState.PRUNED]
    complete = [t for t in sim.trials if t.state is TrialState.COMPLETE]
    assert len(pruned) > 30 and complete
    assert all(max(t.intermediate) in (1, 3, 9) for t in pruned)
    best = min(sim.trials, key=lambda t: abs(t.values["x"] - 0.3))
    assert best.state is TrialState.COMPLETE
    worst = max(sim.trials[10:], key=lambda t: abs(t.values["x"] - 0.3))
    assert worst.state is TrialState.PRUNED and max(worst.intermediate) == 1


def test_asha_ends_when_its_configurations_or_the_space_run_out() -> None:
    sim = Simulator(
        ASHAScheduler(1, 9, mode="stopping", n_configs=10), n_workers=3, reports=True
    ).run()
    assert len(sim.trials) == 10
    assert isinstance(sim.calls[-1].result, Stop)
    assert "10 configurations" in sim.calls[-1].result.reason

    hp = HyperParameters()
    hp.Choice("x", [0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    sim = Simulator(ASHAScheduler(1, 9), hp, n_workers=2).run()
    counts = collections.Counter(t.attrs["rung"] for t in sim.trials)
    assert counts == {0: 9, 1: 3, 2: 1}  # every rung promoted its top third, then the end
    assert sim.trials[-1].values == {"x": 0.3}
    assert "search space" in sim.calls[-1].result.reason


def test_asha_stopping_rule_keeps_the_top_third_at_a_milestone() -> None:
    asha = ASHAScheduler(1, 9, mode="stopping")  # milestones 1 and 3
    history = History([reported(i, loss) for i, loss in enumerate([0.1, 0.2, 0.3, 0.4, 0.5])], LOSS)

    def at(step: int, loss: float, before: tuple[int, ...] = ()) -> Decision:
        steps = {s: {"loss": 0.0} for s in before} | {step: {"loss": loss}}
        return asha.on_report(Trial(9, {"x": 9}, TrialState.RUNNING, intermediate=steps), history)

    # Six at milestone 3 (with itself): the top ceil(6/3) = 2 go on.
    assert at(3, 0.15, before=(1, 2)) is Decision.CONTINUE
    assert at(3, 0.25, before=(1, 2)) is Decision.STOP
    assert at(2, 0.9, before=(1,)) is Decision.CONTINUE  # not a milestone
    assert at(4, 0.25, before=(1, 2)) is Decision.STOP  # passed milestone 3 with this report
    assert at(5, 0.9, before=(1, 4)) is Decision.CONTINUE  # milestone 3 was judged at step 4
    # The first trial at a milestone always goes on.
    alone = ASHAScheduler(1, 9, mode="stopping").on_report(
        Trial(0, {}, TrialState.RUNNING, intermediate={1: {"loss": 9.0}}), History([], LOSS)
    )
    assert alone is Decision.CONTINUE


def test_asha_stopping_reads_another_metric_with_its_own_direction() -> None:
    asha = ASHAScheduler(1, 9, mode="stopping", metric="val_accuracy")
    others = [
        Trial(i, {}, TrialState.COMPLETE, value=0.0, intermediate={1: {"val_accuracy": a}})
        for i, a in enumerate([0.5, 0.6, 0.7])
    ]
    history = History(others, LOSS)

    def decide(accuracy: float) -> Decision:
        trial = Trial(5, {}, TrialState.RUNNING, intermediate={1: {"val_accuracy": accuracy}})
        return asha.on_report(trial, history)

    assert decide(0.9) is Decision.CONTINUE
    assert decide(0.55) is Decision.STOP


def test_asha_stopping_form_through_the_tuner_with_a_plain_objective() -> None:
    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        x = hp.Float("x", 0.0, 1.0)
        loss = 0.0
        for epoch in range(1, 10):
            loss = (x - 0.3) ** 2 + 1.0 / epoch
            trial.report(epoch, objective=loss)
            if trial.should_stop():
                raise hs.TrialPruned()
        return loss

    tuner = hs.Tuner(
        objective,
        scheduler=ASHAScheduler(1, 9, mode="stopping"),
        max_trials=25,
        storage="memory",
        verbose=0,
        seed=0,
    )
    tuner.search()
    pruned = [t for t in tuner.trials if t.state is TrialState.PRUNED]
    assert pruned and all(max(t.intermediate) in (1, 3) for t in pruned)
    best = tuner.get_best_trials(1)[0]
    assert max(best.intermediate) == 9
    assert all(abs(t.values["x"] - 0.3) >= abs(best.values["x"] - 0.3) for t in pruned)


# -- arguments ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ASHAScheduler(1, 9, mode="pause"), r"mode.*'promotion', 'stopping', got 'pause'"),
        (lambda: ASHAScheduler(1, 9, metric=3), "metric"),
        (lambda: ASHAScheduler(1, 9, n_configs=-2), "n_configs"),
    ],
)
def test_bad_arguments_say_what_was_expected(make: Any, match: str) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=match):
        make()


def test_repr_shows_the_arguments() -> None:
    assert "mode='stopping'" in repr(ASHAScheduler(1, 9, mode="stopping"))
