"""How a study was made: kept with the study, shown, and checked when the study resumes."""

from __future__ import annotations

import datetime
import json
import platform
import socket
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import hyperscout as hs
from hyperscout.cli import main
from hyperscout.samplers import AutoSampler, GPSampler, GridSampler, RandomSampler, TPESampler
from hyperscout.schedulers import (
    ASHAScheduler,
    BOHBScheduler,
    FIFOScheduler,
    HyperbandScheduler,
    MedianStoppingScheduler,
    SuccessiveHalvingScheduler,
)
from hyperscout.storage import MemoryStorage, open_storage
from hyperscout.storage.sql import sqlite_url


def flat(hp: hs.HyperParameters) -> float:
    return (hp.Float("x", 0.0, 1.0) - 0.3) ** 2


def budgeted(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
    return (hp.Float("x", 0.0, 1.0) - 0.3) ** 2 + 1.0 / float(trial.budget or 1)


def hyperband(tmp_path: Path, **kwargs: Any) -> hs.Tuner:
    kwargs.setdefault("max_epochs", 9)
    return hs.Hyperband(budgeted, directory=tmp_path, project_name="hb", verbose=0, **kwargs)


# -- what is stored --------------------------------------------------------------------------


def test_a_new_study_keeps_its_provenance_and_a_resumed_tuner_reads_it(tmp_path: Path) -> None:
    space = hs.HyperParameters()
    space.Int("n", 1, 3)
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    tuner = hyperband(tmp_path, seed=3, factor=3, hyperparameters=space)
    tuner.search()
    tuner.close()

    again = hyperband(tmp_path)  # seed not given: the study's
    provenance = again.provenance
    assert provenance["hyperscout"] == hs.__version__
    assert provenance["python"] == platform.python_version()
    assert provenance["host"] == socket.gethostname()
    assert datetime.datetime.fromisoformat(provenance["created_at"]) >= before
    assert provenance["preset"] == "Hyperband"
    assert provenance["sampler"] == {"class": "RandomSampler", "settings": {}}
    assert provenance["scheduler"] == {
        "class": "HyperbandScheduler",
        "settings": {"min_budget": 1, "max_budget": 9, "factor": 3, "iterations": 1},
    }
    assert provenance["seed"] == 3 == again.seed
    assert [p["name"] for p in provenance["space"]["parameters"]] == ["n"]
    # The provenance is a copy: changing it changes nothing stored.
    provenance["seed"] = 4
    assert again.provenance["seed"] == 3
    again.close()
    storage = open_storage(sqlite_url(tmp_path / "hb" / "hyperscout.db"))
    study = storage.load_study("hb")
    assert study is not None
    assert study.meta["provenance"]["created_at"] == again.provenance["created_at"]
    json.dumps(study.meta)  # plain JSON
    storage.close()


SAMPLERS = [
    (RandomSampler(), {}),
    (GridSampler(float_points=3), {"float_points": 3}),
    (GPSampler(n_startup_trials=4, beta=2.0), {"n_startup_trials": 4, "beta": 2.0}),
    (TPESampler(n_startup_trials=6, multivariate=False), {"n_startup_trials": 6}),
    (AutoSampler(max_gp_trials=50), {"max_gp_trials": 50}),
]


@pytest.mark.parametrize(
    ("sampler", "expected"), SAMPLERS, ids=[type(s).__name__ for s, _ in SAMPLERS]
)
def test_samplers_describe_the_settings_that_decide_their_proposals(
    sampler: hs.Sampler, expected: dict[str, Any]
) -> None:
    settings = sampler.settings()
    assert json.loads(json.dumps(settings)) == settings
    assert settings.items() >= expected.items()
    if isinstance(sampler, TPESampler):
        assert settings["multivariate"] is False
    if isinstance(sampler, AutoSampler):
        assert settings["gp"] == GPSampler().settings()


SCHEDULERS = [
    (FIFOScheduler(), {}),
    (HyperbandScheduler(3, 27, factor=3), {"max_budget": 27, "min_budget": 3}),
    (SuccessiveHalvingScheduler(1, 9, factor=3), {"min_budget": 1, "max_budget": 9}),
    (ASHAScheduler(1, 27, mode="stopping"), {"max_budget": 27, "mode": "stopping"}),
    (MedianStoppingScheduler(n_startup_trials=7), {"n_startup_trials": 7}),
    (BOHBScheduler(HyperbandScheduler(1, 9), random_fraction=0.5), {"random_fraction": 0.5}),
]


@pytest.mark.parametrize(
    ("scheduler", "expected"), SCHEDULERS, ids=[type(s).__name__ for s, _ in SCHEDULERS]
)
def test_schedulers_describe_their_budgets_and_stopping_rules(
    scheduler: hs.Scheduler, expected: dict[str, Any]
) -> None:
    settings = scheduler.settings()
    assert json.loads(json.dumps(settings)) == settings
    assert settings.items() >= expected.items()
    if isinstance(scheduler, BOHBScheduler):
        assert settings["scheduler"]["settings"]["max_budget"] == 9


# -- changes refused on resume ---------------------------------------------------------------


def test_hyperband_resumed_with_other_brackets_is_refused_and_the_study_is_unchanged(
    tmp_path: Path,
) -> None:
    first = hyperband(tmp_path, seed=3)
    first.search()
    numbers = [t.number for t in first.trials]
    first.close()

    with pytest.raises(hs.InvalidArgumentError) as info:
        hyperband(tmp_path, max_epochs=27)

    message = str(info.value)
    assert "'hb'" in message and "max_budget=9, not max_budget=27" in message
    assert "project_name" in message and "overwrite=True" in message
    again = hyperband(tmp_path)
    assert [t.number for t in again.trials] == numbers
    again.close()


def test_another_strategy_on_a_study_is_refused(tmp_path: Path) -> None:
    hyperband(tmp_path, seed=3).search()

    with pytest.raises(hs.InvalidArgumentError) as info:
        hs.RandomSearch(flat, directory=tmp_path, project_name="hb", verbose=0)

    message = str(info.value)
    assert "made by Hyperband (RandomSampler with HyperbandScheduler)" in message
    assert "not RandomSearch (RandomSampler with FIFOScheduler)" in message


def test_other_sampler_settings_are_refused(tmp_path: Path) -> None:
    def grid(points: int) -> hs.Tuner:
        return hs.GridSearch(
            flat, float_points=points, directory=tmp_path, project_name="g", verbose=0
        )

    grid(3).search()
    with pytest.raises(hs.InvalidArgumentError, match=r"GridSampler's float_points=3, not "):
        grid(5)


def test_another_seed_is_refused_and_no_seed_keeps_the_study_s(tmp_path: Path) -> None:
    hyperband(tmp_path, seed=3).search()

    with pytest.raises(hs.InvalidArgumentError) as info:
        hyperband(tmp_path, seed=99)
    assert "seed=3, not seed=99" in str(info.value)
    assert "Drop seed=" in str(info.value)

    assert hyperband(tmp_path).seed == 3
    assert hyperband(tmp_path, seed=3).seed == 3


def test_a_parameter_declared_otherwise_is_refused_when_the_tuner_opens(tmp_path: Path) -> None:
    hs.RandomSearch(flat, max_trials=2, directory=tmp_path, project_name="p", verbose=0).search()
    declared = hs.HyperParameters()
    declared.Int("x", 0, 10)

    with pytest.raises(hs.InvalidArgumentError) as info:
        hs.RandomSearch(
            flat, hyperparameters=declared, directory=tmp_path, project_name="p", verbose=0
        )

    message = str(info.value)
    assert "Project 'p'" in message and "hp.Int('x')" in message
    assert "overwrite=True" in message


def test_a_parameter_the_objective_defines_otherwise_stops_the_search_at_once(
    tmp_path: Path,
) -> None:
    def as_int(hp: hs.HyperParameters) -> float:
        return float(hp.Int("x", 0, 10))

    hs.RandomSearch(flat, max_trials=3, directory=tmp_path, project_name="p", verbose=0).search()
    tuner = hs.RandomSearch(as_int, max_trials=6, directory=tmp_path, project_name="p", verbose=0)

    with pytest.raises(hs.UsageError) as info:
        tuner.search()

    message = str(info.value)
    assert "Project 'p' was searched with another definition" in message
    assert "overwrite=True" in message
    # One trial reached the new definition and was given up; no run of failures.
    assert [t.state for t in tuner.trials].count(hs.TrialState.FAILED) == 1


# -- changes accepted ------------------------------------------------------------------------


def test_safe_changes_are_accepted_and_the_search_goes_on(tmp_path: Path) -> None:
    hyperband(tmp_path, seed=3).search()
    done = len(hyperband(tmp_path).trials)

    tuner = hyperband(
        tmp_path,
        seed=3,
        hyperband_iterations=None,
        max_trials=done + 5,
        timeout=60.0,
        max_retries_per_trial=1,
        executor=hs.ThreadExecutor(2),
    )
    tuner.search()

    assert len(tuner.trials) == done + 5
    assert tuner.provenance["scheduler"]["settings"]["iterations"] == 1


PRESETS: list[tuple[str, Callable[..., hs.Tuner], Callable[..., Any]]] = [
    ("grid", lambda **kw: hs.GridSearch(**kw), flat),
    ("random", lambda **kw: hs.RandomSearch(max_trials=3, **kw), flat),
    ("bayes", lambda **kw: hs.BayesianOptimization(max_trials=3, num_initial_points=2, **kw), flat),
    ("halving", lambda **kw: hs.SuccessiveHalving(min_budget=1, max_budget=3, **kw), budgeted),
    ("hyperband", lambda **kw: hs.Hyperband(max_epochs=3, **kw), budgeted),
    ("bohb", lambda **kw: hs.BOHB(max_epochs=3, **kw), budgeted),
]


@pytest.mark.parametrize(("name", "make", "objective"), PRESETS, ids=[p[0] for p in PRESETS])
def test_every_preset_resumes_its_own_study(
    name: str, make: Callable[..., hs.Tuner], objective: Callable[..., Any]
) -> None:
    storage = MemoryStorage()
    grid = hs.HyperParameters()
    grid.Choice("x", [0.1, 0.3, 0.5])

    def tuner(**kwargs: Any) -> hs.Tuner:
        return make(
            hypermodel=objective,
            hyperparameters=grid,
            storage=storage,
            project_name=name,
            verbose=0,
            **kwargs,
        )

    tuner(seed=1).search()
    again = tuner()
    assert again.seed == 1
    assert again.provenance["preset"] == type(again).__name__


# -- old studies ---------------------------------------------------------------------------


def test_a_study_older_than_provenance_opens_and_records_it_from_then_on() -> None:
    storage = MemoryStorage()
    objective = hs.Objective("objective", "min").to_dict()
    study = storage.create_study("old", meta={"objective": objective, "seed": 5})
    trial = storage.create_trial(study.id, values={"x": 0.5})
    storage.finish_trial(study.id, trial.number, state=hs.TrialState.COMPLETE, value=0.04)

    tuner = hs.Hyperband(budgeted, max_epochs=9, storage=storage, project_name="old", verbose=0)

    assert tuner.seed == 5 and len(tuner.trials) == 1
    provenance = tuner.provenance
    assert provenance["recorded_on_resume"] is True and provenance["created_at"] is None
    assert provenance["seed"] == 5
    stored = storage.load_study("old")
    assert stored is not None and stored.meta["provenance"] == provenance
    assert stored.meta["objective"] == objective
    with pytest.raises(hs.InvalidArgumentError, match="max_budget=9, not max_budget=27"):
        hs.Hyperband(budgeted, max_epochs=27, storage=storage, project_name="old", verbose=0)


KERAS_TUNER_KEYS = {"max_epochs": 9, "factor": 3, "min_epochs": 1, "hyperband_iterations": 1}


def _study_with_old_keys(storage: MemoryStorage, preset: Callable[..., hs.Tuner]) -> None:
    """A study as hyperscout stored it before Hyperband's settings took the budget names."""
    made = preset(budgeted, max_epochs=9, storage=storage, project_name="old", verbose=0)
    made.search()
    study = storage.load_study("old")
    assert study is not None
    provenance = json.loads(json.dumps(study.meta["provenance"]))
    scheduler = provenance["scheduler"]
    if scheduler["class"] == "BOHBScheduler":
        scheduler = scheduler["settings"]["scheduler"]
    assert scheduler["settings"] == {"min_budget": 1, "max_budget": 9, "factor": 3, "iterations": 1}
    scheduler["settings"] = dict(KERAS_TUNER_KEYS)
    storage.save_meta(study.id, {**study.meta, "provenance": provenance})


@pytest.mark.parametrize("preset", [hs.Hyperband, hs.BOHB], ids=["Hyperband", "BOHB"])
def test_a_study_stored_with_hyperbands_old_setting_names_resumes(
    preset: Callable[..., hs.Tuner],
) -> None:
    storage = MemoryStorage()
    _study_with_old_keys(storage, preset)

    def resume(**kwargs: Any) -> hs.Tuner:
        return preset(budgeted, storage=storage, project_name="old", verbose=0, **kwargs)

    done = len(resume(max_epochs=9).trials)
    assert done > 0
    # hyperband_iterations only says how long the search goes on, under either name.
    longer = resume(max_epochs=9, hyperband_iterations=None, max_trials=done + 3)
    longer.search()
    assert len(longer.trials) == done + 3
    # What is stored stays as it was; a real change is still refused, in today's names.
    stored = storage.load_study("old")
    assert stored is not None and "max_epochs" in json.dumps(stored.meta["provenance"])
    with pytest.raises(hs.InvalidArgumentError, match=r"max_budget=9, not \S*max_budget=27"):
        resume(max_epochs=27)
    with pytest.raises(hs.InvalidArgumentError, match=r"min_budget=1, not \S*min_budget=3"):
        resume(max_epochs=9, min_epochs=3)


# -- the command line ------------------------------------------------------------------------


def test_the_command_line_resumes_its_study_refuses_other_brackets_and_shows_provenance(
    tmp_path: Path,
) -> None:
    source = tmp_path / "objectives.py"
    source.write_text(
        textwrap.dedent(
            """
            def epochs(hp, trial):
                return (hp.Float("x", 0.0, 1.0) - 0.3) ** 2 + 1.0 / trial.budget
            """
        )
    )
    runs = tmp_path / "runs"

    def run(*args: str) -> Any:
        command = ["run", f"{source}:epochs", "--strategy", "hyperband", "--verbose", "0"]
        command += ["--directory", str(runs), "--project-name", "hb", *args]
        return CliRunner().invoke(main, command)

    assert run("--max-epochs", "9", "--seed", "3").exit_code == 0
    # --max-trials turns one set of brackets into as many as the trials allow: accepted.
    resumed = run("--max-epochs", "9", "--max-trials", "20")
    assert resumed.exit_code == 0, resumed.output
    assert "Resuming hb" in resumed.output
    refused = run("--max-epochs", "27")
    assert refused.exit_code == 1
    assert "max_budget=9, not max_budget=27" in " ".join(refused.output.split())

    shown = CliRunner().invoke(main, ["show", str(runs / "hb")])

    assert shown.exit_code == 0, shown.output
    lines = [" ".join(line.split()) for line in shown.output.splitlines()]
    assert "made by: Hyperband" in lines
    assert (
        "scheduler: HyperbandScheduler(min_budget=1, max_budget=9, factor=3, iterations=1)" in lines
    )
    assert "seed: 3" in lines
    assert f"versions: hyperscout {hs.__version__}, Python {platform.python_version()}" in lines


def test_show_says_when_a_study_s_provenance_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    storage = open_storage(sqlite_url(tmp_path / "old" / "hyperscout.db"))
    storage.create_study("old", meta={"objective": {"name": "loss", "direction": "min"}})
    storage.close()

    shown = CliRunner().invoke(main, ["show", str(tmp_path / "old")])

    assert shown.exit_code == 0, shown.output
    assert "made by: unknown (made before hyperscout kept provenance)" in " ".join(
        shown.output.split()
    )
