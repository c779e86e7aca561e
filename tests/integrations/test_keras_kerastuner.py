"""KerasTuner's Keras idioms, run after ``import hyperscout as kt`` with nothing else changed.

Written the way the published examples use them: the KerasTuner getting-started guide
(``search_space_summary`` before ``search``, ``get_best_models``), its "custom training loop"
and "tune end-to-end workflows" sections (``HyperModel.fit``, ``run_trial`` overridden and
returning a ``History``, ``super().run_trial`` with tuned fit arguments) and TensorFlow's
Hyperband tutorial (``tuner.hypermodel.build(best_hps)``, then ``fit`` to find the best epoch).
Our own code, on tiny data, one to three epochs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hyperscout as kt  # the one line a KerasTuner script changes
from hyperscout.trial import TrialState
from integrations.keras_helpers import (  # one_torch_thread: an autouse fixture
    IGNORE_TENSOR_ARRAY_WARNING,
    Digits,
    digit_split,
    keras,
    one_torch_thread,  # noqa: F401
)

pytestmark = [IGNORE_TENSOR_ARRAY_WARNING]


@pytest.fixture(scope="module")
def digits() -> Digits:
    """300 training and 150 validation digits, 64 features in [0, 1]."""
    return digit_split(300, 150, seed=1)


#: Two trials, in memory, seeded and quiet.
TWO_TRIALS: dict[str, Any] = {"max_trials": 2, "storage": "memory", "seed": 0, "verbose": 0}


def build_model(hp: kt.HyperParameters) -> Any:
    """The guide's builder: a tuned number of layers, their widths, dropout, learning rate."""
    model = keras.Sequential()
    model.add(keras.Input((64,)))
    for i in range(hp.Int("num_layers", 1, 2)):
        model.add(
            keras.layers.Dense(
                units=hp.Int(f"units_{i}", min_value=8, max_value=32, step=8),
                activation=hp.Choice("activation", ["relu", "tanh"]),
            )
        )
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(rate=0.25))
    model.add(keras.layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("lr", min_value=1e-3, max_value=3e-2, sampling="log")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


# -- the getting-started guide -------------------------------------------------------------
def test_getting_started_summary_before_search_then_best_models(
    digits: tuple[np.ndarray, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x_train, y_train, x_val, y_val = digits
    build_model(kt.HyperParameters())  # the guide checks that the model builds
    tuner = kt.RandomSearch(
        hypermodel=build_model,
        objective="val_accuracy",
        max_trials=3,
        executions_per_trial=1,
        overwrite=True,
        directory=tmp_path,
        project_name="helloworld",
        seed=0,
        verbose=0,
    )
    tuner.search_space_summary()
    summary = capsys.readouterr().out
    # Built once with the defaults (one layer, no dropout): the space those reach.
    for name in ("num_layers", "units_0", "activation", "dropout", "lr"):
        assert name in summary
    assert "units_1" not in summary  # a second layer exists only when num_layers is 2
    assert tuner.trials == []  # learning the space ran no trial

    tuner.search(x_train, y_train, epochs=2, validation_data=(x_val, y_val))
    models = tuner.get_best_models(num_models=2)
    best_model = models[0]
    best_trial = tuner.oracle.get_best_trials(1)[0]
    _, accuracy = best_model.evaluate(x_val, y_val, verbose=0)
    assert accuracy == pytest.approx(best_trial.score, abs=1e-4)
    best_hps = tuner.get_best_hyperparameters(5)
    assert best_hps[0].values == best_trial.hyperparameters.values
    model = build_model(best_hps[0])  # retrain on all the data, as the guide ends
    model.fit(np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val]), epochs=1)


class MLP(kt.HyperModel):
    def build(self, hp: kt.HyperParameters) -> Any:
        return build_model(hp)


def test_summary_of_a_hypermodel_subclass_builds_it_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tuner = kt.RandomSearch(MLP(), objective="val_accuracy", storage="memory", verbose=0)
    tuner.search_space_summary()
    out = capsys.readouterr().out
    assert "units_0" in out and "lr" in out
    assert tuner.hyperparameters.names == ["num_layers", "units_0", "activation", "dropout", "lr"]


# -- TensorFlow's Hyperband tutorial -------------------------------------------------------
def model_builder(hp: kt.HyperParameters) -> Any:
    model = keras.Sequential()
    model.add(keras.Input((64,)))
    hp_units = hp.Int("units", min_value=8, max_value=64, step=8)
    model.add(keras.layers.Dense(units=hp_units, activation="relu"))
    model.add(keras.layers.Dense(10))
    hp_learning_rate = hp.Choice("learning_rate", values=[1e-2, 1e-3])
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=hp_learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


@pytest.mark.slow
def test_hyperband_tutorial_rebuilds_the_best_model_from_tuner_hypermodel(
    digits: tuple[np.ndarray, ...], tmp_path: Path
) -> None:
    x_train, y_train, x_test, y_test = digits
    tuner = kt.Hyperband(
        model_builder,
        objective="val_accuracy",
        max_epochs=3,
        factor=3,
        directory=tmp_path,
        project_name="intro_to_kt",
        seed=0,
        verbose=0,
    )
    stop_early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5)
    tuner.search(x_train, y_train, epochs=3, validation_split=0.2, callbacks=[stop_early])
    best_hps = tuner.get_best_hyperparameters(num_trials=1)[0]
    units = best_hps.get("units")

    model = tuner.hypermodel.build(best_hps)
    assert model.layers[0].units == units  # built with the best trial's values
    assert float(model.optimizer.learning_rate) == pytest.approx(best_hps.get("learning_rate"))
    history = model.fit(x_train, y_train, epochs=3, validation_split=0.2, verbose=0)
    val_acc_per_epoch = history.history["val_accuracy"]
    best_epoch = val_acc_per_epoch.index(max(val_acc_per_epoch)) + 1
    assert 1 <= best_epoch <= 3

    hypermodel = tuner.hypermodel.build(best_hps)
    hypermodel.fit(x_train, y_train, epochs=best_epoch, validation_split=0.2, verbose=0)
    eval_result = hypermodel.evaluate(x_test, y_test, verbose=0)
    assert eval_result[1] > 0.3  # ten classes: well above chance after a few epochs


# -- run_trial overridden, as in "tune end-to-end workflows" -------------------------------
def test_run_trial_returning_histories_takes_each_best_epoch_and_averages(
    digits: tuple[np.ndarray, ...],
) -> None:
    x_train, y_train, x_val, y_val = digits
    histories: list[list[Any]] = []

    class MyTuner(kt.RandomSearch):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> list[Any]:
            hp = trial.hyperparameters
            runs = []
            for _ in range(2):  # two executions, as KerasTuner's own run_trial returns
                model = self.hypermodel.build(hp)
                runs.append(model.fit(*args, **kwargs))
            histories.append(runs)
            return runs

    tuner = MyTuner(hypermodel=build_model, objective="val_loss", **TWO_TRIALS)
    tuner.search(x_train, y_train, epochs=3, validation_data=(x_val, y_val), verbose=0)
    for trial, runs in zip(tuner.trials, histories, strict=True):
        assert trial.state is TrialState.COMPLETE
        best = [min(run.history["val_loss"]) for run in runs]  # each execution's best epoch
        assert trial.score == pytest.approx(sum(best) / 2)
        epochs = [run.history["val_loss"].index(b) for run, b in zip(runs, best, strict=True)]
        accuracies = [run.history["val_accuracy"][e] for run, e in zip(runs, epochs, strict=True)]
        assert trial.metrics["val_accuracy"] == pytest.approx(sum(accuracies) / 2)


def test_run_trial_tunes_fit_arguments_through_super(digits: tuple[np.ndarray, ...]) -> None:
    x_train, y_train, x_val, y_val = digits
    batch_sizes: list[int] = []

    class BatchTuner(kt.BayesianOptimization):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
            kwargs["batch_size"] = trial.hyperparameters.Int("batch_size", 16, 64, step=16)
            batch_sizes.append(kwargs["batch_size"])
            return super().run_trial(trial, *args, **kwargs)

    tuner = BatchTuner(build_model, objective="val_accuracy", **TWO_TRIALS)
    tuner.search(x_train, y_train, epochs=2, validation_data=(x_val, y_val))
    assert [t.values["batch_size"] for t in tuner.trials] == batch_sizes
    assert all(t.state is TrialState.COMPLETE for t in tuner.trials)
    # super().run_trial ran the hypermodel as search() does: epochs reported, weights kept.
    assert all(sorted(t.intermediate) == [0, 1] for t in tuner.trials)
    best_model = tuner.get_best_models(1)[0]
    _, accuracy = best_model.evaluate(x_val, y_val, verbose=0)
    assert accuracy == pytest.approx(tuner.get_best_trials(1)[0].score, abs=1e-4)


# -- "custom training loop": HyperModel.fit drives the tuner's callbacks itself -------------
class CustomLoop(kt.HyperModel):
    def __init__(self, attach: bool) -> None:
        self.attach = attach

    def build(self, hp: kt.HyperParameters) -> Any:
        return build_model(hp)

    def fit(
        self,
        hp: kt.HyperParameters,
        model: Any,
        x: np.ndarray,
        y: np.ndarray,
        validation_data: tuple[np.ndarray, np.ndarray],
        callbacks: list[Any] | None = None,
        **kwargs: Any,
    ) -> float:
        batch_size = hp.Int("batch_size", 32, 128, step=32)
        x_val, y_val = validation_data
        callbacks = callbacks or []
        if self.attach:
            for callback in callbacks:
                callback.set_model(model)
        best_epoch_loss = float("inf")
        for epoch in range(2):
            for start in range(0, len(x), batch_size):
                model.train_on_batch(x[start : start + batch_size], y[start : start + batch_size])
            epoch_loss = float(model.evaluate(x_val, y_val, verbose=0)[0])
            for callback in callbacks:
                # "my_metric" is the objective given to the tuner.
                callback.on_epoch_end(epoch, logs={"my_metric": epoch_loss})
            best_epoch_loss = min(best_epoch_loss, epoch_loss)
        return best_epoch_loss


@pytest.mark.parametrize("attach", [True, False], ids=["set_model", "no_set_model"])
def test_custom_training_loop_reports_through_the_tuners_callbacks(
    digits: tuple[np.ndarray, ...], attach: bool
) -> None:
    x_train, y_train, x_val, y_val = digits
    tuner = kt.RandomSearch(
        objective=kt.Objective("my_metric", "min"), hypermodel=CustomLoop(attach), **TWO_TRIALS
    )
    tuner.search(x=x_train, y=y_train, validation_data=(x_val, y_val))
    for trial in tuner.trials:
        assert trial.state is TrialState.COMPLETE
        assert sorted(trial.intermediate) == [0, 1]  # each epoch reached the trial
        reported = [trial.intermediate[e]["my_metric"] for e in (0, 1)]
        assert trial.score == pytest.approx(min(reported))
        assert "batch_size" in trial.values


# -- objective=[...]: KerasTuner's multi-objective ------------------------------------------
def test_a_list_of_objectives_picks_each_trials_best_epoch_by_their_sum(
    digits: tuple[np.ndarray, ...],
) -> None:
    x_train, y_train, x_val, y_val = digits
    tuner = kt.RandomSearch(
        build_model,
        objective=["val_loss", kt.Objective("val_accuracy", "max")],
        **TWO_TRIALS,
    )
    tuner.search(x_train, y_train, epochs=3, validation_data=(x_val, y_val))
    for trial in tuner.trials:
        sums = {e: r["val_loss"] - r["val_accuracy"] for e, r in trial.intermediate.items()}
        assert sorted(sums) == [0, 1, 2]
        for epoch, total in sums.items():  # every epoch reports the sum too
            assert trial.intermediate[epoch]["multi_objective"] == pytest.approx(total)
        best_epoch = min(sums, key=lambda e: sums[e])
        assert trial.score == pytest.approx(sums[best_epoch])
        assert trial.metrics["val_accuracy"] == trial.intermediate[best_epoch]["val_accuracy"]
    loss, accuracy = tuner.get_best_models(1)[0].evaluate(x_val, y_val, verbose=0)
    assert loss - accuracy == pytest.approx(tuner.oracle.get_best_trials(1)[0].score, abs=1e-4)


def test_run_trial_history_under_a_list_of_objectives(digits: tuple[np.ndarray, ...]) -> None:
    x_train, y_train, x_val, y_val = digits
    histories: list[Any] = []

    class MyTuner(kt.RandomSearch):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
            model = self.hypermodel.build(trial.hyperparameters)
            histories.append(model.fit(*args, **kwargs))
            return histories[-1]

    tuner = MyTuner(build_model, objective=["val_loss", "val_accuracy"], **TWO_TRIALS)
    tuner.search(x_train, y_train, epochs=3, validation_data=(x_val, y_val), verbose=0)
    for trial, history in zip(tuner.trials, histories, strict=True):
        logs = history.history
        sums = [a - b for a, b in zip(logs["val_loss"], logs["val_accuracy"], strict=True)]
        assert trial.score == pytest.approx(min(sums))


# -- "keep Keras code separate": HyperModel.fit returns its own evaluation -------------------
class HyperRegressor(kt.HyperModel):
    def build(self, hp: kt.HyperParameters) -> Any:
        model = keras.Sequential(
            [
                keras.layers.Dense(units=hp.Int("units", 8, 32, 8), activation="relu"),
                keras.layers.Dense(units=1),
            ]
        )
        model.compile(optimizer="adam", loss="mean_squared_error")
        return model

    def fit(
        self,
        hp: kt.HyperParameters,
        model: Any,
        x: np.ndarray,
        y: np.ndarray,
        validation_data: tuple[np.ndarray, np.ndarray],
        **kwargs: Any,
    ) -> float:
        model.fit(x, y, **kwargs)
        x_val, y_val = validation_data
        y_pred = model.predict(x_val, verbose=0)
        return float(np.mean(np.abs(y_pred - y_val)))  # a single float to minimise


def test_end_to_end_workflow_with_a_fit_that_returns_its_own_metric(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x_train, y_train = rng.random((100, 10)), rng.random((100, 1))
    x_val, y_val = rng.random((20, 10)), rng.random((20, 1))
    tuner = kt.RandomSearch(
        hypermodel=HyperRegressor(),
        max_trials=3,
        overwrite=True,
        directory=tmp_path,
        project_name="keep_code_separate",
        seed=0,
        verbose=0,
    )
    tuner.search(x_train, y_train, validation_data=(x_val, y_val))
    assert [t.state for t in tuner.trials] == [TrialState.COMPLETE] * 3
    best_trial = tuner.oracle.get_best_trials(1)[0]
    assert best_trial.score == min(t.score for t in tuner.trials)
    # The model kept is the one the returned value describes (no input shape given: built
    # from the data's).
    best_model = tuner.get_best_models(1)[0]
    mae = float(np.mean(np.abs(best_model.predict(x_val, verbose=0) - y_val)))
    assert mae == pytest.approx(best_trial.score, rel=1e-5)
    hypermodel = HyperRegressor()
    best_hp = tuner.get_best_hyperparameters()[0]
    model = hypermodel.build(best_hp)
    hypermodel.fit(best_hp, model, x_train, y_train, validation_data=(x_val, y_val), epochs=1)
    assert model.layers[0].units == best_hp.get("units")
