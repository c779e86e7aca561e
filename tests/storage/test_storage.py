"""Every storage through the conformance suite, plus what only SQL databases do."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import hyperscout.storage.sql as sql_module
from hyperscout.exceptions import (
    ClaimTakenError,
    DamagedStudyError,
    SchemaVersionError,
    StorageError,
)
from hyperscout.storage import sqlite_url
from hyperscout.storage.base import SCHEMA_VERSION, Storage
from hyperscout.storage.memory import MemoryStorage
from hyperscout.storage.sql import SQLStorage
from hyperscout.testing.storage import StorageConformance
from hyperscout.trial import TrialState

POSTGRES_URL = os.environ.get(
    "HYPERSCOUT_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


class TestMemoryStorage(StorageConformance):
    def make_storage(self, tmp_path: Path) -> Storage:
        return MemoryStorage()


class DamageWithSQL:
    """:meth:`StorageConformance.damage_row` for :class:`SQLStorage`: an UPDATE of the row."""

    def damage_row(
        self, storage: Storage, study_id: int, number: int | None, column: str, text: str
    ) -> None:
        assert isinstance(storage, SQLStorage)
        studies = sa.table("hs_studies", sa.column("id"), sa.column(column))
        trials = sa.table(
            "hs_trials",
            sa.column("id"),
            sa.column("study_id"),
            sa.column("number"),
            sa.column(column),
        )
        reports = sa.table(
            "hs_trial_reports", sa.column("trial_id"), sa.column("step"), sa.column("metrics")
        )
        this_trial = sa.and_(trials.c.study_id == study_id, trials.c.number == number)
        if number is None:
            statement = sa.update(studies).where(studies.c.id == study_id).values({column: text})
        elif column == "report":
            trial_id = sa.select(trials.c.id).where(this_trial).scalar_subquery()
            statement = (
                sa.update(reports)
                .where(reports.c.trial_id == trial_id, reports.c.step == 1)
                .values(metrics=text)
            )
        else:
            statement = sa.update(trials).where(this_trial).values({column: text})
        with storage._engine.begin() as conn:
            assert conn.execute(statement).rowcount == 1
        storage._cache.clear()  # read the rows again, as another process would


class SharedDatabaseTests:
    """Two :class:`SQLStorage` on one database, as two processes would have.

    ``make_storage(tmp_path)`` called twice in one test opens the same database twice.
    """

    def make_storage(self, tmp_path: Path) -> SQLStorage:
        raise NotImplementedError

    @pytest.fixture
    def second(self, tmp_path: Path, storage: SQLStorage) -> Iterator[SQLStorage]:
        other = self.make_storage(tmp_path)
        try:
            yield other
        finally:
            other.close()

    def test_two_instances_see_each_others_trials(
        self, storage: SQLStorage, second: SQLStorage
    ) -> None:
        study = storage.create_study("shared")
        loaded = second.load_study("shared")
        assert loaded is not None
        assert loaded.id == study.id
        numbers = [
            storage.create_trial(study.id, values={"by": "first"}).number,
            second.create_trial(study.id, values={"by": "second"}).number,
            storage.create_trial(study.id, values={"by": "first"}).number,
            second.create_trial(study.id, values={"by": "second"}).number,
        ]
        assert numbers == [0, 1, 2, 3]
        assert [t.values["by"] for t in storage.trials(study.id)] == [
            "first",
            "second",
            "first",
            "second",
        ]
        # Each finishes a trial the other created; both caches must follow.
        second.finish_trial(study.id, 0, state=TrialState.COMPLETE, value=1.0)
        storage.report(study.id, 1, 1, {"loss": 0.5})
        storage.finish_trial(study.id, 1, state=TrialState.PRUNED, value=0.5)
        for view in (storage, second):
            trials = view.trials(study.id)
            assert [t.state for t in trials] == [
                TrialState.COMPLETE,
                TrialState.PRUNED,
                TrialState.RUNNING,
                TrialState.RUNNING,
            ]
            assert {k: dict(v) for k, v in trials[1].intermediate.items()} == {1: {"loss": 0.5}}
        with pytest.raises(StorageError):
            second.finish_trial(study.id, 1, state=TrialState.FAILED)
        assert storage.get_trial(study.id, 1).state is TrialState.PRUNED

    def test_study_deleted_by_another_instance(
        self, storage: SQLStorage, second: SQLStorage
    ) -> None:
        old = storage.create_study("recreated")
        storage.create_trial(old.id, values={"x": 1})
        storage.finish_trial(old.id, 0, state=TrialState.COMPLETE, value=1.0)
        assert len(storage.trials(old.id)) == 1  # now cached by the first instance
        second.delete_study("recreated")
        new = second.create_study("recreated")
        assert new.id != old.id  # ids are never reused, so caches keyed by id stay right
        with pytest.raises(StorageError):
            storage.trials(old.id)
        assert storage.trials(new.id) == []

    def test_concurrent_finish_happens_once(self, storage: SQLStorage, second: SQLStorage) -> None:
        study = storage.create_study("race")
        count = 20
        for i in range(count):
            storage.create_trial(study.id, values={"i": i})
        wins: dict[str, list[int]] = {"first": [], "second": []}
        failures: list[BaseException] = []
        start = threading.Barrier(2)

        def finish_all(name: str, view: SQLStorage) -> None:
            start.wait()
            for number in range(count):
                try:
                    view.finish_trial(
                        study.id, number, state=TrialState.COMPLETE, attrs={"by": name}
                    )
                except StorageError:
                    continue
                except BaseException as exc:
                    failures.append(exc)
                else:
                    wins[name].append(number)

        threads = [
            threading.Thread(target=finish_all, args=("first", storage)),
            threading.Thread(target=finish_all, args=("second", second)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert sorted(wins["first"] + wins["second"]) == list(range(count))
        for trial in second.trials(study.id):
            assert trial.state is TrialState.COMPLETE
            assert trial.number in wins[trial.attrs["by"]]

    def test_finish_racing_reports_keeps_every_report(
        self, storage: SQLStorage, second: SQLStorage
    ) -> None:
        study = storage.create_study("reports-race")
        for number in range(10):
            storage.create_trial(study.id, values={})
            started = threading.Event()

            def report_until_finished(
                number: int = number, started: threading.Event = started
            ) -> None:
                step = 0
                while True:
                    try:
                        storage.report(study.id, number, step, {"loss": 1.0 / (step + 1)})
                    except StorageError:
                        return
                    started.set()
                    step += 1

            thread = threading.Thread(target=report_until_finished)
            thread.start()
            started.wait(timeout=10)
            done = storage.finish_trial(study.id, number, state=TrialState.COMPLETE)
            thread.join()
            # What the finishing instance returns and caches is what the database holds.
            stored = second.get_trial(study.id, number)
            assert len(stored.intermediate) >= 1
            assert done.intermediate == stored.intermediate
            assert storage.trials(study.id)[number].intermediate == stored.intermediate

    def test_workers_starting_together_share_one_study(
        self, storage: SQLStorage, second: SQLStorage
    ) -> None:
        found: list[int] = []
        errors: list[BaseException] = []
        start = threading.Barrier(4)

        def start_worker(view: SQLStorage) -> None:
            start.wait()
            try:
                found.append(view.get_or_create_study("together", meta={"seed": 1}).id)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=start_worker, args=(v,)) for v in [storage, second] * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(set(found)) == 1
        assert [s.name for s in storage.list_studies()] == ["together"]

    def test_concurrent_create_from_two_instances(
        self, storage: SQLStorage, second: SQLStorage, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        retries: list[int] = []
        monkeypatch.setattr(sql_module, "_back_off", retries.append)
        study = storage.create_study("two-writers")
        numbers: list[int] = []
        lock = threading.Lock()
        start = threading.Barrier(4)

        def work(view: SQLStorage) -> None:
            start.wait()
            for _ in range(15):
                trial = view.create_trial(study.id, values={})
                view.trials(study.id)
                view.finish_trial(study.id, trial.number, state=TrialState.COMPLETE)
                with lock:
                    numbers.append(trial.number)

        threads = [threading.Thread(target=work, args=(v,)) for v in [storage, second] * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(numbers) == list(range(60))
        assert retries == []  # the lock serialises workers: no number is ever taken twice
        assert [t.number for t in second.trials(study.id, states=[TrialState.COMPLETE])] == list(
            range(60)
        )


# -- schema version 1, as hyperscout wrote it before heartbeats --------------------------------

_V1 = sa.MetaData()
sa.Table(
    "hs_meta",
    _V1,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
sa.Table(
    "hs_studies",
    _V1,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("space", sa.Text, nullable=False),
    sa.Column("meta", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.UniqueConstraint("name", name="uq_hs_studies_name"),
    sqlite_autoincrement=True,
)
sa.Table(
    "hs_trials",
    _V1,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "study_id", sa.Integer, sa.ForeignKey("hs_studies.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("values", sa.Text, nullable=False),
    sa.Column("value", sa.Double, nullable=True),
    sa.Column("metrics", sa.Text, nullable=False),
    sa.Column("budget", sa.Double, nullable=True),
    sa.Column("attrs", sa.Text, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("started_at", sa.Double, nullable=True),
    sa.Column("finished_at", sa.Double, nullable=True),
    sa.Column("claim", sa.Text, nullable=True),
    sa.UniqueConstraint("study_id", "number", name="uq_hs_trials_study_number"),
    sa.UniqueConstraint("study_id", "claim", name="uq_hs_trials_study_claim"),
)
sa.Table(
    "hs_trial_reports",
    _V1,
    sa.Column(
        "trial_id", sa.Integer, sa.ForeignKey("hs_trials.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("trial_id", "step", name="pk_hs_trial_reports"),
)

# What the version-1 database holds: (state, values, value, budget, attrs, error, started,
# finished, reports).
_V1_TRIALS = [
    ("COMPLETE", {"x": 1}, 0.5, 3.0, {"rung": 0}, None, 10.0, 11.0, {1: {"loss": 0.7}}),
    ("FAILED", {"x": 2}, None, None, {}, "boom", 12.0, 13.0, {}),
    ("RUNNING", {"x": 3}, None, 9.0, {"worker": {"host": "h", "pid": 1}}, None, 14.0, None, {}),
]


def _write_version_1(engine: sa.Engine) -> None:
    """Create the version-1 tables (their old DDL) and fill them with a study of 3 trials."""
    with engine.begin() as conn:
        _V1.create_all(conn)
        conn.execute(_V1.tables["hs_meta"].insert(), {"key": "schema_version", "value": "1"})
        # The database numbers the rows, as hyperscout let it (PostgreSQL's sequences stay right).
        study_id = conn.execute(
            _V1.tables["hs_studies"].insert().returning(_V1.tables["hs_studies"].c.id),
            {"name": "old", "space": "{}", "meta": '{"seed": 1}', "created_at": 1.0},
        ).scalar_one()
        assert study_id == 1
        for number, row in enumerate(_V1_TRIALS):
            state, values, value, budget, attrs, error, started, finished, reports = row
            trial_id = conn.execute(
                _V1.tables["hs_trials"].insert().returning(_V1.tables["hs_trials"].c.id),
                {
                    "study_id": study_id,
                    "number": number,
                    "state": state,
                    "values": json.dumps(values),
                    "value": value,
                    "metrics": "{}",
                    "budget": budget,
                    "attrs": json.dumps(attrs),
                    "error": error,
                    "started_at": started,
                    "finished_at": finished,
                },
            ).scalar_one()
            for step, metrics in reports.items():
                conn.execute(
                    _V1.tables["hs_trial_reports"].insert(),
                    {"trial_id": trial_id, "step": step, "metrics": json.dumps(metrics)},
                )


def _check_upgraded(storages: list[SQLStorage], engine: sa.Engine) -> None:
    """The database is at the current version, with one new column and every trial kept."""
    with engine.connect() as conn:
        version = conn.execute(sa.text("SELECT value FROM hs_meta")).scalar_one()
        columns = [c["name"] for c in sa.inspect(conn).get_columns("hs_trials")]
    assert version == str(SCHEMA_VERSION) == "2"
    assert columns.count("heartbeat_at") == 1
    for storage in storages:
        study = storage.load_study("old")
        assert study is not None and dict(study.meta) == {"seed": 1}
        trials = storage.trials(study.id)
        assert len(trials) == len(_V1_TRIALS)
        for trial, row in zip(trials, _V1_TRIALS, strict=True):
            state, values, value, budget, attrs, error, started, finished, reports = row
            assert (trial.state.value, dict(trial.values), trial.value, trial.budget) == (
                state,
                values,
                value,
                budget,
            )
            assert (dict(trial.attrs), trial.error) == (attrs, error)
            assert (trial.started_at, trial.finished_at, trial.heartbeat_at) == (
                started,
                finished,
                None,
            )
            assert {k: dict(v) for k, v in trial.intermediate.items()} == reports
    # The upgraded database works like a new one: the running trial beats and finishes, and
    # the next trial takes the next number.
    first = storages[0]
    first.heartbeat(1, [0, 1, 2])
    assert [t.heartbeat_at is not None for t in first.trials(1)] == [False, False, True]
    first.finish_trial(1, 2, state=TrialState.COMPLETE, value=0.1)
    assert first.create_trial(1, values={"x": 4}).number == 3


def _open_together(open_one: Callable[[], SQLStorage], count: int = 3) -> list[SQLStorage]:
    """``count`` storages opened by as many threads at the same moment."""
    opened: list[SQLStorage] = []
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run() -> None:
        start.wait()
        try:
            opened.append(open_one())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        for storage in opened:
            storage.close()
        raise errors[0]
    return opened


# -- SQLite ------------------------------------------------------------------------------------


class TestSQLiteFileStorage(DamageWithSQL, StorageConformance, SharedDatabaseTests):
    def make_storage(self, tmp_path: Path) -> SQLStorage:
        return SQLStorage(sqlite_url(tmp_path / "db" / "hyperscout.db"))


class TestSQLiteMemoryStorage(DamageWithSQL, StorageConformance):
    def make_storage(self, tmp_path: Path) -> Storage:
        return SQLStorage("sqlite://")


def test_sqlite_file_is_created_with_its_directories(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "nested" / "study.db"
    storage = SQLStorage(sqlite_url(path))
    try:
        storage.create_study("demo")
    finally:
        storage.close()
    assert path.is_file()


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    storage = SQLStorage(sqlite_url(path))
    storage.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"hs_meta", "hs_studies", "hs_trials", "hs_trial_reports"} <= tables


def test_sqlite_settings_of_each_connection(tmp_path: Path) -> None:
    storage = SQLStorage(sqlite_url(tmp_path / "pragmas.db"))
    try:
        with storage._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        storage.close()


def test_sqlite_other_schema_version_raises(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    SQLStorage(sqlite_url(path)).close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("UPDATE hs_meta SET value = '999' WHERE key = 'schema_version'")
        db.commit()
    with pytest.raises(SchemaVersionError) as info:
        SQLStorage(sqlite_url(path))
    assert "999" in str(info.value)
    assert f"version {SCHEMA_VERSION}" in str(info.value)


def test_sqlite_version_1_database_is_upgraded_in_place(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "v1.db")
    engine = sa.create_engine(url)
    try:
        _write_version_1(engine)
        with contextlib.closing(sqlite3.connect(tmp_path / "v1.db")) as db:
            ddl = db.execute("SELECT sql FROM sqlite_master WHERE name = 'hs_trials'").fetchone()
        assert "heartbeat_at" not in ddl[0]
        # Three workers open the old database at once: one upgrades it, the others wait.
        storages = _open_together(lambda: SQLStorage(url))
        try:
            _check_upgraded(storages, engine)
        finally:
            for storage in storages:
                storage.close()
        reopened = SQLStorage(url)  # an upgraded database opens as it is
        try:
            assert [t.number for t in reopened.trials(1)] == [0, 1, 2, 3]
        finally:
            reopened.close()
    finally:
        engine.dispose()


@pytest.mark.parametrize("stored", ["999", "3", "0", "two"])
def test_sqlite_unreadable_schema_versions_raise(tmp_path: Path, stored: str) -> None:
    path = tmp_path / "other.db"
    SQLStorage(sqlite_url(path)).close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("UPDATE hs_meta SET value = ? WHERE key = 'schema_version'", (stored,))
        db.commit()
    with pytest.raises(SchemaVersionError, match=f"version {stored}, but"):
        SQLStorage(sqlite_url(path))
    with contextlib.closing(sqlite3.connect(path)) as db:  # left as it was
        assert db.execute("SELECT value FROM hs_meta").fetchone() == (stored,)


def test_broken_database_raises_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    storage = SQLStorage(sqlite_url(path))
    try:
        study = storage.create_study("broken")
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute("DROP TABLE hs_trial_reports")
            db.execute("DROP TABLE hs_trials")
            db.commit()
        with pytest.raises(StorageError, match="hs_trials"):
            storage.create_trial(study.id, values={})
        with pytest.raises(StorageError, match="hs_trials"):
            storage.trials(study.id)
    finally:
        storage.close()


def _study_file(path: Path, trials: int = 3) -> None:
    """An SQLite study ``demo`` of ``trials`` complete trials at ``path``."""
    storage = SQLStorage(sqlite_url(path))
    try:
        study = storage.create_study("demo")
        for number in range(trials):
            storage.create_trial(study.id, values={"x": number})
            storage.finish_trial(study.id, number, state=TrialState.COMPLETE, value=1.0)
    finally:
        storage.close()


def test_sqlite_empty_file_is_refused_and_left_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_module, "EMPTY_FILE_GRACE", 0.05)
    path = tmp_path / "truncated.db"
    _study_file(path)
    path.write_bytes(b"")  # truncated to 0 bytes
    with pytest.raises(DamagedStudyError) as info:
        SQLStorage(sqlite_url(path))
    message = str(info.value)
    assert str(path) in message and "0 bytes" in message
    assert f"hyperscout check {path}" in message and "backup" in message
    assert path.stat().st_size == 0  # not turned into a new, empty study


def test_sqlite_empty_file_being_created_by_another_process_opens(tmp_path: Path) -> None:
    # Another process has created the file and not yet written it: wait for it.
    _study_file(tmp_path / "ready.db")
    content = (tmp_path / "ready.db").read_bytes()
    path = tmp_path / "new.db"
    path.write_bytes(b"")
    writer = threading.Timer(0.2, path.write_bytes, args=(content,))
    writer.start()
    try:
        storage = SQLStorage(sqlite_url(path))
    finally:
        writer.join()
    try:
        study = storage.load_study("demo")
        assert study is not None and len(storage.trials(study.id)) == 3
    finally:
        storage.close()


def test_sqlite_new_and_empty_databases_still_open(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "study.db"
    SQLStorage(sqlite_url(path)).close()  # created: a database with no study
    assert path.stat().st_size > 0
    reopened = SQLStorage(sqlite_url(path))
    try:
        assert reopened.list_studies() == []
        assert reopened.check() == []
    finally:
        reopened.close()


def test_sqlite_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("shopping list: eggs, flour\n" * 200)
    with pytest.raises(DamagedStudyError) as info:
        SQLStorage(sqlite_url(path))
    assert str(path) in str(info.value) and "not an SQLite database" in str(info.value)
    assert f"hyperscout check {path}" in str(info.value)
    assert path.read_text().startswith("shopping list")


@pytest.mark.parametrize(
    ("dropped", "lacking"),
    [
        (["hs_trial_reports", "hs_trials"], "lacks the tables hs_trials, hs_trial_reports"),
        (["hs_meta"], "lacks the table hs_meta"),
    ],
)
def test_sqlite_database_missing_tables_is_refused(
    tmp_path: Path, dropped: list[str], lacking: str
) -> None:
    path = tmp_path / "partial.db"
    _study_file(path)
    with contextlib.closing(sqlite3.connect(path)) as db:
        for table in dropped:
            db.execute(f"DROP TABLE {table}")
        db.commit()
    with pytest.raises(DamagedStudyError, match=lacking) as info:
        SQLStorage(sqlite_url(path))
    assert str(path) in str(info.value) and "hyperscout check" in str(info.value)
    with contextlib.closing(sqlite3.connect(path)) as db:  # nothing was created in their place
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert not set(dropped) & tables


def test_sqlite_version_row_deleted_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "unversioned.db"
    _study_file(path)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("DELETE FROM hs_meta")
        db.commit()
    with pytest.raises(DamagedStudyError, match="lacks the schema version row"):
        SQLStorage(sqlite_url(path))


def test_sqlite_text_in_a_numeric_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "typed.db"
    _study_file(path)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("UPDATE hs_trials SET value = 'abc' WHERE number = 2")
        db.commit()
    storage = SQLStorage(sqlite_url(path))
    try:
        with pytest.raises(DamagedStudyError, match=r"trial 2 of study 'demo'.*value.*'abc'"):
            storage.trials(1)
        assert storage.check() == [
            "Study 'demo', trial 2: hs_trials.value holds 'abc', expected a number or NULL."
        ]
    finally:
        storage.close()


def test_sqlite_check_finds_deleted_trials(tmp_path: Path) -> None:
    path = tmp_path / "gaps.db"
    _study_file(path, trials=5)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("DELETE FROM hs_trials WHERE number IN (1, 3)")
        db.commit()
    storage = SQLStorage(sqlite_url(path))
    try:
        (problem,) = storage.check()
    finally:
        storage.close()
    assert problem.startswith("Study 'demo': trials 1, 3 are missing")


def test_tuner_refuses_a_damaged_study_and_keeps_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hyperscout as hs

    monkeypatch.setattr(sql_module, "EMPTY_FILE_GRACE", 0.05)
    project = tmp_path / "runs" / "resnet"
    _study_file(project / "hyperscout.db")
    with contextlib.closing(sqlite3.connect(project / "hyperscout.db")) as db:
        db.execute("UPDATE hs_studies SET name = 'resnet'")
        db.execute("""UPDATE hs_trials SET "values" = '{"x": 1' WHERE number = 1""")
        db.commit()

    def build() -> hs.Tuner:
        return hs.RandomSearch(
            lambda hp: hp.Float("x", 0, 1),
            max_trials=5,
            directory=tmp_path / "runs",
            project_name="resnet",
        )

    with pytest.raises(DamagedStudyError, match="trial 1 of study 'resnet'"):
        build()
    (project / "hyperscout.db").write_bytes(b"")  # truncated to 0 bytes
    for name in ("hyperscout.db-wal", "hyperscout.db-shm"):
        (project / name).unlink(missing_ok=True)
    (project / "checkpoints").mkdir(exist_ok=True)
    (project / "checkpoints" / "pretrained.pt").write_bytes(b"weights")
    with pytest.raises(DamagedStudyError, match="0 bytes"):
        build()
    assert (project / "checkpoints" / "pretrained.pt").read_bytes() == b"weights"
    assert (project / "hyperscout.db").stat().st_size == 0


def test_sqlite_reopen_keeps_everything(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "reopen.db")
    storage = SQLStorage(url)
    study = storage.create_study("kept", space={"x": {"type": "int"}})
    storage.create_trial(study.id, values={"x": 1})
    storage.finish_trial(study.id, 0, state=TrialState.COMPLETE, value=3.0)
    storage.close()
    reopened = SQLStorage(url)
    try:
        loaded = reopened.load_study("kept")
        assert loaded is not None
        assert dict(loaded.space) == {"x": {"type": "int"}}
        (trial,) = reopened.trials(loaded.id)
        assert (trial.state, trial.value, dict(trial.values)) == (
            TrialState.COMPLETE,
            3.0,
            {"x": 1},
        )
    finally:
        reopened.close()


_WORKER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from hyperscout.storage.sql import SQLStorage
    from hyperscout.trial import TrialState

    url, name, ready, go, count = sys.argv[1:]
    storage = SQLStorage(url)
    study = storage.load_study(name)
    Path(ready).touch()
    deadline = time.monotonic() + 60
    while not Path(go).exists():
        if time.monotonic() > deadline:
            sys.exit("no start signal")
        time.sleep(0.002)
    numbers = []
    for i in range(int(count)):
        trial = storage.create_trial(study.id, values={"pid": os.getpid(), "i": i})
        storage.trials(study.id)
        storage.finish_trial(study.id, trial.number, state=TrialState.COMPLETE, value=float(i))
        numbers.append(trial.number)
    storage.close()
    print(" ".join(map(str, numbers)))
    """
)


def test_sqlite_two_processes_share_one_file(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "processes.db")
    storage = SQLStorage(url)
    try:
        study = storage.create_study("processes")
        src = str(Path(sql_module.__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
        go = tmp_path / "go"
        ready = [tmp_path / f"ready-{i}" for i in range(2)]
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", _WORKER, url, "processes", str(flag), str(go), "20"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for flag in ready
        ]
        try:
            deadline = time.monotonic() + 60
            while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
                if any(w.poll() is not None for w in workers):
                    break
                time.sleep(0.01)
            go.touch()
            outputs = [w.communicate(timeout=120) for w in workers]
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.communicate()
        for worker, (_, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err
        numbers = [int(n) for out, _ in outputs for n in out.split()]
        assert len(numbers) == 40
        assert sorted(numbers) == list(range(40))
        trials = storage.trials(study.id)
        assert [t.number for t in trials] == list(range(40))
        assert all(t.state is TrialState.COMPLETE for t in trials)
        assert len({t.values["pid"] for t in trials}) == 2
    finally:
        storage.close()


# -- opening (more in test_factory.py) --------------------------------------------------------


def test_unreachable_postgres_raises_storage_error() -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(StorageError, match="database failed"):
        SQLStorage("postgresql+psycopg://nobody@127.0.0.1:1/none")


# -- PostgreSQL --------------------------------------------------------------------------------


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true, so PostgreSQL tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[sa.Engine]:
    """An autocommit engine on the test database, or a skip when there is none."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed: pip install 'hyperscout[postgres]'")
    url = sa.make_url(POSTGRES_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        _unavailable(f"PostgreSQL at {url} is unreachable: {exc.orig}")
    yield engine
    engine.dispose()


@pytest.mark.postgres
class TestPostgresStorage(DamageWithSQL, StorageConformance, SharedDatabaseTests):
    """Each test gets a schema of its own, so parallel and repeated runs never collide."""

    schema = ""

    @pytest.fixture(autouse=True)
    def _fresh_schema(self, postgres_admin: sa.Engine) -> Iterator[None]:
        self.schema = f"hs_test_{uuid.uuid4().hex[:16]}"
        with postgres_admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
        try:
            yield
        finally:
            with postgres_admin.connect() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))

    def make_storage(self, tmp_path: Path) -> SQLStorage:
        return SQLStorage(
            POSTGRES_URL,
            engine_kwargs={"connect_args": {"options": f"-csearch_path={self.schema}"}},
        )

    def test_tables_are_in_the_schema(self, storage: SQLStorage, postgres_admin: sa.Engine) -> None:
        storage.create_study("here")
        with postgres_admin.connect() as conn:
            names = sa.inspect(conn).get_table_names(schema=self.schema)
        assert {"hs_meta", "hs_studies", "hs_trials", "hs_trial_reports"} <= set(names)

    def test_other_schema_version_raises(
        self, tmp_path: Path, storage: SQLStorage, postgres_admin: sa.Engine
    ) -> None:
        with postgres_admin.connect() as conn:
            conn.execute(
                sa.text(
                    f"UPDATE \"{self.schema}\".hs_meta SET value = '999' "
                    "WHERE key = 'schema_version'"
                )
            )
        with pytest.raises(SchemaVersionError) as info:
            self.make_storage(tmp_path)
        assert "999" in str(info.value)
        assert f"version {SCHEMA_VERSION}" in str(info.value)

    def test_schema_missing_the_trials_table_is_refused(
        self, tmp_path: Path, storage: SQLStorage, postgres_admin: sa.Engine
    ) -> None:
        study = storage.create_study("lost")
        storage.create_trial(study.id, values={"x": 1})
        storage.close()
        with postgres_admin.connect() as conn:
            conn.execute(sa.text(f'DROP TABLE "{self.schema}".hs_trial_reports'))
            conn.execute(sa.text(f'DROP TABLE "{self.schema}".hs_trials'))
        with pytest.raises(DamagedStudyError, match="lacks the tables hs_trials") as info:
            self.make_storage(tmp_path)
        assert "hyperscout check postgresql+psycopg://" in str(info.value)
        with postgres_admin.connect() as conn:  # nothing was created in their place
            names = sa.inspect(conn).get_table_names(schema=self.schema)
        assert "hs_trials" not in names

    def test_version_1_schema_is_upgraded_in_place(
        self, tmp_path: Path, postgres_admin: sa.Engine
    ) -> None:
        engine = sa.create_engine(
            postgres_admin.url,
            connect_args={"options": f"-csearch_path={self.schema}"},
            poolclass=sa.pool.NullPool,
        )
        try:
            _write_version_1(engine)
            storages = _open_together(lambda: self.make_storage(tmp_path))
            try:
                _check_upgraded(storages, engine)
            finally:
                for storage in storages:
                    storage.close()
        finally:
            engine.dispose()

    def test_now_is_the_servers_clock(self, storage: SQLStorage) -> None:
        before = storage.now()
        study = storage.create_study("clock")
        trial = storage.create_trial(study.id, values={})
        storage.heartbeat(study.id, [trial.number])
        done = storage.finish_trial(study.id, trial.number, state=TrialState.COMPLETE)
        after = storage.now()
        assert done.started_at is not None and done.heartbeat_at is not None
        assert done.finished_at is not None
        assert before <= study.created_at <= done.started_at <= done.heartbeat_at
        assert done.heartbeat_at <= done.finished_at <= after
        assert abs(before - time.time()) < 60  # a Unix timestamp, like this machine's clock

    def test_two_instances_create_the_schema_at_once(self, tmp_path: Path) -> None:
        # The schema of this test is empty until both open it at the same moment.
        opened: list[SQLStorage] = []
        errors: list[BaseException] = []
        start = threading.Barrier(3)

        def open_one() -> None:
            start.wait()
            try:
                opened.append(self.make_storage(tmp_path))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_one) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        try:
            assert errors == []
            study = opened[0].create_study("together")
            assert opened[1].load_study("together") == study
        finally:
            for storage in opened:
                storage.close()

    # A claim's COMMIT does not wait for the disk: a crash of the server may lose the row of a
    # trial still running (never one that finished: the finish's COMMIT waits, and puts every
    # earlier claim on disk with it). Deleting the row stands in for the crash.
    def _lose_row(self, postgres_admin: sa.Engine, study_id: int, number: int) -> None:
        with postgres_admin.connect() as conn:
            deleted = conn.execute(
                sa.text(
                    f'DELETE FROM "{self.schema}".hs_trials '
                    "WHERE study_id = :study_id AND number = :number"
                ),
                {"study_id": study_id, "number": number},
            )
        assert deleted.rowcount == 1

    def test_a_lost_claim_is_made_again_when_its_trial_finishes(
        self, tmp_path: Path, storage: SQLStorage, postgres_admin: sa.Engine
    ) -> None:
        study = storage.create_study("crash")
        first = storage.create_trial(study.id, values={"x": 1})
        storage.finish_trial(study.id, first.number, state=TrialState.COMPLETE, value=1.0)
        trial = storage.create_trial(
            study.id, values={"x": 2}, budget=3.0, attrs={"a": 1}, claim="slot-1"
        )
        self._lose_row(postgres_admin, study.id, trial.number)
        done = storage.finish_trial(
            study.id, trial.number, state=TrialState.COMPLETE, value=0.5, attrs={"b": 2}
        )
        assert (done.number, done.state, done.value) == (1, TrialState.COMPLETE, 0.5)
        assert (done.budget, done.started_at) == (3.0, trial.started_at)
        assert done.attrs == {"a": 1, "claim": "slot-1", "b": 2}
        other = self.make_storage(tmp_path)  # another worker's view: nothing lost, no gap
        try:
            assert [(t.number, t.state, t.value) for t in other.trials(study.id)] == [
                (0, TrialState.COMPLETE, 1.0),
                (1, TrialState.COMPLETE, 0.5),
            ]
            assert other.get_trial(study.id, 1) == done
            assert other.check() == []
            with pytest.raises(ClaimTakenError):  # the slot is held again
                other.create_trial(study.id, values={"x": 3}, claim="slot-1")
        finally:
            other.close()

    def test_a_lost_claim_is_made_again_by_a_report(
        self, storage: SQLStorage, postgres_admin: sa.Engine
    ) -> None:
        study = storage.create_study("crash")
        trial = storage.create_trial(study.id, values={"x": 2})
        self._lose_row(postgres_admin, study.id, trial.number)
        storage.report(study.id, trial.number, 1, {"loss": 0.3})
        done = storage.finish_trial(study.id, trial.number, state=TrialState.COMPLETE, value=0.3)
        assert (done.number, done.started_at) == (0, trial.started_at)
        assert done.intermediate == {1: {"loss": 0.3}}

    def test_a_heartbeat_makes_a_lost_claim_again(
        self, tmp_path: Path, storage: SQLStorage, postgres_admin: sa.Engine
    ) -> None:
        study = storage.create_study("crash")
        mine = storage.create_trial(study.id, values={"x": 1})
        kept = storage.create_trial(study.id, values={"x": 2})
        self._lose_row(postgres_admin, study.id, kept.number)
        self._lose_row(postgres_admin, study.id, mine.number)
        assert storage.heartbeat(study.id, [mine.number, kept.number]) == []  # both alive
        back = storage.get_trial(study.id, mine.number)
        assert (back.state, back.values, back.started_at) == (
            TrialState.RUNNING,
            {"x": 1},
            mine.started_at,
        )
        assert back.heartbeat_at is None  # made again after the beat, which found no row
        other = self.make_storage(tmp_path)
        try:  # the other worker sees both again, numbered as they were
            assert [t.number for t in other.trials(study.id)] == [0, 1]
        finally:
            other.close()

    def test_a_heartbeat_tells_a_lost_claim_whose_number_was_taken(
        self, tmp_path: Path, storage: SQLStorage, postgres_admin: sa.Engine
    ) -> None:
        study = storage.create_study("crash")
        mine = storage.create_trial(study.id, values={"x": 1})
        self._lose_row(postgres_admin, study.id, mine.number)
        other = self.make_storage(tmp_path)
        try:
            theirs = other.create_trial(study.id, values={"x": 2})
            assert theirs.number == mine.number
            assert storage.heartbeat(study.id, [mine.number]) == [mine.number]  # not ours
            with pytest.raises(StorageError, match="lost by the database server"):
                storage.finish_trial(study.id, mine.number, state=TrialState.COMPLETE)
            assert other.get_trial(study.id, theirs.number).state is TrialState.RUNNING
        finally:
            other.close()

    def test_a_lost_claim_whose_number_was_taken_is_not_recorded(
        self, tmp_path: Path, storage: SQLStorage, postgres_admin: sa.Engine
    ) -> None:
        study = storage.create_study("crash")
        mine = storage.create_trial(study.id, values={"x": 1})
        self._lose_row(postgres_admin, study.id, mine.number)
        other = self.make_storage(tmp_path)
        try:
            theirs = other.create_trial(study.id, values={"x": 2})  # the number is free again
            assert theirs.number == mine.number
            with pytest.raises(StorageError, match="lost by the database server"):
                storage.report(study.id, mine.number, 1, {"loss": 0.3})
            with pytest.raises(StorageError, match="lost by the database server"):
                storage.finish_trial(study.id, mine.number, state=TrialState.COMPLETE, value=1.0)
            kept = other.get_trial(study.id, theirs.number)  # theirs, untouched by ours
            assert (kept.state, kept.values, kept.intermediate) == (
                TrialState.RUNNING,
                {"x": 2},
                {},
            )
        finally:
            other.close()
        with pytest.raises(StorageError, match="has no trial 5"):  # never claimed here
            storage.finish_trial(study.id, 5, state=TrialState.COMPLETE)

    def test_a_connection_the_server_ended_is_replaced(
        self, storage: SQLStorage, postgres_admin: sa.Engine
    ) -> None:
        study = storage.create_study("cut")
        trial = storage.create_trial(study.id, values={"x": 1})
        with storage._engine.connect() as conn:  # the pool's one connection
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with postgres_admin.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        with pytest.raises(StorageError, match="database failed"):  # it meets the dead one
            storage.finish_trial(study.id, trial.number, state=TrialState.COMPLETE, value=1.0)
        # The next calls run on a new connection.
        done = storage.finish_trial(study.id, trial.number, state=TrialState.COMPLETE, value=1.0)
        assert (done.number, done.value) == (0, 1.0)
        assert storage.create_trial(study.id, values={"x": 2}).number == 1
        assert [t.state for t in storage.trials(study.id)] == [
            TrialState.COMPLETE,
            TrialState.RUNNING,
        ]

    def test_without_pipeline_mode_the_same_statements_run_one_by_one(
        self,
        storage: SQLStorage,
        postgres_admin: sa.Engine,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from hyperscout.storage import _sql_postgres

        monkeypatch.setattr(_sql_postgres, "_pipelines", lambda: False)  # libpq older than 14
        study = storage.create_study("one by one")
        first = storage.create_trial(study.id, values={"x": 1}, claim="slot-0")
        with pytest.raises(ClaimTakenError):
            storage.create_trial(study.id, values={"x": 9}, claim="slot-0")
        storage.report(study.id, first.number, 1, {"loss": 0.5})
        done = storage.finish_trial(study.id, first.number, state=TrialState.COMPLETE, value=0.5)
        assert (done.number, done.intermediate) == (0, {1: {"loss": 0.5}})
        second = storage.create_trial(study.id, values={"x": 2})
        self._lose_row(postgres_admin, study.id, second.number)
        failed = storage.finish_trial(
            study.id, second.number, state=TrialState.FAILED, attrs={"why": "test"}
        )
        assert (failed.number, failed.started_at, failed.attrs) == (
            1,
            second.started_at,
            {"why": "test"},
        )
        assert [t.state for t in storage.trials(study.id)] == [
            TrialState.COMPLETE,
            TrialState.FAILED,
        ]
