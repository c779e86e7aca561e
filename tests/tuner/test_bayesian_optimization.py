"""The BayesianOptimization preset and the AutoSampler behind its default."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.samplers.base import History


def branin(hp: hs.HyperParameters) -> float:
    x1 = hp.Float("x1", -5.0, 10.0)
    x2 = hp.Float("x2", 0.0, 15.0)
    b, c = 5.1 / (4 * np.pi**2), 5 / np.pi
    return float((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * np.pi)) * np.cos(x1) + 10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"num_initial_points": 0},
            "BayesianOptimization(num_initial_points=...): expected an int >= 1 or None, got 0",
        ),
        (
            {"sampler": "xyz"},
            "BayesianOptimization(sampler=...): expected one of 'auto', 'gp', 'tpe' or a "
            "Sampler, got 'xyz'",
        ),
        ({"sampler": 3}, "got 3"),
        ({"alpha": 0.0}, "BayesianOptimization(alpha=...): expected a finite number in (0, 1]"),
        ({"beta": -1.0}, "BayesianOptimization(beta=...): expected a finite number > 0"),
    ],
)
def test_invalid_arguments_are_clear(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(hs.InvalidArgumentError) as info:
        hs.BayesianOptimization(branin, storage="memory", **kwargs)
    assert message in str(info.value)


@pytest.mark.parametrize("sampler", ["gp", "tpe", "auto"])
def test_the_named_sampler_is_used(sampler: str) -> None:
    tuner = hs.BayesianOptimization(branin, sampler=sampler, storage="memory", verbose=0)
    expected = {"gp": hs.GPSampler, "tpe": hs.TPESampler, "auto": hs.AutoSampler}[sampler]
    assert type(tuner.sampler) is expected


def test_kerastuner_arguments_reach_the_samplers() -> None:
    tuner = hs.BayesianOptimization(
        branin, num_initial_points=4, alpha=1e-3, beta=2.6, storage="memory", verbose=0
    )
    assert isinstance(tuner.sampler, hs.AutoSampler)
    assert tuner.sampler.gp.n_startup_trials == 4 and tuner.sampler.tpe.n_startup_trials == 4
    assert tuner.sampler.gp.noise_floor == 1e-3 and tuner.sampler.gp.beta == 2.6


def test_auto_switches_from_gp_to_tpe_at_the_threshold() -> None:
    auto = hs.AutoSampler(max_gp_trials=5, max_gp_parameters=2)
    space = hs.HyperParameters()
    space.Float("x", 0.0, 1.0)
    objective = hs.Objective("loss")
    trials = [hs.Trial(i, {"x": i / 10}, hs.TrialState.COMPLETE, value=float(i)) for i in range(6)]
    assert auto.choose(space, History(trials[:4], objective)) is auto.gp
    assert auto.choose(space, History(trials[:5], objective)) is auto.tpe
    space.Float("y", 0.0, 1.0)
    space.Float("z", 0.0, 1.0)
    assert auto.choose(space, History(trials[:1], objective)) is auto.tpe


@pytest.mark.slow
@pytest.mark.parametrize(("sampler", "budget", "factor"), [("gp", 30, 10), ("auto", 30, 10)])
def test_bayesian_optimization_beats_random_search_on_branin(
    sampler: str, budget: int, factor: float
) -> None:
    seeds = range(4)
    ours, random = [], []
    for seed in seeds:
        bo = hs.BayesianOptimization(
            branin, sampler=sampler, max_trials=budget, seed=seed, storage="memory", verbose=0
        )
        bo.search()
        rs = hs.RandomSearch(branin, max_trials=budget, seed=seed, storage="memory", verbose=0)
        rs.search()
        ours.append(bo.get_best_trials(1)[0].value)
        random.append(rs.get_best_trials(1)[0].value)
    regret = np.array(ours) - 0.397887
    assert np.median(regret) < np.median(np.array(random) - 0.397887) / factor
    assert sum(o < r for o, r in zip(ours, random, strict=True)) >= 3


def test_enqueued_points_run_first_and_the_model_learns_from_them() -> None:
    tuner = hs.BayesianOptimization(
        branin, sampler="gp", num_initial_points=2, max_trials=3, seed=5,
        storage="memory", verbose=0,
    )  # fmt: skip
    tuner.enqueue({"x1": 3.0, "x2": 2.0})
    tuner.enqueue({"x1": -3.0, "x2": 12.0})
    tuner.search()
    trials = tuner.trials
    assert [dict(t.values) for t in trials[:2]] == [
        {"x1": 3.0, "x2": 2.0},
        {"x1": -3.0, "x2": 12.0},
    ]
    # With two results the GP already proposes the third trial, fitted on the enqueued two.
    fresh = hs.GPSampler(n_startup_trials=2)
    expected = fresh.sample(
        tuner.hyperparameters,
        History(trials[:2], tuner.objective),
        np.random.default_rng([tuner.seed, 2]),
    )
    assert dict(trials[2].values) == expected
