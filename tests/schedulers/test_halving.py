"""Successive halving and Hyperband, driven by a simulated tuner and by the Tuner."""

from __future__ import annotations

import collections
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.samplers import History, RandomSampler, Sampler, TPESampler
from hyperscout.schedulers import Decision, Stop, Suggestion, Wait
from hyperscout.schedulers.asha import ASHAScheduler
from hyperscout.schedulers.base import upgrade_settings
from hyperscout.schedulers.bohb import BOHBScheduler
from hyperscout.schedulers.halving import HyperbandScheduler, SuccessiveHalvingScheduler
from hyperscout.space import HyperParameters
from hyperscout.trial import Trial, TrialState

from .helpers import (
    LOSS,
    epochs_objective,
    mixed_curve,
    mixed_space,
    rung_members,
    top,
)
from .simulator import Simulator, space_x


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


def test_hyperband_brackets_match_the_paper_table_for_max_81_factor_3() -> None:
    hb = HyperbandScheduler(1, 81, factor=3)
    assert [b.s for b in hb.brackets()] == [4, 3, 2, 1, 0]
    assert table(hb) == {
        4: [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
        3: [(34, 3), (11, 9), (3, 27), (1, 81)],
        2: [(15, 9), (5, 27), (1, 81)],
        1: [(8, 27), (2, 81)],
        0: [(5, 81)],
    }
    assert all(isinstance(r.budget, int) for b in hb.brackets() for r in b.rungs)


def test_min_budget_drops_the_brackets_below_it() -> None:
    expected = {
        3: [(27, 3), (9, 9), (3, 27), (1, 81)],
        2: [(12, 9), (4, 27), (1, 81)],
        1: [(6, 27), (2, 81)],
        0: [(4, 81)],
    }
    assert table(HyperbandScheduler(3, 81)) == expected
    assert table(HyperbandScheduler(2, 81)) == expected  # 2 * 3**4 > 81


def test_integer_budgets_round_up_as_keras_tuner_does() -> None:
    hb = HyperbandScheduler(1, 100)
    assert [r.budget for r in hb.brackets()[0].rungs] == [2, 4, 12, 34, 100]  # ceil(100/3**k)
    assert [r.n_configs for r in hb.brackets()[0].rungs] == [81, 27, 9, 3, 1]


def test_float_budgets_stay_exact() -> None:
    hb = HyperbandScheduler(1 / 9, 1.0)
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
    hb = HyperbandScheduler(1, 27, iterations=2)
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
    hb = HyperbandScheduler(1, 9)  # brackets: 9/3/1, 5/1, 3

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

    hb = HyperbandScheduler(1, 27)
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
    sim = Simulator(HyperbandScheduler(1, 9), hp).run()
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
        lambda: HyperbandScheduler(1, 9, iterations=None),
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


@pytest.mark.parametrize("stop_after", [1, 20, 27, 39, 40, 52, 66])
def test_resuming_hyperband_halfway_gives_the_same_brackets(stop_after: int) -> None:
    whole = Simulator(HyperbandScheduler(1, 27), seed=7).run()
    first = Simulator(HyperbandScheduler(1, 27), seed=7).run(max_trials=stop_after)
    assert len(first.trials) == stop_after
    resumed = Simulator(HyperbandScheduler(1, 27), seed=7, trials=first.trials).run()
    assert resumed.places() == whole.places()
    assert [t.values for t in resumed.trials] == [t.values for t in whole.trials]
    assert [t.attrs.get("promoted_from") for t in resumed.trials] == [
        t.attrs.get("promoted_from") for t in whole.trials
    ]


def test_resuming_after_a_killed_process_reruns_the_trial_in_its_place() -> None:
    whole = Simulator(HyperbandScheduler(1, 27), seed=1).run()
    first = Simulator(HyperbandScheduler(1, 27), seed=1).run(max_trials=30)
    # The process died during trial 30: the tuner marks it FAILED with rerun=True.
    step = first.scheduler.next(
        first.space, first.history(), first.sampler, np.random.default_rng(0)
    )
    assert isinstance(step, Suggestion)
    dead = Trial(
        30, step.values, TrialState.FAILED, budget=step.budget, attrs={**step.attrs, "rerun": True}
    )
    resumed = Simulator(HyperbandScheduler(1, 27), seed=1, trials=[*first.trials, dead]).run()
    assert resumed.trials[31].attrs["retry_of"] == 30
    assert resumed.trials[31].values == dead.values
    places = zip(resumed.trials, resumed.places(), strict=True)
    effective = [p for t, p in places if not t.attrs.get("rerun")]
    assert effective == whole.places()


def test_a_trial_reporting_beyond_its_budget_is_stopped() -> None:
    for scheduler in (
        HyperbandScheduler(1, 9),
        ASHAScheduler(1, 9),
        SuccessiveHalvingScheduler(1, 9),
    ):
        within = Trial(0, {}, TrialState.RUNNING, budget=3, intermediate={3: {"loss": 1.0}})
        beyond = Trial(0, {}, TrialState.RUNNING, budget=3, intermediate={4: {"loss": 1.0}})
        assert scheduler.on_report(within, History([], LOSS)) is Decision.CONTINUE
        assert scheduler.on_report(beyond, History([], LOSS)) is Decision.STOP


@pytest.mark.parametrize(
    "scheduler",
    [
        HyperbandScheduler(1, 9),
        ASHAScheduler(1, 9, n_configs=20),
        BOHBScheduler(HyperbandScheduler(1, 9), min_points_in_model=4),
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


def test_hyperband_through_the_tuner() -> None:
    hb = HyperbandScheduler(1, 9)
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
            scheduler=HyperbandScheduler(1, 9),
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


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda: HyperbandScheduler(1, 0),
            r"^HyperbandScheduler\(max_budget=\.\.\.\): expected a finite number > 0, got 0\.$",
        ),
        (lambda: HyperbandScheduler(10, 9), r"min_budget.*<= max_budget=9, got 10"),
        (lambda: HyperbandScheduler(1, 9, factor=1), r"factor.*an int >= 2, got 1"),
        (lambda: HyperbandScheduler(1, 9, factor=2.5), r"factor.*got 2.5"),
        (lambda: HyperbandScheduler(1, 9, iterations=0), r"\(iterations=.*>= 1 or None, got 0"),
        (lambda: HyperbandScheduler(1, True), "max_budget"),
        (lambda: SuccessiveHalvingScheduler(1, float("inf")), "max_budget"),
        (lambda: SuccessiveHalvingScheduler(1, 9, n_configs=0), "n_configs"),
        (lambda: SuccessiveHalvingScheduler(1, 9, iterations=0), r"iterations.*>= 1 or None"),
        (lambda: SuccessiveHalvingScheduler(-1, 9), "min_budget"),
    ],
)
def test_bad_arguments_say_what_was_expected(make: Any, match: str) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=match):
        make()


def test_reprs_show_the_arguments() -> None:
    assert repr(HyperbandScheduler(1, 81)) == (
        "HyperbandScheduler(min_budget=1, max_budget=81, factor=3, iterations=1)"
    )
    assert repr(SuccessiveHalvingScheduler(1, 9)) == (
        "SuccessiveHalvingScheduler(min_budget=1, max_budget=9, factor=3, n_configs=9, "
        "iterations=1)"
    )


def test_numpy_numbers_are_taken_as_budgets_and_counts() -> None:
    hb = HyperbandScheduler(np.int64(1), np.int64(9), factor=np.int64(3), iterations=np.int64(2))
    assert hb.settings() == {"min_budget": 1, "max_budget": 9, "factor": 3, "iterations": 2}
    assert all(type(v) is int for v in hb.settings().values())  # plain JSON
    sh = SuccessiveHalvingScheduler(np.float64(0.5), np.float32(2.0), factor=2)
    assert [r.budget for r in sh.brackets()[0].rungs] == [0.5, 1.0, 2.0]
    with pytest.raises(hs.InvalidArgumentError, match=r"factor=.*got 1\.$"):
        HyperbandScheduler(1, 9, factor=np.int64(1))


# -- settings stored by older versions -------------------------------------------------------
def test_hyperbands_settings_stored_under_keras_tuners_names_read_as_todays() -> None:
    old = {"max_epochs": 9, "factor": 3, "min_epochs": 1, "hyperband_iterations": None}
    today = HyperbandScheduler(1, 9, iterations=None).settings()
    stored = {"class": "HyperbandScheduler", "settings": old}
    assert upgrade_settings(stored) == {"class": "HyperbandScheduler", "settings": today}
    assert stored["settings"] is old and "max_epochs" in old  # the stored dict is not changed
    bohb = {"class": "BOHBScheduler", "settings": {"scheduler": stored, "random_fraction": 0.5}}
    assert upgrade_settings(bohb)["settings"] == {
        "scheduler": {"class": "HyperbandScheduler", "settings": today},
        "random_fraction": 0.5,
    }
    # Only Hyperband renamed its settings; other and unknown classes keep theirs.
    for name in ("SuccessiveHalvingScheduler", "SomeoneElsesScheduler"):
        other = {"class": name, "settings": {"max_epochs": 9}}
        assert upgrade_settings(other) == other
