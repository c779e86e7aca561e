"""Grid search: each reachable combination once, in a fixed order, then stop."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.objective import Objective
from hyperscout.samplers.base import enumerate_grid, grid_size
from hyperscout.trial import Trial, TrialState, config_key

LOSS = Objective("loss", "min")


def conditional_space() -> hs.HyperParameters:
    hp = hs.HyperParameters()
    hp.Choice("model", ["cnn", "mlp", "rf"])
    with hp.conditional_scope("model", ["cnn", "mlp"]):  # two of the three values
        hp.Int("layers", 1, 2)
        with hp.conditional_scope("layers", [2]):  # nested: needs both conditions
            hp.Boolean("dropout")
    hp.Choice("trees", [10, 100], parent_name="model", parent_values=["rf"])
    hp.Choice("batch", [32, 64])
    return hp


# Worked out by hand: model varies slowest, batch fastest; inactive parameters absent.
EXPECTED = [
    {"model": "cnn", "layers": 1, "batch": 32},
    {"model": "cnn", "layers": 1, "batch": 64},
    {"model": "cnn", "layers": 2, "dropout": False, "batch": 32},
    {"model": "cnn", "layers": 2, "dropout": False, "batch": 64},
    {"model": "cnn", "layers": 2, "dropout": True, "batch": 32},
    {"model": "cnn", "layers": 2, "dropout": True, "batch": 64},
    {"model": "mlp", "layers": 1, "batch": 32},
    {"model": "mlp", "layers": 1, "batch": 64},
    {"model": "mlp", "layers": 2, "dropout": False, "batch": 32},
    {"model": "mlp", "layers": 2, "dropout": False, "batch": 64},
    {"model": "mlp", "layers": 2, "dropout": True, "batch": 32},
    {"model": "mlp", "layers": 2, "dropout": True, "batch": 64},
    {"model": "rf", "trees": 10, "batch": 32},
    {"model": "rf", "trees": 10, "batch": 64},
    {"model": "rf", "trees": 100, "batch": 32},
    {"model": "rf", "trees": 100, "batch": 64},
]


def trial(number: int, values: dict[str, Any], state: TrialState = TrialState.COMPLETE) -> Trial:
    return Trial(number, values, state, value=0.0 if state is TrialState.COMPLETE else None)


def drive(
    sampler: hs.Sampler,
    space: hs.HyperParameters,
    done: list[dict[str, Any]] | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Ask the sampler until it returns None, recording each proposal as a finished trial."""
    trials = [trial(i, v) for i, v in enumerate(done or [])]
    proposed = []
    for _ in range(limit):
        values = sampler.sample(space, hs.History(trials, LOSS), np.random.default_rng(0))
        if values is None:
            return proposed
        proposed.append(values)
        trials.append(trial(len(trials), values))
    raise AssertionError(f"the sampler did not stop after {limit} proposals")


def keys(configs: list[dict[str, Any]]) -> list[str]:
    return [config_key(c) for c in configs]


# -- enumeration ---------------------------------------------------------------------------


def test_enumerate_grid_gives_exactly_the_reachable_combinations_in_order() -> None:
    space = conditional_space()
    assert list(enumerate_grid(space)) == EXPECTED
    assert grid_size(space) == len(EXPECTED) == 16


def test_grid_sampler_proposes_each_reachable_combination_once_then_none() -> None:
    proposed = drive(hs.GridSampler(), conditional_space())
    assert proposed == EXPECTED
    assert len(set(keys(proposed))) == len(proposed)
    # Inactive parameters are absent, never given a value.
    for values in proposed:
        assert ("trees" in values) == (values["model"] == "rf")
        assert ("dropout" in values) == (values.get("layers") == 2)


@pytest.mark.parametrize(
    ("build", "size"),
    [
        (lambda hp: (hp.Int("a", 0, 2), hp.Choice("b", ["x", "y"]), hp.Boolean("c")), 12),
        (lambda hp: (hp.Int("units", 16, 64, step=16), hp.Fixed("epochs", 3)), 4),
        (lambda hp: (hp.Float("rate", 0.0, 0.5, step=0.1), hp.Int("n", 1, 8, step=2,
                                                                  sampling="log")), 24),
        (lambda hp: hp.Float("lr", 1e-3, 1.0, sampling="log"), 5),  # default float points
    ],
)  # fmt: skip
def test_grid_size_matches_the_enumeration(build: Any, size: int) -> None:
    space = hs.HyperParameters()
    build(space)
    grid = list(enumerate_grid(space))
    assert grid_size(space) == len(grid) == size
    assert len(set(keys(grid))) == size
    assert drive(hs.GridSampler(), space) == grid


def test_empty_space_has_one_empty_configuration() -> None:
    space = hs.HyperParameters()
    assert list(enumerate_grid(space)) == [{}]
    assert grid_size(space) == 1
    assert drive(hs.GridSampler(), space) == [{}]


# -- float points --------------------------------------------------------------------------


def test_float_points_sets_the_values_of_a_linear_float() -> None:
    space = hs.HyperParameters()
    space.Float("x", 0.0, 3.0)
    assert drive(hs.GridSampler(float_points=4), space) == [
        {"x": 0.0}, {"x": 1.0}, {"x": 2.0}, {"x": 3.0}]  # fmt: skip
    assert grid_size(space, 7) == 7


@pytest.mark.parametrize("points", [2, 3, 4, 7])
def test_float_points_on_a_log_float_are_geometric_with_both_ends(points: int) -> None:
    space = hs.HyperParameters()
    space.Float("lr", 1e-4, 1e-1, sampling="log")
    values = [v["lr"] for v in drive(hs.GridSampler(float_points=points), space)]
    assert len(values) == points
    assert values[0] == pytest.approx(1e-4) and values[-1] == pytest.approx(1e-1)
    ratios = [b / a for a, b in itertools.pairwise(values)]
    assert ratios == pytest.approx([1000 ** (1 / (points - 1))] * (points - 1), rel=1e-6)


def test_float_points_known_log_and_reverse_log_grids() -> None:
    space = hs.HyperParameters()
    space.Float("lr", 1e-4, 1e-1, sampling="log")
    space.Float("m", 0.0 + 1.0, 10.0, sampling="reverse_log")
    grid = list(enumerate_grid(space, 4))
    lrs = sorted({v["lr"] for v in grid})
    assert lrs == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1])
    ms = sorted({v["m"] for v in grid})
    # Reverse log: the gaps shrink toward max_value (mirror image of a log grid).
    assert ms[0] == pytest.approx(1.0) and ms[-1] == pytest.approx(10.0)
    gaps = [b - a for a, b in itertools.pairwise(ms)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert ms == pytest.approx([11.0 - x for x in (10.0, 10 ** (2 / 3), 10 ** (1 / 3), 1.0)])


def test_float_points_do_not_change_stepped_or_discrete_parameters() -> None:
    space = hs.HyperParameters()
    space.Float("rate", 0.0, 0.3, step=0.1)
    space.Int("n", 1, 3)
    for points in (2, 9):
        assert grid_size(space, points) == 12
        assert {v["rate"] for v in drive(hs.GridSampler(float_points=points), space)} == {
            0.0, 0.1, 0.2, 0.3}  # fmt: skip


def test_float_points_is_the_documented_default() -> None:
    assert hs.GridSampler().float_points == 5
    space = hs.HyperParameters()
    space.Float("x", 0.0, 1.0)
    assert [v["x"] for v in drive(hs.GridSampler(), space)] == [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.mark.parametrize("points", [1, 0, -3, True, 2.5, "5", None])
def test_invalid_float_points_raise(points: Any) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=r"float_points.*expected an int >= 2"):
        hs.GridSampler(float_points=points)
    with pytest.raises(hs.InvalidArgumentError, match=r"float_points"):
        hs.GridSearch(lambda hp: 0.0, float_points=points, storage="memory", verbose=0)


# -- history and order -----------------------------------------------------------------------


def test_grid_sampler_skips_configurations_in_the_history_in_any_state() -> None:
    space = conditional_space()
    history = [
        trial(0, EXPECTED[0]),
        trial(1, EXPECTED[2], TrialState.FAILED),
        trial(2, EXPECTED[3], TrialState.RUNNING),
        trial(3, EXPECTED[5], TrialState.PRUNED),
    ]
    sampler = hs.GridSampler()
    first = sampler.sample(space, hs.History(history, LOSS), np.random.default_rng(0))
    assert first == EXPECTED[1]
    # The rest, in order, without the four already in the history.
    rest = drive(hs.GridSampler(), space, done=[t.values for t in history])  # type: ignore[misc]
    assert rest == [v for i, v in enumerate(EXPECTED) if i not in (0, 2, 3, 5)]


def test_grid_sampler_returns_none_when_the_history_holds_every_combination() -> None:
    space = conditional_space()
    history = hs.History([trial(i, v) for i, v in enumerate(reversed(EXPECTED))], LOSS)
    assert hs.GridSampler().sample(space, history, np.random.default_rng(0)) is None


def test_grid_order_is_the_same_for_two_samplers_and_any_rng() -> None:
    space = conditional_space()
    first = drive(hs.GridSampler(), space)
    second_sampler = hs.GridSampler()
    second = []
    trials: list[Trial] = []
    for seed in range(100, 100 + len(EXPECTED) + 1):  # a different rng at every call
        values = second_sampler.sample(space, hs.History(trials, LOSS), np.random.default_rng(seed))
        if values is None:
            break
        second.append(values)
        trials.append(trial(len(trials), values))
    assert first == second == EXPECTED


def test_a_fresh_sampler_continues_a_partial_history_where_it_stopped() -> None:
    space = conditional_space()
    rest = drive(hs.GridSampler(), space, done=EXPECTED[:7])
    assert rest == EXPECTED[7:]


def test_a_sampler_restarts_when_given_a_shorter_history() -> None:
    # One sampler object, two searches (the second on an empty study): no combination lost.
    space = conditional_space()
    sampler = hs.GridSampler()
    assert drive(sampler, space) == EXPECTED
    assert drive(sampler, space) == EXPECTED


# -- the GridSearch tuner --------------------------------------------------------------------


def declared_objective(hp: hs.HyperParameters) -> float:
    values = dict(hp.values)
    return float(len(config_key(values)))


def test_grid_search_stops_at_the_grid_size_even_with_a_larger_max_trials() -> None:
    tuner = hs.GridSearch(
        declared_objective,
        hyperparameters=conditional_space(),
        max_trials=100,
        storage="memory",
        verbose=0,
    )
    tuner.search()
    trials = tuner.trials
    assert [dict(t.values) for t in trials] == EXPECTED
    assert all(t.state is TrialState.COMPLETE for t in trials)
    tuner.search()  # nothing left: a second call runs nothing
    assert len(tuner.trials) == len(EXPECTED)
    with pytest.raises(hs.SearchFinished):
        tuner.ask()


def test_grid_search_max_trials_smaller_than_the_grid_stops_early() -> None:
    tuner = hs.GridSearch(
        declared_objective,
        hyperparameters=conditional_space(),
        max_trials=5,
        storage="memory",
        verbose=0,
    )
    tuner.search()
    assert [dict(t.values) for t in tuner.trials] == EXPECTED[:5]


def test_grid_search_float_points_reach_the_sampler() -> None:
    tuner = hs.GridSearch(
        lambda hp: hp.Float("x", 0.0, 1.0), float_points=3, storage="memory", verbose=0
    )
    tuner.search()
    assert sorted(t.values["x"] for t in tuner.trials) == [0.0, 0.5, 1.0]


class DefineByRun:
    """An objective that defines its space as it runs, with nested conditional parameters."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, hp: hs.HyperParameters) -> float:
        model = hp.Choice("model", ["a", "b", "c"])
        with hp.conditional_scope("model", ["b", "c"]):
            depth = hp.Int("depth", 1, 2)
            if depth == 2:  # reached only on some trials: the space grows mid-search
                with hp.conditional_scope("depth", [2]):
                    hp.Boolean("flag")
        hp.Choice("opt", ["sgd", "adam"])
        assert (depth is None) == (model == "a")
        self.calls.append(dict(hp.values))
        return 0.0


DEFINE_BY_RUN_GRID = [
    {"model": "a", "opt": "sgd"},
    {"model": "a", "opt": "adam"},
    *({"model": m, "depth": 1, "opt": o} for m in ("b", "c") for o in ("sgd", "adam")),
    *(
        {"model": m, "depth": 2, "opt": o, "flag": f}
        for m in ("b", "c")
        for o in ("sgd", "adam")
        for f in (False, True)
    ),
]


def test_define_by_run_grid_search_runs_each_reachable_combination_once() -> None:
    objective = DefineByRun()
    tuner = hs.GridSearch(objective, max_trials=1000, storage="memory", verbose=0)
    tuner.search()
    assert len(DEFINE_BY_RUN_GRID) == 14
    ran = keys(objective.calls)
    assert len(ran) == len(set(ran)) == 14
    assert sorted(ran) == sorted(keys(DEFINE_BY_RUN_GRID))
    assert keys([dict(t.values) for t in tuner.trials]) == ran
    # The space that was discovered holds every parameter, the nested one with two conditions.
    space = tuner.hyperparameters
    assert sorted(space.names) == ["depth", "flag", "model", "opt"]
    assert [c.parent for c in space.parameter("flag").conditions] == ["model", "depth"]
    assert grid_size(space) == 14


def test_resumed_grid_on_sqlite_continues_without_repeats(tmp_path: Path) -> None:
    first_objective = DefineByRun()
    first = hs.GridSearch(
        first_objective, max_trials=5, directory=tmp_path, project_name="grid", verbose=0
    )
    first.search()
    first.storage.close()
    assert len(first_objective.calls) == 5

    second_objective = DefineByRun()
    second = hs.GridSearch(
        second_objective, max_trials=100, directory=tmp_path, project_name="grid", verbose=0
    )
    second.search()
    try:
        trials = second.trials
    finally:
        second.storage.close()
    assert len(second_objective.calls) == 14 - 5
    all_keys = keys(first_objective.calls + second_objective.calls)
    assert sorted(all_keys) == sorted(keys(DEFINE_BY_RUN_GRID))
    assert keys([dict(t.values) for t in trials]) == all_keys
    assert [t.number for t in trials] == list(range(14))


def test_resumed_grid_on_one_memory_storage_continues_without_repeats() -> None:
    storage = hs.MemoryStorage()
    space = conditional_space()
    runs: list[list[dict[str, Any]]] = []
    for max_trials in (3, 7, None, None):  # 3, then up to 7, then the rest, then nothing
        ran: list[dict[str, Any]] = []

        def objective(hp: hs.HyperParameters, ran: list[dict[str, Any]] = ran) -> float:
            ran.append(dict(hp.values))
            return 0.0

        tuner = hs.GridSearch(
            objective,
            hyperparameters=space,
            max_trials=max_trials,
            storage=storage,
            project_name="shared",
            verbose=0,
        )
        tuner.search()
        runs.append(ran)
    assert [len(r) for r in runs] == [3, 4, 9, 0]
    assert [v for r in runs for v in r] == EXPECTED
    assert [dict(t.values) for t in tuner.trials] == EXPECTED


def test_grid_values_are_plain_python_numbers() -> None:
    # Grid values go to storage and to the user: ints stay int, floats stay float.
    space = hs.HyperParameters()
    space.Int("n", 1, 4, step=3)
    space.Float("x", 0.0, 1.0, step=0.5)
    space.Float("y", 1.0, 2.0)
    for values in enumerate_grid(space, 2):
        assert type(values["n"]) is int
        assert type(values["x"]) is float and type(values["y"]) is float
        assert not math.isnan(values["y"])


def test_one_grid_sampler_serves_two_studies_in_full() -> None:
    sampler = hs.GridSampler()

    def objective(hp: hs.HyperParameters) -> float:
        return float(hp.Int("a", 0, 2) + hp.Choice("b", [10, 20]))

    first = hs.Tuner(objective, sampler=sampler, storage="memory", verbose=0, seed=0)
    first.search()
    second = hs.Tuner(objective, sampler=sampler, storage="memory", verbose=0, seed=0)
    second.search()
    assert [t.values for t in second.trials] == [t.values for t in first.trials]
    assert len(second.trials) == 6


class Layers:
    """KerasTuner's idiom: ``units_i`` read only for the layers the network has."""

    def __init__(self) -> None:
        self.networks: list[tuple[int, ...]] = []

    def __call__(self, hp: hs.HyperParameters) -> float:
        units = tuple(hp.Choice(f"units_{i}", [32, 64]) for i in range(hp.Int("n_layers", 1, 3)))
        self.networks.append(units)
        return float(sum(units))


def test_grid_over_a_layer_loop_trains_each_of_the_14_networks_once() -> None:
    objective = Layers()
    tuner = hs.GridSearch(objective, storage="memory", verbose=0)
    tuner.search()
    every = {u for n in (1, 2, 3) for u in itertools.product([32, 64], repeat=n)}
    assert len(every) == 14
    assert len(objective.networks) == 14  # before: 34 trainings, one per 3-layer grid point
    assert set(objective.networks) == every
    for trial in tuner.trials:  # a trial records the units of its own layers only
        n = trial.values["n_layers"]
        assert set(trial.values) == {"n_layers", *(f"units_{i}" for i in range(n))}
