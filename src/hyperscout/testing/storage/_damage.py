"""The storage conformance tests of damaged rows: refused with a sentence, listed by check()."""

from __future__ import annotations

import pytest

from hyperscout.exceptions import DamagedStudyError
from hyperscout.storage.base import Storage
from hyperscout.testing.storage._base import StorageSuite
from hyperscout.trial import TrialState

__all__ = ["DamageTests"]


class DamageTests(StorageSuite):
    """Rows damaged by hand or by a bad disk (run when the storage implements ``damage_row``)."""

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
