"""Keras's build_model(hp) with KerasTuner's layer loop: trials record the layers they built."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import hyperscout as hs
from hyperscout.trial import TrialState

# Imported before Keras: it picks the PyTorch backend when none is configured (CI sets none).
hk = pytest.importorskip("hyperscout.integrations.keras")
keras = pytest.importorskip("keras", reason="needs the keras extra")
torch = pytest.importorskip("torch", reason="Keras runs on the PyTorch backend in these tests")

pytestmark = [
    # torch's Tensor.__array__ has no copy= keyword; NumPy 2 warns each time Keras turns a
    # tensor into an array. Nothing of ours: Keras calls np.array(tensor).
    pytest.mark.filterwarnings(
        "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
    ),
]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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
