"""KerasTuner code that needs no Keras, run after ``import hyperscout as keras_tuner``.

Each test is written as the KerasTuner getting-started guide writes the idiom ("tune any
function" by overriding ``run_trial``, ``tuner.oracle``, ``trial.trial_id``/``score``/
``hyperparameters``, ``tuner.hypermodel.build``), with that one import changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import hyperscout as keras_tuner
from hyperscout.trial import TrialState


# -- "tune any function": run_trial overridden, no hypermodel ------------------------------
class MyTuner(keras_tuner.RandomSearch):
    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> float:
        hp = trial.hyperparameters
        x = hp.Float("x", min_value=-1.0, max_value=1.0)
        return x * x + 1


def test_run_trial_override_tunes_a_function_without_a_hypermodel(tmp_path: Path) -> None:
    tuner = MyTuner(
        max_trials=20,
        overwrite=True,
        directory=tmp_path,
        project_name="tune_anything",
        seed=0,
        verbose=0,
    )
    tuner.search()
    best_x = tuner.get_best_hyperparameters()[0].get("x")
    assert abs(best_x) < 0.3  # x * x + 1 is smallest at 0
    assert [t.state for t in tuner.trials] == [TrialState.COMPLETE] * 20
    for trial in tuner.trials:  # the float returned is the trial's value
        assert trial.value == pytest.approx(trial.values["x"] ** 2 + 1)
    assert tuner.hyperparameters.names == ["x"]  # hp reads in run_trial define the space


def test_run_trial_receives_the_trial_and_searchs_arguments() -> None:
    seen: list[tuple[str, int, Any, Any]] = []

    class Recorder(keras_tuner.RandomSearch):
        def run_trial(self, trial: Any, data: list[float], *, scale: float) -> float:
            hp = trial.hyperparameters
            seen.append((trial.trial_id, trial.number, data, scale))
            return scale * sum(data) * hp.Float("w", 0.0, 1.0)

    tuner = Recorder(max_trials=3, seed=0, storage="memory", verbose=0)
    tuner.search([1.0, 2.0], scale=2.0)
    assert [s[0] for s in seen] == [t.trial_id for t in tuner.trials] == ["00000", "00001", "00002"]
    assert all(data == [1.0, 2.0] and scale == 2.0 for _, _, data, scale in seen)
    for trial in tuner.trials:
        assert trial.value == pytest.approx(6.0 * trial.values["w"])


@pytest.mark.parametrize(
    ("returned", "objective", "expected"),
    [
        (0.25, None, {"objective": 0.25}),
        ({"val_loss": 0.5, "loss": 0.25}, "val_loss", {"val_loss": 0.5, "loss": 0.25}),
        # A list is one result per execution: KerasTuner averages them metric by metric.
        ([0.5, 0.25, 0.75], None, {"objective": 0.5}),
        (
            [{"val_loss": 0.5, "acc": 1.0}, {"val_loss": 0.25, "acc": 0.5}],
            "val_loss",
            {"val_loss": 0.375, "acc": 0.75},
        ),
    ],
)
def test_run_trial_may_return_kerastuners_result_forms(
    returned: Any, objective: str | None, expected: dict[str, float]
) -> None:
    class Fixed(keras_tuner.RandomSearch):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
            trial.hyperparameters.Int("unused", 0, 3)
            return returned

    tuner = Fixed(objective=objective, max_trials=2, seed=0, storage="memory", verbose=0)
    tuner.search()
    for trial in tuner.trials:
        assert trial.state is TrialState.COMPLETE
        assert dict(trial.metrics) == pytest.approx(expected)
        assert trial.score == pytest.approx(expected[tuner.objective.name])


@pytest.mark.parametrize(
    ("returned", "says"),
    [
        ("high", "expected a float or a dict of metrics"),
        ([], "empty list"),
        ({"loss": 0.1}, "without 'val_loss'"),
    ],
)
def test_a_result_kerastuner_would_refuse_fails_the_trial_with_the_reason(
    returned: Any, says: str
) -> None:
    class Bad(keras_tuner.RandomSearch):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
            trial.hyperparameters.Int("unused", 0, 3)
            return {"val_loss": 0.5} if trial.number == 0 else returned

    tuner = Bad(objective="val_loss", max_trials=2, seed=0, storage="memory", verbose=0)
    tuner.search()
    good, bad = tuner.trials
    assert good.state is TrialState.COMPLETE
    assert bad.state is TrialState.FAILED
    assert bad.error is not None and says in bad.error


def test_a_tuner_without_hypermodel_or_run_trial_still_refuses_search() -> None:
    tuner = keras_tuner.RandomSearch(max_trials=1, storage="memory", verbose=0)
    with pytest.raises(keras_tuner.InvalidArgumentError, match="overrides run_trial"):
        tuner.search()


# -- trials and the oracle, under KerasTuner's names ---------------------------------------
def objective(hp: keras_tuner.HyperParameters) -> dict[str, float]:
    x = hp.Float("x", 0.0, 1.0)
    return {"val_accuracy": x, "val_loss": 1.0 - x}


def test_oracle_best_trials_and_trial_fields_mean_what_they_mean_in_kerastuner() -> None:
    tuner = keras_tuner.RandomSearch(
        objective, objective="val_accuracy", max_trials=6, seed=0, storage="memory", verbose=0
    )
    tuner.search()
    oracle = tuner.oracle
    assert oracle.objective.name == "val_accuracy" and oracle.objective.direction == "max"
    best = oracle.get_best_trials(3)
    scores = sorted((t.metrics["val_accuracy"] for t in tuner.trials), reverse=True)
    assert [t.score for t in best] == scores[:3]  # score: the objective's value, best first
    for trial in best:
        assert isinstance(trial.trial_id, str)
        assert trial.hyperparameters.values == dict(trial.values)
        assert trial.hyperparameters.get("x") == pytest.approx(trial.score)
        assert oracle.get_trial(trial.trial_id) == trial
    assert list(oracle.trials) == [t.trial_id for t in tuner.trials]
    assert oracle.get_space().names == ["x"]
    assert oracle.remaining_trials() == 0
    with pytest.raises(KeyError, match="no such trial"):
        oracle.get_trial("99999")


def test_tuner_hypermodel_build_builds_with_the_best_values() -> None:
    def build_model(hp: keras_tuner.HyperParameters) -> dict[str, Any]:
        return {"units": hp.Int("units", 8, 64, step=8), "act": hp.Choice("act", ["a", "b"])}

    class Score(keras_tuner.RandomSearch):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> float:
            model = self.hypermodel.build(trial.hyperparameters)
            return float(model["units"]) + (0.5 if model["act"] == "b" else 0.0)

    tuner = Score(build_model, max_trials=6, seed=1, storage="memory", verbose=0)
    tuner.search()
    best_hps = tuner.get_best_hyperparameters(num_trials=1)[0]
    model = tuner.hypermodel.build(best_hps)
    assert model == dict(tuner.get_best_trials(1)[0].values)
    assert tuner.hypermodel(best_hps) == model  # still callable as the function
    assert tuner.hypermodel.__name__ == "build_model"


# -- search_space_summary and objective lists ----------------------------------------------
def test_search_space_summary_never_calls_an_objective_to_learn_the_space(
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls = []

    def train(hp: keras_tuner.HyperParameters) -> float:
        calls.append(1)
        return hp.Float("x", 0.0, 1.0)

    tuner = keras_tuner.RandomSearch(train, max_trials=1, storage="memory", verbose=0)
    tuner.search_space_summary()
    out = capsys.readouterr().out
    assert calls == []
    assert "learnt as trials run" in out
    tuner.search()
    tuner.search_space_summary()
    out = capsys.readouterr().out
    assert "x" in out and "learnt as trials run" not in out


# -- objective=[...]: KerasTuner's multi-objective ------------------------------------------
def two_metrics(hp: keras_tuner.HyperParameters) -> dict[str, float]:
    x = hp.Float("x", 0.0, 1.0)
    return {"val_loss": (x - 0.3) ** 2, "val_accuracy": 1.0 - abs(x - 0.6), "loss": x}


def test_a_list_of_objectives_minimises_the_min_ones_minus_the_max_ones() -> None:
    tuner = keras_tuner.RandomSearch(
        two_metrics,
        objective=["val_loss", keras_tuner.Objective("val_accuracy", "max")],
        max_trials=8,
        seed=0,
        storage="memory",
        verbose=0,
    )
    tuner.search()
    assert tuner.oracle.objective.name == "multi_objective"
    assert tuner.oracle.objective.direction == "min"
    for trial in tuner.trials:
        expected = trial.metrics["val_loss"] - trial.metrics["val_accuracy"]
        assert trial.score == pytest.approx(expected)
        assert trial.metrics["multi_objective"] == pytest.approx(expected)
    best = tuner.oracle.get_best_trials(8)
    assert [t.score for t in best] == sorted(t.score for t in tuner.trials)


def test_run_trial_results_under_a_list_of_objectives() -> None:
    class Sum(keras_tuner.RandomSearch):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
            x = trial.hyperparameters.Float("x", 0.0, 1.0)
            # Two executions, each a dict with both objectives: averaged, then summed.
            return [{"val_loss": x, "val_auc": 0.5}, {"val_loss": 3 * x, "val_auc": 1.0}]

    tuner = Sum(
        objective=["val_loss", "val_auc"], max_trials=3, seed=0, storage="memory", verbose=0
    )
    tuner.search()
    for trial in tuner.trials:
        assert trial.score == pytest.approx(2 * trial.values["x"] - 0.75)


def test_a_study_keeps_its_list_of_objectives(tmp_path: Path) -> None:
    kwargs: dict[str, Any] = {"max_trials": 2, "directory": tmp_path, "seed": 0, "verbose": 0}
    keras_tuner.RandomSearch(two_metrics, objective=["val_loss", "val_accuracy"], **kwargs).search()
    again = keras_tuner.RandomSearch(
        two_metrics, objective=["val_loss", "val_accuracy"], **{**kwargs, "max_trials": 3}
    )
    again.search()  # the same objectives: the study resumes
    assert len(again.trials) == 3
    with pytest.raises(keras_tuner.InvalidArgumentError, match="optimises 'multi_objective'"):
        keras_tuner.RandomSearch(two_metrics, objective="val_loss", **kwargs)
    with pytest.raises(keras_tuner.InvalidArgumentError):
        keras_tuner.RandomSearch(two_metrics, objective=["val_loss", "loss"], **kwargs)


def test_reports_under_a_list_of_objectives_hold_the_sum_for_the_schedulers() -> None:
    def trained(
        hp: keras_tuner.HyperParameters, trial: keras_tuner.RunningTrial
    ) -> dict[str, float]:
        x = hp.Float("x", 0.0, 1.0)
        for step in range(3):
            trial.report(step, val_loss=x / (step + 1), val_accuracy=0.5 + 0.1 * step)
        return {"val_loss": x / 3, "val_accuracy": 0.7}

    tuner = keras_tuner.RandomSearch(
        trained,
        objective=["val_loss", "val_accuracy"],
        max_trials=2,
        seed=0,
        storage="memory",
        verbose=0,
    )
    tuner.search()
    for trial in tuner.trials:
        for step, report in trial.intermediate.items():
            expected = trial.values["x"] / (step + 1) - (0.5 + 0.1 * step)
            assert report["multi_objective"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("objectives", "says"),
    [
        ([], "non-empty, flat list"),
        ([["val_loss"], "loss"], "non-empty, flat list"),
        (["val_loss", "val_loss"], "distinct metric names"),
    ],
)
def test_a_list_of_objectives_that_makes_no_sum_is_refused(
    objectives: list[Any], says: str
) -> None:
    with pytest.raises(keras_tuner.InvalidArgumentError, match=says):
        keras_tuner.RandomSearch(objective, objective=objectives, storage="memory", verbose=0)


def test_a_list_of_one_objective_is_that_objective() -> None:
    tuner = keras_tuner.RandomSearch(objective, objective=["val_accuracy"], storage="memory")
    assert tuner.oracle.objective == keras_tuner.Objective("val_accuracy", "max")


# -- HyperModel subclasses call KerasTuner's constructor ------------------------------------
class Regressor(keras_tuner.HyperModel):
    def __init__(self, degree: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.degree = degree

    def build(self, hp: keras_tuner.HyperParameters) -> float:
        return hp.Float("scale", 0.5, 2.0) ** self.degree


def test_hypermodel_subclasses_may_pass_kerastuners_constructor_arguments() -> None:
    assert Regressor(2, name="poly").name == "poly"
    assert Regressor(2).name == "Regressor" and Regressor(2, tunable=True).tunable
    with pytest.raises(keras_tuner.InvalidArgumentError, match=r"tunable=False.*hp\.Fixed"):
        Regressor(2, tunable=False)
