"""The Keras front end: build_model(hp) and HyperModel hypermodels trained through model.fit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.storage import open_storage
from hyperscout.storage.sql import sqlite_url
from hyperscout.trial import TrialState, checkpoint_path
from integrations.keras_helpers import (  # one_torch_thread: an autouse fixture
    IGNORE_TENSOR_ARRAY_WARNING,
    Digits,
    digit_split,
    hk,
    keras,
    one_torch_thread,  # noqa: F401
)

pytestmark = [IGNORE_TENSOR_ARRAY_WARNING]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def digits() -> Digits:
    """600 training and 300 validation digits, as 64 features in [0, 1]."""
    return digit_split(600, 300, seed=0)


def build_model(hp: hs.HyperParameters) -> Any:
    """A small classifier of the 64 digit features."""
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(hp.Int("units", 8, 32, step=8), activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(hp.Float("lr", 1e-4, 3e-2, sampling="log")),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


# -- the lecture ---------------------------------------------------------------------------
@pytest.mark.slow
def test_lecture_script_runs_end_to_end(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}  # as in CI
    env["OMP_NUM_THREADS"] = "1"
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / "keras_lecture.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env=env,
    )
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    units = int(out.split("Best hyperparameters: {'units': ")[1].split("}")[0])
    assert units in range(10, 101, 10)
    best = float(out.split("Best val_accuracy: ")[1].split()[0])
    tested = float(out.split("Best model's accuracy on the test data: ")[1].split()[0])
    # The best model is the best trial's, weights and all: the same accuracy on the same data.
    assert tested == pytest.approx(best, abs=2e-4)
    assert best > 0.8  # a convolutional network on digits after 3 epochs
    predicted = out.split("Predicted digits: ")[1].split("\n")[0]
    true = out.split("True digits:      ")[1].split("\n")[0]
    hits = sum(a == b for a, b in zip(json.loads(predicted), json.loads(true), strict=True))
    assert hits >= 7

    storage = open_storage(sqlite_url(tmp_path / "untitled_project" / "hyperscout.db"))
    try:
        study = storage.load_study("untitled_project")
        assert study is not None
        trials = storage.trials(study.id)
    finally:
        storage.close()
    assert len(trials) == 10
    assert all(t.state is TrialState.COMPLETE and t.attrs["model"] == "keras" for t in trials)
    assert best == pytest.approx(max(t.value for t in trials if t.value is not None), abs=1e-4)
    # The lecture's search(x_train, y_train, x_test, y_test): validation metrics every epoch.
    assert all(sorted(t.intermediate) == [0, 1, 2] for t in trials)
    assert all("val_accuracy" in t.intermediate[2] for t in trials)
    for trial in trials:
        folder = checkpoint_path(tmp_path / "untitled_project" / "checkpoints", trial.number)
        assert (folder / hk.BEST_WEIGHTS).is_file() and (folder / hk.LAST_WEIGHTS).is_file()


def test_kerastuner_names_work_after_import_hyperscout_as_kt() -> None:
    import hyperscout as kt

    assert kt.tuners.RandomSearch is hs.RandomSearch
    assert kt.tuners.Hyperband is hs.Hyperband
    hp = kt.HyperParameters()
    assert hp.Int("units", min_value=10, max_value=100, step_size=10) == 10
    assert hp.parameter("units").step == 10  # type: ignore[attr-defined]


# -- best models and the lecture's positional form -----------------------------------------
def test_best_model_has_the_best_trials_validation_accuracy(
    digits: tuple[np.ndarray, ...], tmp_path: Path
) -> None:
    x, y, x_val, y_val = digits
    tuner = hs.RandomSearch(
        build_model, objective="val_accuracy", max_trials=3, seed=3, directory=tmp_path,
        verbose=0,
    )  # fmt: skip
    tuner.search(x, y, x_val, y_val, epochs=4, batch_size=64)

    trials = tuner.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    for trial in trials:
        # The value is the best epoch's val_accuracy, with that epoch's other metrics.
        per_epoch = {step: m["val_accuracy"] for step, m in trial.intermediate.items()}
        best_epoch = max(per_epoch, key=lambda s: (per_epoch[s], -s))
        assert trial.value == pytest.approx(per_epoch[best_epoch])
        assert trial.metrics == pytest.approx(trial.intermediate[best_epoch])

    best = tuner.get_best_trials(1)[0]
    model = tuner.get_best_models(1)[0]
    evaluated = model.evaluate(x_val, y_val, verbose=0, return_dict=True)
    assert evaluated["accuracy"] == pytest.approx(best.value, abs=1e-6)
    assert evaluated["loss"] == pytest.approx(best.metrics["val_loss"], rel=1e-4)
    predicted = model.predict(x_val, verbose=0).argmax(axis=1)
    assert np.mean(predicted == y_val) == pytest.approx(best.value, abs=1e-6)
    assert model.layers[0].units == best.values["units"]

    two = tuner.get_best_models(2)
    second = tuner.get_best_trials(2)[1]
    assert [m.layers[0].units for m in two] == [best.values["units"], second.values["units"]]
    accuracy = two[1].evaluate(x_val, y_val, verbose=0, return_dict=True)["accuracy"]
    assert accuracy == pytest.approx(second.value, abs=1e-6)


def test_same_seed_trains_the_same_models(digits: tuple[np.ndarray, ...]) -> None:
    x, y, x_val, y_val = digits

    def run() -> list[tuple[Any, ...]]:
        with hs.RandomSearch(
            build_model, objective="val_loss", max_trials=2, seed=5, storage="memory",
            verbose=0,
        ) as tuner:  # fmt: skip
            tuner.search(x, y, validation_data=(x_val, y_val), epochs=2)
            return [(dict(t.values), t.value) for t in tuner.trials]

    first, second = run(), run()
    assert first == second
    assert first[0][1] != first[1][1]


def test_fit_arguments_read_the_lecture_form_and_refuse_ambiguous_ones() -> None:
    x, y, xv, yv = (np.zeros((4, 2)), np.zeros(4), np.ones((2, 2)), np.ones(2))
    args, kwargs = hk.fit_arguments((x, y, xv, yv), {"epochs": 3})
    assert args == (x, y) and kwargs["validation_data"] == (xv, yv) and kwargs["epochs"] == 3
    args, kwargs = hk.fit_arguments((x, y, (xv, yv)), {})
    assert args == (x, y) and kwargs["validation_data"] == (xv, yv)
    assert hk.fit_arguments((x, y), {"batch_size": 8}) == ((x, y), {"batch_size": 8})
    # model.fit's own third positional, batch_size: we cannot tell, so we say so.
    with pytest.raises(hs.InvalidArgumentError, match=r"3 positional arguments.*by keyword"):
        hk.fit_arguments((x, y, 32), {})
    with pytest.raises(hs.InvalidArgumentError, match="positional arguments"):
        hk.fit_arguments((x, y, xv, yv, 10), {})
    with pytest.raises(hs.InvalidArgumentError, match="given twice"):
        hk.fit_arguments((x, y, xv, yv), {"validation_data": (xv, yv)})


def test_uninterpretable_positional_search_fails_with_the_reason(
    digits: tuple[np.ndarray, ...],
) -> None:
    x, y, _, _ = digits
    tuner = hs.RandomSearch(
        build_model, objective="loss", max_trials=2, seed=0, storage="memory", verbose=0,
        max_consecutive_failed_trials=1,
    )  # fmt: skip
    with pytest.raises(hs.UsageError, match=r"search\(\) got 3 positional"):
        tuner.search(x, y, 32, epochs=1)
    [trial] = tuner.trials  # given up, not a result: it runs again on resume
    assert trial.state is TrialState.FAILED and trial.attrs["abandoned"]


# -- Hyperband: promotions continue ---------------------------------------------------------
class RecordingMLP(hs.HyperModel):
    """The classifier of build_model, recording the state of each model around its fit."""

    def __init__(self) -> None:
        self.fits: list[dict[str, Any]] = []

    def build(self, hp: hs.HyperParameters) -> Any:
        return build_model(hp)

    def fit(self, hp: hs.HyperParameters, model: Any, *args: Any, **kwargs: Any) -> Any:
        before = [w.copy() for w in model.get_weights()]
        steps_before = int(model.optimizer.iterations)
        history = model.fit(*args, **kwargs)
        self.fits.append(
            {
                "values": dict(hp.values),
                "epochs": kwargs["epochs"],
                "initial_epoch": kwargs.get("initial_epoch", 0),
                "history_epochs": list(history.epoch),
                "before": before,
                "steps_before": steps_before,
                "after": model.get_weights(),
                "steps_after": int(model.optimizer.iterations),
            }
        )
        return history


def test_hyperband_promoted_models_continue_from_their_lower_rung(
    digits: tuple[np.ndarray, ...], tmp_path: Path
) -> None:
    x, y, x_val, y_val = digits
    hypermodel = RecordingMLP()
    tuner = hs.Hyperband(
        hypermodel, objective="val_accuracy", max_epochs=3, factor=3, seed=1,
        directory=tmp_path, verbose=0,
    )  # fmt: skip
    # epochs=50 is overridden by each trial's budget (1 or 3 epochs).
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=50, batch_size=64)

    trials = {t.number: t for t in tuner.trials}
    assert all(t.state is TrialState.COMPLETE for t in trials.values())
    promoted = [t for t in trials.values() if "promoted_from" in t.attrs]
    assert promoted, "Hyperband(max_epochs=3) promotes the best of its 1-epoch rung"
    assert {fit["epochs"] for fit in hypermodel.fits} == {1, 3}
    for trial in promoted:
        parent = trials[trial.attrs["promoted_from"]]
        assert parent.budget == 1 and trial.budget == 3
        # The epoch counter continues: epochs 1 and 2 run and are reported, epoch 0 is not.
        assert sorted(trial.intermediate) == [1, 2]
        [fit] = [f for f in hypermodel.fits if f["initial_epoch"] == 1]
        [parent_fit] = [
            f for f in hypermodel.fits if f["epochs"] == 1 and f["values"] == dict(parent.values)
        ]
        assert fit["history_epochs"] == [1, 2]
        # The promoted model starts from the parent's last weights and optimizer state ...
        for restored, saved in zip(fit["before"], parent_fit["after"], strict=True):
            np.testing.assert_array_equal(restored, saved)
        assert fit["steps_before"] == parent_fit["steps_after"] > 0
        # ... which are the weights saved in the parent's checkpoint folder.
        fresh = build_model(tuner.hyperparameters.with_values(parent.values))
        fresh.optimizer.build(fresh.trainable_variables)  # the file holds its state too
        folder = checkpoint_path(tuner.checkpoint_root, parent.number)
        fresh.load_weights(folder / hk.LAST_WEIGHTS)
        for loaded, saved in zip(fresh.get_weights(), parent_fit["after"], strict=True):
            np.testing.assert_array_equal(loaded, saved)
    fresh_fits = [f for f in hypermodel.fits if f["initial_epoch"] == 0]
    assert all(f["history_epochs"] == list(range(f["epochs"])) for f in fresh_fits)


def test_a_promotion_whose_last_weights_were_deleted_starts_fresh_and_says_so(
    tmp_path: Path,
) -> None:
    hp = hs.HyperParameters()
    model = build_model(hp)
    before = [w.copy() for w in model.get_weights()]
    checkpoint_path(tmp_path, 0).mkdir(parents=True)  # the lower rung's folder, emptied
    trial = hs.RunningTrial(4, budget=3, checkpoint_root=tmp_path, previous=(0, 1))

    with pytest.warns(hs.HyperscoutWarning, match="trial 0.*starts from scratch"):
        restored = hk._restore_previous(model, trial, [None, 64])

    assert restored is False  # so the fit starts at epoch 0, not at the parent's budget
    expected = checkpoint_path(tmp_path, 0) / hk.LAST_WEIGHTS
    assert trial.notes == {"checkpoint_missing": str(expected)}
    for kept, original in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(kept, original)


def build_unbuilt(hp: hs.HyperParameters) -> Any:
    """A Sequential model without an input shape: it has no weights until it sees data."""
    model = keras.Sequential(
        [
            keras.layers.Dense(hp.Int("units", 8, 32, step=8), activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_models_without_an_input_shape_are_promoted_and_reloaded(
    digits: tuple[np.ndarray, ...], tmp_path: Path
) -> None:
    x, y, x_val, y_val = digits
    tuner = hs.Hyperband(
        build_unbuilt, objective="val_accuracy", max_epochs=3, seed=1, directory=tmp_path,
        verbose=0,
    )  # fmt: skip
    tuner.search(x, y, x_val, y_val, batch_size=64)
    trials = tuner.trials
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert any(sorted(t.intermediate) == [1, 2] for t in trials if "promoted_from" in t.attrs)
    best = tuner.get_best_trials(1)[0]
    model = tuner.get_best_models(1)[0]
    accuracy = model.evaluate(x_val, y_val, verbose=0, return_dict=True)["accuracy"]
    assert accuracy == pytest.approx(best.value, abs=1e-6)


def test_several_executions_average_metrics_and_keep_the_best_weights(
    digits: tuple[np.ndarray, ...], tmp_path: Path
) -> None:
    x, y, x_val, y_val = digits
    tuner = hs.RandomSearch(
        build_model, objective="val_accuracy", max_trials=1, seed=4, directory=tmp_path,
        verbose=0, executions_per_trial=2,
    )  # fmt: skip
    tuner.search(x, y, x_val, y_val, epochs=2, batch_size=64)
    [trial] = tuner.trials
    kept = json.loads((checkpoint_path(tuner.checkpoint_root, 0) / hk.RECORD_FILE).read_text())
    model = tuner.get_best_models(1)[0]
    accuracy = model.evaluate(x_val, y_val, verbose=0, return_dict=True)["accuracy"]
    # The kept weights are the better execution's; the trial's value is the mean of both,
    # which differ (each execution has its own seed).
    assert accuracy == pytest.approx(kept["value"], abs=1e-6)
    assert kept["value"] > trial.value


# -- reports and early stopping -------------------------------------------------------------
def test_each_epoch_is_reported_and_median_stopping_stops_a_bad_trial(
    digits: tuple[np.ndarray, ...],
) -> None:
    x, y, x_val, y_val = digits
    tuner = hs.Tuner(
        build_model,
        objective="val_loss",
        scheduler=hs.MedianStoppingScheduler(n_startup_trials=2, n_warmup_steps=1),
        max_trials=3,
        seed=0,
        storage="memory",
        verbose=0,
    )
    good, bad = {"units": 32, "lr": 0.02}, {"units": 8, "lr": 1e-4}
    for values in (good, good | {"units": 24}, bad):
        tuner.enqueue(values)
    tuner.search(x, y, x_val, y_val, epochs=5, batch_size=64)

    first, second, third = tuner.trials
    for trial in (first, second):
        assert trial.state is TrialState.COMPLETE
        assert sorted(trial.intermediate) == [0, 1, 2, 3, 4]
        assert set(trial.intermediate[0]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    # Its val_loss at epoch 1 is above the median of the others: training stops there.
    assert third.values == bad
    assert third.state is TrialState.PRUNED
    assert sorted(third.intermediate) == [0, 1]
    assert third.value == pytest.approx(min(m["val_loss"] for m in third.intermediate.values()))


# -- callbacks ------------------------------------------------------------------------------
class EpochCounter(keras.callbacks.Callback):  # type: ignore[misc]
    """Counts the epochs it sees; records the count each training starts from."""

    starts: ClassVar[list[int]] = []  # shared by every copy, on purpose

    def __init__(self) -> None:
        super().__init__()
        self.epochs = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        EpochCounter.starts.append(self.epochs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epochs += 1


def test_callbacks_are_copied_for_each_trial(digits: tuple[np.ndarray, ...]) -> None:
    x, y, x_val, y_val = digits
    counter = EpochCounter()
    EpochCounter.starts.clear()
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1)
    tuner = hs.RandomSearch(
        build_model, objective="val_loss", max_trials=3, seed=0, storage="memory", verbose=0
    )
    tuner.search(x, y, x_val, y_val, epochs=2, callbacks=[counter, stopper])

    assert EpochCounter.starts == [0, 0, 0]  # each trial's copy starts fresh
    assert counter.epochs == 0 and counter.model is None  # the user's own is never used
    assert stopper.model is None and stopper.wait == 0
    assert all(len(t.intermediate) == 2 for t in tuner.trials)


def test_a_callback_that_cannot_be_copied_is_named() -> None:
    class Locked(keras.callbacks.Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.lock = threading.Lock()

    with pytest.raises(hs.InvalidArgumentError, match=r"callbacks\[1\] \(Locked\) cannot be"):
        hk.copy_callbacks([EpochCounter(), Locked()])
    with pytest.raises(hs.InvalidArgumentError, match="expected a list of Keras callbacks"):
        hk.copy_callbacks(EpochCounter())


# -- HyperModel, errors ---------------------------------------------------------------------
class TunedBatches(hs.HyperModel):
    """Tunes the batch size in fit, and judges the model by its accuracy on held-out data."""

    def __init__(self, x_val: np.ndarray, y_val: np.ndarray) -> None:
        self.x_val, self.y_val = x_val, y_val
        self.calls: list[dict[str, Any]] = []

    def build(self, hp: hs.HyperParameters) -> Any:
        return build_model(hp)

    def fit(self, hp: hs.HyperParameters, model: Any, *args: Any, **kwargs: Any) -> Any:
        batch_size = hp.Choice("batch_size", [16, 128])
        history = model.fit(*args, batch_size=batch_size, **kwargs)
        self.calls.append({"batch_size": batch_size, "steps": int(model.optimizer.iterations)})
        assert len(history.epoch) == kwargs["epochs"]
        result = model.evaluate(self.x_val, self.y_val, verbose=0, return_dict=True)
        return {"held_out_accuracy": result["accuracy"], "epochs": len(history.epoch)}


def test_hypermodel_subclass_with_its_own_fit(
    digits: tuple[np.ndarray, ...], tmp_path: Path
) -> None:
    x, y, x_val, y_val = digits
    hypermodel = TunedBatches(x_val, y_val)
    tuner = hs.RandomSearch(
        hypermodel, objective="held_out_accuracy", max_trials=4, seed=2, directory=tmp_path,
        verbose=0,
    )  # fmt: skip
    tuner.search(x, y, epochs=2)

    trials = tuner.trials
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert {t.values["batch_size"] for t in trials} == {16, 128}
    for trial, call in zip(trials, hypermodel.calls, strict=True):
        assert trial.values["batch_size"] == call["batch_size"]
        assert call["steps"] == 2 * -(-len(x) // call["batch_size"])  # the tuned batches
        assert trial.metrics["epochs"] == 2
        assert sorted(trial.intermediate) == [0, 1]  # reported while its fit ran
    # The returned metric describes the final model, whose weights are kept as the best.
    best = tuner.get_best_trials(1)[0]
    model = tuner.get_best_models(1)[0]
    accuracy = model.evaluate(x_val, y_val, verbose=0, return_dict=True)["accuracy"]
    assert accuracy == pytest.approx(best.value, abs=1e-6)


def test_a_missing_objective_metric_names_the_available_ones(
    digits: tuple[np.ndarray, ...],
) -> None:
    x, y, _, _ = digits
    tuner = hs.RandomSearch(
        build_model, objective="val_accuracy", max_trials=3, seed=0, storage="memory",
        verbose=0, max_consecutive_failed_trials=1,
    )  # fmt: skip
    with pytest.raises(hs.UsageError) as caught:
        tuner.search(x, y, epochs=3)  # no validation data
    message = str(caught.value)
    assert "no 'val_accuracy'" in message and "['accuracy', 'loss']" in message
    assert "validation_data=" in message
    [trial] = tuner.trials  # stopped at epoch 0, given up: no result of the mistake is kept
    assert trial.state is TrialState.FAILED and not trial.intermediate
    assert trial.attrs["abandoned"]


def test_get_best_models_needs_a_model_building_hypermodel() -> None:
    tuner = hs.RandomSearch(
        lambda hp: hp.Float("x", 0.0, 1.0), max_trials=2, seed=0, storage="memory", verbose=0
    )
    tuner.search()
    with pytest.raises(hs.InvalidArgumentError, match=r"kept no model.*get_best_hyperparameters"):
        tuner.get_best_models(1)


def test_an_objective_of_hp_alone_given_search_arguments_is_told_why_it_failed() -> None:
    tuner = hs.RandomSearch(
        lambda hp: hp.Float("x", 0.0, 1.0), max_trials=2, seed=0, storage="memory", verbose=0,
        max_consecutive_failed_trials=1,
    )  # fmt: skip
    with pytest.raises(hs.UsageError, match="which is no model"):
        tuner.search(np.zeros((3, 2)), epochs=2)
    assert [t.attrs.get("abandoned") for t in tuner.trials] == [True]


def test_weights_kept_in_a_temporary_folder_are_gone_after_close(
    digits: tuple[np.ndarray, ...],
) -> None:
    x, y, x_val, y_val = digits
    with hs.RandomSearch(
        build_model, objective="val_loss", max_trials=1, seed=0, storage="memory", verbose=0
    ) as tuner:
        tuner.search(x, y, x_val, y_val, epochs=1)
        assert tuner.get_best_models(1)[0].layers[0].units == tuner.trials[0].values["units"]
    with pytest.raises(hs.StorageError, match="give it a directory="):
        tuner.get_best_models(1)


def test_keras_trials_refuse_to_share_a_process_with_threads(
    digits: tuple[np.ndarray, ...],
) -> None:
    x, y, x_val, y_val = digits
    tuner = hs.RandomSearch(
        build_model, objective="val_loss", max_trials=2, seed=0, storage="memory", verbose=0,
        executor=hs.ThreadExecutor(2), max_consecutive_failed_trials=1,
    )  # fmt: skip
    with pytest.raises(hs.UsageError, match="one trial at a time"):
        tuner.search(x, y, x_val, y_val, epochs=1)
    # The trials started stopped after their first build, before training: none holds a result.
    trials = tuner.trials
    assert trials and all(t.attrs.get("abandoned") for t in trials)
    assert not any(t.intermediate for t in trials)


# -- memory ---------------------------------------------------------------------------------
def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class MeasuredMLP(hs.HyperModel):
    """A wider classifier (about 300k weights with Adam's state) that samples the process's
    resident memory each time a trial starts building, after the previous trial ended."""

    def __init__(self) -> None:
        self.rss: list[int] = []

    def build(self, hp: hs.HyperParameters) -> Any:
        self.rss.append(_rss_bytes())
        width = hp.Int("width", 256, 512)
        model = keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(width, activation="relu"),
                keras.layers.Dense(width, activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        optimizer = keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log"))
        model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads /proc/self/statm")
def test_memory_does_not_grow_across_30_trials(
    digits: tuple[np.ndarray, ...], tmp_path: Path
) -> None:
    x, y, x_val, y_val = digits
    hypermodel = MeasuredMLP()
    tuner = hs.RandomSearch(
        hypermodel, objective="val_accuracy", max_trials=31, seed=0, directory=tmp_path,
        verbose=0,
    )  # fmt: skip
    tuner.search(x[:200], y[:200], x_val[:100], y_val[:100], epochs=1, batch_size=100)

    assert all(t.state is TrialState.COMPLETE for t in tuner.trials)
    # rss[k] is sampled as trial k starts building: after trials 0..k-1 finished. The first
    # model is built twice (before and after the Keras session is known), hence the offset.
    after = hypermodel.rss[1:]
    assert len(after) == 31
    in_mb = [round(r / 2**20) for r in after]
    assert after[30] <= 1.10 * after[5], in_mb
    # Tighter: without clear_session the process grows by about 1 MB a trial here (28 MB
    # from trial 5 to 30); with it, by a few MB in all.
    assert after[30] - after[5] < 12 * 2**20, in_mb
