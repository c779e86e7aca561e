"""The tuner records, for each trial, the parameters its code read and nothing else."""

from __future__ import annotations

import math
from typing import Any

import pytest

import hyperscout as hs
from hyperscout.trial import TrialState


def layer_loop(hp: hs.HyperParameters) -> float:
    """KerasTuner's idiom: one ``units_i`` per layer, in a loop over ``num_layers``."""
    loss = 0.0
    for i in range(hp.Int("num_layers", 1, 4)):
        units = hp.Int(f"units_{i}", 8, 128, step=8)
        loss += (math.log2(units) - 5.0) ** 2 / 10
    return loss + hp.Float("lr", 1e-4, 1e-1, sampling="log")


def assert_units_only_of_built_layers(trials: list[hs.Trial]) -> None:
    assert trials
    for trial in trials:
        n = trial.values["num_layers"]
        assert set(trial.values) == {"num_layers", "lr", *(f"units_{i}" for i in range(n))}


@pytest.mark.parametrize(
    "tuner_class",
    [hs.RandomSearch, hs.BayesianOptimization],
    ids=["random", "bayesian"],
)
def test_a_layer_loop_records_units_only_for_the_layers_built(tuner_class: Any) -> None:
    kwargs: dict[str, Any] = (
        {"num_initial_points": 5} if tuner_class is hs.BayesianOptimization else {}
    )
    tuner = tuner_class(layer_loop, max_trials=15, seed=0, storage="memory", verbose=0, **kwargs)
    tuner.search()
    trials = tuner.trials
    assert len(trials) == 15
    assert_units_only_of_built_layers(trials)
    assert {t.values["num_layers"] for t in trials} != {4}  # shallower networks were tried
    best = tuner.get_best_hyperparameters()[0].values
    assert set(best) == {"num_layers", "lr", *(f"units_{i}" for i in range(best["num_layers"]))}


def test_an_if_else_branch_records_only_the_branch_taken() -> None:
    """Optuna's sklearn_simple.py: SVC or a random forest, each with its own parameter."""
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import cross_val_score
    from sklearn.svm import SVC

    x, y = load_iris(return_X_y=True)

    def objective(hp: hs.HyperParameters) -> float:
        if hp.Choice("classifier", ["SVC", "RandomForest"]) == "SVC":
            model: Any = SVC(C=hp.Float("svc_c", 1e-10, 1e10, sampling="log"), gamma="auto")
        else:
            depth = hp.Int("rf_max_depth", 2, 32, sampling="log")
            model = RandomForestClassifier(max_depth=depth, n_estimators=10, random_state=0)
        return float(cross_val_score(model, x, y, cv=3).mean())

    tuner = hs.Tuner(
        objective,
        objective=hs.Objective("accuracy", "max"),
        sampler=hs.TPESampler(n_startup_trials=5),
        max_trials=12,
        seed=0,
        storage="memory",
        verbose=0,
    )
    tuner.search()
    branch_of = {"SVC": {"classifier", "svc_c"}, "RandomForest": {"classifier", "rf_max_depth"}}
    trials = tuner.trials
    assert {t.values["classifier"] for t in trials} == {"SVC", "RandomForest"}
    for trial in trials:
        assert set(trial.values) == branch_of[trial.values["classifier"]]
    best = tuner.get_best_trials(1)[0]
    assert set(best.values) == branch_of[best.values["classifier"]]


def test_a_trial_that_reads_nothing_records_nothing() -> None:
    def objective(hp: hs.HyperParameters) -> float:
        hp.Float("x", 0.0, 1.0)  # the space knows x ...
        return 1.0

    space = hs.HyperParameters()
    space.Float("x", 0.0, 1.0)
    space.Float("unused", 0.0, 1.0)  # ... declared ahead, never read
    tuner = hs.RandomSearch(
        objective, hyperparameters=space, max_trials=2, seed=0, storage="memory", verbose=0
    )
    tuner.search()
    assert [sorted(t.values) for t in tuner.trials] == [["x"], ["x"]]
    assert "unused" in tuner.hyperparameters  # the space still has it
    asking = hs.RandomSearch(hyperparameters=space, seed=0, storage="memory", verbose=0)
    _, trial = asking.ask()
    assert asking.tell(trial, 0.5).values == {}  # ask and tell: nothing read, nothing recorded


def test_ask_and_tell_record_what_the_caller_read() -> None:
    tuner = hs.RandomSearch(seed=0, storage="memory", verbose=0)
    hp, trial = tuner.ask()
    layer_loop(hp)
    first = tuner.tell(trial, 1.0)
    assert_units_only_of_built_layers([first])
    for _ in range(8):
        hp, trial = tuner.ask()
        assert tuner.tell(trial, layer_loop(hp)).state is TrialState.COMPLETE
    assert_units_only_of_built_layers(tuner.trials)


def test_a_pruned_trial_records_what_it_read_and_a_failed_one_its_whole_configuration() -> None:
    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        units = [hp.Choice(f"units_{i}", [8, 16]) for i in range(hp.Int("num_layers", 1, 3))]
        if trial.number == 2:
            raise hs.TrialPruned()
        if trial.number == 3:
            raise RuntimeError("out of memory")
        return float(sum(units))

    space = hs.HyperParameters()
    space.Int("num_layers", 1, 3)
    for i in range(3):
        space.Choice(f"units_{i}", [8, 16])
    tuner = hs.RandomSearch(
        objective,
        hyperparameters=space,
        max_trials=6,
        seed=3,
        storage="memory",
        verbose=0,
        max_consecutive_failed_trials=5,
    )
    tuner.search()
    by_state = {t.number: t for t in tuner.trials}
    pruned, failed = by_state[2], by_state[3]
    assert pruned.state is TrialState.PRUNED and failed.state is TrialState.FAILED
    n = pruned.values["num_layers"]
    assert set(pruned.values) == {"num_layers", *(f"units_{i}" for i in range(n))}
    # A failure may come before the code read what it would have: all of it is kept.
    assert set(failed.values) == {"num_layers", "units_0", "units_1", "units_2"}
