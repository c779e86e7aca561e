"""Random search: seeded, no duplicates, uniform in the encoded space."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

import hyperscout as hs
from hyperscout.objective import Objective
from hyperscout.samplers.base import enumerate_grid
from hyperscout.trial import Trial, TrialState, config_key

LOSS = Objective("loss", "min")


def objective(hp: hs.HyperParameters) -> float:
    lr = hp.Float("lr", 1e-5, 1e-1, sampling="log")
    units = hp.Int("units", 16, 256, step=16)
    optimizer = hp.Choice("optimizer", ["adam", "sgd"])
    with hp.conditional_scope("optimizer", ["sgd"]):
        momentum = hp.Float("momentum", 0.5, 0.99, sampling="reverse_log")
    hp.Boolean("shuffle")
    assert (momentum is None) == (optimizer == "adam")
    return math.log(lr) + units / 256


def run(seed: int, max_trials: int = 12, **kwargs: Any) -> list[dict[str, Any]]:
    tuner = hs.RandomSearch(
        objective, max_trials=max_trials, seed=seed, storage="memory", verbose=0, **kwargs
    )
    tuner.search()
    return [dict(t.values) for t in tuner.trials]


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_same_seed_gives_the_same_trials(seed: int) -> None:
    first, second = run(seed), run(seed)
    assert len(first) == 12
    assert first == second
    # Not a constant: the trials differ from one another.
    assert len({config_key(v) for v in first}) == 12


def test_seed_zero_is_a_seed_not_a_missing_one() -> None:
    # Three runs with seed=0 agree; if 0 were taken for "no seed" they would not.
    runs = [run(0, max_trials=4) for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    tuner = hs.RandomSearch(objective, max_trials=1, seed=0, storage="memory", verbose=0)
    assert tuner.seed == 0


def test_same_seed_with_a_declared_space_gives_the_same_trials() -> None:
    def declared() -> hs.HyperParameters:
        hp = hs.HyperParameters()
        hp.Float("lr", 1e-5, 1e-1, sampling="log")
        hp.Int("units", 16, 256, step=16)
        return hp

    a = run(3, hyperparameters=declared())
    b = run(3, hyperparameters=declared())
    assert a == b


def test_different_seeds_give_different_trials() -> None:
    runs = {seed: run(seed, max_trials=5) for seed in (0, 1, 2)}
    lrs = {seed: [v["lr"] for v in values] for seed, values in runs.items()}
    assert lrs[0] != lrs[1] and lrs[1] != lrs[2] and lrs[0] != lrs[2]


def test_a_resumed_random_search_proposes_what_one_run_would_have() -> None:
    storage = hs.MemoryStorage()
    for max_trials in (4, 9):
        hs.RandomSearch(
            objective, max_trials=max_trials, seed=5, storage=storage, project_name="r", verbose=0
        ).search()
    resumed = hs.RandomSearch(
        objective, max_trials=9, seed=5, storage=storage, project_name="r", verbose=0
    ).trials
    assert [dict(t.values) for t in resumed] == run(5, max_trials=9)


def test_trial_values_respect_the_space() -> None:
    tuner = hs.RandomSearch(objective, max_trials=40, seed=11, storage="memory", verbose=0)
    tuner.search()
    space = tuner.hyperparameters
    assert sorted(space.names) == ["lr", "momentum", "optimizer", "shuffle", "units"]
    optimizers = set()
    for t in tuner.trials:
        assert t.state is TrialState.COMPLETE
        values = dict(t.values)
        optimizers.add(values["optimizer"])
        assert ("momentum" in values) == (values["optimizer"] == "sgd")
        for name, value in values.items():
            assert space.parameter(name).contains(value), (name, value)
        assert type(values["units"]) is int and values["units"] % 16 == 0
    assert optimizers == {"adam", "sgd"}  # both branches reached in 40 trials


# -- a small finite space -------------------------------------------------------------------


def small_space() -> hs.HyperParameters:
    hp = hs.HyperParameters()
    hp.Choice("a", [1, 2, 3])
    hp.Int("b", 1, 4)
    return hp


def small_objective(hp: hs.HyperParameters) -> float:
    return float(hp.Choice("a", [1, 2, 3]) * 10 + hp.Int("b", 1, 4))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_twelve_trials_of_a_twelve_point_space_are_all_distinct(seed: int) -> None:
    tuner = hs.RandomSearch(small_objective, max_trials=12, seed=seed, storage="memory", verbose=0)
    tuner.search()
    seen = [config_key(dict(t.values)) for t in tuner.trials]
    assert len(seen) == 12
    assert sorted(seen) == sorted(config_key(v) for v in enumerate_grid(small_space()))
    # A thirteenth trial has nothing left to propose.
    with pytest.raises(hs.SearchFinished):
        tuner.ask()
    assert len(tuner.trials) == 12


def test_random_search_stops_when_a_finite_space_is_exhausted() -> None:
    tuner = hs.RandomSearch(
        small_objective,
        hyperparameters=small_space(),
        max_trials=50,
        seed=0,
        storage="memory",
        verbose=0,
    )
    tuner.search()
    seen = [config_key(dict(t.values)) for t in tuner.trials]
    assert len(seen) == len(set(seen)) == 12


def trial(number: int, values: dict[str, Any]) -> Trial:
    return Trial(number, values, TrialState.COMPLETE, value=0.0)


@pytest.mark.parametrize("seed", range(5))
def test_sampler_redraws_duplicates_until_the_one_left(seed: int) -> None:
    space = small_space()
    grid = list(enumerate_grid(space))
    missing = grid[seed * 2]
    history = hs.History([trial(i, v) for i, v in enumerate(v for v in grid if v != missing)], LOSS)
    sampler = hs.RandomSampler()
    assert sampler.sample(space, history, np.random.default_rng(seed)) == missing
    full = hs.History([trial(i, v) for i, v in enumerate(grid)], LOSS)
    assert sampler.sample(space, full, np.random.default_rng(seed)) is None


def test_sampler_never_repeats_in_a_conditional_finite_space() -> None:
    space = hs.HyperParameters()
    space.Boolean("gate")
    with space.conditional_scope("gate", [True]):
        space.Choice("k", ["x", "y", "z"])
    space.Int("n", 0, 1)
    size = len(list(enumerate_grid(space)))  # (1 + 3) * 2
    assert size == 8
    trials: list[Trial] = []
    sampler = hs.RandomSampler(max_redraws=3)
    for i in range(size):
        values = sampler.sample(space, hs.History(trials, LOSS), np.random.default_rng([9, i]))
        assert values is not None
        trials.append(trial(i, values))
    assert len({t.key for t in trials}) == size
    assert sampler.sample(space, hs.History(trials, LOSS), np.random.default_rng(0)) is None


def test_the_sampler_is_a_function_of_its_rng() -> None:
    space = hs.HyperParameters()
    space.Float("x", -1.0, 1.0)
    space.Choice("c", ["p", "q", "r"])
    history = hs.History([], LOSS)
    a = [hs.RandomSampler().sample(space, history, np.random.default_rng(s)) for s in range(5)]
    b = [hs.RandomSampler().sample(space, history, np.random.default_rng(s)) for s in range(5)]
    assert a == b
    assert len({config_key(v) for v in a if v is not None}) == 5


@pytest.mark.parametrize("redraws", [0, -1, True, 1.5, None])
def test_invalid_max_redraws_raise(redraws: Any) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=r"max_redraws.*expected an int >= 1"):
        hs.RandomSampler(max_redraws=redraws)


# -- distributions ------------------------------------------------------------------------------


def draws(space: hs.HyperParameters, n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    sampler = hs.RandomSampler()
    history = hs.History([], LOSS)
    out = []
    for _ in range(n):
        values = sampler.sample(space, history, rng)
        assert values is not None
        out.append(values)
    return out


@pytest.mark.parametrize("sampling", ["log", "reverse_log", "linear"])
def test_floats_are_uniform_in_their_encoding(sampling: str) -> None:
    space = hs.HyperParameters()
    space.Float("x", 1e-4, 1.0, sampling=sampling)
    param = space.parameter("x")
    values = [v["x"] for v in draws(space, 2000)]
    encoded = [param.encode(x) for x in values]
    assert stats.kstest(encoded, "uniform").pvalue > 0.01
    # The test has teeth: values drawn uniformly on a linear scale, encoded on this
    # scale, are far from uniform (unless the scale is linear).
    linear = np.random.default_rng(1).uniform(1e-4, 1.0, 2000)
    wrong = stats.kstest([param.encode(float(x)) for x in linear], "uniform").pvalue
    if sampling == "linear":
        assert wrong > 0.01
    else:
        assert wrong < 1e-6


def test_log_float_puts_as_many_draws_in_each_decade() -> None:
    space = hs.HyperParameters()
    space.Float("lr", 1e-5, 1e-1, sampling="log")
    decades = [math.floor(math.log10(v["lr"])) for v in draws(space, 4000, seed=3)]
    counts = [decades.count(d) for d in (-5, -4, -3, -2)]
    assert sum(counts) == 4000 - decades.count(-1)  # only 1e-1 itself is in decade -1
    assert stats.chisquare(counts).pvalue > 0.01
    # A linear sampler would put ~90% of the draws in the top decade.
    assert max(counts) < 0.3 * 4000


def test_log_int_is_uniform_on_a_log_scale() -> None:
    space = hs.HyperParameters()
    space.Int("trees", 10, 1000, sampling="log")
    values = [v["trees"] for v in draws(space, 3000, seed=4)]
    assert min(values) >= 10 and max(values) <= 1000
    assert all(type(v) is int for v in values)
    # Integer v owns [v - 1/2, v + 1/2) of a log scale over [9.5, 1000.5].
    edges = [10, 20, 50, 100, 200, 500, 1001]
    total = math.log(1000.5 / 9.5)
    expected = [math.log((b - 0.5) / (a - 0.5)) / total for a, b in itertools.pairwise(edges)]
    counts = [sum(a <= v < b for v in values) for a, b in itertools.pairwise(edges)]
    assert stats.chisquare(counts, [p * 3000 for p in expected]).pvalue > 0.001
    # Linear sampling would put almost all draws at 100 and above.
    assert sum(v < 100 for v in values) / 3000 == pytest.approx(0.5, abs=0.05)


def test_discrete_parameters_are_uniform_over_their_values() -> None:
    space = hs.HyperParameters()
    space.Choice("c", ["a", "b", "c", "d"])
    space.Int("n", 1, 5)
    space.Boolean("flag")
    samples = draws(space, 4000, seed=5)
    for name, values in (("c", "abcd"), ("n", [1, 2, 3, 4, 5]), ("flag", [False, True])):
        counts = [sum(1 for s in samples if s[name] == v) for v in values]
        assert sum(counts) == 4000
        assert stats.chisquare(counts).pvalue > 0.001, (name, counts)


def test_random_search_over_a_layer_loop_stops_after_the_14_networks() -> None:
    networks: list[tuple[int, ...]] = []

    def layers(hp: hs.HyperParameters) -> float:
        units = tuple(hp.Choice(f"units_{i}", [32, 64]) for i in range(hp.Int("n_layers", 1, 3)))
        networks.append(units)
        return float(sum(units))

    tuner = hs.RandomSearch(layers, max_trials=100, seed=0, storage="memory", verbose=0)
    tuner.search()
    # Each network once, then nothing is left: the ghost units_2 of a two-layer network
    # no longer makes it look new.
    assert len(networks) == len(set(networks)) == 14
    for trial in tuner.trials:
        n = trial.values["n_layers"]
        assert set(trial.values) == {"n_layers", *(f"units_{i}" for i in range(n))}
