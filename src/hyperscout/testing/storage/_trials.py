"""The storage conformance tests of trials: numbers, fields, states, JSON, concurrent writers."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from hyperscout.exceptions import StorageError
from hyperscout.storage.base import Storage
from hyperscout.testing.storage._base import SAMPLE_VALUES, NotJSON, StorageSuite
from hyperscout.trial import Trial, TrialState

__all__ = ["TrialTests"]


class TrialTests(StorageSuite):
    """Trials: dense numbers, every field read back, finishing once, states, threads."""

    # -- trials --------------------------------------------------------------------------
    def test_trial_numbers_are_dense_from_zero(self, storage: Storage) -> None:
        study = storage.create_study("dense")
        numbers = [storage.create_trial(study.id, values={"i": i}).number for i in range(5)]
        assert numbers == [0, 1, 2, 3, 4]
        assert [t.number for t in storage.trials(study.id)] == numbers
        assert [t.values["i"] for t in storage.trials(study.id)] == numbers

    def test_new_trial_is_running(self, storage: Storage) -> None:
        study = storage.create_study("new")
        trial = storage.create_trial(study.id, values={"x": 1}, budget=3, attrs={"rung": 0})
        assert trial.state is TrialState.RUNNING
        assert not trial.is_finished
        assert dict(trial.values) == {"x": 1}
        assert trial.budget == 3
        assert dict(trial.attrs) == {"rung": 0}
        assert trial.started_at is not None
        assert trial.finished_at is None
        assert trial.value is None
        stored = storage.get_trial(study.id, trial.number)
        assert stored.state is TrialState.RUNNING
        assert dict(stored.values) == {"x": 1}

    def test_an_integral_budget_reads_back_as_an_int_everywhere(self, storage: Storage) -> None:
        study = storage.create_study("int-budget")
        created = storage.create_trial(study.id, values={"x": 1}, budget=9.0)
        finished = storage.finish_trial(
            study.id, created.number, state=TrialState.COMPLETE, values={"x": 1}, value=0.5
        )
        listed = storage.trials(study.id)[0]
        fetched = storage.get_trial(study.id, created.number)
        for trial in (created, finished, listed, fetched):
            assert trial.budget == 9
            assert type(trial.budget) is int

    def test_round_trip_of_every_field(self, storage: Storage) -> None:
        study = storage.create_study("round-trip")
        trial = storage.create_trial(
            study.id, values=SAMPLE_VALUES, budget=9.0, attrs={"bracket": 1, "rung": 0}
        )
        storage.report(study.id, trial.number, 1, {"val_loss": 0.9})
        storage.report(study.id, trial.number, 1, {"val_accuracy": 0.5})
        storage.report(study.id, trial.number, 2, {"val_loss": 0.7, "val_accuracy": 0.6})
        storage.report(study.id, trial.number, 2, {"val_loss": 0.6})
        live = storage.get_trial(study.id, trial.number)
        assert {k: dict(v) for k, v in live.intermediate.items()} == {
            1: {"val_loss": 0.9, "val_accuracy": 0.5},
            2: {"val_loss": 0.6, "val_accuracy": 0.6},
        }
        final_values = {**SAMPLE_VALUES, "late_param": "defined while running"}
        metrics = {"val_loss": 0.6, "val_accuracy": 0.6, "epochs": 2, "history": [0.9, 0.6]}
        finished = storage.finish_trial(
            study.id,
            trial.number,
            state=TrialState.COMPLETE,
            values=final_values,
            value=0.6,
            metrics=metrics,
            error=None,
            attrs={"rung": 1, "promoted": True},
        )
        for record in (finished, storage.get_trial(study.id, trial.number)):
            self._check_finished_record(record, final_values, metrics)
        (listed,) = storage.trials(study.id)
        self._check_finished_record(listed, final_values, metrics)

    @staticmethod
    def _check_finished_record(
        record: Trial, values: dict[str, Any], metrics: dict[str, Any]
    ) -> None:
        assert record.number == 0
        assert record.state is TrialState.COMPLETE
        assert dict(record.values) == values
        # JSON keeps the kinds apart: a bool stays a bool, an int an int.
        assert type(record.values["units"]) is int
        assert type(record.values["lr"]) is float
        assert record.values["batch_norm"] is True
        assert record.values["dropout"] is None
        assert record.value == 0.6
        assert dict(record.metrics) == metrics
        assert {k: dict(v) for k, v in record.intermediate.items()} == {
            1: {"val_loss": 0.9, "val_accuracy": 0.5},
            2: {"val_loss": 0.6, "val_accuracy": 0.6},
        }
        assert all(type(step) is int for step in record.intermediate)
        assert record.budget == 9.0
        assert dict(record.attrs) == {"bracket": 1, "rung": 1, "promoted": True}
        assert record.error is None
        assert record.started_at is not None
        assert record.finished_at is not None
        assert record.started_at <= record.finished_at
        assert record.duration is not None
        assert record.duration >= 0

    def test_finish_keeps_values_when_none_given(self, storage: Storage) -> None:
        study = storage.create_study("keep")
        trial = storage.create_trial(study.id, values={"x": 1.5}, attrs={"a": 1})
        done = storage.finish_trial(study.id, trial.number, state=TrialState.PRUNED, value=2.0)
        assert done.state is TrialState.PRUNED
        assert dict(done.values) == {"x": 1.5}
        assert dict(done.attrs) == {"a": 1}
        assert dict(done.metrics) == {}
        assert done.budget is None

    def test_failed_trial_keeps_error_text(self, storage: Storage) -> None:
        study = storage.create_study("failing")
        trial = storage.create_trial(study.id, values={"x": 0})
        error = 'Traceback (most recent call last):\n  File "x.py"\nValueError: bad ünïcode'
        storage.finish_trial(study.id, trial.number, state=TrialState.FAILED, error=error)
        stored = storage.get_trial(study.id, trial.number)
        assert stored.state is TrialState.FAILED
        assert stored.error == error
        assert stored.value is None

    def test_finish_twice_raises_and_keeps_first_result(self, storage: Storage) -> None:
        study = storage.create_study("twice")
        trial = storage.create_trial(study.id, values={"x": 1})
        storage.finish_trial(
            study.id, trial.number, state=TrialState.COMPLETE, value=1.0, metrics={"m": 1}
        )
        with pytest.raises(StorageError):
            storage.finish_trial(
                study.id, trial.number, state=TrialState.FAILED, value=5.0, error="late"
            )
        for record in (storage.get_trial(study.id, trial.number), *storage.trials(study.id)):
            assert record.state is TrialState.COMPLETE
            assert record.value == 1.0
            assert dict(record.metrics) == {"m": 1}
            assert record.error is None

    def test_finish_with_running_state_raises(self, storage: Storage) -> None:
        study = storage.create_study("running")
        trial = storage.create_trial(study.id, values={})
        with pytest.raises(StorageError):
            storage.finish_trial(study.id, trial.number, state=TrialState.RUNNING)
        assert storage.get_trial(study.id, trial.number).state is TrialState.RUNNING

    def test_report_on_finished_trial_raises(self, storage: Storage) -> None:
        study = storage.create_study("late-report")
        trial = storage.create_trial(study.id, values={})
        storage.report(study.id, trial.number, 0, {"loss": 1.0})
        storage.finish_trial(study.id, trial.number, state=TrialState.PRUNED)
        with pytest.raises(StorageError):
            storage.report(study.id, trial.number, 1, {"loss": 0.5})
        stored = storage.get_trial(study.id, trial.number)
        assert {k: dict(v) for k, v in stored.intermediate.items()} == {0: {"loss": 1.0}}

    def test_missing_trials_raise(self, storage: Storage) -> None:
        study = storage.create_study("missing")
        with pytest.raises(StorageError):
            storage.get_trial(study.id, 0)
        with pytest.raises(StorageError):
            storage.report(study.id, 0, 1, {"loss": 1.0})
        with pytest.raises(StorageError):
            storage.finish_trial(study.id, 0, state=TrialState.COMPLETE)
        with pytest.raises(StorageError):
            storage.create_trial(study.id + 1000, values={})
        with pytest.raises(StorageError):
            storage.trials(study.id + 1000)

    def test_states_filter(self, storage: Storage) -> None:
        study = storage.create_study("states")
        for _ in range(5):
            storage.create_trial(study.id, values={})
        storage.finish_trial(study.id, 0, state=TrialState.COMPLETE, value=1.0)
        storage.finish_trial(study.id, 1, state=TrialState.PRUNED)
        storage.finish_trial(study.id, 2, state=TrialState.FAILED, error="boom")
        storage.finish_trial(study.id, 4, state=TrialState.COMPLETE, value=2.0)

        def numbers(*states: TrialState) -> list[int]:
            return [t.number for t in storage.trials(study.id, states=states)]

        assert numbers(TrialState.COMPLETE) == [0, 4]
        assert numbers(TrialState.RUNNING) == [3]
        assert numbers(TrialState.PRUNED, TrialState.FAILED) == [1, 2]
        assert numbers() == []
        assert [t.number for t in storage.trials(study.id)] == [0, 1, 2, 3, 4]
        one_shot = (s for s in [TrialState.COMPLETE, TrialState.FAILED])
        assert [t.number for t in storage.trials(study.id, states=one_shot)] == [0, 2, 4]

    def test_trials_of_two_studies_never_mix(self, storage: Storage) -> None:
        first = storage.create_study("first")
        second = storage.create_study("second")
        for i in range(3):
            storage.create_trial(first.id, values={"study": "first", "i": i})
            storage.create_trial(second.id, values={"study": "second", "i": i})
        storage.finish_trial(first.id, 1, state=TrialState.COMPLETE, value=1.0)
        storage.report(second.id, 1, 1, {"loss": 2.0})
        first_trials = storage.trials(first.id)
        second_trials = storage.trials(second.id)
        assert [(t.number, t.values["study"]) for t in first_trials] == [
            (0, "first"),
            (1, "first"),
            (2, "first"),
        ]
        assert [(t.number, t.values["study"]) for t in second_trials] == [
            (0, "second"),
            (1, "second"),
            (2, "second"),
        ]
        assert [t.state for t in second_trials] == [TrialState.RUNNING] * 3
        assert dict(first_trials[1].intermediate) == {}
        assert {k: dict(v) for k, v in second_trials[1].intermediate.items()} == {1: {"loss": 2.0}}

    def test_values_must_be_json(self, storage: Storage) -> None:
        study = storage.create_study("json", space={})
        with pytest.raises((TypeError, StorageError)):
            storage.create_trial(study.id, values={"model": NotJSON()})
        with pytest.raises((TypeError, StorageError)):
            storage.create_trial(study.id, values={"x": 1}, attrs={"callback": NotJSON()})
        # A refused trial takes no number.
        trial = storage.create_trial(study.id, values={"x": 1})
        assert trial.number == 0
        with pytest.raises((TypeError, StorageError)):
            storage.finish_trial(
                study.id, 0, state=TrialState.COMPLETE, metrics={"model": NotJSON()}
            )
        with pytest.raises((TypeError, StorageError)):
            storage.save_space(study.id, {"x": NotJSON()})
        with pytest.raises((TypeError, StorageError)):
            storage.create_study("not-json", meta={"x": NotJSON()})
        # The refused finish left the trial running, so it can still finish properly.
        assert storage.get_trial(study.id, 0).state is TrialState.RUNNING
        storage.finish_trial(study.id, 0, state=TrialState.COMPLETE, metrics={"loss": 1.0})
        assert dict(storage.get_trial(study.id, 0).metrics) == {"loss": 1.0}

    def test_concurrent_create_trial_gives_dense_unique_numbers(self, storage: Storage) -> None:
        study = storage.create_study("concurrent")
        workers, per_worker = 4, 25
        numbers: list[int] = []
        errors: list[BaseException] = []
        lock = threading.Lock()
        start = threading.Barrier(workers)

        def work(worker: int) -> None:
            try:
                start.wait()
                for i in range(per_worker):
                    trial = storage.create_trial(study.id, values={"w": worker, "i": i})
                    with lock:
                        numbers.append(trial.number)
                    if i % 5 == 0:
                        storage.finish_trial(study.id, trial.number, state=TrialState.COMPLETE)
            except BaseException as exc:  # reported by the main thread
                with lock:
                    errors.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sorted(numbers) == list(range(workers * per_worker))
        stored = storage.trials(study.id)
        assert [t.number for t in stored] == list(range(workers * per_worker))
        assert sorted((t.values["w"], t.values["i"]) for t in stored) == [
            (w, i) for w in range(workers) for i in range(per_worker)
        ]
        assert sum(t.state is TrialState.COMPLETE for t in stored) == workers * 5

    def test_trials_after_finishing_out_of_order(self, storage: Storage) -> None:
        study = storage.create_study("out-of-order")
        for i in range(4):
            storage.create_trial(study.id, values={"i": i})

        def states() -> list[str]:
            return [t.state.name for t in storage.trials(study.id)]

        assert states() == ["RUNNING"] * 4
        storage.finish_trial(study.id, 0, state=TrialState.COMPLETE, value=0.0)
        assert states() == ["COMPLETE", "RUNNING", "RUNNING", "RUNNING"]
        storage.finish_trial(study.id, 2, state=TrialState.PRUNED, value=2.0)
        assert states() == ["COMPLETE", "RUNNING", "PRUNED", "RUNNING"]
        storage.report(study.id, 1, 5, {"loss": 0.5})
        (running,) = storage.trials(study.id, states=[TrialState.RUNNING])[:1]
        assert running.number == 1
        assert {k: dict(v) for k, v in running.intermediate.items()} == {5: {"loss": 0.5}}
        storage.finish_trial(study.id, 1, state=TrialState.FAILED, error="x")
        assert states() == ["COMPLETE", "FAILED", "PRUNED", "RUNNING"]
        storage.create_trial(study.id, values={"i": 4})
        storage.finish_trial(study.id, 3, state=TrialState.COMPLETE, value=3.0)
        assert states() == ["COMPLETE", "FAILED", "PRUNED", "COMPLETE", "RUNNING"]
        trials = storage.trials(study.id)
        assert [t.value for t in trials] == [0.0, None, 2.0, 3.0, None]
        assert [t.values["i"] for t in trials] == [0, 1, 2, 3, 4]
        assert {k: dict(v) for k, v in trials[1].intermediate.items()} == {5: {"loss": 0.5}}
        assert storage.get_trial(study.id, 1).error == "x"
        assert storage.get_trial(study.id, 4).state is TrialState.RUNNING
