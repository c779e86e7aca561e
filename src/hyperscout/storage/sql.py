"""Storage in an SQL database through SQLAlchemy Core: SQLite (the default) and PostgreSQL.

One database holds any number of studies. Several threads, processes or machines may share it:
trial numbers stay unique and dense, and a trial is finished at most once, because both are
decided inside one short transaction each (``BEGIN IMMEDIATE`` on SQLite, a row lock on
PostgreSQL).

Everything is stored as JSON text, nothing is pickled. The tables, all prefixed ``hs_``::

    hs_meta           key, value                      (schema_version)
    hs_studies        id, name (unique), space, meta, created_at
    hs_trials         id, study_id -> hs_studies, number, state, values, value, metrics,
                      budget, attrs, error, started_at, finished_at, claim, heartbeat_at
                      UNIQUE(study_id, number)
    hs_trial_reports  trial_id -> hs_trials, step, metrics            UNIQUE(trial_id, step)

A database of an older schema version is upgraded in place when it is opened (version 1 lacked
``heartbeat_at``); one of a newer version is refused with :class:`SchemaVersionError`.

The tuner reads the whole history before every trial, so :class:`SQLStorage` keeps the trials
that are finished (they never change again) in memory and asks the database only for the
others.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hyperscout._paths import make_folder
from hyperscout.exceptions import (
    ClaimTakenError,
    DamagedStudyError,
    InvalidArgumentError,
    SchemaVersionError,
    StorageError,
    require,
)
from hyperscout.storage._sql_schema import (
    CLAIM_TAKEN,
    FINISH_TRIAL,
    HEARTBEAT,
    INSERT_NEXT_TRIAL,
    INSERT_REPORT,
    INSERT_STUDY,
    INSERT_VERSION,
    LOCK_STUDY,
    LOCK_TRIAL,
    META,
    METADATA,
    REPORTS,
    RUNNING,
    SCHEMA_LOCK_KEY,
    SELECT_NEW_TRIALS,
    SELECT_REPORTS,
    SELECT_SERVER_TIME,
    SELECT_STUDIES,
    SELECT_STUDY_BY_NAME,
    SELECT_TRIAL_WITH_REPORTS,
    SELECT_TRIAL_WITH_STEP,
    SELECT_VERSION,
    STUDIES,
    TRIALS,
    UPDATE_REPORT,
    UPDATE_VERSION,
    add_heartbeat_column,
    schema_version,
)
from hyperscout.storage.base import (
    SCHEMA_VERSION,
    Storage,
    StudyInfo,
    check_alive_since,
    normalize_budget,
)
from hyperscout.storage.memory import MemoryStorage
from hyperscout.trial import Trial, TrialState

__all__ = ["SQLStorage", "open_storage", "sqlite_url"]

#: Seconds an SQLite connection waits for another writer before it gives up with a
#: StorageError (a writer frozen mid-write holds the lock; see SQLStorage's note on hangs).
SQLITE_BUSY_TIMEOUT = 30.0

#: Seconds an SQLite file found empty may take to become a database: another process that
#: creates it leaves it empty for a moment. A file still empty then is refused.
EMPTY_FILE_GRACE = 1.0

# How often create_trial() tries again when a concurrent worker took the same number.
_CREATE_TRIAL_ATTEMPTS = 10

# The RUNNING trials among some numbers of a study: heartbeat() answers with the others.
_SELECT_RUNNING_AMONG = sa.select(TRIALS.c.number).where(
    TRIALS.c.study_id == sa.bindparam("study_id"),
    TRIALS.c.number.in_(sa.bindparam("numbers", expanding=True)),
    TRIALS.c.state == RUNNING,
)

# -- helpers ---------------------------------------------------------------------------------


def _dumps(data: Mapping[str, Any], what: str) -> str:
    """``data`` as JSON text, or a TypeError that says which argument is not JSON."""
    try:
        return json.dumps(dict(data), separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"SQLStorage stores {what} as JSON (str, int, float, bool, None, lists and dicts "
            f"with str keys); {exc}. Convert the value before storing it."
        ) from exc


def _loads(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    return data


class _DamagedRowError(Exception):
    """A stored value that cannot be read back: where it is, and what is wrong with it.

    Raised by the row readers below; :class:`SQLStorage` turns it into a
    :class:`DamagedStudyError` that names the database, the study and the trial.
    """

    def __init__(self, column: str, problem: str) -> None:
        super().__init__(f"{column} {problem}")
        #: The number of the trial whose row it is; None for a study's row.
        self.number: Any = None


def _shown(raw: Any) -> str:
    """``raw`` for a message: its repr, cut to 60 characters."""
    text = repr(raw)
    return text if len(text) <= 60 else text[:56] + "...'"


def _object_column(text: Any, column: str) -> dict[str, Any]:
    """The JSON object stored as ``text`` in ``column``, or :class:`_DamagedRowError`."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise _DamagedRowError(column, f"holds {_shown(text)}, which is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise _DamagedRowError(column, f"holds {_shown(text)}, expected a JSON object")
    return data


def _number_column(raw: Any, column: str) -> Any:
    """``raw`` if it is NULL or a number, as a numeric column must hold; else an error."""
    if raw is None or (isinstance(raw, int | float) and not isinstance(raw, bool)):
        return raw
    raise _DamagedRowError(column, f"holds {_shown(raw)}, expected a number or NULL")


_STATES = ", ".join(state.value for state in TrialState)


def _study_from_row(row: Sequence[Any]) -> StudyInfo:
    study_id, name, space, meta, created_at = row
    return StudyInfo(
        id=study_id,
        name=name,
        space=_object_column(space, "hs_studies.space"),
        meta=_object_column(meta, "hs_studies.meta"),
        created_at=_number_column(created_at, "hs_studies.created_at"),
    )


def _trial_from_row(row: Sequence[Any], reports: Mapping[int, str]) -> Trial:
    """A trial from a row that starts with the columns of ``TRIAL_COLUMNS``.

    ``reports`` holds the stored text of the trial's reports by step. Raises
    :class:`_DamagedRowError`, naming the trial, when a column holds what hyperscout never
    writes.
    """
    try:
        try:
            state = TrialState(row[2])
        except ValueError:
            raise _DamagedRowError(
                "hs_trials.state", f"holds {_shown(row[2])}, expected one of {_STATES}"
            ) from None
        if not isinstance(row[8], str | None):
            raise _DamagedRowError(
                "hs_trials.error", f"holds {_shown(row[8])}, expected text or NULL"
            )
        return Trial(
            number=row[1],
            values=_object_column(row[3], "hs_trials.values"),
            state=state,
            value=_number_column(row[4], "hs_trials.value"),
            metrics=_object_column(row[5], "hs_trials.metrics"),
            intermediate={
                step: _object_column(text, f"hs_trial_reports.metrics (step {step})")
                for step, text in reports.items()
            },
            budget=normalize_budget(_number_column(row[6], "hs_trials.budget")),
            started_at=_number_column(row[9], "hs_trials.started_at"),
            finished_at=_number_column(row[10], "hs_trials.finished_at"),
            error=row[8],
            attrs=_object_column(row[7], "hs_trials.attrs"),
            heartbeat_at=_number_column(row[11], "hs_trials.heartbeat_at"),
        )
    except _DamagedRowError as damage:
        damage.number = row[1]
        raise


def _reports_of(rows: Sequence[Sequence[Any]]) -> dict[int, str]:
    """``{step: stored metrics}`` from the rows of ``SELECT_TRIAL_WITH_REPORTS``."""
    return {row[-2]: row[-1] for row in rows if row[-2] is not None}


def _check_running(state: str | None, study_id: int, number: int) -> None:
    """Raise unless ``state`` (None: no such trial) is RUNNING."""
    if state is None:
        raise StorageError(f"Study {study_id} has no trial {number}.")
    if state != RUNNING:
        raise StorageError(f"Trial {number} is already {state}; it cannot change any more.")


def _group_reports(rows: Iterable[Sequence[Any]]) -> dict[int, dict[int, str]]:
    """``{trial_id: {step: stored metrics}}`` from rows of (trial_id, step, metrics)."""
    grouped: dict[int, dict[int, str]] = {}
    for trial_id, step, metrics in rows:
        grouped.setdefault(trial_id, {})[step] = metrics
    return grouped


def _back_off(attempt: int) -> None:
    """Wait a little, longer after each failed attempt, before trying a write again."""
    time.sleep(random.uniform(0.001, 0.01) * (attempt + 1))


def _is_locked(error: BaseException | None) -> bool:
    """True for SQLite's answer to a write that waited for the lock in vain."""
    text = str(error)
    return "database is locked" in text or "database is busy" in text


def _is_memory_sqlite(url: sa.URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _on_sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    """Configure every new SQLite connection (the pysqlite recipe of the SQLAlchemy docs)."""
    # Stop the sqlite3 module from emitting BEGIN itself: SQLStorage does, so that writes
    # can say BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # The busy timeout first, so that switching to WAL waits for other processes too.
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT * 1000)}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """Put the database in WAL mode, waiting while another process does the same.

    Changing the journal mode needs the database to itself, and SQLite answers "database is
    locked" at once, without its busy handler, when two processes open a new database
    together; so try again for up to the busy timeout.
    """
    import sqlite3

    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01 + 0.04 * random.random())


def _begin_sqlite(conn: Connection, statement: str) -> None:
    import sqlite3

    driver_connection = conn.connection.driver_connection
    assert driver_connection is not None  # a checked-out connection always has one
    try:
        driver_connection.execute(statement)
    except sqlite3.Error as exc:
        # Straight from the driver ("database is locked" after the busy timeout): wrap it as
        # SQLAlchemy does, so that SQLStorage turns it into a StorageError like any other.
        raise sa.exc.DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


class _StudyCache:
    """The finished trials of one study that :class:`SQLStorage` has already read.

    ``prefix[i]`` is trial ``i``: every trial up to ``len(prefix) - 1`` is finished, so only
    trials numbered above it can still change. ``later`` holds trials finished out of order.
    """

    __slots__ = ("later", "prefix")

    def __init__(self) -> None:
        self.prefix: list[Trial] = []
        self.later: dict[int, Trial] = {}

    @property
    def horizon(self) -> int:
        return len(self.prefix) - 1

    def add(self, trial: Trial) -> None:
        if trial.number >= len(self.prefix):
            self.later[trial.number] = trial
            while len(self.prefix) in self.later:
                self.prefix.append(self.later.pop(len(self.prefix)))

    def get(self, number: int) -> Trial | None:
        if 0 <= number < len(self.prefix):
            return self.prefix[number]
        return self.later.get(number)


# -- the storage -----------------------------------------------------------------------------


class SQLStorage(Storage):
    """Keeps studies and trials in an SQL database: SQLite or PostgreSQL.

    Safe for many threads, processes and machines on one database. Open one instance per
    process and share it among threads; call :meth:`close` when done.

    Each write is one short transaction inside one method: no user code, callback or wait
    runs while it is open. Still, SQLite has one write lock per file: a worker frozen in the
    middle of a write (suspended, swapped out) holds it, and the others wait for it
    ``SQLITE_BUSY_TIMEOUT`` seconds (30) and then raise :class:`StorageError`. Workers that
    may hang belong on PostgreSQL, whose locks are per row.

    Args:
        url: an SQLAlchemy database URL: ``sqlite:///path/to/study.db`` (the parent
            directories are created; :func:`sqlite_url` builds the URL from a path) or
            ``postgresql+psycopg://user:password@host:5432/dbname`` (needs the ``postgres``
            extra). ``sqlite://`` is an in-memory database of this process.
        engine_kwargs: extra arguments for :func:`sqlalchemy.create_engine`
            (``connect_args`` are merged with the defaults).

    Raises:
        InvalidArgumentError: ``url`` is not a database URL SQLAlchemy knows.
        MissingDependencyError: a PostgreSQL URL and psycopg is not installed.
        SchemaVersionError: the database was written with a newer schema version (an older
            one is upgraded in place).
        StorageError: the database cannot be reached or used (also from every method).

    >>> import os, shutil, tempfile
    >>> from hyperscout.trial import TrialState
    >>> folder = tempfile.mkdtemp()
    >>> storage = SQLStorage(sqlite_url(os.path.join(folder, "runs", "study.db")))
    >>> study = storage.create_study("demo", space={"x": {"type": "int"}})
    >>> trial = storage.create_trial(study.id, values={"x": 1})
    >>> storage.report(study.id, trial.number, 1, {"val_loss": 0.7})
    >>> done = storage.finish_trial(study.id, trial.number, state=TrialState.COMPLETE, value=0.5)
    >>> done.value, done.intermediate
    (0.5, {1: {'val_loss': 0.7}})
    >>> [t.state.name for t in storage.trials(study.id)]
    ['COMPLETE']
    >>> storage.close()
    >>> shutil.rmtree(folder)
    """

    def __init__(self, url: str, *, engine_kwargs: Mapping[str, Any] | None = None) -> None:
        parsed = self._parse_url(url)
        self._url = parsed
        self._backend = parsed.get_backend_name()
        self._cache: dict[int, _StudyCache] = {}
        self._cache_lock = threading.Lock()
        # An in-memory SQLite database lives in one connection that all threads share, so
        # its users take turns; every other database gives each thread its own connection.
        self._serial: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        self._engine = self._create_engine(parsed, dict(engine_kwargs or {}))
        try:
            self._create_schema()
        except BaseException:
            self._engine.dispose()
            raise

    # -- setup ---------------------------------------------------------------------------
    @staticmethod
    def _parse_url(url: str) -> sa.URL:
        try:
            parsed = sa.make_url(url)
        except (sa.exc.ArgumentError, TypeError, ValueError) as exc:
            raise InvalidArgumentError(
                f"SQLStorage(url=...): expected a database URL such as "
                f"'sqlite:///runs/study.db' or 'postgresql+psycopg://user@host/dbname', got "
                f"{url!r}. For a file path, use hyperscout.storage.sql.sqlite_url(path)."
            ) from exc
        if parsed.drivername == "postgresql":
            # The postgres extra installs psycopg 3; make it the driver of a bare URL.
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed

    def _create_engine(self, url: sa.URL, engine_kwargs: dict[str, Any]) -> Engine:
        kwargs: dict[str, Any] = {}
        connect_args: dict[str, Any] = {}
        if self._backend == "sqlite":
            connect_args["timeout"] = SQLITE_BUSY_TIMEOUT
            if _is_memory_sqlite(url):
                self._serial = threading.RLock()
                connect_args["check_same_thread"] = False
                kwargs["poolclass"] = sa.pool.StaticPool
            elif url.database and not url.database.startswith("file:"):
                self._refuse_empty_file(Path(url.database))
                make_folder(Path(url.database).parent, f"SQLStorage(url={self._display_url!r})")
        elif self._backend == "postgresql" and url.get_driver_name() == "psycopg":
            require("psycopg", feature="SQLStorage on PostgreSQL", extra="postgres")
        connect_args.update(engine_kwargs.pop("connect_args", {}))
        kwargs.update(engine_kwargs)
        kwargs["connect_args"] = connect_args
        try:
            engine = sa.create_engine(url, **kwargs)
        except sa.exc.NoSuchModuleError as exc:
            raise InvalidArgumentError(
                f"SQLStorage(url=...): SQLAlchemy has no database driver for "
                f"{url.drivername!r}. Use 'sqlite:///path/to/study.db' or "
                f"'postgresql+psycopg://user@host/dbname'."
            ) from exc
        if self._backend == "sqlite":
            sa.event.listen(engine, "connect", _on_sqlite_connect)
        return engine

    def _refuse_empty_file(self, path: Path) -> None:
        """Refuse an SQLite file that was there, empty, before this storage opened it.

        SQLite takes an empty file for a new database, so a study truncated to 0 bytes would
        open as a new, empty one. A process creating the database leaves it empty for a
        moment, so a file still empty after :data:`EMPTY_FILE_GRACE` seconds is refused.
        """
        deadline = time.monotonic() + EMPTY_FILE_GRACE
        while True:
            try:
                if not path.is_file() or path.stat().st_size > 0:
                    return  # a new database, or one with content (SQLite reads the rest)
            except OSError:
                return  # SQLite says what is wrong when it opens the path
            if time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        raise DamagedStudyError(
            f"{self._where} is empty (0 bytes), but it was there before hyperscout opened it: "
            "it was truncated, or it is not a study hyperscout wrote. Opening it would start a "
            f"new, empty study in its place, so it is left as it is. {self._recovery}"
        )

    def _check_tables(self, tables: set[str], stored: str | None) -> None:
        """Refuse a database that holds some of hyperscout's tables but not all (or no version).

        hyperscout creates them all in one transaction, so a partial set means damage: creating
        the missing ones would silently turn the study into an empty one.
        """
        ours = [table.name for table in METADATA.sorted_tables]
        present = [name for name in ours if name in tables]
        missing = [name for name in ours if name not in tables]
        if not present or (stored is not None and not missing):
            return
        lacking = (
            f"the table{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
            if missing
            else "the schema version row of hs_meta"
        )
        raise DamagedStudyError(
            f"{self._where} holds hyperscout's tables {', '.join(present)} but lacks "
            f"{lacking}: it is damaged, and opening it would start empty studies in place of "
            f"the ones it held, so it is left as it is. {self._recovery}"
        )

    def _create_schema(self) -> None:
        """Create the tables, or upgrade those of an older version, as one transaction.

        Two processes that open a database at once take turns (an advisory lock on
        PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite): the second finds the work done.
        """
        with self._write() as conn:
            if self._backend == "postgresql":
                # Two processes opening a new database must not both create the tables.
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY}
                )
            stored: str | None = None
            tables = set(sa.inspect(conn).get_table_names())
            if META.name in tables:
                stored = conn.execute(SELECT_VERSION).scalar_one_or_none()
            version = None if stored is None else schema_version(stored)
            if stored is not None and version is None:
                raise SchemaVersionError(
                    f"The database {self._display_url} has hyperscout schema version {stored}, "
                    f"but this hyperscout reads schema version {SCHEMA_VERSION} and older. "
                    "Open it with a hyperscout version that reads it, or use a new database."
                )
            self._check_tables(tables, stored)
            METADATA.create_all(conn, checkfirst=True)
            if version is None:
                conn.execute(INSERT_VERSION)
            elif version < SCHEMA_VERSION:
                add_heartbeat_column(conn)  # version 1 -> 2
                conn.execute(UPDATE_VERSION)

    def now(self) -> float:
        """The database's clock on PostgreSQL (one clock for every machine); else this one's."""
        if self._backend != "postgresql":
            return time.time()
        with self._read() as conn:
            return self._clock(conn)

    def _clock(self, conn: Connection) -> float:
        """:meth:`now`, read through a connection already open."""
        if self._backend != "postgresql":
            return self.now()
        return float(conn.execute(SELECT_SERVER_TIME).scalar_one())

    @property
    def _display_url(self) -> str:
        return self._url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"SQLStorage({self._display_url!r})"

    @property
    def _sqlite_file(self) -> str | None:
        """The path of the SQLite file, or None (PostgreSQL, in-memory SQLite)."""
        if self._backend != "sqlite" or _is_memory_sqlite(self._url):
            return None
        return self._url.database

    @property
    def _where(self) -> str:
        """The database, for the start of a sentence."""
        if self._sqlite_file is not None:
            return f"The SQLite file {self._sqlite_file}"
        return f"The database {self._display_url}"

    @property
    def _recovery(self) -> str:
        """How to recover from a damaged database, as a sentence."""
        target = self._sqlite_file or self._display_url
        aside = "move the file aside" if self._sqlite_file is not None else "use another database"
        return (
            f"Restore it from a backup, or {aside} to start over; `hyperscout check {target}` "
            "lists every problem it finds."
        )

    def _study_label(self, study_id: int) -> str:
        """``'name'`` of a study for a message, or ``with id N`` when it cannot be read."""
        try:
            with self._read() as conn:
                name = conn.execute(
                    sa.select(STUDIES.c.name).where(STUDIES.c.id == study_id)
                ).scalar_one_or_none()
        except StorageError:
            name = None
        return f"with id {study_id}" if name is None else repr(name)

    @contextlib.contextmanager
    def _reading_rows(self, study: int | str, number: int | None = None) -> Iterator[None]:
        """Turn a :class:`_DamagedRowError` row met inside into a :class:`DamagedStudyError`.

        Enter it before a transaction, so that the error is built once the transaction has
        ended (building it reads the study's name). ``number``: the trial being read.
        """
        try:
            yield
        except _DamagedRowError as damage:
            if damage.number is None:
                damage.number = number
            raise self._damaged(study, damage) from None

    def _damaged(self, study: int | str, damage: _DamagedRowError) -> DamagedStudyError:
        """The error for a row that cannot be read, naming the database, study and trial."""
        label = self._study_label(study) if isinstance(study, int) else repr(study)
        if damage.number is None:
            what = f"the row of study {label}"
            dropped = "The study"
        else:
            what = f"trial {damage.number} of study {label}"
            dropped = "hyperscout leaves no trial out, so the study"
        return DamagedStudyError(
            f"{self._where}: {what} cannot be read: {damage}. {dropped} cannot be used until "
            f"the row is repaired. {self._recovery}"
        )

    # SQLite: the connect hook turned off the sqlite3 module's own BEGIN (the pysqlite recipe
    # of the SQLAlchemy docs), so these emit it. It goes straight to the driver rather than
    # through a "begin" event: a connection event listener slows every statement down.
    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        """A connection whose reads see one snapshot; closing it ends the transaction."""
        with self._database_errors(), self._serial, self._engine.connect() as conn:
            if self._backend == "sqlite":
                _begin_sqlite(conn, "BEGIN")
            yield conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on any error."""
        with self._database_errors(), self._serial, self._engine.connect() as conn:
            if self._backend == "sqlite":
                # Take the write lock at once: a deferred transaction that reads first fails
                # with "database is locked" when another process writes in between.
                _begin_sqlite(conn, "BEGIN IMMEDIATE")
            with conn.begin():
                yield conn

    def _lock(self, conn: Connection, statement: sa.Select[Any], params: dict[str, Any]) -> None:
        """Take a row lock (PostgreSQL); SQLite's BEGIN IMMEDIATE already holds them all."""
        if self._backend != "sqlite":
            conn.execute(statement, params)

    @contextlib.contextmanager
    def _database_errors(self) -> Iterator[None]:
        """Turn the driver's errors (unreachable, locked, broken) into :class:`StorageError`.

        Integrity errors pass through: the callers expect them (a name or number taken).
        """
        try:
            yield
        except sa.exc.IntegrityError:
            raise
        except sa.exc.DBAPIError as exc:
            if self._backend == "sqlite" and _is_locked(exc.orig):
                raise StorageError(self._locked_message(exc.orig)) from exc
            if self._backend == "sqlite" and any(
                sign in str(exc.orig) for sign in ("file is not a database", "malformed")
            ):
                raise DamagedStudyError(
                    f"{self._where} is damaged or is not an SQLite database: {exc.orig}. "
                    f"{self._recovery}"
                ) from exc
            raise StorageError(
                f"{self!r}: the database failed: {exc.orig}. Check that it is reachable and "
                f"was created by hyperscout."
            ) from exc

    def _locked_message(self, error: BaseException | None) -> str:
        """Why an SQLite write waited in vain for the lock, and what to do."""
        return (
            f"{self!r}: the SQLite file {self._url.database} stayed locked by another "
            f"connection's write for the whole busy timeout of {SQLITE_BUSY_TIMEOUT:g} s "
            f"({error}). A worker stopped in the middle of a write (suspended with Ctrl-Z or "
            "SIGSTOP, swapped out, its machine asleep) keeps SQLite's one write lock until it "
            "goes on or ends, and every other worker waits. Resume or end that worker. Run "
            "workers that may hang on PostgreSQL (storage='postgresql+psycopg://...'), where "
            "a stalled worker locks only its own trials."
        )

    def close(self) -> None:
        """Close every pooled connection (the storage reconnects if used again)."""
        with self._cache_lock:
            self._cache.clear()
        self._engine.dispose()

    # -- studies -------------------------------------------------------------------------
    def create_study(
        self,
        name: str,
        *,
        space: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> StudyInfo:
        space_json = _dumps(space or {}, "the search space")
        meta_json = _dumps(meta or {}, "the study's meta")
        exists = StorageError(f"A study named {name!r} already exists.")
        try:
            with self._write() as conn:
                if conn.execute(SELECT_STUDY_BY_NAME, {"name": name}).first() is not None:
                    raise exists
                created_at = self._clock(conn)
                study_id = int(
                    conn.execute(
                        INSERT_STUDY,
                        {
                            "name": name,
                            "space": space_json,
                            "meta": meta_json,
                            "created_at": created_at,
                        },
                    ).scalar_one()
                )
        except sa.exc.IntegrityError as exc:  # another process created it in between
            raise exists from exc
        with self._cache_lock:
            self._cache.pop(study_id, None)
        return StudyInfo(
            id=study_id,
            name=name,
            space=_loads(space_json),
            meta=_loads(meta_json),
            created_at=created_at,
        )

    def load_study(self, name: str) -> StudyInfo | None:
        with self._read() as conn:
            row = conn.execute(SELECT_STUDY_BY_NAME, {"name": name}).first()
        try:
            return None if row is None else _study_from_row(row)
        except _DamagedRowError as damage:
            raise self._damaged(name, damage) from None

    def delete_study(self, name: str) -> None:
        with self._write() as conn:
            study_id = conn.execute(
                sa.select(STUDIES.c.id).where(STUDIES.c.name == name)
            ).scalar_one_or_none()
            if study_id is None:
                return
            # Foreign keys cascade too; deleting explicitly also cleans a database whose
            # connection was opened without them (an SQLite shell, say).
            trial_ids = sa.select(TRIALS.c.id).where(TRIALS.c.study_id == study_id)
            conn.execute(sa.delete(REPORTS).where(REPORTS.c.trial_id.in_(trial_ids)))
            conn.execute(sa.delete(TRIALS).where(TRIALS.c.study_id == study_id))
            conn.execute(sa.delete(STUDIES).where(STUDIES.c.id == study_id))
        with self._cache_lock:
            self._cache.pop(study_id, None)

    def list_studies(self) -> list[StudyInfo]:
        with self._read() as conn:
            rows = conn.execute(SELECT_STUDIES).all()
        studies = []
        for row in rows:
            try:
                studies.append(_study_from_row(row))
            except _DamagedRowError as damage:
                raise self._damaged(str(row[1]), damage) from None
        return studies

    def save_space(self, study_id: int, space: Mapping[str, Any]) -> None:
        space_json = _dumps(space, "the search space")
        with self._write() as conn:
            result = conn.execute(
                sa.update(STUDIES).where(STUDIES.c.id == study_id).values(space=space_json)
            )
            if result.rowcount == 0:
                raise StorageError(f"No study with id {study_id}.")

    def save_meta(self, study_id: int, meta: Mapping[str, Any]) -> None:
        meta_json = _dumps(meta, "the study's meta")
        with self._write() as conn:
            result = conn.execute(
                sa.update(STUDIES).where(STUDIES.c.id == study_id).values(meta=meta_json)
            )
            if result.rowcount == 0:
                raise StorageError(f"No study with id {study_id}.")

    # -- trials --------------------------------------------------------------------------
    def create_trial(
        self,
        study_id: int,
        *,
        values: Mapping[str, Any],
        budget: float | None = None,
        attrs: Mapping[str, Any] | None = None,
        claim: str | None = None,
    ) -> Trial:
        values_json = _dumps(values, "trial values")
        if claim is not None:
            attrs = {**(attrs or {}), "claim": claim}
        attrs_json = _dumps(attrs or {}, "trial attrs")
        budget = None if budget is None else float(budget)
        for attempt in range(_CREATE_TRIAL_ATTEMPTS):
            try:
                with self._write() as conn:
                    self._lock(conn, LOCK_STUDY, {"study_id": study_id})
                    started_at = self._clock(conn)
                    if (
                        claim is not None
                        and conn.execute(
                            CLAIM_TAKEN, {"study_id": study_id, "claim": claim}
                        ).first()
                    ):
                        raise ClaimTakenError(f"Slot {claim!r} of study {study_id} is taken.")
                    number = conn.execute(
                        INSERT_NEXT_TRIAL,
                        {
                            "study_id": study_id,
                            "new_values": values_json,
                            "new_budget": budget,
                            "new_attrs": attrs_json,
                            "new_started_at": started_at,
                            "new_claim": claim,
                        },
                    ).scalar()
                    if number is None:
                        raise StorageError(f"No study with id {study_id}.")
            except sa.exc.IntegrityError as exc:
                # A concurrent worker took the number (or the study was deleted): try again.
                if attempt + 1 == _CREATE_TRIAL_ATTEMPTS:
                    raise StorageError(
                        f"Could not create a trial in study {study_id} after "
                        f"{_CREATE_TRIAL_ATTEMPTS} attempts: {exc.orig}"
                    ) from exc
                _back_off(attempt)
                continue
            return Trial(
                number=number,
                values=_loads(values_json),
                state=TrialState.RUNNING,
                budget=normalize_budget(budget),
                started_at=started_at,
                attrs=_loads(attrs_json),
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def report(self, study_id: int, number: int, step: int, metrics: Mapping[str, float]) -> None:
        clean = {str(name): float(value) for name, value in metrics.items()}
        step = int(step)
        with self._reading_rows(study_id, number), self._write() as conn:
            self._lock(conn, LOCK_TRIAL, {"study_id": study_id, "number": number})
            row = conn.execute(
                SELECT_TRIAL_WITH_STEP, {"study_id": study_id, "number": number, "step": step}
            ).first()
            trial_id, state, stored = (None, None, None) if row is None else row
            _check_running(state, study_id, number)
            if stored is None:
                conn.execute(
                    INSERT_REPORT,
                    {"trial_id": trial_id, "step": step, "metrics": _dumps(clean, "metrics")},
                )
            else:
                conn.execute(
                    UPDATE_REPORT,
                    {
                        "key_trial_id": trial_id,
                        "key_step": step,
                        "new_metrics": _dumps(
                            {
                                **_object_column(stored, f"hs_trial_reports.metrics (step {step})"),
                                **clean,
                            },
                            "metrics",
                        ),
                    },
                )

    def finish_trial(
        self,
        study_id: int,
        number: int,
        *,
        state: TrialState,
        values: Mapping[str, Any] | None = None,
        value: float | None = None,
        metrics: Mapping[str, Any] | None = None,
        error: str | None = None,
        attrs: Mapping[str, Any] | None = None,
        unless_alive_since: float | None = None,
    ) -> Trial:
        state = TrialState(state)
        if not state.is_finished:
            raise StorageError("finish_trial() needs a finished state, got RUNNING.")
        values_json = None if values is None else _dumps(values, "trial values")
        metrics_json = _dumps(metrics or {}, "metrics")
        new_attrs = _loads(_dumps(attrs or {}, "trial attrs"))
        value = None if value is None else float(value)
        with self._reading_rows(study_id, number), self._write() as conn:
            self._lock(conn, LOCK_TRIAL, {"study_id": study_id, "number": number})
            rows = conn.execute(
                SELECT_TRIAL_WITH_REPORTS, {"study_id": study_id, "number": number}
            ).all()
            _check_running(rows[0][2] if rows else None, study_id, number)
            old = rows[0]
            before = _trial_from_row(old, _reports_of(rows))  # refuses a damaged row
            if unless_alive_since is not None:
                check_alive_since(before, unless_alive_since)
            if values_json is None:
                values_json = old[3]
            merged_attrs = {**before.attrs, **new_attrs}
            finished_at = self._clock(conn)
            changed = conn.execute(
                FINISH_TRIAL,
                {
                    "trial_id": old[0],
                    "new_state": state.value,
                    "new_values": values_json,
                    "new_value": value,
                    "new_metrics": metrics_json,
                    "new_attrs": _dumps(merged_attrs, "trial attrs"),
                    "new_error": error,
                    "new_finished_at": finished_at,
                },
            ).rowcount
            if changed != 1:
                raise StorageError(f"Trial {number} of study {study_id} is already finished.")
        # Everything the row now holds is known here: build the record without reading it.
        trial = Trial(
            number=number,
            values=_loads(values_json),
            state=state,
            value=value,
            metrics=_loads(metrics_json),
            intermediate=before.intermediate,
            budget=before.budget,
            started_at=old[9],
            finished_at=finished_at,
            error=error,
            attrs=merged_attrs,
            heartbeat_at=old[11],
        )
        with self._cache_lock:
            self._cache.setdefault(study_id, _StudyCache()).add(trial)
        return trial

    def heartbeat(self, study_id: int, numbers: Iterable[int]) -> list[int]:
        wanted = sorted({int(number) for number in numbers})
        if not wanted:
            return []
        with self._write() as conn:
            conn.execute(
                HEARTBEAT,
                {
                    "key_study_id": study_id,
                    "key_numbers": wanted,
                    "new_heartbeat_at": self._clock(conn),
                },
            )
            # In the same transaction: the rows just beaten are locked, and a finished trial
            # never runs again, so the answer holds when the transaction commits.
            running = set(
                conn.execute(
                    _SELECT_RUNNING_AMONG, {"study_id": study_id, "numbers": wanted}
                ).scalars()
            )
        return [number for number in wanted if number not in running]

    def trials(self, study_id: int, *, states: Iterable[TrialState] | None = None) -> list[Trial]:
        with self._cache_lock:
            cache = self._cache.get(study_id)
            after = -1 if cache is None else cache.horizon
        with self._read() as conn:
            rows = conn.execute(SELECT_NEW_TRIALS, {"study_id": study_id, "after": after}).all()
            if not rows:
                with self._cache_lock:
                    self._cache.pop(study_id, None)
                raise StorageError(f"No study with id {study_id}.")
            rows = [row for row in rows if row.number is not None]
            with self._cache_lock:
                unknown = [row.id for row in rows if cache is None or cache.get(row.number) is None]
            reports = (
                _group_reports(conn.execute(SELECT_REPORTS, {"trial_ids": unknown}))
                if unknown
                else {}
            )
        with self._reading_rows(study_id), self._cache_lock:
            cache = self._cache.setdefault(study_id, _StudyCache())
            fresh: list[Trial] = []
            for row in rows:
                if row.number <= cache.horizon:
                    continue  # another thread cached it meanwhile
                trial = cache.get(row.number)
                if trial is None:
                    trial = _trial_from_row(row, reports.get(row.id, {}))
                    if trial.is_finished:
                        cache.add(trial)
                fresh.append(trial)
            found = [*cache.prefix, *(t for t in fresh if t.number > cache.horizon)]
        if states is None:
            return found
        wanted = {TrialState(s) for s in states}
        return [t for t in found if t.state in wanted]

    def get_trial(self, study_id: int, number: int) -> Trial:
        with self._cache_lock:
            cache = self._cache.get(study_id)
            cached = None if cache is None else cache.get(number)
        if cached is not None:
            return cached
        with self._read() as conn:
            rows = conn.execute(
                SELECT_TRIAL_WITH_REPORTS, {"study_id": study_id, "number": number}
            ).all()
        if not rows:
            raise StorageError(f"Study {study_id} has no trial {number}.")
        with self._reading_rows(study_id):
            return _trial_from_row(rows[0], _reports_of(rows))

    def check(self) -> list[str]:
        """Read every study and trial row; the problems found, one sentence each.

        Unlike :meth:`trials`, which stops at the first damaged row, this reads on and lists
        every damaged row, and trial numbers that skip one (a deleted row); on SQLite it also
        runs ``PRAGMA quick_check``. Called by ``hyperscout check``.
        """
        problems: list[str] = []
        with self._read() as conn:
            if self._backend == "sqlite":
                verdict = [str(row[0]) for row in conn.exec_driver_sql("PRAGMA quick_check")]
                if verdict != ["ok"]:
                    problems.extend(f"SQLite's quick_check: {line}." for line in verdict)
            for study_row in conn.execute(SELECT_STUDIES).all():
                problems.extend(self._check_study(conn, study_row))
        return problems

    @staticmethod
    def _check_study(conn: Connection, study_row: Sequence[Any]) -> list[str]:
        """The problems of one study and its trials (see :meth:`check`)."""
        study_id, name = study_row[0], study_row[1]
        problems: list[str] = []
        try:
            _study_from_row(study_row)
        except _DamagedRowError as damage:
            problems.append(f"Study {name!r}: {damage}.")
        rows = conn.execute(SELECT_NEW_TRIALS, {"study_id": study_id, "after": -1}).all()
        rows = [row for row in rows if row.number is not None]
        ids = [row.id for row in rows]
        reports = _group_reports(conn.execute(SELECT_REPORTS, {"trial_ids": ids})) if ids else {}
        for row in rows:
            try:
                _trial_from_row(row, reports.get(row.id, {}))
            except _DamagedRowError as damage:
                problems.append(f"Study {name!r}, trial {row.number}: {damage}.")
        numbers = {row.number for row in rows}
        gaps = sorted(set(range(max(numbers, default=-1) + 1)) - numbers)
        if gaps:
            shown = ", ".join(str(number) for number in gaps[:10])
            more = f" and {len(gaps) - 10} more" if len(gaps) > 10 else ""
            which = f"trial {shown} is" if len(gaps) == 1 else f"trials {shown}{more} are"
            them = "it" if len(gaps) == 1 else "them"
            problems.append(
                f"Study {name!r}: {which} missing (deleted from the database); the strategy "
                f"sees the study without {them}."
            )
        return problems


# -- opening ---------------------------------------------------------------------------------


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """The SQLAlchemy URL of the SQLite database file at ``path`` (made absolute).

    >>> sqlite_url("/data/runs/study.db")
    'sqlite:////data/runs/study.db'
    """
    text = os.fspath(path)
    if text == ":memory:":
        return "sqlite://"
    return "sqlite:///" + os.path.abspath(os.path.expanduser(text))


def open_storage(spec: str | Storage | None = None) -> Storage:
    """The storage that ``spec`` names.

    Args:
        spec: a :class:`Storage` (returned as it is); ``None``, ``"memory"`` or
            ``":memory:"`` for a new :class:`MemoryStorage`; any other string is a database
            URL for :class:`SQLStorage`, e.g. ``"sqlite:///runs/study.db"``.

    >>> type(open_storage()).__name__
    'MemoryStorage'
    >>> storage = open_storage("sqlite://")
    >>> storage
    SQLStorage('sqlite://')
    >>> open_storage(storage) is storage
    True
    >>> storage.close()
    """
    if isinstance(spec, Storage):
        return spec
    if spec is None or spec in ("memory", ":memory:"):
        return MemoryStorage()
    if isinstance(spec, str):
        return SQLStorage(spec)
    raise InvalidArgumentError(
        f"open_storage(): expected a Storage, None, 'memory' or a database URL such as "
        f"'sqlite:///runs/study.db', got {spec!r}."
    )
