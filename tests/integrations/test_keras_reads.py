"""Keras's build_model(hp) with KerasTuner's layer loop: trials record the layers they built."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.trial import TrialState
from integrations.keras_helpers import (  # one_torch_thread: an autouse fixture
    IGNORE_TENSOR_ARRAY_WARNING,
    keras,
    one_torch_thread,  # noqa: F401
)

pytestmark = [IGNORE_TENSOR_ARRAY_WARNING]


def build_model(hp: hs.HyperParameters) -> Any:
    """The KerasTuner tutorial's network: a Dense layer per ``units_i``, ``i < num_layers``."""
    model = keras.Sequential([keras.Input((8,))])
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(keras.layers.Dense(hp.Choice(f"units_{i}", [4, 8]), activation="relu"))
    model.add(keras.layers.Dense(1))
    model.compile("adam", "mse")
    return model


@pytest.mark.parametrize(
    "tuner_class", [hs.RandomSearch, hs.BayesianOptimization], ids=["random", "bayesian"]
)
def test_a_keras_layer_loop_records_units_only_for_the_layers_built(tuner_class: Any) -> None:
    rng = np.random.default_rng(0)
    x = rng.random((64, 8)).astype("float32")
    y = x.sum(axis=1, keepdims=True).astype("float32")
    extra: dict[str, Any] = (
        {"num_initial_points": 3} if tuner_class is hs.BayesianOptimization else {}
    )
    tuner = tuner_class(
        build_model, objective="loss", max_trials=5, seed=1, storage="memory", verbose=0, **extra
    )
    # The first model is built twice (before and after Keras is known); both reads count once.
    tuner.search(x, y, epochs=1, batch_size=32)
    trials = tuner.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 5
    for trial in trials:
        n = trial.values["num_layers"]
        assert set(trial.values) == {"num_layers", *(f"units_{i}" for i in range(n))}
    assert len({t.key for t in trials}) == 5
    assert any(t.values["num_layers"] < 3 for t in trials)
