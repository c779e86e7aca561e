"""BOHB (model-based Hyperband), driven by a simulated tuner and by the Tuner."""

from __future__ import annotations

import collections
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.samplers import History, RandomSampler, Sampler, TPESampler
from hyperscout.schedulers import Decision, Stop
from hyperscout.schedulers.asha import ASHAScheduler
from hyperscout.schedulers.bohb import BOHBScheduler, budget_levels
from hyperscout.schedulers.halving import HyperbandScheduler, SuccessiveHalvingScheduler
from hyperscout.space import HyperParameters
from hyperscout.trial import Trial, TrialState

from .helpers import (
    LOSS,
    epochs_objective,
    mixed_curve,
    mixed_space,
    reported,
)
from .simulator import Simulator


def test_bohb_all_budgets_with_a_conditional_space_failures_and_two_workers() -> None:
    # The joint GP with a conditional, mixed space, every 7th trial failing and two workers
    # (running trials enter the model as pending at their own budget level).
    space = mixed_space()
    bohb = BOHBScheduler(HyperbandScheduler(1, 9, iterations=2), model_budgets="all")
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
        BOHBScheduler(HyperbandScheduler(1, 9), min_points_in_model=3, random_fraction=0),
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
        fitted = [t for t in history if t.state is not TrialState.RUNNING]
        assert {t.number for t in fitted} == {t.number for t in before if t.budget == budget}
        # The new configurations proposed since the budget's latest result are shown to the
        # model as running (a constant liar), so that it does not propose one point again.
        latest = max(t.number for t in fitted)
        since = {
            t.number
            for t in before
            if t.number > latest and "promoted_from" not in t.attrs and t.budget < budget
        }
        assert {t.number for t in history if t.state is TrialState.RUNNING} == since
        models.append(budget)
    # From the 4th configuration of bracket 2 on, budget 1 has 3 results. Bracket 1 starts
    # with 3 results at budget 3 and 1 at budget 9: budget 3. Bracket 0 starts with 2 at
    # budget 9: budget 3 still, now with 8; its first trial gives budget 9 a third result.
    assert models == [1] * 6 + [3] * 5 + [3, 9, 9]


def test_bohb_default_min_points_follow_the_space_and_the_sampler_start_up() -> None:
    sampler = RecordingSampler()
    sim = Simulator(BOHBScheduler(HyperbandScheduler(1, 9), random_fraction=0), sampler=sampler)
    sampler.sim = sim
    sim.run()
    # One parameter: the paper's default is 2 points; 2 complete trials at budget 9 exist
    # when the last bracket starts.
    assert {t.budget for t in sampler.seen[-1][1]} == {9}

    class WithStartUp(RecordingSampler):
        n_startup_trials = 6

    sampler = WithStartUp()
    sim = Simulator(BOHBScheduler(HyperbandScheduler(1, 9), random_fraction=0), sampler=sampler)
    sampler.sim = sim
    sim.run()
    assert {t.budget for t in sampler.seen[-1][1]} == {3}  # budget 9 has 4 < 6 results


@pytest.mark.parametrize("fraction", [0.0, 1 / 3, 1.0])
def test_bohb_draws_its_random_fraction_only_once_the_model_is_used(fraction: float) -> None:
    sampler = RecordingSampler()
    bohb = BOHBScheduler(
        HyperbandScheduler(1, 27, iterations=4),
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
        hs.InvalidArgumentError, match=r"model_budgets=.*one of 'largest', 'all', got 'every'"
    ):
        BOHBScheduler(HyperbandScheduler(1, 9), model_budgets="every")
    with pytest.raises(hs.InvalidArgumentError, match=r"scheduler=.*min and max budgets"):
        BOHBScheduler(hs.FIFOScheduler(), model_budgets="all")
    bohb = BOHBScheduler(HyperbandScheduler(1, 9), model_budgets="all")
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
        HyperbandScheduler(1, 9, iterations=2), random_fraction=0, model_budgets="all"
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
            HyperbandScheduler(1, 27, iterations=2), random_fraction=0, model_budgets="all"
        )
        sim = Simulator(bohb, sampler=hs.GPSampler(n_startup_trials=5), seed=seed, curve=curve)
        sim.run()
        full = [t for t in sim.trials if t.budget == 27 and t.value is not None]
        best = min(full, key=lambda t: t.value)
        assert abs(best.values["x"] - 0.7) < 0.01, seed


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
    bohb = BOHBScheduler(HyperbandScheduler(1, 27), random_fraction=0)
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


# -- arguments ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: BOHBScheduler(RandomSampler()), r"BOHBScheduler\(scheduler="),
        (lambda: BOHBScheduler(HyperbandScheduler(1, 9), min_points_in_model=0), "min_points"),
        (
            lambda: BOHBScheduler(HyperbandScheduler(1, 9), random_fraction=1.5),
            r"random_fraction.*in \[0, 1\], got 1.5",
        ),
    ],
)
def test_bad_arguments_say_what_was_expected(make: Any, match: str) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=match):
        make()


def test_repr_shows_the_arguments() -> None:
    assert repr(BOHBScheduler(SuccessiveHalvingScheduler(1, 9))).startswith(
        "BOHBScheduler(SuccessiveHalvingScheduler(min_budget=1, max_budget=9"
    )


def test_bohb_spreads_the_configurations_it_proposes_from_one_model() -> None:
    # A bracket draws many configurations while the model's data (one budget's results) stays
    # the same; shown the ones proposed since as running, the GP spreads them instead of
    # proposing its acquisition's maximum again and again.
    hp = HyperParameters()
    hp.Float("x", 0.0, 1.0)
    hp.Float("y", 0.0, 1.0)

    def curve(values: Mapping[str, Any], step: float) -> float:
        return (values["x"] - 0.3) ** 2 + (values["y"] - 0.6) ** 2 + 1.0 / (step + 1.0)

    bohb = BOHBScheduler(
        HyperbandScheduler(1, 27, iterations=2), min_points_in_model=4, random_fraction=0
    )
    sim = Simulator(bohb, hp, curve=curve, sampler=hs.GPSampler(n_startup_trials=4), seed=3)
    sim.run()
    # The second iteration's first bracket: 27 new configurations at budget 1, proposed from
    # the model of budget 27 (or 9), whose data stay the same throughout.
    first = [t for t in sim.trials if t.budget == 1 and t.attrs["iteration"] == 1]
    assert len(first) == 27
    points = np.array([[t.values["x"], t.values["y"]] for t in first])
    gaps = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)
    np.fill_diagonal(gaps, np.inf)
    # Without the liar, most of them were within 0.001 of one another.
    assert gaps.min() > 0.01
