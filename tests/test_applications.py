"""hyperscout.applications: KerasTuner's ready-made image classifiers, as ``kt.applications``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import hyperscout as kt  # the one line a KerasTuner script changes
from hyperscout.applications import HyperResNet, HyperXception
from hyperscout.trial import TrialState
from integrations.keras_helpers import (  # one_torch_thread: an autouse fixture
    IGNORE_TENSOR_ARRAY_WARNING,
    keras,
    one_torch_thread,  # noqa: F401
)

pytestmark = [IGNORE_TENSOR_ARRAY_WARNING]


@pytest.fixture(scope="module")
def images() -> tuple[np.ndarray, np.ndarray]:
    """24 random 32x32 colour images, two classes, one-hot labels (as KerasTuner's expect)."""
    rng = np.random.default_rng(0)
    x = rng.random((24, 32, 32, 3)).astype("float32")
    y = keras.utils.to_categorical(np.arange(24) % 2, 2)
    return x, y


def test_kerastuner_names_reach_the_hypermodels() -> None:
    assert kt.applications.HyperResNet is HyperResNet
    assert kt.applications.HyperXception is HyperXception
    assert issubclass(HyperResNet, kt.HyperModel) and issubclass(HyperXception, kt.HyperModel)


@pytest.mark.parametrize("name", ["HyperEfficientNet", "HyperImageAugment"])
def test_the_hypermodels_not_provided_say_what_to_use_instead(name: str) -> None:
    with pytest.raises(ImportError, match=f"{name} is not provided: .* instead"):
        exec(f"from hyperscout.applications import {name}", {})


@pytest.mark.parametrize("cls", [HyperResNet, HyperXception])
def test_arguments_are_checked_as_sentences(cls: type[Any]) -> None:
    with pytest.raises(kt.InvalidArgumentError, match=r"classes=\.\.\.\): expected the number"):
        cls(input_shape=(32, 32, 3))
    with pytest.raises(kt.InvalidArgumentError, match="got neither"):
        cls(classes=2)
    with pytest.raises(kt.InvalidArgumentError, match=r"expected \(height, width, channels\)"):
        cls(input_shape=(32, 32), classes=2)


@pytest.mark.slow
def test_resnet_depth_and_version_pick_the_keras_applications_network() -> None:
    hypermodel = HyperResNet(input_shape=(32, 32, 3), classes=3)
    layers = {}
    for version, depth in (("v1", 50), ("v2", 50), ("v1", 101)):
        hp = kt.HyperParameters()
        hp.values.update({"version": version, "depth": depth})
        model = hypermodel.build(hp)
        assert model.output_shape == (None, 3)
        assert model.name == f"ResNet{depth}{version}"
        layers[version, depth] = len(model.layers)
    assert layers["v1", 101] > layers["v1", 50]  # more residual blocks
    assert layers["v1", 50] != layers["v2", 50]  # pre-activation blocks differ
    names = hp.names
    assert names == ["version", "depth", "pooling", "optimizer", "learning_rate"]
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)  # KerasTuner's default


def test_xception_width_and_depth_follow_the_hyperparameters() -> None:
    hypermodel = HyperXception(input_shape=(32, 32, 3), classes=2)

    def separable_widths(**values: Any) -> list[int]:
        hp = kt.HyperParameters()
        hp.values.update(values)
        model = hypermodel.build(hp)
        assert model.output_shape == (None, 2)
        return [
            layer.filters
            for layer in model.layers
            if isinstance(layer, keras.layers.SeparableConv2D)
        ]

    # Two separable convolutions per block, then the exit block at twice the width.
    assert separable_widths(sep_num_filters=128, num_residual_blocks=2) == [128] * 4 + [256] * 2
    assert separable_widths(sep_num_filters=256, num_residual_blocks=3, activation="selu") == (
        [256] * 6 + [512] * 2
    )


def test_feature_extractor_without_top_is_left_uncompiled() -> None:
    hp = kt.HyperParameters()
    hp.values.update({"sep_num_filters": 128, "num_residual_blocks": 2})
    inputs = keras.Input((32, 32, 3))
    model = HyperXception(include_top=False, input_tensor=inputs).build(hp)
    assert model.output_shape == (None, 256)  # the pooled exit-block features
    assert getattr(model, "optimizer", None) is None
    assert "learning_rate" not in hp.values  # no classifier: nothing of it is tuned


@pytest.mark.slow
@pytest.mark.parametrize(
    ("cls", "small"),
    [
        (HyperXception, {"sep_num_filters": 128, "num_residual_blocks": 2}),
        (HyperResNet, {"version": "v2", "depth": 50}),
    ],
)
def test_a_search_trains_the_ready_made_classifier(
    cls: type[Any], small: dict[str, Any], images: tuple[np.ndarray, np.ndarray]
) -> None:
    x, y = images
    hypermodel = cls(input_shape=(32, 32, 3), classes=2)
    tuner = kt.RandomSearch(
        hypermodel, objective="val_accuracy", max_trials=1, storage="memory", seed=0, verbose=0
    )
    tuner.enqueue(small)  # a small configuration keeps CI fast
    tuner.search(x[:16], y[:16], epochs=1, batch_size=8, validation_data=(x[16:], y[16:]))
    (trial,) = tuner.trials
    assert trial.state is TrialState.COMPLETE, trial.error
    assert 0.0 <= trial.score <= 1.0 and set(small.items()) <= set(trial.values.items())
    model = tuner.hypermodel.build(trial.hyperparameters)
    assert model.count_params() == tuner.get_best_models(1)[0].count_params()
