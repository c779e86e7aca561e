"""The storage conformance tests of studies, and of the claims that keep a slot to one trial."""

from __future__ import annotations

import threading

import pytest

from hyperscout.exceptions import ClaimTakenError, StorageError
from hyperscout.storage.base import Storage
from hyperscout.testing.storage._base import StorageSuite
from hyperscout.trial import TrialState

__all__ = ["StudyTests"]


class StudyTests(StorageSuite):
    """Studies: create, load, list, delete, the stored space; claims of a strategy's slots."""

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
