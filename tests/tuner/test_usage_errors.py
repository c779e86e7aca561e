"""Usage errors: a mistake in how hyperscout is called stops the search at once.

Such a mistake (an objective that returns metrics without the one the search optimises, an
executor that Keras cannot share, a typo in an enqueued parameter) is raised before any trial
where it can be known, or by the first trial that shows it; that trial is given up (it holds
no result and runs again on resume), so the study never stores a result of the mistake. A
failure of one trial (an exception, NaN in one branch) is still recorded and the search goes
on.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

import hyperscout as hs
from hyperscout.storage import open_storage
from hyperscout.storage.sql import sqlite_url
from hyperscout.trial import TrialState


def make(fn: Any, **kwargs: Any) -> hs.Tuner:
    kwargs.setdefault("storage", "memory")
    kwargs.setdefault("verbose", 0)
    kwargs.setdefault("seed", 0)
    return hs.RandomSearch(fn, **kwargs)


def assert_given_up(trial: hs.Trial) -> None:
    """The trial holds no result and its configuration runs again on resume."""
    assert trial.state is TrialState.FAILED
    assert trial.value is None and not trial.metrics
    assert trial.attrs.get("abandoned") and trial.attrs.get("rerun")


def first_trial_stops(tuner: hs.Tuner, match: str | None = None) -> str:
    """Search: a UsageError (matching ``match``) stops it in its first trial, given up.

    Returns:
        The error's message.
    """
    with pytest.raises(hs.UsageError, match=match) as caught:
        tuner.search()
    [trial] = tuner.trials
    assert_given_up(trial)
    return str(caught.value)


# -- what the objective returns --------------------------------------------------------------


def test_a_dict_without_the_objective_and_no_objective_argument_stops_at_once() -> None:
    calls = []

    def objective(hp: hs.HyperParameters) -> dict[str, float]:
        x = hp.Float("x", 0.0, 1.0)
        calls.append(x)
        return {"val_accuracy": x, "val_loss": 1 - x}

    tuner = make(objective, max_trials=5)
    message = first_trial_stops(tuner)
    assert "['val_accuracy', 'val_loss']" in message
    assert "objective=" in message and "--objective NAME" in message
    assert len(calls) == 1  # the first trial showed it; no other trial ran
    assert tuner.get_best_trials(1) == []


def test_after_the_fix_the_same_study_adopts_the_objective_and_reruns_the_trial(
    tmp_path: Path,
) -> None:
    drawn = []

    def objective(hp: hs.HyperParameters) -> dict[str, float]:
        x = hp.Float("x", 0.0, 1.0)
        drawn.append(x)
        return {"val_accuracy": x, "val_loss": 1 - x}

    options: dict[str, Any] = {"directory": tmp_path, "project_name": "p", "max_trials": 3}
    first = make(objective, storage=None, **options)
    with pytest.raises(hs.UsageError):
        first.search()
    given_up = {"x": drawn[0]}
    first.close()
    # The study holds no result yet, so it may still change its objective.
    tuner = make(objective, storage=None, objective="val_accuracy", **options)
    tuner.search()
    trials = tuner.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert trials[0].values == given_up  # the same seed proposes the same first configuration
    assert trials[0].value == trials[0].metrics["val_accuracy"]
    tuner.close()


def test_a_study_with_results_still_refuses_another_objective(tmp_path: Path) -> None:
    def objective(hp: hs.HyperParameters) -> dict[str, float]:
        x = hp.Float("x", 0.0, 1.0)
        return {"val_accuracy": x, "val_loss": 1 - x}

    options: dict[str, Any] = {"directory": tmp_path, "project_name": "p", "max_trials": 1}
    make(objective, storage=None, objective="val_loss", **options).search()
    with pytest.raises(hs.InvalidArgumentError, match="optimises 'val_loss'"):
        make(objective, storage=None, objective="val_accuracy", **options)


def test_a_named_objective_missing_from_every_trial_stops_and_suggests_the_close_name() -> None:
    def objective(hp: hs.HyperParameters) -> dict[str, float]:
        x = hp.Float("x", 0.0, 1.0)
        return {"val_los": x, "loss": x}

    message = first_trial_stops(make(objective, objective="val_loss", max_trials=5))
    assert "objective='val_loss'" in message and "['loss', 'val_los']" in message
    assert "'val_los'?" in message  # did you mean


def test_a_named_objective_missing_in_one_branch_fails_that_trial_only() -> None:
    calls = []

    def objective(hp: hs.HyperParameters) -> dict[str, float]:
        x = hp.Float("x", 0.0, 1.0)
        calls.append(x)
        return {"loss": x} if len(calls) == 2 else {"val_loss": x, "loss": x}

    tuner = make(objective, objective="val_loss", max_trials=4)
    tuner.search()
    states = [t.state for t in tuner.trials]
    assert states == [TrialState.COMPLETE, TrialState.FAILED] + [TrialState.COMPLETE] * 2
    assert "without 'val_loss'" in (tuner.trials[1].error or "")
    assert not tuner.trials[1].attrs.get("abandoned")


@pytest.mark.parametrize(
    ("result", "reason"),
    [(None, "returned None"), ("0.5", "returned a str"), (object(), "returned a object")],
)
def test_a_result_of_no_metric_in_the_first_trial_is_a_usage_error(
    result: Any, reason: str
) -> None:
    def objective(hp: hs.HyperParameters) -> Any:
        hp.Float("x", 0.0, 1.0)
        return result

    first_trial_stops(make(objective, max_trials=5), match=reason)


def test_nan_in_the_first_trial_is_that_trial_s_failure_not_a_usage_error() -> None:
    calls = []

    def objective(hp: hs.HyperParameters) -> float:
        x = hp.Float("x", 0.0, 1.0)
        calls.append(x)
        return float("nan") if len(calls) == 1 else x

    tuner = make(objective, max_trials=3)
    tuner.search()
    states = [t.state for t in tuner.trials]
    assert states == [TrialState.FAILED, TrialState.COMPLETE, TrialState.COMPLETE]
    assert "finite" in (tuner.trials[0].error or "")


def test_a_raising_objective_is_still_recorded_with_its_traceback() -> None:
    def objective(hp: hs.HyperParameters) -> float:
        x = hp.Float("x", 0.0, 1.0)
        if x < 0.7:
            raise RuntimeError("diverged")
        return x

    tuner = make(objective, max_trials=6, max_consecutive_failed_trials=6)
    tuner.search()
    failed = [t for t in tuner.trials if t.state is TrialState.FAILED]
    assert failed and all("RuntimeError: diverged" in (t.error or "") for t in failed)
    assert not any(t.attrs.get("abandoned") for t in failed)


def test_a_hyperparameter_defined_wrongly_in_a_trial_stops_the_search() -> None:
    calls = []

    def objective(hp: hs.HyperParameters) -> float:
        calls.append(1)
        units = hp.Int("units", 8, 64) if len(calls) == 1 else hp.Int("units", 8, 128)
        return float(units)

    tuner = make(objective, max_trials=5)
    with pytest.raises(hs.UsageError, match=r"'units'.*defined again differently") as caught:
        tuner.search()
    assert isinstance(caught.value.__cause__, hs.InvalidSpaceError)
    first, second = tuner.trials
    assert first.state is TrialState.COMPLETE  # a result of its own, kept
    assert_given_up(second)


@pytest.mark.parametrize(
    ("report", "reason"),
    [({"step": 0.5, "loss": 1.0}, "expected an int step"), ({"step": 1}, "at least one metric")],
)
def test_trial_report_called_wrongly_stops_the_search(report: dict[str, Any], reason: str) -> None:
    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        x = hp.Float("x", 0.0, 1.0)
        trial.report(**report)
        return x

    first_trial_stops(make(objective, max_trials=5), match=reason)


def test_tell_refuses_a_result_without_the_objective_and_keeps_the_trial_open() -> None:
    tuner = make(None, objective="val_loss")
    hp, trial = tuner.ask()
    x = hp.Float("x", 0.0, 1.0)
    with pytest.raises(hs.UsageError, match="without 'val_loss'"):
        tuner.tell(trial, {"loss": x})
    assert tuner.trials[0].state is TrialState.RUNNING  # nothing recorded
    assert tuner.tell(trial, {"val_loss": x}).state is TrialState.COMPLETE
    # Once the metric is known, a result without it is that trial's failure.
    _, other = tuner.ask()
    assert tuner.tell(other, {"loss": 1.0}).state is TrialState.FAILED


# -- a search that ends with every trial failed ---------------------------------------------


def test_a_search_shorter_than_the_failure_limit_does_not_end_silently_all_failed() -> None:
    def objective(hp: hs.HyperParameters) -> float:
        hp.Float("x", 0.0, 1.0)
        raise ValueError("broken pipeline")

    tuner = make(objective, max_trials=2)  # max_consecutive_failed_trials=3 is never reached
    with pytest.raises(hs.TooManyFailedTrialsError) as caught:
        tuner.search()
    message = str(caught.value)
    assert "no trial" in message.lower() and "ValueError: broken pipeline" in message
    assert f"trial {tuner.trials[-1].number}" in message
    assert [t.state for t in tuner.trials] == [TrialState.FAILED] * 2


def test_a_search_with_one_success_among_failures_ends_normally() -> None:
    calls = []

    def objective(hp: hs.HyperParameters) -> float:
        x = hp.Float("x", 0.0, 1.0)
        calls.append(x)
        if len(calls) == 1:
            raise ValueError("once")
        return x

    tuner = make(objective, max_trials=2)
    tuner.search()
    assert [t.state for t in tuner.trials] == [TrialState.FAILED, TrialState.COMPLETE]


# -- executors -------------------------------------------------------------------------------


class KerasLike(hs.HyperModel):
    def build(self, hp: hs.HyperParameters) -> Any:
        raise AssertionError("never built: the mistake is known before any trial")


def test_a_hypermodel_with_a_threaded_executor_is_refused_before_any_trial() -> None:
    with pytest.raises(hs.UsageError, match=r"ThreadExecutor\(n_workers=2\).*one trial at a time"):
        make(KerasLike(), executor=hs.ThreadExecutor(2), max_trials=2)
    make(KerasLike(), executor=hs.ThreadExecutor(1), max_trials=2)  # one at a time is fine


def test_a_usage_error_gives_up_the_other_running_trials_as_ctrl_c_does() -> None:
    lock, released, returned = threading.Lock(), threading.Event(), threading.Event()
    calls: list[float] = []

    def objective(hp: hs.HyperParameters) -> Any:
        x = hp.Float("x", 0.0, 1.0)
        with lock:
            calls.append(x)
            first = len(calls) == 1
        if first:  # a long trial, still running when the other shows the mistake
            released.wait(10)
            returned.set()
            return {"loss": x}
        return {"loss": x}

    space = hs.HyperParameters()
    space.Float("x", 0.0, 1.0)  # known ahead: the sampler proposes two trials at once
    tuner = make(
        objective,
        objective="val_loss",
        hyperparameters=space,
        max_trials=4,
        executor=hs.ThreadExecutor(2),
    )
    started = time.monotonic()
    with pytest.raises(hs.UsageError, match="without 'val_loss'"):
        tuner.search()
    assert time.monotonic() - started < 5  # did not wait for the long trial
    trials = tuner.trials
    assert len(trials) == 2 and len(calls) == 2
    for trial in trials:
        assert_given_up(trial)
    released.set()
    assert returned.wait(5)
    time.sleep(0.2)  # the long trial's late result is dropped: the given-up record stands
    for trial in tuner.trials:
        assert_given_up(trial)


# -- enqueue ---------------------------------------------------------------------------------


def lr_objective(hp: hs.HyperParameters) -> float:
    return hp.Float("lr", 1e-4, 1e-1, sampling="log")


def test_enqueue_refuses_a_near_miss_of_a_known_parameter() -> None:
    space = hs.HyperParameters()
    space.Float("lr", 1e-4, 1e-1, sampling="log")
    space.Int("units_1", 8, 64)
    tuner = make(lr_objective, hyperparameters=space, max_trials=2)
    with pytest.raises(hs.InvalidArgumentError) as caught:
        tuner.enqueue({"Lr": 1e-3})
    message = str(caught.value)
    assert "'Lr'" in message and "'lr'" in message
    # A new name (define-by-run may add it later) and one differing only by a digit are fine.
    tuner.enqueue({"lr": 1e-3, "momentum": 0.9, "units_2": 16})


def test_enqueue_into_an_empty_space_checks_the_names_when_the_trial_runs() -> None:
    tuner = make(lr_objective, max_trials=3)
    tuner.enqueue({"Lr": 1e-3})  # nothing is known yet: accepted for now
    message = first_trial_stops(tuner)
    assert "'Lr'" in message and "'lr'" in message


# -- the command line ------------------------------------------------------------------------


def test_run_without_objective_for_a_dict_says_to_pass_objective(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from hyperscout.cli import main

    (tmp_path / "train.py").write_text(
        "def metrics(hp):\n"
        "    x = hp.Float('x', 0.0, 1.0)\n"
        "    return {'score': x, 'val_loss': 1 - x}\n"
    )
    runs = tmp_path / "runs"
    common = [f"{tmp_path / 'train.py'}:metrics", "--directory", str(runs), "--verbose", "0"]
    result = CliRunner().invoke(main, ["run", *common, "--max-trials", "5"])
    assert result.exit_code == 1
    assert "--objective NAME" in result.output and "['score', 'val_loss']" in result.output
    assert "failed in a row" not in result.output
    result = CliRunner().invoke(main, ["run", *common, "--max-trials", "2", "--objective", "score"])
    assert result.exit_code == 0, result.output
    storage = open_storage(sqlite_url(runs / "metrics" / "hyperscout.db"))
    study = storage.load_study("metrics")
    assert study is not None
    assert [t.state for t in storage.trials(study.id)] == [TrialState.COMPLETE] * 2
    storage.close()
