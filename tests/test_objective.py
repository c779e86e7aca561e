"""Objective: the metric's direction, inferred from its name or given, never guessed."""

from __future__ import annotations

import pytest

import hyperscout as hs
from hyperscout.objective import DEFAULT_METRIC, Objective, infer_direction

MINIMISED = [
    "loss",
    "val_loss",
    "train_loss",
    "error",
    "val_error",
    "error_rate",
    "mse",
    "val_mse",
    "mae",
    "rmse",
    "rmsle",
    "mape",
    "mean_squared_error",
    "val_mean_squared_error",
    "mean_absolute_error",
    "root_mean_squared_error",
    "log_loss",
    "logloss",
    "nll",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "cross_entropy",
    "perplexity",
    "val_perplexity",
    "latency",
    "fit_time",
    "regret",
    "valLoss",
    "ValLoss",
    "val-loss",
    "val.loss",
    "MSE",
    "val_MAE",
    "meanSquaredError",
    "negative_log_likelihood",
    "neg_accuracy",
    "neg_r2",
]

MAXIMISED = [
    "acc",
    "val_acc",
    "accuracy",
    "val_accuracy",
    "binary_accuracy",
    "top_k_categorical_accuracy",
    "balanced_accuracy",
    "auc",
    "val_auc",
    "roc_auc",
    "AUC",
    "valAUC",
    "f1",
    "val_f1",
    "f1_score",
    "val_f1_score",
    "f1_macro",
    "F1Score",
    "precision",
    "val_precision",
    "average_precision",
    "mean_average_precision",
    "recall",
    "val_recall",
    "recall@10",
    "r2",
    "r2_score",
    "R2",
    "iou",
    "mean_iou",
    "ndcg@10",
    "reward",
    "episode_reward_mean",
    "log_likelihood",
    "neg_mean_squared_error",
    "neg_root_mean_squared_error",
    "neg_mean_absolute_error",
    "neg_log_loss",
    # cross_validate writes the scorer name after train_/test_.
    "test_neg_mean_squared_error",
    "train_neg_log_loss",
]

UNKNOWN = [
    "banana",
    "val_banana",
    "x",
    "neg",
    "explained_variance",
    "loss_score",  # contradictory words: a guess either way
    "accuracy_loss",
    # a metric's word and a word of change: higher is better for one, worse for another
    "error_rate_reduction",
    "val_loss_decrease",
    "accuracy_drop",
    "latency_improvement",
    "",
    "___",
]


@pytest.mark.parametrize("name", MINIMISED)
def test_minimised_metrics_are_inferred(name: str) -> None:
    assert infer_direction(name) == "min"
    objective = Objective.resolve(name)
    assert objective == Objective(name, "min")
    assert objective.is_better(0.1, 0.2)


@pytest.mark.parametrize("name", MAXIMISED)
def test_maximised_metrics_are_inferred(name: str) -> None:
    assert infer_direction(name) == "max"
    objective = Objective.resolve(name)
    assert objective == Objective(name, "max")
    assert objective.is_better(0.9, 0.8)


@pytest.mark.parametrize("name", UNKNOWN)
def test_unknown_direction_is_none(name: str) -> None:
    assert infer_direction(name) is None


@pytest.mark.parametrize("name", [n for n in UNKNOWN if n])
def test_unknown_name_raises_and_asks_for_the_direction(name: str) -> None:
    with pytest.raises(hs.ObjectiveDirectionError) as info:
        Objective.resolve(name)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, hs.HyperscoutError)
    assert repr(name) in message
    assert f'hs.Objective("{name}", "max")' in message
    assert '"min"' in message


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("error_rate_reduction", ["'error'", "'reduction'"]),
        ("loss_score", ["'loss'", "'score'"]),
    ],
)
def test_a_name_with_words_of_both_directions_says_which(name: str, words: list[str]) -> None:
    with pytest.raises(hs.ObjectiveDirectionError) as info:
        hs.RandomSearch(lambda hp: 0.0, objective=name, max_trials=1, storage="memory", verbose=0)
    message = str(info.value)
    assert all(word in message for word in words)
    assert f'hs.Objective("{name}", "max")' in message


def test_a_tuner_with_an_unknown_metric_refuses_to_start() -> None:
    with pytest.raises(hs.ObjectiveDirectionError, match=r'hs\.Objective\("banana"'):
        hs.RandomSearch(lambda hp: 0.0, objective="banana", storage="memory", verbose=0)


@pytest.mark.parametrize(
    ("spec", "direction", "expected"),
    [
        ("val_loss", "max", Objective("val_loss", "max")),  # the user knows better
        ("val_accuracy", "min", Objective("val_accuracy", "min")),
        ("banana", "max", Objective("banana", "max")),  # the direction is given: no error
        ("banana", "min", Objective("banana", "min")),
        (Objective("val_loss", "min"), "max", Objective("val_loss", "max")),
        (Objective("banana", "max"), None, Objective("banana", "max")),
        (Objective("val_loss", "max"), None, Objective("val_loss", "max")),
        (None, None, Objective(DEFAULT_METRIC, "min")),
        (None, "max", Objective(DEFAULT_METRIC, "max")),
    ],
)
def test_explicit_direction_overrides_inference(
    spec: Objective | str | None, direction: str | None, expected: Objective
) -> None:
    assert Objective.resolve(spec, direction) == expected


def test_explicit_objective_drives_the_tuner() -> None:
    def objective(hp: hs.HyperParameters) -> dict[str, float]:
        x = hp.Choice("x", [1.0, 2.0, 3.0])
        return {"val_loss": x}

    tuner = hs.GridSearch(
        objective, objective=hs.Objective("val_loss", "max"), storage="memory", verbose=0
    )
    tuner.search()
    assert tuner.objective == Objective("val_loss", "max")
    assert tuner.get_best_trials(1)[0].values == {"x": 3.0}


@pytest.mark.parametrize("direction", ["maximize", "minimise", "MAX", "", None, 1, "up"])
def test_bad_direction_raises(direction: object) -> None:
    with pytest.raises(hs.InvalidArgumentError, match="expected 'min' or 'max'") as info:
        Objective("val_loss", direction)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert "val_loss" in str(info.value)
    with pytest.raises(hs.InvalidArgumentError, match="expected 'min' or 'max'"):
        Objective.resolve("val_loss", direction="up")


@pytest.mark.parametrize("name", ["", None, 3])
def test_bad_name_raises(name: object) -> None:
    with pytest.raises(hs.InvalidArgumentError, match="metric name"):
        Objective(name, "min")  # type: ignore[arg-type]


def test_resolve_rejects_something_that_is_not_a_name() -> None:
    with pytest.raises(hs.InvalidArgumentError, match=r"hs\.Objective\(name, direction\)"):
        Objective.resolve(3.5)  # type: ignore[arg-type]


def test_sign_loss_and_is_better() -> None:
    low, high = Objective("loss", "min"), Objective("acc", "max")
    assert (low.sign, high.sign) == (1.0, -1.0)
    assert low.loss(0.3) == 0.3 and high.loss(0.3) == -0.3
    assert low.is_better(1.0, 2.0) and not low.is_better(2.0, 1.0)
    assert high.is_better(2.0, 1.0) and not high.is_better(1.0, 2.0)
    assert not high.is_better(1.0, 1.0)  # strictly better
    assert high.to_dict() == {"name": "acc", "direction": "max"}


def test_value_of_reads_the_metric_and_rejects_bad_ones() -> None:
    objective = Objective("val_acc", "max")
    assert objective.value_of({"val_acc": 0.75, "loss": 1.0}) == 0.75
    with pytest.raises(hs.InvalidArgumentError, match=r"no 'val_acc' metric.*\['loss'\]"):
        objective.value_of({"loss": 1.0})
    with pytest.raises(hs.InvalidArgumentError, match="must be a number"):
        objective.value_of({"val_acc": "high"})
    with pytest.raises(hs.InvalidArgumentError, match="must be a number"):
        objective.value_of({"val_acc": True})
    with pytest.raises(hs.InvalidArgumentError, match="not a finite number"):
        objective.value_of({"val_acc": float("nan")})
