"""The median stopping rule: stops the clearly worse, keeps the clearly better."""

from __future__ import annotations

from typing import Any

import pytest

import hyperscout as hs
from hyperscout.objective import Objective
from hyperscout.samplers import History, RandomSampler
from hyperscout.schedulers import Decision, Suggestion
from hyperscout.schedulers.median import MedianStoppingScheduler
from hyperscout.trial import Trial, TrialState

from .simulator import Simulator

LOSS = Objective("loss", "min")


def complete(number: int, curve: list[float], name: str = "loss") -> Trial:
    """A complete trial that reported ``curve[i]`` at step ``i + 1``."""
    return Trial(
        number,
        {"x": number},
        TrialState.COMPLETE,
        value=curve[-1],
        intermediate={step: {name: v} for step, v in enumerate(curve, 1)},
    )


def running(curve: list[float], name: str = "loss", number: int = 99) -> Trial:
    intermediate = {step: {name: v} for step, v in enumerate(curve, 1)}
    return Trial(number, {"x": -1}, TrialState.RUNNING, intermediate=intermediate)


# Five complete trials; at step 2 their losses are 0.2 .. 0.6 (median 0.4).
FIVE = [complete(i, [1.0, 0.2 + 0.1 * i, 0.1 + 0.1 * i]) for i in range(5)]


def test_stops_a_clearly_worse_trial_and_keeps_a_clearly_better_one() -> None:
    rule = MedianStoppingScheduler()
    history = History(FIVE, LOSS)
    assert rule.on_report(running([1.0, 0.9]), history) is Decision.STOP
    assert rule.on_report(running([1.0, 0.1]), history) is Decision.CONTINUE
    assert rule.on_report(running([1.0, 0.4]), history) is Decision.CONTINUE  # the median


def test_judges_the_best_report_so_far_against_the_median_at_this_step() -> None:
    rule = MedianStoppingScheduler()
    history = History(FIVE, LOSS)
    # A noisy step after a good one does not stop the trial (Vizier's rule).
    assert rule.on_report(running([0.1, 0.9]), history) is Decision.CONTINUE
    assert rule.on_report(running([0.8, 0.5]), history) is Decision.STOP


def test_waits_for_n_startup_trials_complete_ones() -> None:
    worse = running([1.0, 0.9])
    assert MedianStoppingScheduler().on_report(worse, History(FIVE[:4], LOSS)) is Decision.CONTINUE
    rule = MedianStoppingScheduler(n_startup_trials=4)
    assert rule.on_report(worse, History(FIVE[:4], LOSS)) is Decision.STOP
    # Pruned, failed and running trials are not the yardstick, and do not count.
    others = [
        Trial(10, {"x": 10}, TrialState.PRUNED, value=5.0, intermediate={2: {"loss": 5.0}}),
        Trial(11, {"x": 11}, TrialState.FAILED, intermediate={2: {"loss": 5.0}}),
        running([5.0, 5.0], number=12),
    ]
    history = History([*FIVE[:4], *others], LOSS)
    assert MedianStoppingScheduler().on_report(worse, history) is Decision.CONTINUE
    assert rule.on_report(worse, history) is Decision.STOP  # the median ignores their 5.0s


def test_warmup_and_interval_steps() -> None:
    history = History([complete(i, [0.1] * 6) for i in range(5)], LOSS)
    bad = [0.9] * 6
    warm = MedianStoppingScheduler(n_warmup_steps=3)
    assert [warm.on_report(running(bad[:t]), history) for t in range(1, 5)] == [
        Decision.CONTINUE,
        Decision.CONTINUE,
        Decision.STOP,
        Decision.STOP,
    ]
    every = MedianStoppingScheduler(n_warmup_steps=2, interval_steps=2)
    decisions = [every.on_report(running(bad[:t]), history) for t in range(1, 7)]
    assert [t for t, d in enumerate(decisions, 1) if d is Decision.STOP] == [2, 4, 6]


def test_no_other_trial_reported_this_step() -> None:
    history = History([complete(i, [0.1, 0.1]) for i in range(5)], LOSS)
    assert MedianStoppingScheduler().on_report(running([0.9] * 3), history) is Decision.CONTINUE


def test_direction_and_metric() -> None:
    accuracy = Objective("val_accuracy", "max")
    history = History([complete(i, [0.5 + 0.1 * i], "val_accuracy") for i in range(5)], accuracy)
    rule = MedianStoppingScheduler()
    assert rule.on_report(running([0.55], "val_accuracy"), history) is Decision.STOP
    assert rule.on_report(running([0.8], "val_accuracy"), history) is Decision.CONTINUE
    # Another metric than the objective's: its direction is inferred from its name.
    by_loss = MedianStoppingScheduler(metric="val_loss")
    history = History([complete(i, [0.2 + 0.1 * i], "val_loss") for i in range(5)], accuracy)
    assert by_loss.on_report(running([0.9], "val_loss"), history) is Decision.STOP
    assert by_loss.on_report(running([0.1], "val_loss"), history) is Decision.CONTINUE
    # A trial that does not report the metric is never stopped.
    assert by_loss.on_report(running([0.9], "other"), history) is Decision.CONTINUE
    with pytest.raises(hs.ObjectiveDirectionError):
        MedianStoppingScheduler(metric="banana").on_report(running([1.0], "banana"), history)


def test_runs_every_proposal_at_full_budget() -> None:
    sim = Simulator(MedianStoppingScheduler(), reports=True, sampler=RandomSampler())
    sim.run(max_trials=40)
    assert all(isinstance(c.result, Suggestion) and c.result.budget is None for c in sim.calls)
    pruned = [t for t in sim.trials if t.state is TrialState.PRUNED]
    kept = [t for t in sim.trials if t.state is TrialState.COMPLETE]
    assert len(pruned) >= 10 and len(kept) >= 5
    # Stopped at the first step judged (every report of a stopped trial was worse).
    assert all(max(t.intermediate) == 1 for t in pruned)
    best = min(sim.trials, key=lambda t: abs(t.values["x"] - 0.3))
    assert best.state is TrialState.COMPLETE


def test_through_the_tuner_with_a_plain_objective() -> None:
    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> dict[str, float]:
        x = hp.Float("x", 0.0, 1.0)
        accuracy = 0.0
        for epoch in range(1, 6):
            accuracy = 1.0 - (x - 0.7) ** 2 - 0.5 / epoch
            trial.report(epoch, val_accuracy=accuracy)
            if trial.should_stop():
                break
        return {"val_accuracy": accuracy}

    tuner = hs.Tuner(
        objective,
        objective="val_accuracy",
        scheduler=MedianStoppingScheduler(n_startup_trials=3),
        max_trials=25,
        storage="memory",
        verbose=0,
        seed=0,
    )
    tuner.search()
    trials = tuner.trials
    pruned = [t for t in trials if t.state is TrialState.PRUNED]
    assert pruned
    assert all(t.state is TrialState.COMPLETE for t in trials[:3])  # the start-up trials
    best = tuner.get_best_trials(1)[0]
    assert max(best.intermediate) == 5
    assert all(abs(t.values["x"] - 0.7) > abs(best.values["x"] - 0.7) for t in pruned)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_startup_trials": -1}, r"n_startup_trials=\.\.\.\): expected an int >= 0, got -1"),
        ({"n_warmup_steps": 1.5}, "n_warmup_steps"),
        ({"interval_steps": 0}, r"interval_steps.*an int >= 1, got 0"),
        ({"metric": ""}, "metric"),
    ],
)
def test_bad_arguments_say_what_was_expected(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=match):
        MedianStoppingScheduler(**kwargs)


def test_repr() -> None:
    assert repr(MedianStoppingScheduler(metric="val_loss")) == (
        "MedianStoppingScheduler(n_startup_trials=5, n_warmup_steps=0, interval_steps=1, "
        "metric='val_loss')"
    )
