"""Successive halving, Hyperband, ASHA and BOHB, driven by a simulated tuner and by the Tuner."""

from __future__ import annotations

import collections
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.objective import Objective
from hyperscout.samplers import History, RandomSampler, Sampler, TPESampler
from hyperscout.schedulers import Decision, Stop, Suggestion, Wait
from hyperscout.schedulers.bohb import BOHBScheduler, budget_levels
from hyperscout.schedulers.halving import (
    ASHAScheduler,
    HyperbandScheduler,
    SuccessiveHalvingScheduler,
)
from hyperscout.space import HyperParameters
from hyperscout.trial import Trial, TrialState

from .simulator import Simulator, space_x

LOSS = Objective("loss", "min")


def table(scheduler: HyperbandScheduler | SuccessiveHalvingScheduler) -> dict[int, list[Any]]:
    return {b.s: [(r.n_configs, r.budget) for r in b.rungs] for b in scheduler.brackets()}


def expected_places(scheduler: HyperbandScheduler, iterations: int = 1) -> list[Any]:
    """(iteration, bracket, rung, budget) of every trial of a sequential run, in order."""
    return [
        (k, b.s, i, r.budget)
        for k in range(iterations)
        for b in scheduler.brackets()
        for i, r in enumerate(b.rungs)
        for _ in range(r.n_configs)
    ]


def rung_members(trials: list[Trial], **place: Any) -> list[Trial]:
    """The trials at a place, a retried trial replaced by its retry."""
    retried = {t.attrs.get("retry_of") for t in trials}
    return [
        t
        for t in trials
        if t.number not in retried and all(t.attrs.get(k) == v for k, v in place.items())
    ]


def top(trials: list[Trial], n: int) -> set[int]:
    ok = [t for t in trials if t.state is TrialState.COMPLETE]
    return {t.number for t in sorted(ok, key=lambda t: (t.value, t.number))[:n]}


# -- the bracket arithmetic --------------------------------------------------------------------
def test_hyperband_brackets_match_the_paper_table_for_max_81_factor_3() -> None:
    hb = HyperbandScheduler(81, factor=3)
    assert [b.s for b in hb.brackets()] == [4, 3, 2, 1, 0]
    assert table(hb) == {
        4: [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
        3: [(34, 3), (11, 9), (3, 27), (1, 81)],
        2: [(15, 9), (5, 27), (1, 81)],
        1: [(8, 27), (2, 81)],
        0: [(5, 81)],
    }
    assert all(isinstance(r.budget, int) for b in hb.brackets() for r in b.rungs)


def test_min_epochs_drops_the_brackets_below_it() -> None:
    expected = {
        3: [(27, 3), (9, 9), (3, 27), (1, 81)],
        2: [(12, 9), (4, 27), (1, 81)],
        1: [(6, 27), (2, 81)],
        0: [(4, 81)],
    }
    assert table(HyperbandScheduler(81, min_epochs=3)) == expected
    assert table(HyperbandScheduler(81, min_epochs=2)) == expected  # 2 * 3**4 > 81


def test_integer_budgets_round_up_as_keras_tuner_does() -> None:
    hb = HyperbandScheduler(100)
    assert [r.budget for r in hb.brackets()[0].rungs] == [2, 4, 12, 34, 100]  # ceil(100/3**k)
    assert [r.n_configs for r in hb.brackets()[0].rungs] == [81, 27, 9, 3, 1]


def test_float_budgets_stay_exact() -> None:
    hb = HyperbandScheduler(1.0, min_epochs=1 / 9)
    assert [b.s for b in hb.brackets()] == [2, 1, 0]
    budgets = [r.budget for r in hb.brackets()[0].rungs]
    assert budgets == pytest.approx([1 / 9, 1 / 3, 1.0])
    assert [r.n_configs for r in hb.brackets()[1].rungs] == [5, 1]


def test_successive_halving_is_one_bracket_with_n_configs() -> None:
    assert table(SuccessiveHalvingScheduler(1, 27)) == {3: [(27, 1), (9, 3), (3, 9), (1, 27)]}
    assert table(SuccessiveHalvingScheduler(1, 27, n_configs=10)) == {
        3: [(10, 1), (3, 3), (1, 9), (1, 27)]
    }
    assert table(SuccessiveHalvingScheduler(2, 16, factor=2)) == {
        3: [(8, 2), (4, 4), (2, 8), (1, 16)]
    }


# -- synchronous successive halving ------------------------------------------------------------
def test_successive_halving_runs_the_exact_budgets_and_promotes_the_top_third() -> None:
    sim = Simulator(SuccessiveHalvingScheduler(1, 27)).run()
    assert [t.budget for t in sim.trials] == [1] * 27 + [3] * 9 + [9] * 3 + [27]
    assert isinstance(sim.calls[-1].result, Stop)
    for rung, keep in ((1, 9), (2, 3), (3, 1)):
        below = rung_members(sim.trials, rung=rung - 1)
        promoted = rung_members(sim.trials, rung=rung)
        assert {t.attrs["promoted_from"] for t in promoted} == top(below, keep)
        for trial in promoted:
            source = sim.trials[trial.attrs["promoted_from"]]
            assert trial.values == source.values
            assert trial.budget == source.budget * 3
    # Promoted best first, so a tuner with a time limit spends it on the best.
    rung1 = rung_members(sim.trials, rung=1)
    assert [t.value for t in rung1] == sorted(t.value for t in rung1)


def test_hyperband_runs_its_brackets_in_the_papers_order_and_then_stops() -> None:
    hb = HyperbandScheduler(27, hyperband_iterations=2)
    sim = Simulator(hb, seed=3).run()
    assert sim.places() == expected_places(hb, iterations=2)
    assert len(sim.trials) == 2 * (40 + 17 + 8 + 4)
    assert isinstance(sim.calls[-1].result, Stop)
    assert "8 brackets" in sim.calls[-1].result.reason
    # Each bracket keeps its own top third: promotions never cross brackets.
    for trial in sim.trials:
        if "promoted_from" in trial.attrs:
            source = sim.trials[trial.attrs["promoted_from"]]
            assert source.attrs["bracket"] == trial.attrs["bracket"]
            assert source.attrs["iteration"] == trial.attrs["iteration"]
            assert source.attrs["rung"] == trial.attrs["rung"] - 1


def test_failed_trials_are_never_promoted_and_do_not_block_their_rung() -> None:
    # The configurations that would be the best fail on the bottom rung.
    def fails(trial: Trial) -> bool:
        return trial.attrs["rung"] == 0 and abs(trial.values["x"] - 0.3) < 0.1

    for n_workers in (1, 3):
        sim = Simulator(SuccessiveHalvingScheduler(1, 27), n_workers=n_workers, fails=fails)
        sim.run()
        failed = {t.number for t in sim.trials if t.state is TrialState.FAILED}
        assert failed, "the seed should make some trials fail"
        promoted_from = {t.attrs.get("promoted_from") for t in sim.trials}
        assert not failed & promoted_from
        rung0 = rung_members(sim.trials, rung=0)
        assert len(rung0) == 27
        assert {t.attrs["promoted_from"] for t in rung_members(sim.trials, rung=1)} == top(rung0, 9)
        assert len(rung_members(sim.trials, rung=3)) == 1
        assert isinstance(sim.calls[-1].result, Stop)


def test_a_bracket_whose_rung_all_failed_ends_and_the_next_one_runs() -> None:
    hb = HyperbandScheduler(9)  # brackets: 9/3/1, 5/1, 3

    def fails(trial: Trial) -> bool:
        return trial.attrs["bracket"] == 2 and trial.attrs["rung"] == 0

    sim = Simulator(hb, fails=fails).run()
    counts = collections.Counter((t.attrs["bracket"], t.attrs["rung"]) for t in sim.trials)
    assert counts == {(2, 0): 9, (1, 0): 5, (1, 1): 1, (0, 0): 3}
    assert isinstance(sim.calls[-1].result, Stop)


def test_few_survivors_promote_only_those() -> None:
    # Two of nine succeed on the bottom rung: both go on, and the bracket still ends.
    def fails(trial: Trial) -> bool:
        return trial.attrs["rung"] == 0 and trial.number not in (2, 5)

    sim = Simulator(SuccessiveHalvingScheduler(1, 9), fails=fails).run()
    assert [t.attrs.get("promoted_from") for t in rung_members(sim.trials, rung=1)] in (
        [2, 5],
        [5, 2],
    )
    assert len(rung_members(sim.trials, rung=2)) == 1


def test_a_killed_trial_is_replaced_by_its_retry_in_its_rung() -> None:
    killed_promotion: list[int] = []

    def kills(trial: Trial) -> bool:
        if "retry_of" in trial.attrs:
            return False
        if trial.number == 2:
            return True
        if trial.attrs["rung"] == 1 and not killed_promotion:
            killed_promotion.append(trial.number)
            return True
        return False

    sim = Simulator(SuccessiveHalvingScheduler(1, 9), kills=kills).run()
    effective = [t for t in sim.trials if not t.attrs.get("rerun")]
    assert [t.budget for t in effective] == [1] * 9 + [3] * 3 + [9]
    retry = next(t for t in sim.trials if t.attrs.get("retry_of") == 2)
    assert retry.values == sim.trials[2].values
    assert (retry.budget, retry.attrs["rung"]) == (1, 0)
    promoted_from = {t.attrs.get("promoted_from") for t in sim.trials}
    assert 2 not in promoted_from
    rung0 = rung_members(sim.trials, rung=0)
    assert 2 not in {t.number for t in rung0} and retry in rung0
    assert {t.attrs["promoted_from"] for t in rung_members(sim.trials, rung=1)} == top(rung0, 3)
    # The killed promotion ran again from the same source; the top rung came from the retry.
    again = next(t for t in sim.trials if t.attrs.get("retry_of") == killed_promotion[0])
    assert again.attrs["promoted_from"] == sim.trials[killed_promotion[0]].attrs["promoted_from"]
    assert sim.trials[-1].attrs["promoted_from"] in top(rung_members(sim.trials, rung=1), 1)


def test_a_killed_trial_without_its_retry_yet_does_not_block() -> None:
    place = {"iteration": 0, "bracket": 1, "rung": 0}
    trials = [
        Trial(0, {"x": 0.5}, TrialState.COMPLETE, value=0.5, budget=1, attrs=place),
        Trial(1, {"x": 0.4}, TrialState.COMPLETE, value=0.4, budget=1, attrs=place),
        Trial(2, {"x": 0.3}, TrialState.FAILED, budget=1, attrs={**place, "rerun": True}),
    ]
    step = SuccessiveHalvingScheduler(1, 3).next(
        space_x(), History(trials, LOSS), RandomSampler(), np.random.default_rng(0)
    )
    assert isinstance(step, Suggestion)
    assert step.attrs == {"iteration": 0, "bracket": 1, "rung": 1, "promoted_from": 1}
    assert (step.values, step.budget) == ({"x": 0.4}, 3)


def test_synchronous_rungs_wait_for_stragglers_but_free_workers_start_the_next_bracket() -> None:
    def speed(trial: Trial) -> float:
        return 10.0 if trial.number % 5 == 0 else 1.0

    sh = Simulator(SuccessiveHalvingScheduler(1, 9), n_workers=4, speed=speed).run()
    assert any(isinstance(c.result, Wait) and c.n_running > 0 for c in sh.calls)
    rung0_end = max(t.finished_at for t in rung_members(sh.trials, rung=0))
    assert all(t.started_at >= rung0_end for t in rung_members(sh.trials, rung=1))

    hb = HyperbandScheduler(27)
    sim = Simulator(hb, n_workers=4, speed=speed).run()
    counts = collections.Counter((t.attrs["bracket"], t.attrs["rung"]) for t in sim.trials)
    assert counts == {(b.s, i): r.n_configs for b in hb.brackets() for i, r in enumerate(b.rungs)}
    # Bracket 2 started while bracket 3 still ran: no worker idled behind its slow rung.
    end_of_3 = max(t.finished_at for t in sim.trials if t.attrs["bracket"] == 3)
    start_of_2 = min(t.started_at for t in sim.trials if t.attrs["bracket"] == 2)
    assert start_of_2 < end_of_3
    # Within a bracket, a rung still waits for all of the rung below.
    for b in hb.brackets():
        for i in range(1, len(b.rungs)):
            below = rung_members(sim.trials, bracket=b.s, rung=i - 1)
            end = max(t.finished_at for t in below)
            assert all(t.started_at >= end for t in rung_members(sim.trials, bracket=b.s, rung=i))
    assert isinstance(sim.calls[-1].result, Stop)


def test_an_exhausted_space_ends_the_brackets_instead_of_waiting() -> None:
    hp = HyperParameters()
    hp.Choice("x", [0.1, 0.3, 0.5, 0.7])
    sim = Simulator(HyperbandScheduler(9), hp).run()
    counts = collections.Counter((t.attrs["bracket"], t.attrs["rung"]) for t in sim.trials)
    assert counts == {(2, 0): 4, (2, 1): 3, (2, 2): 1}  # 4 configurations, then nothing new
    assert isinstance(sim.calls[-1].result, Stop)


def test_successive_halving_repeats_its_bracket_with_new_configurations() -> None:
    sim = Simulator(SuccessiveHalvingScheduler(1, 9, iterations=3), seed=1).run()
    budgets = [1] * 9 + [3] * 3 + [9]
    assert [t.budget for t in sim.trials] == budgets * 3
    assert [t.attrs["iteration"] for t in sim.trials] == [0] * 13 + [1] * 13 + [2] * 13
    new = [t.key for t in sim.trials if "promoted_from" not in t.attrs]
    assert len(new) == 27 and len(set(new)) == 27  # every iteration draws its own
    assert "3 brackets" in sim.calls[-1].result.reason


@pytest.mark.parametrize(
    "scheduler",
    [
        lambda: HyperbandScheduler(9, hyperband_iterations=None),
        lambda: SuccessiveHalvingScheduler(1, 9, iterations=None),
    ],
)
def test_unlimited_iterations_go_on_until_the_space_is_exhausted(scheduler: Any) -> None:
    hp = HyperParameters()
    hp.Int("x", 0, 59)  # 60 configurations
    sim = Simulator(scheduler(), hp, seed=2).run()
    new = [t for t in sim.trials if "promoted_from" not in t.attrs]
    assert len(new) == 60  # every configuration, in as many iterations as it takes
    assert max(t.attrs["iteration"] for t in sim.trials) >= 2
    assert isinstance(sim.calls[-1].result, Stop)
    assert "exhausted" in sim.calls[-1].result.reason


def test_unlimited_hyperband_stops_at_max_trials_through_the_tuner() -> None:
    tuner = hs.Hyperband(
        epochs_objective,
        objective="val_loss",
        max_epochs=9,
        hyperband_iterations=None,
        max_trials=40,
        storage="memory",
        verbose=0,
        seed=0,
    )
    tuner.search()
    assert len(tuner.trials) == 40
    assert {t.attrs["iteration"] for t in tuner.trials} == {0, 1}  # 22 trials an iteration
    with pytest.raises(hs.InvalidArgumentError, match=r"hyperband_iterations=None.*max_trials"):
        hs.Hyperband(epochs_objective, max_epochs=9, hyperband_iterations=None, storage="memory")
    with pytest.raises(hs.InvalidArgumentError, match=r"SuccessiveHalving\(iterations=None\)"):
        hs.SuccessiveHalving(
            epochs_objective, min_budget=1, max_budget=9, iterations=None, storage="memory"
        )


# -- resuming ----------------------------------------------------------------------------------
@pytest.mark.parametrize("stop_after", [1, 20, 27, 39, 40, 52, 66])
def test_resuming_hyperband_halfway_gives_the_same_brackets(stop_after: int) -> None:
    whole = Simulator(HyperbandScheduler(27), seed=7).run()
    first = Simulator(HyperbandScheduler(27), seed=7).run(max_trials=stop_after)
    assert len(first.trials) == stop_after
    resumed = Simulator(HyperbandScheduler(27), seed=7, trials=first.trials).run()
    assert resumed.places() == whole.places()
    assert [t.values for t in resumed.trials] == [t.values for t in whole.trials]
    assert [t.attrs.get("promoted_from") for t in resumed.trials] == [
        t.attrs.get("promoted_from") for t in whole.trials
    ]


def test_resuming_after_a_killed_process_reruns_the_trial_in_its_place() -> None:
    whole = Simulator(HyperbandScheduler(27), seed=1).run()
    first = Simulator(HyperbandScheduler(27), seed=1).run(max_trials=30)
    # The process died during trial 30: the tuner marks it FAILED with rerun=True.
    step = first.scheduler.next(
        first.space, first.history(), first.sampler, np.random.default_rng(0)
    )
    assert isinstance(step, Suggestion)
    dead = Trial(
        30, step.values, TrialState.FAILED, budget=step.budget, attrs={**step.attrs, "rerun": True}
    )
    resumed = Simulator(HyperbandScheduler(27), seed=1, trials=[*first.trials, dead]).run()
    assert resumed.trials[31].attrs["retry_of"] == 30
    assert resumed.trials[31].values == dead.values
    places = zip(resumed.trials, resumed.places(), strict=True)
    effective = [p for t, p in places if not t.attrs.get("rerun")]
    assert effective == whole.places()


# -- ASHA --------------------------------------------------------------------------------------
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


def reported(number: int, loss: float, steps: tuple[int, ...] = (1, 2, 3)) -> Trial:
    return Trial(
        number,
        {"x": number},
        TrialState.COMPLETE,
        value=loss,
        intermediate={s: {"loss": loss} for s in steps},
        budget=9,
    )


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


def test_a_trial_reporting_beyond_its_budget_is_stopped() -> None:
    for scheduler in (HyperbandScheduler(9), ASHAScheduler(1, 9), SuccessiveHalvingScheduler(1, 9)):
        within = Trial(0, {}, TrialState.RUNNING, budget=3, intermediate={3: {"loss": 1.0}})
        beyond = Trial(0, {}, TrialState.RUNNING, budget=3, intermediate={4: {"loss": 1.0}})
        assert scheduler.on_report(within, History([], LOSS)) is Decision.CONTINUE
        assert scheduler.on_report(beyond, History([], LOSS)) is Decision.STOP


# -- spaces and samplers -----------------------------------------------------------------------
def mixed_space() -> HyperParameters:
    hp = HyperParameters()
    hp.Choice("model", ["linear", "tree"])
    with hp.conditional_scope("model", ["linear"]):
        hp.Float("lr", 1e-4, 1e-1, sampling="log")
    with hp.conditional_scope("model", ["tree"]):
        hp.Int("depth", 1, 8)
    hp.Boolean("scale")
    return hp


def mixed_curve(values: Mapping[str, Any], step: float) -> float:
    if values["model"] == "linear":
        core = abs(math.log10(values["lr"]) + 2.0)
    else:
        core = abs(values["depth"] - 5) / 2
    return core + (0.0 if values["scale"] else 0.5) + 1.0 / (step + 1)


@pytest.mark.parametrize(
    "scheduler",
    [
        HyperbandScheduler(9),
        ASHAScheduler(1, 9, n_configs=20),
        BOHBScheduler(HyperbandScheduler(9), min_points_in_model=4),
    ],
    ids=["hyperband", "asha", "bohb"],
)
@pytest.mark.parametrize("sampler", [RandomSampler(), TPESampler(n_startup_trials=4)])
def test_conditional_and_mixed_spaces(scheduler: hs.Scheduler, sampler: Sampler) -> None:
    space = mixed_space()
    sim = Simulator(scheduler, space, sampler=sampler, n_workers=2, curve=mixed_curve).run()
    assert isinstance(sim.calls[-1].result, Stop)
    for trial in sim.trials:
        assert set(trial.values) == set(space.active_values(trial.values))
        assert all(space.parameter(k).contains(v) for k, v in trial.values.items())
        if "promoted_from" in trial.attrs:
            assert trial.values == sim.trials[trial.attrs["promoted_from"]].values
    keys = [t.key for t in sim.trials if "promoted_from" not in t.attrs]
    assert len(keys) == len(set(keys)), "a new configuration is never one tried before"


def test_bohb_all_budgets_with_a_conditional_space_failures_and_two_workers() -> None:
    # The joint GP with a conditional, mixed space, every 7th trial failing and two workers
    # (running trials enter the model as pending at their own budget level).
    space = mixed_space()
    bohb = BOHBScheduler(HyperbandScheduler(9, hyperband_iterations=2), model_budgets="all")
    sim = Simulator(
        bohb,
        space,
        sampler=hs.GPSampler(n_startup_trials=4),
        n_workers=2,
        curve=mixed_curve,
        fails=lambda t: t.number % 7 == 3,
    ).run()
    assert isinstance(sim.calls[-1].result, Stop)
    failed = {t.number for t in sim.trials if t.state is TrialState.FAILED}
    assert failed
    for trial in sim.trials:
        assert set(trial.values) == set(space.active_values(trial.values))
        assert all(space.parameter(k).contains(v) for k, v in trial.values.items())
        assert trial.attrs.get("promoted_from") not in failed  # a failure is never promoted
    keys = [t.key for t in sim.trials if "promoted_from" not in t.attrs]
    assert len(keys) == len(set(keys))
    best = min(
        (t for t in sim.trials if t.budget == 9 and t.value is not None), key=lambda t: t.value
    )
    assert mixed_curve(best.values, 9) < 0.5  # near the optimum 0.1 (core 0, scaled)


# -- BOHB --------------------------------------------------------------------------------------
class RecordingSampler(Sampler):
    """A random sampler that keeps the history each call received."""

    def __init__(self) -> None:
        self.seen: list[tuple[list[Trial], History]] = []
        self.sim: Simulator | None = None
        self._random = RandomSampler()

    def sample(
        self, space: HyperParameters, history: History, rng: np.random.Generator
    ) -> dict[str, Any] | None:
        assert self.sim is not None
        self.seen.append((list(self.sim.trials), history))  # the trials as they are now
        return self._random.sample(space, history, rng)


def test_bohb_fits_the_model_on_the_largest_budget_with_enough_results() -> None:
    sampler = RecordingSampler()
    sim = Simulator(
        BOHBScheduler(HyperbandScheduler(9), min_points_in_model=3, random_fraction=0),
        sampler=sampler,
    )
    sampler.sim = sim
    sim.run()
    assert len(sim.trials) == 22
    assert len(sampler.seen) == 9 + 5 + 3  # one call per new configuration
    models = []
    for before, history in sampler.seen:
        assert set(history.keys) == {t.key for t in before}  # nothing tried is proposed again
        complete = collections.Counter(t.budget for t in before if t.state is TrialState.COMPLETE)
        enough = [b for b, n in complete.items() if n >= 3]
        if not enough:
            assert len(history) == 0  # the sampler's own start-up
            continue
        budget = max(enough)
        assert {t.number for t in history} == {t.number for t in before if t.budget == budget}
        models.append(budget)
    # From the 4th configuration of bracket 2 on, budget 1 has 3 results. Bracket 1 starts
    # with 3 results at budget 3 and 1 at budget 9: budget 3. Bracket 0 starts with 2 at
    # budget 9: budget 3 still, now with 8; its first trial gives budget 9 a third result.
    assert models == [1] * 6 + [3] * 5 + [3, 9, 9]


def test_bohb_default_min_points_follow_the_space_and_the_sampler_start_up() -> None:
    sampler = RecordingSampler()
    sim = Simulator(BOHBScheduler(HyperbandScheduler(9), random_fraction=0), sampler=sampler)
    sampler.sim = sim
    sim.run()
    # One parameter: the paper's default is 2 points; 2 complete trials at budget 9 exist
    # when the last bracket starts.
    assert {t.budget for t in sampler.seen[-1][1]} == {9}

    class WithStartUp(RecordingSampler):
        n_startup_trials = 6

    sampler = WithStartUp()
    sim = Simulator(BOHBScheduler(HyperbandScheduler(9), random_fraction=0), sampler=sampler)
    sampler.sim = sim
    sim.run()
    assert {t.budget for t in sampler.seen[-1][1]} == {3}  # budget 9 has 4 < 6 results


@pytest.mark.parametrize("fraction", [0.0, 1 / 3, 1.0])
def test_bohb_draws_its_random_fraction_only_once_the_model_is_used(fraction: float) -> None:
    sampler = RecordingSampler()
    bohb = BOHBScheduler(
        HyperbandScheduler(27, hyperband_iterations=4),
        min_points_in_model=3,
        random_fraction=fraction,
    )
    sim = Simulator(bohb, sampler=sampler, seed=5)
    sampler.sim = sim
    sim.run()
    new_configs = sum(1 for t in sim.trials if "promoted_from" not in t.attrs)
    modelled = sum(1 for _, history in sampler.seen if len(history))
    start_up = len(sampler.seen) - modelled  # the model is not used yet: never random
    random_draws = new_configs - len(sampler.seen)
    assert start_up > 0
    eligible = random_draws + modelled
    assert random_draws == pytest.approx(fraction * eligible, abs=0.12 * eligible)
    if fraction == 0.0:
        assert random_draws == 0
    if fraction == 1.0:
        assert modelled == 0
    keys = [t.key for t in sim.trials if "promoted_from" not in t.attrs]
    assert len(set(keys)) == len(keys)  # random draws repeat nothing either


def test_bohb_delegates_reports_and_stops_with_its_scheduler() -> None:
    bohb = BOHBScheduler(ASHAScheduler(1, 9, mode="stopping"))
    history = History([reported(i, 0.1 * i) for i in range(6)], LOSS)
    worse = Trial(9, {}, TrialState.RUNNING, intermediate={1: {"loss": 5.0}})
    assert bohb.on_report(worse, history) is Decision.STOP
    sim = Simulator(BOHBScheduler(SuccessiveHalvingScheduler(1, 9)), sampler=TPESampler()).run()
    assert [t.budget for t in sim.trials] == [1] * 9 + [3] * 3 + [9]


def finished(number: int, budget: float, loss: float = 1.0) -> Trial:
    return Trial(number, {"x": number / 100}, TrialState.COMPLETE, value=loss, budget=budget)


def test_budget_levels_are_log_budgets_and_keep_the_highest_budgets_first() -> None:
    trials = [finished(i, 1) for i in range(10)]
    trials += [finished(10 + i, 3) for i in range(4)] + [finished(20 + i, 9) for i in range(3)]
    trials.append(Trial(30, {"x": 0.5}, TrialState.RUNNING, budget=27))  # not finished
    history = History(trials, LOSS)
    levels = budget_levels(history, (1, 81))
    assert len(levels) == 17 and 30 not in levels
    assert levels[0] == 0.0 and levels[10] == pytest.approx(0.25) and levels[20] == 0.5
    kept = budget_levels(history, (1, 81), limit=5)
    # All three at budget 9, then two of budget 3's four, evenly spaced by number.
    assert sorted(kept) == [10, 13, 20, 21, 22]
    assert budget_levels(History(trials, LOSS), (3, 9))[0] == 0.0  # below the range: level 0


def test_bohb_all_budgets_checks_its_arguments() -> None:
    with pytest.raises(
        hs.InvalidArgumentError, match=r"model_budgets=.*one of \('largest', 'all'\)"
    ):
        BOHBScheduler(HyperbandScheduler(9), model_budgets="every")
    with pytest.raises(hs.InvalidArgumentError, match=r"scheduler=.*min and max budgets"):
        BOHBScheduler(hs.FIFOScheduler(), model_budgets="all")
    bohb = BOHBScheduler(HyperbandScheduler(9), model_budgets="all")
    with pytest.raises(hs.InvalidArgumentError, match=r"GPSampler or AutoSampler, got TPESampler"):
        Simulator(bohb, sampler=TPESampler()).run()
    with pytest.raises(hs.InvalidArgumentError, match="model_budgets"):
        hs.BOHB(epochs_objective, max_epochs=9, model_budgets="x", storage="memory")


def test_bohb_all_budgets_gives_the_gp_every_budget_with_its_level() -> None:
    calls: list[tuple[str, int, dict[int, float]]] = []

    class Spy(hs.GPSampler):
        def sample(self, space: Any, history: Any, rng: Any) -> Any:
            calls.append(("one budget", len(history), {t.number: t.budget for t in history}))
            return super().sample(space, history, rng)

        def sample_across_budgets(self, space: Any, history: Any, rng: Any, levels: Any) -> Any:
            calls.append(("all budgets", len(history), dict(levels)))
            return super().sample_across_budgets(space, history, rng, levels)

    bohb = BOHBScheduler(
        HyperbandScheduler(9, hyperband_iterations=2), random_fraction=0, model_budgets="all"
    )
    sim = Simulator(bohb, sampler=Spy(n_startup_trials=4), seed=0).run()
    new_configs = [t for t in sim.trials if "promoted_from" not in t.attrs]
    # random_fraction=0: the GP proposes every new configuration (sample_across_budgets
    # calls no other method of the sampler).
    assert len(calls) == len(new_configs)
    kinds = [kind for kind, _, _ in calls]
    # The first bracket's first rung sees budget 1 alone: the GP models it as it is; once
    # promotions report, every budget enters the joint model.
    assert kinds == ["one budget"] * 9 + ["all budgets"] * (len(calls) - 9)
    assert all(set(budgets.values()) <= {1} for kind, _, budgets in calls if kind == "one budget")
    budgets = {t.number: t.budget for t in sim.trials}
    for _, n_history, levels in calls[9:]:
        assert len(levels) == n_history  # every finished trial (fewer than MAX_MODEL_TRIALS)
        for number, level in levels.items():
            assert level == pytest.approx(math.log(budgets[number]) / math.log(9))
    assert set(calls[-1][2].values()) == {0.0, 0.5, 1.0}
    keys = [t.key for t in new_configs]
    assert len(set(keys)) == len(keys)


def test_bohb_all_budgets_finds_the_full_budget_optimum_where_low_budgets_mislead() -> None:
    # At budget 1 the best x is 0.3, at the full budget 27 it is 0.7; the low-budget pull
    # fades with the log of the budget (the synthetic task of benchmarks/multi_fidelity.py
    # in one dimension).
    def curve(values: Mapping[str, Any], step: float) -> float:
        w = 1.0 - math.log(step) / math.log(27)
        return (values["x"] - 0.7) ** 2 + 2.0 * w * (values["x"] - 0.1) ** 2 + 1.0 / step

    for seed in (0, 1):
        bohb = BOHBScheduler(
            HyperbandScheduler(27, hyperband_iterations=2), random_fraction=0, model_budgets="all"
        )
        sim = Simulator(bohb, sampler=hs.GPSampler(n_startup_trials=5), seed=seed, curve=curve)
        sim.run()
        full = [t for t in sim.trials if t.budget == 27 and t.value is not None]
        best = min(full, key=lambda t: t.value)
        assert abs(best.values["x"] - 0.7) < 0.01, seed


# -- through the Tuner -------------------------------------------------------------------------
def epochs_objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> dict[str, float]:
    x = hp.Float("x", 0.0, 1.0)
    units = hp.Choice("units", [16, 32, 64])
    val_loss = 0.0
    for epoch in range(1, int(trial.budget) + 1):
        val_loss = (x - 0.3) ** 2 + abs(units - 32) / 100 + 1.0 / (epoch + 1)
        trial.report(epoch, val_loss=val_loss)
    return {"val_loss": val_loss}


def test_hyperband_through_the_tuner() -> None:
    hb = HyperbandScheduler(9)
    tuner = hs.Tuner(
        epochs_objective,
        objective="val_loss",
        scheduler=hb,
        sampler=TPESampler(n_startup_trials=5),
        storage="memory",
        verbose=0,
        seed=0,
    )
    tuner.search()
    trials = tuner.trials
    places = [(t.attrs["iteration"], t.attrs["bracket"], t.attrs["rung"], t.budget) for t in trials]
    assert places == expected_places(hb)
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert all(max(t.intermediate) == t.budget for t in trials)
    for trial in trials:
        if "promoted_from" in trial.attrs:
            assert trial.values == trials[trial.attrs["promoted_from"]].values
    assert tuner.get_best_trials(1)[0].budget == 9


def test_hyperband_resumes_through_the_tuner_from_sqlite(tmp_path: Any) -> None:
    def run(project: str, max_trials: int | None) -> list[Any]:
        tuner = hs.Tuner(
            epochs_objective,
            objective="val_loss",
            scheduler=HyperbandScheduler(9),
            max_trials=max_trials,
            directory=tmp_path,
            project_name=project,
            verbose=0,
            seed=4,
        )
        with tuner:
            tuner.search()
            return [
                (t.attrs["bracket"], t.attrs["rung"], t.budget, t.attrs.get("promoted_from"))
                for t in tuner.trials
            ]

    whole = run("whole", None)
    assert len(run("resumed", 11)) == 11
    assert run("resumed", None) == whole


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
        (lambda: HyperbandScheduler(0), r"max_epochs=\.\.\.\): expected a number > 0, got 0"),
        (lambda: HyperbandScheduler(9, min_epochs=10), r"min_epochs.*<= max_epochs=9, got 10"),
        (lambda: HyperbandScheduler(9, factor=1), r"factor.*an int >= 2, got 1"),
        (lambda: HyperbandScheduler(9, factor=2.5), r"factor.*got 2.5"),
        (lambda: HyperbandScheduler(9, hyperband_iterations=0), "hyperband_iterations"),
        (lambda: HyperbandScheduler(True), "max_epochs"),
        (lambda: SuccessiveHalvingScheduler(1, float("inf")), "max_budget"),
        (lambda: SuccessiveHalvingScheduler(1, 9, n_configs=0), "n_configs"),
        (lambda: SuccessiveHalvingScheduler(1, 9, iterations=0), r"iterations.*>= 1 or None"),
        (lambda: SuccessiveHalvingScheduler(-1, 9), "min_budget"),
        (lambda: ASHAScheduler(1, 9, mode="pause"), r"mode.*'promotion', 'stopping'.*'pause'"),
        (lambda: ASHAScheduler(1, 9, metric=3), "metric"),
        (lambda: ASHAScheduler(1, 9, n_configs=-2), "n_configs"),
        (lambda: BOHBScheduler(RandomSampler()), r"BOHBScheduler\(scheduler="),
        (lambda: BOHBScheduler(HyperbandScheduler(9), min_points_in_model=0), "min_points"),
        (
            lambda: BOHBScheduler(HyperbandScheduler(9), random_fraction=1.5),
            r"random_fraction.*between 0 and 1, got 1.5",
        ),
    ],
)
def test_bad_arguments_say_what_was_expected(make: Any, match: str) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=match):
        make()


def test_reprs_show_the_arguments() -> None:
    assert repr(HyperbandScheduler(81)) == (
        "HyperbandScheduler(max_epochs=81, factor=3, min_epochs=1, hyperband_iterations=1)"
    )
    assert "mode='stopping'" in repr(ASHAScheduler(1, 9, mode="stopping"))
    assert repr(BOHBScheduler(SuccessiveHalvingScheduler(1, 9))).startswith(
        "BOHBScheduler(SuccessiveHalvingScheduler(min_budget=1, max_budget=9"
    )


@pytest.mark.parametrize(
    ("name", "kind"),
    [("auto", hs.AutoSampler), ("gp", hs.GPSampler), ("tpe", hs.TPESampler)],
)
def test_bohb_preset_models(name: str, kind: type) -> None:
    tuner = hs.BOHB(epochs_objective, max_epochs=9, sampler=name, storage="memory", verbose=0)
    assert type(tuner.sampler) is kind
    assert type(hs.BOHB(epochs_objective, max_epochs=9, storage="memory").sampler) is (
        hs.AutoSampler
    )
    with pytest.raises(hs.InvalidArgumentError, match=r"'auto', 'tpe', 'gp'.*'xyz'"):
        hs.BOHB(epochs_objective, max_epochs=9, sampler="xyz", storage="memory")


def test_bohb_waits_for_the_auto_samplers_start_up_before_using_the_model() -> None:
    # Four parameters: the paper's minimum would be 5 points, but the GP needs its 10.
    space = HyperParameters()
    for name in "abcd":
        space.Float(name, 0.0, 1.0)
    sampler = hs.AutoSampler()
    assert sampler.n_startup_trials == 10
    bohb = BOHBScheduler(HyperbandScheduler(27), random_fraction=0)
    seen: list[int] = []

    class Spy(hs.AutoSampler):
        def sample(self, space: Any, history: Any, rng: Any) -> Any:
            seen.append(len(history))
            return super().sample(space, history, rng)

    def curve(values: Mapping[str, Any], step: float) -> float:
        return sum((values[k] - 0.3) ** 2 for k in "abcd") + 1.0 / (step + 1.0)

    Simulator(bohb, space, sampler=Spy(), seed=0, curve=curve).run()
    assert seen and all(n == 0 or n >= 10 for n in seen)
    assert any(n >= 10 for n in seen)


def test_bohb_all_budgets_through_the_tuner_resumes_from_sqlite(tmp_path: Any) -> None:
    def run(iterations: int) -> hs.Tuner:
        tuner = hs.BOHB(
            epochs_objective,
            objective="val_loss",
            max_epochs=9,
            hyperband_iterations=iterations,
            model_budgets="all",
            sampler=hs.GPSampler(n_startup_trials=4),
            directory=tmp_path,
            project_name="bohb-all",
            seed=3,
            verbose=0,
        )
        tuner.search()
        return tuner

    first = [t.values for t in run(1).trials]
    assert len(first) == 22
    resumed = run(2)  # the same study, one more iteration: the model learns from storage
    assert len(resumed.trials) == 44
    assert [t.values for t in resumed.trials[:22]] == first
    new = [t for t in resumed.trials if "promoted_from" not in t.attrs]
    assert len({t.key for t in new}) == len(new)
    best = resumed.get_best_trials(1)[0]
    assert best.budget == 9 and abs(best.values["x"] - 0.3) < 0.05 and best.values["units"] == 32
