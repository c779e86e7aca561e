"""The tuner loop: objectives, failures, retries, ask/tell, resume within one process."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

import hyperscout as hs
from hyperscout.trial import TrialState


def quadratic(hp: hs.HyperParameters) -> float:
    x = hp.Float("x", -2.0, 2.0)
    return (x - 1.0) ** 2


def make(fn: Any = quadratic, **kwargs: Any) -> hs.Tuner:
    kwargs.setdefault("storage", "memory")
    kwargs.setdefault("verbose", 0)
    kwargs.setdefault("seed", 0)
    return hs.RandomSearch(fn, **kwargs)


def test_bare_float_is_minimised_and_best_is_the_smallest() -> None:
    tuner = make(max_trials=15)
    tuner.search()
    values = [t.value for t in tuner.trials]
    assert len(values) == 15
    best = tuner.get_best_trials(3)
    assert [t.value for t in best] == sorted(v for v in values if v is not None)[:3]
    assert tuner.get_best_hyperparameters(1)[0].values == dict(best[0].values)


def test_metric_dict_with_inferred_max_direction() -> None:
    def objective(hp: hs.HyperParameters) -> dict[str, float]:
        x = hp.Float("x", 0.0, 1.0)
        return {"val_accuracy": x, "val_loss": 1 - x}

    tuner = make(objective, objective="val_accuracy", max_trials=10)
    tuner.search()
    best = tuner.get_best_trials(1)[0]
    assert best.value == max(t.value for t in tuner.trials if t.value is not None)
    assert set(best.metrics) == {"val_accuracy", "val_loss"}


def test_explicit_objective_overrides_inference() -> None:
    tuner = make(
        lambda hp: {"score": hp.Float("x", 0.0, 1.0)},
        objective=hs.Objective("score", "min"),
        max_trials=8,
    )
    tuner.search()
    assert tuner.get_best_trials(1)[0].value == min(t.value for t in tuner.trials)


def test_unknown_metric_direction_is_an_error_not_a_guess() -> None:
    with pytest.raises(hs.ObjectiveDirectionError, match="banana"):
        make(objective="banana")


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("max_trials", 0),
        ("max_trials", 2.5),
        ("seed", -1),
        ("executions_per_trial", 0),
        ("max_retries_per_trial", -1),
        ("max_consecutive_failed_trials", 0),
        ("timeout", -5),
        ("verbose", True),
        ("verbose", 7),
        ("verbose", 2.0),
    ],
)
def test_bad_arguments_name_the_argument(argument: str, value: Any) -> None:
    with pytest.raises(
        hs.InvalidArgumentError, match=rf"^RandomSearch\({argument}=\.\.\.\): expected"
    ) as info:
        make(**{argument: value})
    assert repr(value) in str(info.value)


def test_objective_with_trial_argument_reports() -> None:
    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        x = hp.Float("x", 0.0, 1.0)
        for epoch in range(3):
            trial.report(epoch, val_loss=x / (epoch + 1))
        return x

    tuner = make(objective, max_trials=3)
    tuner.search()
    for trial in tuner.trials:
        assert sorted(trial.intermediate) == [0, 1, 2]
        assert trial.intermediate[2]["val_loss"] == pytest.approx(trial.values["x"] / 3)


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (None, "returned None"),
        ("0.5", "returned a str"),
        ({"other": 1.0}, "without 'objective'"),
        ({"objective": float("-inf")}, "finite"),
    ],
)
def test_bad_return_values_fail_the_trial_and_the_search_goes_on(result: Any, reason: str) -> None:
    calls = []

    def objective(hp: hs.HyperParameters) -> Any:
        x = hp.Float("x", 0.0, 1.0)
        calls.append(x)
        return result if len(calls) == 2 else x

    tuner = make(objective, max_trials=4)
    tuner.search()
    states = [t.state for t in tuner.trials]
    assert states == [
        TrialState.COMPLETE,
        TrialState.FAILED,
        TrialState.COMPLETE,
        TrialState.COMPLETE,
    ]
    failed = tuner.trials[1]
    assert failed.error is not None and reason in failed.error
    assert failed.value is None


@pytest.mark.parametrize(
    "result", [10**400, -(10**400), {"objective": 10**400}], ids=["int", "negative", "dict"]
)
def test_a_value_too_large_for_a_float_is_said_so(result: Any) -> None:
    def objective(hp: hs.HyperParameters) -> Any:
        hp.Float("x", 0.0, 1.0)
        return result

    tuner = make(objective, max_trials=1)
    with pytest.raises(hs.TooManyFailedTrialsError):
        tuner.search()
    error = tuner.trials[0].error
    assert error is not None
    assert "too large for a float" in error and "an int of 401 digits" in error
    assert "OverflowError" not in error


def test_a_secondary_metric_that_is_not_a_number_is_stored_as_null_with_a_warning() -> None:
    def objective(hp: hs.HyperParameters) -> dict[str, Any]:
        x = hp.Float("x", 0.0, 1.0)
        return {"objective": x, "accuracy": float("nan"), "note": "n/a", "loss": x}

    tuner = make(objective, max_trials=3)
    with pytest.warns(hs.HyperscoutWarning) as caught:
        tuner.search()

    assert [t.state for t in tuner.trials] == [TrialState.COMPLETE] * 3
    for trial in tuner.trials:
        assert trial.metrics["accuracy"] is None and trial.metrics["note"] is None
        assert trial.metrics["loss"] == trial.value
    messages = [str(w.message) for w in caught if issubclass(w.category, hs.HyperscoutWarning)]
    assert any("'accuracy'" in m and "stored as null" in m for m in messages)
    assert any("'note'" in m for m in messages)


def test_raising_objective_keeps_the_traceback() -> None:
    def objective(hp: hs.HyperParameters) -> float:
        x = hp.Float("x", 0.0, 1.0)
        if x > 0.5:
            raise RuntimeError(f"diverged at x={x}")
        return x

    tuner = make(objective, max_trials=12, max_consecutive_failed_trials=12)
    tuner.search()
    failed = [t for t in tuner.trials if t.state is TrialState.FAILED]
    assert failed, "seed 0 draws some x > 0.5"
    for trial in failed:
        assert trial.error is not None
        assert "RuntimeError: diverged at x=" in trial.error
        assert "Traceback (most recent call last)" in trial.error
        assert "in objective" in trial.error
    assert len(tuner.trials) == 12


def test_consecutive_failures_stop_the_search_with_the_last_traceback() -> None:
    def objective(hp: hs.HyperParameters) -> float:
        hp.Float("x", 0.0, 1.0)
        raise ValueError("broken pipeline")

    tuner = make(objective, max_trials=50, max_consecutive_failed_trials=3)
    with pytest.raises(hs.TooManyFailedTrialsError, match="3 trials failed in a row") as info:
        tuner.search()
    assert "ValueError: broken pipeline" in str(info.value)
    assert "Traceback" in str(info.value)
    assert [t.state for t in tuner.trials] == [TrialState.FAILED] * 3


def test_retries_rerun_the_same_configuration() -> None:
    attempts: dict[float, int] = {}

    def flaky(hp: hs.HyperParameters) -> float:
        x = hp.Float("x", 0.0, 1.0)
        attempts[x] = attempts.get(x, 0) + 1
        if attempts[x] < 3:
            raise ConnectionError("transient")
        return x

    tuner = make(flaky, max_trials=2, max_retries_per_trial=2)
    tuner.search()
    trials = tuner.trials
    assert [t.state for t in trials] == [
        TrialState.FAILED,
        TrialState.FAILED,
        TrialState.COMPLETE,
    ] * 2
    assert trials[1].values == trials[0].values == trials[2].values
    assert trials[2].attrs["retry_of"] == 1 and trials[2].attrs["attempt"] == 2
    assert sum(t.state is TrialState.COMPLETE for t in trials) == 2


def test_retries_exhausted_counts_as_one_failed_trial() -> None:
    def always_fails(hp: hs.HyperParameters) -> float:
        hp.Float("x", 0.0, 1.0)
        raise RuntimeError("no")

    tuner = make(
        always_fails, max_trials=5, max_retries_per_trial=1, max_consecutive_failed_trials=2
    )
    with pytest.raises(hs.TooManyFailedTrialsError):
        tuner.search()
    # Two configurations, each tried twice.
    trials = tuner.trials
    assert len(trials) == 4
    assert trials[0].values == trials[1].values != trials[2].values == trials[3].values


def test_executions_per_trial_average_the_metrics() -> None:
    runs = iter([1.0, 3.0, 10.0, 20.0])

    def objective(hp: hs.HyperParameters) -> dict[str, float]:
        hp.Boolean("b")
        value = next(runs)
        return {"val_loss": value, "other": 2 * value}

    tuner = make(objective, objective="val_loss", max_trials=2, executions_per_trial=2)
    tuner.search()
    assert [t.value for t in tuner.trials] == [2.0, 15.0]
    assert tuner.trials[0].metrics["other"] == 4.0


def test_trial_pruned_exception_records_pruned_with_last_report() -> None:
    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        x = hp.Float("x", 0.0, 1.0)
        trial.report(0, objective=x + 1)
        raise hs.TrialPruned()

    tuner = make(objective, max_trials=2)
    tuner.search()
    for trial in tuner.trials:
        assert trial.state is TrialState.PRUNED
        assert trial.value == pytest.approx(trial.values["x"] + 1)
    assert tuner.get_best_trials(1) == []


def test_timeout_stops_starting_new_trials() -> None:
    def slow(hp: hs.HyperParameters) -> float:
        time.sleep(0.05)
        return hp.Float("x", 0.0, 1.0)

    tuner = make(slow, max_trials=1000, timeout=0.3)
    started = time.monotonic()
    tuner.search()
    assert time.monotonic() - started < 2.0
    assert 2 <= len(tuner.trials) <= 10


def test_space_declared_ahead_and_grown_by_the_objective() -> None:
    hp = hs.HyperParameters()
    hp.Choice("optimizer", ["adam", "sgd"])

    def objective(hp: hs.HyperParameters) -> float:
        lr = hp.Float("lr", 1e-4, 1e-1, sampling="log")
        return lr if hp.get("optimizer") == "adam" else 2 * lr

    tuner = make(objective, hyperparameters=hp, max_trials=6)
    tuner.search()
    assert tuner.hyperparameters.names == ["optimizer", "lr"]
    assert {t.values["optimizer"] for t in tuner.trials} == {"adam", "sgd"}
    assert all(1e-4 <= t.values["lr"] <= 1e-1 for t in tuner.trials)


def test_inactive_conditional_parameters_are_absent_from_values() -> None:
    def objective(hp: hs.HyperParameters) -> float:
        rate = 0.0
        if hp.Boolean("dropout"):
            with hp.conditional_scope("dropout", [True]):
                rate = hp.Float("rate", 0.1, 0.5, step=0.1)
        return rate

    tuner = make(objective, max_trials=10)
    tuner.search()
    for trial in tuner.trials:
        assert ("rate" in trial.values) == trial.values["dropout"]


def test_ask_and_tell() -> None:
    tuner = make(max_trials=None)
    told = []
    for _ in range(5):
        hp, trial = tuner.ask()
        x = hp.Float("x", -1.0, 1.0)
        trial.report(0, objective=abs(x) + 1)
        told.append(tuner.tell(trial, abs(x)))
    assert [t.state for t in told] == [TrialState.COMPLETE] * 5
    assert [t.number for t in tuner.trials] == [0, 1, 2, 3, 4]
    assert tuner.trials[3].intermediate[0]["objective"] == pytest.approx(told[3].value + 1)
    with pytest.raises(hs.InvalidArgumentError, match="already told"):
        tuner.tell(trial, 1.0)


def test_ask_and_tell_failures_and_pruning() -> None:
    tuner = make(max_trials=None)
    hp, trial = tuner.ask()
    hp.Float("x", 0.0, 1.0)
    failed = tuner.tell(trial, state=TrialState.FAILED, error="OOM on GPU")
    assert failed.state is TrialState.FAILED and failed.error == "OOM on GPU"
    hp, trial = tuner.ask()
    hp.Float("x", 0.0, 1.0)
    trial.report(3, objective=0.25)
    pruned = tuner.tell(trial, state=TrialState.PRUNED)
    assert pruned.state is TrialState.PRUNED and pruned.value == 0.25
    hp, trial = tuner.ask()
    assert tuner.tell(trial, float("nan")).state is TrialState.FAILED


def test_ask_raises_search_finished_when_the_grid_is_exhausted() -> None:
    tuner = hs.GridSearch(lambda hp: float(hp.Boolean("b")), storage="memory", verbose=0)
    for _ in range(2):
        hp, trial = tuner.ask()
        tuner.tell(trial, float(hp.Boolean("b")))
    with pytest.raises(hs.SearchFinished, match="every configuration"):
        tuner.ask()


def test_a_second_tuner_on_the_same_storage_resumes() -> None:
    storage = hs.MemoryStorage()
    first = make(max_trials=4, storage=storage, project_name="p")
    first.search()
    before = [t.values for t in first.trials]
    second = make(max_trials=7, storage=storage, project_name="p")
    assert [t.number for t in second.trials] == [0, 1, 2, 3]
    second.search()
    assert len(second.trials) == 7
    assert [t.values for t in second.trials[:4]] == before
    assert len({t.key for t in second.trials}) == 7


def test_same_project_with_another_objective_is_refused() -> None:
    storage = hs.MemoryStorage()
    make(max_trials=1, storage=storage, project_name="p", objective="val_loss").search()
    with pytest.raises(hs.InvalidArgumentError, match="overwrite=True"):
        make(storage=storage, project_name="p", objective="val_accuracy")
    fresh = make(storage=storage, project_name="p", objective="val_accuracy", overwrite=True)
    assert fresh.trials == []


def test_overwrite_starts_over(tmp_path: Any) -> None:
    first = make(max_trials=3, storage=None, directory=tmp_path, project_name="p")
    first.search()
    assert (tmp_path / "p" / "hyperscout.db").exists()
    again = make(max_trials=3, storage=None, directory=tmp_path, project_name="p")
    assert len(again.trials) == 3
    fresh = make(max_trials=2, storage=None, directory=tmp_path, project_name="p", overwrite=True)
    assert fresh.trials == []
    fresh.search()
    assert len(fresh.trials) == 2
    for tuner in (first, again, fresh):
        tuner.storage.close()


def test_seed_is_kept_with_the_study_so_resume_is_reproducible() -> None:
    storage = hs.MemoryStorage()
    tuner = hs.RandomSearch(quadratic, max_trials=3, storage=storage, verbose=0)
    tuner.search()
    again = hs.RandomSearch(quadratic, max_trials=3, storage=storage, verbose=0)
    assert again.seed == tuner.seed


def test_results_summary_prints_the_best_trials() -> None:
    from rich.console import Console

    tuner = make(max_trials=6)
    tuner.search()
    console = Console(record=True, width=200)
    tuner.results_summary(2, console=console)
    text = console.export_text()
    best = tuner.get_best_trials(2)
    assert "best 2 of 6 trials" in text
    assert f"{best[0].values['x']:.4g}" in text
    tuner.search_space_summary(console=console)
    assert "-2.0 .. 2.0" in console.export_text()


def test_trial_report_rejects_bad_metrics() -> None:
    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        hp.Float("x", 0.0, 1.0)
        trial.report(0, val_loss=math.nan)
        return 1.0

    tuner = make(objective, max_trials=1)
    with pytest.raises(hs.TooManyFailedTrialsError, match="no trial succeeded"):
        tuner.search()  # its only trial failed
    error = tuner.trials[0].error
    assert error is not None and "'val_loss' must be a finite number" in error


def test_enqueued_configurations_run_first_and_once() -> None:
    def objective(hp: hs.HyperParameters) -> float:
        lr = hp.Float("lr", 1e-4, 1e-1, sampling="log")
        units = hp.Int("units", 8, 64, step=8)
        return lr * units

    storage = hs.MemoryStorage()
    tuner = make(objective, max_trials=4, storage=storage)
    tuner.enqueue({"lr": 1e-3, "units": 32})
    tuner.enqueue({"lr": 1e-2})  # units drawn like a new parameter
    tuner.search()
    trials = tuner.trials
    assert trials[0].values == {"lr": 1e-3, "units": 32}
    assert trials[1].values["lr"] == 1e-2 and trials[1].values["units"] in range(8, 65, 8)
    assert "enqueued" not in trials[2].attrs
    # The same script run again enqueues the same points: they are not run twice.
    again = make(objective, max_trials=6, storage=storage)
    again.enqueue({"lr": 1e-3, "units": 32})
    again.search()
    assert sum(t.values == {"lr": 1e-3, "units": 32} for t in again.trials) == 1
    assert len(again.trials) == 6


def test_enqueue_rejects_values_outside_a_known_parameter() -> None:
    hp = hs.HyperParameters()
    hp.Int("units", 8, 64, step=8)
    tuner = make(quadratic, hyperparameters=hp)
    with pytest.raises(hs.InvalidArgumentError, match="'units'") as info:
        tuner.enqueue({"units": 30})
    assert "30" in str(info.value)


def test_grid_search_does_not_repeat_an_enqueued_point() -> None:
    tuner = hs.GridSearch(
        lambda hp: hp.Int("a", 0, 3) * 1.0, storage="memory", verbose=0, max_trials=10
    )
    tuner.enqueue({"a": 2})
    tuner.search()
    assert [t.values["a"] for t in tuner.trials] == [2, 0, 1, 3]


def test_verbose_zero_is_silent_and_two_prints_each_trial(
    capsys: pytest.CaptureFixture[str],
) -> None:
    make(max_trials=3, verbose=0).search()
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    make(max_trials=3, verbose=2).search()
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.startswith("trial ")]
    assert len(lines) == 3
    assert lines[0].startswith("trial 0: COMPLETE objective=")


def test_checkpoint_dir_is_per_trial_and_promoted_trials_see_the_previous_one(
    tmp_path: Any,
) -> None:
    seen: dict[int, Any] = {}

    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        x = hp.Float("x", 0.0, 1.0)
        (trial.checkpoint_dir / "weights.txt").write_text(str(x))
        seen[trial.number] = (trial.previous_checkpoint_dir, trial.previous_budget)
        return x

    tuner = make(objective, max_trials=None, storage=None, directory=tmp_path, project_name="ck")
    hp, first = tuner.ask()
    objective(hp, first)
    tuner.tell(first, 0.5)
    assert (tmp_path / "ck" / "checkpoints" / "trial_00000" / "weights.txt").exists()
    assert seen[0] == (None, None)
    # A promotion: a new trial with the same values, a higher budget, and promoted_from.
    from hyperscout.schedulers import Suggestion

    record = tuner._start_trial(Suggestion({"x": 0.25}, budget=9, attrs={"promoted_from": 0}))
    handle = tuner._running_trial(record)
    assert handle.previous_checkpoint_dir == tmp_path / "ck" / "checkpoints" / "trial_00000"
    assert handle.previous_budget is None and handle.budget == 9
    assert (handle.previous_checkpoint_dir / "weights.txt").read_text() == str(
        first and tuner.trials[0].values["x"]
    )
    tuner.close()
    again = make(
        max_trials=None, storage=None, directory=tmp_path, project_name="ck", overwrite=True
    )
    # overwrite=True removes the trial folders; the folder and its marker stay.
    assert [p.name for p in (tmp_path / "ck" / "checkpoints").iterdir()] == [".hyperscout"]
    again.close()
