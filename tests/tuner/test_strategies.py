"""The strategy registry, and KerasTuner's call forms of the presets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import hyperscout as hs
from hyperscout.cli import main
from hyperscout.storage import open_storage
from hyperscout.tuner.strategies import STRATEGIES, make_tuner, strategy


def budgeted(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
    x = hp.Float("x", -1.0, 1.0)
    assert trial.budget is not None
    return (x - 0.25) ** 2 + 1.0 / float(trial.budget)


def plain(hp: hs.HyperParameters) -> float:
    return (hp.Float("x", -1.0, 1.0) - 0.25) ** 2 + hp.Choice("c", [0.0, 0.5])


def test_every_preset_is_registered_once() -> None:
    presets = {s.preset for s in STRATEGIES.values()}
    assert len(presets) == len(STRATEGIES)
    for name in ("GridSearch", "RandomSearch", "BayesianOptimization", "SuccessiveHalving"):
        assert getattr(hs, name) in presets
    for name in ("Hyperband", "BOHB", "ASHA"):
        assert getattr(hs, name) in presets


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_each_strategy_runs_with_one_vocabulary(name: str) -> None:
    entry = STRATEGIES[name]
    options: dict[str, Any] = {"storage": "memory", "verbose": 0, "seed": 0}
    if entry.budgeted:
        options["max_budget"] = 9
    if not entry.ends:
        options["max_trials"] = 20
    tuner = make_tuner(name, budgeted if entry.budgeted else plain, **options)
    assert isinstance(tuner, entry.preset)
    tuner.search()
    trials = tuner.trials
    assert trials and all(t.state is hs.TrialState.COMPLETE for t in trials)
    budgets = {t.budget for t in trials}
    if entry.budgeted:
        assert max(b for b in budgets if b is not None) == 9
        assert min(b for b in budgets if b is not None) == 1
    else:
        assert budgets == {None}
    if not entry.ends:
        assert len(trials) == 20


def test_unknown_strategy_lists_the_valid_ones() -> None:
    with pytest.raises(hs.InvalidArgumentError) as info:
        strategy("hyperbnd", owner="SearchCV", argument="strategy")
    message = str(info.value)
    assert message.startswith("SearchCV(strategy=...): expected one of 'random', 'grid'")
    assert "did you mean 'hyperband'?" in message and message.endswith("got 'hyperbnd'.")


def test_budgeted_strategy_needs_a_full_budget() -> None:
    with pytest.raises(hs.InvalidArgumentError, match=r"^Hyperband\(max_budget=\.\.\.\)"):
        make_tuner("hyperband", budgeted, storage="memory", verbose=0)


@pytest.mark.parametrize("name", ["halving", "asha"])
def test_cli_offers_every_registered_strategy(name: str, tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "def objective(hp, trial):\n"
        "    x = hp.Float('x', -1.0, 1.0)\n"
        "    return (x - 0.25) ** 2 + 1.0 / trial.budget\n"
    )
    args = ["run", f"{script}:objective", "--strategy", name, "--max-epochs", "9"]
    args += ["--directory", str(tmp_path), "--seed", "0", "--verbose", "0"]
    if not STRATEGIES[name].ends:
        args += ["--max-trials", "20"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    storage = open_storage(f"sqlite:///{tmp_path / 'objective' / 'hyperscout.db'}")
    study = storage.load_study("objective")
    assert study is not None
    trials = storage.trials(study.id)
    storage.close()
    assert {t.budget for t in trials} >= {1, 9}


def test_cli_refuses_an_unregistered_strategy(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text("def objective(hp):\n    return hp.Float('x', 0.0, 1.0)\n")
    result = CliRunner().invoke(main, ["run", f"{script}:objective", "--strategy", "anneal"])
    assert result.exit_code == 2
    assert "'anneal' is not one of" in result.output and "'asha'" in result.output


# -- KerasTuner's call forms -------------------------------------------------------------------
def build_metrics(hp: hs.HyperParameters) -> dict[str, float]:
    units = hp.Int("units", 8, 64, step=8)
    return {"val_loss": abs(units - 32) / 32.0, "val_accuracy": 1.0 - abs(units - 32) / 64.0}


def test_random_search_takes_objective_and_max_trials_by_position() -> None:
    tuner = hs.RandomSearch(build_metrics, "val_accuracy", 5, 3, storage="memory", verbose=0)
    assert (tuner.objective.name, tuner.objective.direction) == ("val_accuracy", "max")
    assert (tuner.max_trials, tuner.seed) == (5, 3)
    tuner.search()
    assert len(tuner.trials) == 5


def test_bayesian_and_grid_take_kerastuner_positions() -> None:
    bo = hs.BayesianOptimization(build_metrics, "val_loss", 4, 2, storage="memory", verbose=0)
    assert (bo.objective.name, bo.max_trials) == ("val_loss", 4)
    grid = hs.GridSearch(build_metrics, "val_loss", 3, 1, storage="memory", verbose=0)
    grid.search()
    assert [t.values["units"] for t in grid.trials] == [8, 16, 24]


def test_hyperband_takes_max_epochs_factor_iterations_by_position() -> None:
    tuner = hs.Hyperband(budgeted, "loss", 9, 3, 1, 0, storage="memory", verbose=0)
    tuner.search()
    assert sorted({t.budget for t in tuner.trials}) == [1, 3, 9]
    assert tuner.seed == 0


def test_hyperband_defaults_to_kerastuners_hundred_epochs() -> None:
    tuner = hs.Hyperband(budgeted, "loss", storage="memory", verbose=0)
    brackets = tuner.scheduler.brackets()  # type: ignore[attr-defined]
    assert max(rung.budget for bracket in brackets for rung in bracket.rungs) == 100


@pytest.mark.parametrize(
    "name", ["distribution_strategy", "max_model_size", "logger", "tuner_id", "oracle", "loss"]
)
def test_kerastuner_only_keywords_get_a_sentence(name: str) -> None:
    with pytest.raises(hs.InvalidArgumentError) as info:
        hs.RandomSearch(build_metrics, objective="val_loss", storage="memory", **{name: None})
    message = str(info.value)
    assert message.startswith(f"RandomSearch({name}=...): KerasTuner's argument has no meaning")
    assert message.endswith("Remove it.")


def test_unknown_keyword_names_the_near_miss() -> None:
    with pytest.raises(hs.InvalidArgumentError) as info:
        hs.GridSearch(build_metrics, objective="val_loss", storage="memory", max_trial=3)
    assert str(info.value).startswith("GridSearch(max_trial=...): expected no such argument")
    assert "did you mean max_trials=?" in str(info.value)


@pytest.mark.parametrize("preset", ["Hyperband", "BOHB", "ASHA"])
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"max_epochs": 0}, "(max_epochs=...): expected a finite number > 0, got 0."),
        ({"max_epochs": 9, "min_epochs": 27}, "(min_epochs=...): expected a finite number in"),
    ],
)
def test_budget_errors_use_kerastuners_names(
    preset: str, kwargs: dict[str, Any], expected: str
) -> None:
    with pytest.raises(hs.InvalidArgumentError) as info:
        getattr(hs, preset)(budgeted, storage="memory", max_trials=5, **kwargs)
    assert str(info.value).startswith(preset + expected)
