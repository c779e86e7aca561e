"""The storage conformance tests of heartbeats, and of finishing a trial taken for dead."""

from __future__ import annotations

import pytest

from hyperscout.exceptions import StorageError
from hyperscout.storage.base import Storage
from hyperscout.testing.storage._base import StorageSuite
from hyperscout.trial import TrialState

__all__ = ["HeartbeatTests"]


class HeartbeatTests(StorageSuite):
    """Heartbeats of running trials, and ``finish_trial(unless_alive_since=...)``."""

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
