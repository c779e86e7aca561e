"""parameter_importance (PED-ANOVA) recovers the parameters that matter on known functions."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.exceptions import InvalidArgumentError
from hyperscout.report import StudyData, parameter_importance
from hyperscout.trial import Trial, TrialState


def random_study(
    space: hs.HyperParameters,
    function: Callable[[dict[str, Any]], float],
    *,
    n: int = 200,
    seed: int = 0,
    direction: str = "min",
) -> StudyData:
    """``n`` trials drawn uniformly (in each parameter's own scale) from ``space``."""
    rng = np.random.default_rng(seed)
    trials = []
    for number in range(n):
        values = {p.name: p.sample(rng) for p in space.space}
        values = space.active_values(values)
        trials.append(Trial(number, values, TrialState.COMPLETE, value=function(values)))
    return StudyData("known", trials, hs.Objective("loss", direction), space)


def test_a_parameter_with_90_percent_of_the_variance_leads_one_without_effect_scores_0() -> None:
    space = hs.HyperParameters()
    for name in ("a", "b", "c"):
        space.Float(name, 0.0, 1.0)
    # Var(3a) = 9/12 and Var(b) = 1/12: a carries 90 % of the variance, c none.
    study = random_study(space, lambda v: 3.0 * v["a"] + v["b"] + 0.0 * v["c"], n=300)

    importance = parameter_importance(study, seed=0)

    assert list(importance) == ["a", "b", "c"]
    assert math.isclose(sum(importance.values()), 1.0)
    assert importance["a"] > 0.7
    assert importance["c"] < 0.05


def test_a_categorical_parameter_is_found() -> None:
    space = hs.HyperParameters()
    space.Choice("kernel", ["linear", "rbf", "poly", "<script>alert(1)</script>"])
    space.Float("noise", 0.0, 1.0)
    cost = {"linear": 1.0, "rbf": 0.0, "poly": 1.0, "<script>alert(1)</script>": 1.0}
    study = random_study(space, lambda v: cost[v["kernel"]] + 0.1 * v["noise"], n=200)

    importance = parameter_importance(study)

    assert list(importance) == ["kernel", "noise"]
    assert importance["kernel"] > 0.6


def test_log_scaled_parameters_are_measured_on_their_log_scale() -> None:
    space = hs.HyperParameters()
    space.Float("lr", 1e-5, 1e-1, sampling="log")
    space.Int("batch", 8, 512, sampling="log")
    space.Float("momentum", 0.0, 1.0)
    # The optimum at lr = 1e-3, the middle of the log range: a linear reading sees every
    # good value squeezed into the first 1 % of the range.
    study = random_study(
        space, lambda v: (math.log10(v["lr"]) + 3.0) ** 2 + 0.2 * v["momentum"], n=200
    )

    importance = parameter_importance(study)

    assert next(iter(importance)) == "lr"
    assert importance["lr"] > 0.7
    assert importance["batch"] < 0.1


def test_maximised_objectives_count_their_highest_values_as_best() -> None:
    space = hs.HyperParameters()
    space.Float("x", 0.0, 1.0)
    space.Float("y", 0.0, 1.0)
    # High accuracy sits at high y: reading it as a loss would crowd the *worst* trials.
    study = random_study(space, lambda v: v["y"] + 0.05 * v["x"], direction="max")

    assert list(parameter_importance(study)) == ["y", "x"]


def test_a_conditional_parameter_is_compared_over_the_trials_that_read_it() -> None:
    space = hs.HyperParameters()
    space.Choice("model", ["svm", "tree"])
    with space.conditional_scope("model", ["svm"]):
        space.Float("C", 1e-3, 1e3, sampling="log")
    with space.conditional_scope("model", ["tree"]):
        space.Int("depth", 1, 20)

    def loss(v: dict[str, Any]) -> float:
        if v["model"] == "svm":
            return abs(math.log10(v["C"]))  # good near C = 1
        return 1.0  # depth has no effect

    study = random_study(space, loss, n=300)
    assert all(("C" in t.values) != ("depth" in t.values) for t in study.trials)

    importance = parameter_importance(study)

    assert importance["depth"] < 0.05
    assert importance["C"] > importance["depth"]
    assert importance["model"] > importance["depth"]


def test_the_estimate_is_seeded_and_repeatable() -> None:
    space = hs.HyperParameters()
    space.Choice("k", [1, 2, 3])  # ties in the values: the seed breaks them
    space.Float("x", 0.0, 1.0)
    study = random_study(space, lambda v: float(v["k"] == 2))

    assert parameter_importance(study, seed=3) == parameter_importance(study, seed=3)
    assert next(iter(parameter_importance(study, seed=3))) == "k"


def test_too_few_trials_give_zeros_and_a_bad_gamma_is_refused() -> None:
    space = hs.HyperParameters()
    space.Float("x", 0.0, 1.0)
    space.Float("y", 0.0, 1.0)
    study = random_study(space, lambda v: v["x"], n=3)

    assert parameter_importance(study) == {"x": 0.0, "y": 0.0}
    with pytest.raises(InvalidArgumentError, match=r"parameter_importance\(gamma=...\)"):
        parameter_importance(study, gamma=0.0)
    with pytest.raises(InvalidArgumentError, match=r"parameter_importance\(gamma=...\)"):
        parameter_importance(study, gamma="0.1")
    with pytest.raises(InvalidArgumentError, match=r"parameter_importance\(seed=...\)"):
        parameter_importance(study, seed=-1)


def test_under_budgets_one_budget_is_compared() -> None:
    space = hs.HyperParameters()
    space.Float("x", 0.0, 1.0)
    space.Float("y", 0.0, 1.0)
    rng = np.random.default_rng(1)
    trials = []
    for number in range(120):
        budget = 1 if number < 80 else 3
        values = {"x": float(rng.random()), "y": float(rng.random())}
        # On budget 1 only y seems to matter; on budget 3 (what counts) only x does.
        value = values["y"] if budget == 1 else values["x"]
        trials.append(Trial(number, values, TrialState.COMPLETE, value=value, budget=budget))
    study = StudyData("budgets", trials, hs.Objective("loss", "min"), space)

    assert list(parameter_importance(study)) == ["x", "y"]


def test_a_tuner_is_read_through_its_storage() -> None:
    def objective(hp: hs.HyperParameters) -> float:
        return (hp.Float("x", 0.0, 1.0) - 0.3) ** 2 + 0.0 * hp.Float("y", 0.0, 1.0)

    tuner = hs.RandomSearch(objective, max_trials=40, seed=0, storage="memory", verbose=0)
    tuner.search()

    assert list(parameter_importance(tuner)) == ["x", "y"]


def test_an_int_with_many_values_and_no_effect_scores_near_0() -> None:
    space = hs.HyperParameters()
    space.Int("units", 8, 64)  # 57 values, few trials each: compared as a density
    space.Float("x", 0.0, 1.0)
    study = random_study(space, lambda v: v["x"], n=60)

    importance = parameter_importance(study)

    assert list(importance) == ["x", "units"]
    assert importance["units"] < 0.1
