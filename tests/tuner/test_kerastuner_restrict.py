"""KerasTuner's "tailor the search space" idioms, run after ``import hyperscout as keras_tuner``.

``hyperparameters=`` declares parameters whose definitions stand over the hypermodel's (restrict
a choice, fix a value); ``tune_new_entries=False`` keeps every other parameter at its default;
``allow_new_entries=False`` refuses parameters that were not declared. The hypermodel is left
as written, as in KerasTuner's guide.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hyperscout as keras_tuner
from hyperscout.space import Fixed, Int
from hyperscout.trial import TrialState

LEARNING_RATES = [1e-2, 1e-3, 1e-4]


def objective(hp: keras_tuner.HyperParameters) -> float:
    """A hypermodel as written: its own learning rates, units and dropout."""
    learning_rate = hp.Choice("learning_rate", values=LEARNING_RATES)
    units = hp.Int("units", min_value=32, max_value=128, step=32, default=64)
    dropout = hp.Boolean("dropout")
    return learning_rate * units + (0.5 if dropout else 0.0)


def restricted() -> keras_tuner.HyperParameters:
    hp = keras_tuner.HyperParameters()
    hp.Choice("learning_rate", values=[1e-2, 1e-4])  # overrides the hypermodel's definition
    return hp


def run(
    cls: Any = keras_tuner.RandomSearch, hypermodel: Any = objective, **kwargs: Any
) -> keras_tuner.Tuner:
    kwargs.setdefault("storage", "memory")
    kwargs.setdefault("objective", "loss")
    kwargs.setdefault("seed", 0)
    tuner = cls(hypermodel, verbose=0, **kwargs)
    tuner.search()
    return tuner


# -- restrict the search space -------------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "extra"),
    [
        (keras_tuner.RandomSearch, {}),
        (keras_tuner.GridSearch, {}),
        (keras_tuner.BayesianOptimization, {"sampler": "gp", "num_initial_points": 1}),
        (keras_tuner.BayesianOptimization, {"sampler": "tpe", "num_initial_points": 1}),
    ],
)
def test_restrict_the_search_space_tunes_only_the_declared_parameters(
    cls: Any, extra: dict[str, Any]
) -> None:
    tuner = run(cls, hyperparameters=restricted(), tune_new_entries=False, max_trials=3, **extra)
    trials = tuner.trials
    # Two configurations only: the declared learning rates, with the rest at its defaults.
    assert sorted(t.values["learning_rate"] for t in trials) == [1e-4, 1e-2]
    for trial in trials:
        assert trial.state is TrialState.COMPLETE
        assert trial.values == {
            "learning_rate": trial.values["learning_rate"],
            "units": 64,
            "dropout": False,
        }
        # The hypermodel's hp.Choice returned the declared definition's value.
        assert trial.value == pytest.approx(trial.values["learning_rate"] * 64)
    space = tuner.hyperparameters
    assert space.parameter("learning_rate").to_dict()["values"] == [1e-2, 1e-4]
    assert space.parameter("units") == Fixed("units", 64)
    assert space.parameter("dropout") == Fixed("dropout", False)


def test_grid_search_enumerates_only_the_tuned_parameters() -> None:
    hp = keras_tuner.HyperParameters()
    hp.Choice("learning_rate", values=LEARNING_RATES)
    tuner = run(keras_tuner.GridSearch, hyperparameters=hp, tune_new_entries=False)
    assert [t.values for t in tuner.trials] == [
        {"learning_rate": lr, "units": 64, "dropout": False} for lr in LEARNING_RATES
    ]


def test_declared_parameters_stand_over_the_hypermodels_and_new_ones_are_tuned() -> None:
    tuner = run(hyperparameters=restricted(), max_trials=8)  # tune_new_entries=True
    trials = tuner.trials
    assert len(trials) == 8
    assert {t.values["learning_rate"] for t in trials} == {1e-2, 1e-4}
    assert len({t.values["units"] for t in trials}) > 1  # searched
    assert {t.values["dropout"] for t in trials} == {False, True}
    assert tuner.hyperparameters.parameter("units") == Int("units", 32, 128, step=32, default=64)


def test_fix_a_hyperparameter_and_tune_the_others() -> None:
    hp = keras_tuner.HyperParameters()
    hp.Fixed("learning_rate", value=1e-4)  # not one of the hypermodel's own choices
    tuner = run(hyperparameters=hp, tune_new_entries=True, max_trials=6)
    trials = tuner.trials
    assert len(trials) == 6
    assert all(t.values["learning_rate"] == 1e-4 for t in trials)
    assert all(
        t.value == pytest.approx(1e-4 * t.values["units"] + 0.5 * t.values["dropout"])
        for t in trials
    )
    assert len({(t.values["units"], t.values["dropout"]) for t in trials}) == 6


def test_a_resumed_study_keeps_untuned_parameters_fixed(tmp_path: Path) -> None:
    hp = keras_tuner.HyperParameters()
    hp.Choice("learning_rate", values=LEARNING_RATES)
    common: dict[str, Any] = {
        "hyperparameters": hp,
        "tune_new_entries": False,
        "directory": tmp_path,
        "project_name": "restricted",
        "storage": None,
    }
    first = run(max_trials=2, **common)
    assert len(first.trials) == 2
    first.close()
    resumed = run(max_trials=6, **common)
    trials = resumed.trials
    # The third declared learning rate, then the space is exhausted: no untuned value searched.
    assert sorted(t.values["learning_rate"] for t in trials) == sorted(LEARNING_RATES)
    assert all(t.values["units"] == 64 and t.values["dropout"] is False for t in trials)
    assert resumed.hyperparameters.parameter("units") == Fixed("units", 64)


def test_a_restricted_parent_leaves_the_other_branch_switched_off() -> None:
    def conditional(hp: keras_tuner.HyperParameters) -> float:
        # KerasTuner's guide: one scope per model type, each naming its own value.
        model_type = hp.Choice("model_type", ["mlp", "cnn"])
        loss = 0.0
        with hp.conditional_scope("model_type", ["mlp"]):
            if model_type == "mlp":
                loss += hp.Int("units", 8, 32, step=8)
        with hp.conditional_scope("model_type", ["cnn"]):
            if model_type == "cnn":
                loss += hp.Int("filters", 4, 16, step=4)
        return loss

    hp = keras_tuner.HyperParameters()
    hp.Choice("model_type", ["mlp"])
    tuner = keras_tuner.GridSearch(
        conditional, hyperparameters=hp, storage="memory", verbose=0, seed=0
    )
    tuner.search()
    assert [t.values for t in tuner.trials] == [
        {"model_type": "mlp", "units": units} for units in (8, 16, 24, 32)
    ]


# -- refuse new entries ----------------------------------------------------------------------
def test_allow_new_entries_false_stops_at_a_parameter_not_declared() -> None:
    hp = restricted()
    with pytest.raises(keras_tuner.UsageError, match="allow_new_entries") as caught:
        run(hyperparameters=hp, allow_new_entries=False, max_trials=2)
    message = str(caught.value)
    assert "hp.Int('units')" in message and "['learning_rate']" in message

    def declared_only(hp: keras_tuner.HyperParameters) -> float:
        return float(hp.Choice("learning_rate", LEARNING_RATES))

    tuner = run(
        hypermodel=declared_only,
        hyperparameters=restricted(),
        allow_new_entries=False,
        max_trials=3,
    )
    assert sorted(t.values["learning_rate"] for t in tuner.trials) == [1e-4, 1e-2]


@pytest.mark.parametrize("name", ["tune_new_entries", "allow_new_entries"])
@pytest.mark.parametrize("value", ["no", 0, None])
def test_entry_flags_must_be_true_or_false(name: str, value: Any) -> None:
    with pytest.raises(
        keras_tuner.InvalidArgumentError,
        match=rf"^RandomSearch\({name}=\.\.\.\): expected True or False, got {value!r}\.$",
    ):
        keras_tuner.RandomSearch(objective, storage="memory", verbose=0, **{name: value})


# -- with Keras ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def keras() -> Any:
    # Imported before Keras: it picks the PyTorch backend when none is configured.
    pytest.importorskip("hyperscout.integrations.keras")
    pytest.importorskip("torch", reason="Keras runs on the PyTorch backend in these tests")
    return pytest.importorskip("keras", reason="needs the keras extra")


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64")
    return x[:64], y[:64], x[64:], y[64:]


def keras_builder(keras: Any) -> Any:
    def build_model(hp: keras_tuner.HyperParameters) -> Any:
        model = keras.Sequential(
            [
                keras.Input((8,)),
                keras.layers.Dense(hp.Int("units", 4, 16, step=4, default=8), activation="relu"),
                keras.layers.Dense(2, activation="softmax"),
            ]
        )
        learning_rate = hp.Choice("learning_rate", values=LEARNING_RATES)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    return build_model


@pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)
@pytest.mark.parametrize("idiom", ["restrict", "fix"])
def test_keras_idioms_with_only_the_import_changed(
    idiom: str, keras: Any, data: tuple[np.ndarray, ...], tmp_path: Path
) -> None:
    x_train, y_train, x_val, y_val = data
    hp = keras_tuner.HyperParameters()
    if idiom == "restrict":
        hp.Choice("learning_rate", values=[1e-2, 1e-4])
        tune_new_entries, expected = False, {1e-2, 1e-4}
    else:
        hp.Fixed("learning_rate", value=1e-4)
        tune_new_entries, expected = True, {1e-4}
    tuner = keras_tuner.RandomSearch(
        keras_builder(keras),
        hyperparameters=hp,
        tune_new_entries=tune_new_entries,
        objective="val_accuracy",
        max_trials=3,
        overwrite=True,
        directory=tmp_path,
        project_name=idiom,
        seed=0,
        verbose=0,
    )
    tuner.search(x_train, y_train, epochs=1, validation_data=(x_val, y_val), verbose=0)
    trials = tuner.trials
    assert {t.values["learning_rate"] for t in trials} == expected
    if idiom == "restrict":  # two configurations, units at its default
        assert len(trials) == 2 and all(t.values["units"] == 8 for t in trials)
    else:
        assert len(trials) == 3
    best = tuner.get_best_models(1)[0]
    best_values = tuner.get_best_hyperparameters(1)[0].values
    # The model was built with the declared learning rate and the recorded units.
    assert float(best.optimizer.learning_rate) == pytest.approx(best_values["learning_rate"])
    assert best.layers[0].units == best_values["units"]
