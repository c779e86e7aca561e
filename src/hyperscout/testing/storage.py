"""The conformance suite of :class:`~hyperscout.storage.base.Storage` implementations.

Subclass :class:`StorageConformance` in a test module and implement :meth:`make_storage`::

    class TestMemoryStorage(StorageConformance):
        def make_storage(self, tmp_path):
            return MemoryStorage()

Every test receives a fresh storage from the ``storage`` fixture, which closes it afterwards.
A storage that keeps rows outside the process (a database) also implements :meth:`damage_row`,
which the tests of damaged studies use; the others skip them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hyperscout.exceptions import ClaimTakenError, DamagedStudyError, StorageError
from hyperscout.storage.base import Storage
from hyperscout.trial import Trial, TrialState

__all__ = ["StorageConformance"]

#: Values of every JSON kind a trial may hold.
SAMPLE_VALUES: dict[str, Any] = {
    "units": 64,
    "lr": 0.001,
    "activation": "relu",
    "batch_norm": True,
    "dropout": None,
    "layers": [{"units": 32, "kind": "dense"}, {"units": 16, "kind": "dense"}],
    "nested": {"optimizer": {"name": "adam", "beta": [0.9, 0.999]}, "flag": False},
}


class _NotJSON:
    """A value with no JSON form: storage must refuse it, never pickle it."""


class StorageConformance:
    """The behaviour every :class:`Storage` must show; subclass it with ``Test`` in the name."""

    def make_storage(self, tmp_path: Path) -> Storage:
        """A new, empty storage; ``tmp_path`` is a fresh directory for its files."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_storage()")

    def damage_row(
        self, storage: Storage, study_id: int, number: int | None, column: str, text: str
    ) -> None:
        """Overwrite one stored column with ``text``, as a bad disk or a hand edit would.

        ``number`` None: the study's own row (``column`` is ``space`` or ``meta``). Otherwise
        trial ``number``'s ``column`` (``values``, ``metrics``, ``attrs``, ``state``), or with
        ``column="report"`` the metrics of its report at step 1. Afterwards ``storage`` must
        read the row again, as a process that had not read it yet would. The default skips
        the test: a storage that keeps no rows outside the process cannot be damaged.
        """
        pytest.skip(f"{type(self).__name__} keeps no rows that could be damaged")

    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[Storage]:
        storage = self.make_storage(tmp_path)
        try:
            yield storage
        finally:
            storage.close()

    # -- claims --------------------------------------------------------------------------
    def test_a_claim_is_held_by_one_trial_per_study(self, storage: Storage) -> None:
        first = storage.create_study("first")
        second = storage.create_study("second")
        held = storage.create_trial(first.id, values={"x": 1}, attrs={"rung": 0}, claim="new/0")
        assert held.attrs == {"rung": 0, "claim": "new/0"}
        with pytest.raises(ClaimTakenError, match="new/0"):
            storage.create_trial(first.id, values={"x": 2}, claim="new/0")
        # Nothing was written by the refused claim; other studies and claims are free.
        assert [t.number for t in storage.trials(first.id)] == [0]
        assert storage.create_trial(second.id, values={"x": 2}, claim="new/0").number == 0
        assert storage.create_trial(first.id, values={"x": 3}, claim="new/1").number == 1
        for _ in range(2):
            storage.create_trial(first.id, values={"x": 4})  # no claim: no limit
        assert storage.get_trial(first.id, 1).attrs["claim"] == "new/1"

    def test_concurrent_claims_of_one_slot_give_one_trial(self, storage: Storage) -> None:
        study = storage.create_study("race")
        won: list[int] = []
        lost: list[int] = []

        def claim(i: int) -> None:
            try:
                storage.create_trial(study.id, values={"i": i}, claim="promote/7")
                won.append(i)
            except ClaimTakenError:
                lost.append(i)

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(won) == 1 and len(lost) == 5
        assert len(storage.trials(study.id)) == 1

    # -- studies -------------------------------------------------------------------------
    def test_create_and_load_study(self, storage: Storage) -> None:
        space = {"x": {"type": "float", "min_value": 0.0, "max_value": 1.0}}
        meta = {"objective": "val_loss", "direction": "min", "seed": 7}
        created = storage.create_study("alpha", space=space, meta=meta)
        assert created.name == "alpha"
        assert dict(created.space) == space
        assert dict(created.meta) == meta
        assert created.created_at > 0
        loaded = storage.load_study("alpha")
        assert loaded is not None
        assert loaded.id == created.id
        assert dict(loaded.space) == space
        assert dict(loaded.meta) == meta
        assert loaded.created_at == pytest.approx(created.created_at)
        assert storage.load_study("missing") is None

    def test_list_studies_is_ordered_by_name(self, storage: Storage) -> None:
        assert storage.list_studies() == []
        for name in ["charlie", "alpha", "bravo"]:
            storage.create_study(name)
        assert [s.name for s in storage.list_studies()] == ["alpha", "bravo", "charlie"]
        assert len({s.id for s in storage.list_studies()}) == 3

    def test_duplicate_study_name_raises(self, storage: Storage) -> None:
        first = storage.create_study("twice", meta={"n": 1})
        with pytest.raises(StorageError, match="twice"):
            storage.create_study("twice", meta={"n": 2})
        loaded = storage.load_study("twice")
        assert loaded is not None
        assert loaded.id == first.id
        assert dict(loaded.meta) == {"n": 1}

    def test_get_or_create_study(self, storage: Storage) -> None:
        created = storage.get_or_create_study("study", meta={"a": 1})
        again = storage.get_or_create_study("study", meta={"a": 2})
        assert again.id == created.id
        assert dict(again.meta) == {"a": 1}

    def test_delete_study_removes_its_trials(self, storage: Storage) -> None:
        doomed = storage.create_study("doomed")
        kept = storage.create_study("kept")
        trial = storage.create_trial(doomed.id, values={"x": 1})
        storage.report(doomed.id, trial.number, 1, {"loss": 1.0})
        storage.finish_trial(doomed.id, trial.number, state=TrialState.COMPLETE, value=1.0)
        storage.create_trial(doomed.id, values={"x": 2})
        storage.create_trial(kept.id, values={"y": 1})
        assert len(storage.trials(doomed.id)) == 2

        storage.delete_study("doomed")
        assert storage.load_study("doomed") is None
        assert [s.name for s in storage.list_studies()] == ["kept"]
        with pytest.raises(StorageError):
            storage.trials(doomed.id)
        assert [t.values for t in storage.trials(kept.id)] == [{"y": 1}]
        storage.delete_study("doomed")  # deleting a missing study does nothing

        reborn = storage.create_study("doomed")
        assert storage.trials(reborn.id) == []
        assert storage.create_trial(reborn.id, values={"x": 3}).number == 0

    def test_save_space_round_trip(self, storage: Storage) -> None:
        study = storage.create_study("space", space={"a": {"type": "int"}})
        grown = {"a": {"type": "int"}, "b": {"type": "choice", "values": ["x", "y"]}}
        storage.save_space(study.id, grown)
        loaded = storage.load_study("space")
        assert loaded is not None
        assert dict(loaded.space) == grown
        assert dict(storage.list_studies()[0].space) == grown
        with pytest.raises(StorageError):
            storage.save_space(study.id + 1000, grown)

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
            storage.create_trial(study.id, values={"model": _NotJSON()})
        with pytest.raises((TypeError, StorageError)):
            storage.create_trial(study.id, values={"x": 1}, attrs={"callback": _NotJSON()})
        # A refused trial takes no number.
        trial = storage.create_trial(study.id, values={"x": 1})
        assert trial.number == 0
        with pytest.raises((TypeError, StorageError)):
            storage.finish_trial(
                study.id, 0, state=TrialState.COMPLETE, metrics={"model": _NotJSON()}
            )
        with pytest.raises((TypeError, StorageError)):
            storage.save_space(study.id, {"x": _NotJSON()})
        with pytest.raises((TypeError, StorageError)):
            storage.create_study("not-json", meta={"x": _NotJSON()})
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

    # -- heartbeats ----------------------------------------------------------------------
    def test_heartbeat_round_trip(self, storage: Storage) -> None:
        study = storage.create_study("beats")
        created = storage.create_trial(study.id, values={"x": 1})
        assert created.heartbeat_at is None
        assert storage.get_trial(study.id, 0).heartbeat_at is None
        assert storage.trials(study.id)[0].heartbeat_at is None
        assert created.last_seen_at == created.started_at

        before = storage.now()
        storage.heartbeat(study.id, [created.number])
        after = storage.now()
        first = storage.get_trial(study.id, 0).heartbeat_at
        assert first is not None
        assert before <= first <= after
        assert created.started_at is not None and created.started_at <= first
        (listed,) = storage.trials(study.id, states=[TrialState.RUNNING])
        assert listed.heartbeat_at == first
        assert listed.last_seen_at == first

        storage.heartbeat(study.id, iter([0]))  # any iterable of numbers
        second = storage.get_trial(study.id, 0).heartbeat_at
        assert second is not None and second >= first
        # The last heartbeat stays with the finished record, on every read path.
        done = storage.finish_trial(study.id, 0, state=TrialState.COMPLETE, value=1.0)
        assert done.heartbeat_at == second
        assert storage.get_trial(study.id, 0).heartbeat_at == second
        assert storage.trials(study.id)[0].heartbeat_at == second

    def test_only_running_trials_beat(self, storage: Storage) -> None:
        study = storage.create_study("beating")
        other = storage.create_study("other")
        for i in range(3):
            storage.create_trial(study.id, values={"i": i})
        storage.create_trial(other.id, values={"i": 0})
        storage.create_trial(other.id, values={"i": 1})
        finished = storage.finish_trial(study.id, 0, state=TrialState.PRUNED, value=2.0)

        storage.heartbeat(study.id, [0, 1, 99])  # 99 is no trial: left alone, no error
        storage.heartbeat(study.id, [])
        trials = storage.trials(study.id)
        assert trials[0] == finished  # a finished trial never changes
        assert storage.get_trial(study.id, 0) == finished
        assert trials[0].heartbeat_at is None
        assert trials[1].heartbeat_at is not None
        assert trials[2].heartbeat_at is None  # not in the call
        assert [t.state for t in trials] == [
            TrialState.PRUNED,
            TrialState.RUNNING,
            TrialState.RUNNING,
        ]
        # Trial 1 of another study is another worker's trial.
        assert [t.heartbeat_at for t in storage.trials(other.id)] == [None, None]

    def test_heartbeat_names_the_trials_no_longer_running(self, storage: Storage) -> None:
        study = storage.create_study("revoked")
        other = storage.create_study("elsewhere")
        for i in range(4):
            storage.create_trial(study.id, values={"i": i})
        storage.create_trial(other.id, values={"i": 0})
        assert storage.heartbeat(study.id, [0, 1, 2, 3]) == []
        assert storage.heartbeat(study.id, []) == []
        # Another worker took trial 1 for dead; trial 2 was finished by a search that gave up.
        storage.finish_trial(study.id, 1, state=TrialState.FAILED, error="taken for dead")
        storage.finish_trial(study.id, 2, state=TrialState.PRUNED, value=1.0)
        beaten = storage.get_trial(study.id, 3).heartbeat_at
        # Sorted, without repeats, from any iterable; 7 is no trial of the study, and trial 0
        # of another study does not make it one.
        lost = storage.heartbeat(study.id, iter([3, 2, 7, 1, 0, 2]))
        assert lost == [1, 2, 7]
        assert storage.heartbeat(other.id, [0, 1]) == [1]
        assert storage.heartbeat(study.id + other.id + 100, [0]) == [0]  # no such study
        trials = storage.trials(study.id)
        assert [t.state for t in trials] == [
            TrialState.RUNNING,
            TrialState.FAILED,
            TrialState.PRUNED,
            TrialState.RUNNING,
        ]
        assert (trials[1].error, trials[2].value) == ("taken for dead", 1.0)  # left as they are
        now = trials[3].heartbeat_at
        assert beaten is not None and now is not None and now >= beaten  # still beats

    def test_finish_unless_alive_since(self, storage: Storage) -> None:
        study = storage.create_study("leases")
        trial = storage.create_trial(study.id, values={"x": 1})
        started = trial.started_at
        assert started is not None
        # Never beaten: its start is its last sign of life.
        with pytest.raises(StorageError):
            storage.finish_trial(
                study.id, 0, state=TrialState.FAILED, error="dead?", unless_alive_since=started
            )
        assert storage.get_trial(study.id, 0).state is TrialState.RUNNING
        storage.heartbeat(study.id, [0])
        beat = storage.get_trial(study.id, 0).heartbeat_at
        assert beat is not None
        with pytest.raises(StorageError):
            storage.finish_trial(
                study.id, 0, state=TrialState.FAILED, error="dead?", unless_alive_since=beat
            )
        kept = storage.get_trial(study.id, 0)
        assert (kept.state, kept.error) == (TrialState.RUNNING, None)
        done = storage.finish_trial(
            study.id,
            0,
            state=TrialState.FAILED,
            error="dead",
            attrs={"rerun": True},
            unless_alive_since=beat + 0.001,
        )
        assert (done.state, done.error, done.attrs["rerun"]) == (TrialState.FAILED, "dead", True)
        # A finished trial stays as it is, whatever the condition.
        with pytest.raises(StorageError):
            storage.finish_trial(
                study.id, 0, state=TrialState.FAILED, unless_alive_since=beat + 1000.0
            )
        assert storage.get_trial(study.id, 0).error == "dead"

    # -- damaged studies ---------------------------------------------------------------------
    @staticmethod
    def _study_of_three(storage: Storage, name: str = "damaged") -> int:
        """A study of three finished trials; trial 1 has a report at step 1."""
        study = storage.create_study(name, space={"x": {"type": "int"}})
        for number in range(3):
            storage.create_trial(study.id, values={"x": number})
            if number == 1:
                storage.report(study.id, number, 1, {"loss": 0.5})
            storage.finish_trial(
                study.id, number, state=TrialState.COMPLETE, value=float(number), metrics={"a": 1}
            )
        return study.id

    @pytest.mark.parametrize(
        ("column", "text"),
        [
            ("values", "{not json"),
            ("metrics", "[1, 2"),
            ("attrs", "[1, 2]"),  # JSON, but not an object
            ("state", "DONE"),
            ("report", "{oops"),
        ],
    )
    def test_a_damaged_trial_is_refused_naming_it(
        self, storage: Storage, column: str, text: str
    ) -> None:
        study_id = self._study_of_three(storage)
        intact = storage.create_study("intact")
        storage.create_trial(intact.id, values={"y": 1})
        self.damage_row(storage, study_id, 1, column, text)
        for read in (lambda: storage.trials(study_id), lambda: storage.get_trial(study_id, 1)):
            with pytest.raises(DamagedStudyError) as info:
                read()
            message = str(info.value)
            for part in ("trial 1 ", "'damaged'", column if column != "report" else "step 1"):
                assert part in message
            assert "hyperscout check" in message
        # The trials around it, and other studies, still read.
        assert storage.get_trial(study_id, 2).value == 2.0
        assert [t.values["y"] for t in storage.trials(intact.id)] == [1]
        (problem,) = storage.check()
        assert "'damaged'" in problem and "trial 1:" in problem

    def test_a_damaged_running_trial_is_neither_reported_nor_finished(
        self, storage: Storage
    ) -> None:
        study = storage.create_study("running")
        storage.create_trial(study.id, values={"x": 1})
        storage.report(study.id, 0, 1, {"loss": 1.0})
        self.damage_row(storage, study.id, 0, "report", "{oops")
        with pytest.raises(DamagedStudyError, match=r"trial 0 of study 'running'.*step 1"):
            storage.report(study.id, 0, 1, {"loss": 0.5})
        storage.report(study.id, 0, 2, {"loss": 0.4})  # another step has no damaged row
        with pytest.raises(DamagedStudyError, match="trial 0 of study 'running'"):
            storage.finish_trial(study.id, 0, state=TrialState.COMPLETE, value=0.4)

    @pytest.mark.parametrize("column", ["space", "meta"])
    def test_a_damaged_study_row_is_refused_naming_it(self, storage: Storage, column: str) -> None:
        self._study_of_three(storage)
        study = storage.load_study("damaged")
        assert study is not None
        self.damage_row(storage, study.id, None, column, "{")
        for read in (lambda: storage.load_study("damaged"), storage.list_studies):
            with pytest.raises(DamagedStudyError, match=f"study 'damaged'.*{column}"):
                read()
        (problem,) = storage.check()
        assert problem.startswith("Study 'damaged':") and column in problem

    def test_check_lists_every_damaged_trial(self, storage: Storage) -> None:
        study_id = self._study_of_three(storage)
        self.damage_row(storage, study_id, 0, "values", "")
        self.damage_row(storage, study_id, 2, "state", "LOST")
        problems = storage.check()
        assert len(problems) == 2
        assert problems[0].startswith("Study 'damaged', trial 0:")
        assert problems[1].startswith("Study 'damaged', trial 2:") and "'LOST'" in problems[1]

    def test_check_finds_nothing_in_a_sound_storage(self, storage: Storage) -> None:
        assert storage.check() == []
        self._study_of_three(storage, "first")
        second = storage.create_study("second", meta={"seed": 1})
        storage.create_trial(second.id, values={"x": [1, {"y": None}]})
        storage.report(second.id, 0, 3, {"loss": 1.0})
        assert storage.check() == []
