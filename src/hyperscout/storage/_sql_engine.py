"""The connection side of :class:`~hyperscout.storage.sql.SQLStorage`: one database, opened.

:class:`SQLDatabase` parses the URL, creates the SQLAlchemy engine (SQLite's pragmas and
transactions, psycopg for PostgreSQL), creates or upgrades the tables, opens the short read
and write transactions, and turns the driver's errors into sentences that name the database.
What is stored in it, and how, is :class:`SQLStorage`'s.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hyperscout._paths import make_folder
from hyperscout._validation import fail
from hyperscout.exceptions import DamagedStudyError, SchemaVersionError, StorageError, require
from hyperscout.storage._factory import DATABASE_URLS, check_database_url, hide_password
from hyperscout.storage._sql_rows import DamagedRowError
from hyperscout.storage._sql_schema import (
    INSERT_VERSION,
    META,
    METADATA,
    SCHEMA_LOCK_KEY,
    SELECT_SERVER_TIME,
    SELECT_VERSION,
    STUDIES,
    UPDATE_VERSION,
    add_heartbeat_column,
    schema_version,
)
from hyperscout.storage.base import SCHEMA_VERSION

__all__ = ["SQLDatabase"]


def _is_locked(error: BaseException | None) -> bool:
    """True for SQLite's answer to a write that waited for the lock in vain."""
    text = str(error)
    return "database is locked" in text or "database is busy" in text


def _is_memory_sqlite(url: sa.URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _sqlite_connect_hook(busy_timeout: float) -> Callable[[Any, Any], None]:
    """The hook that configures every new SQLite connection (the pysqlite recipe of the
    SQLAlchemy docs)."""

    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Stop the sqlite3 module from emitting BEGIN itself: SQLStorage does, so that writes
        # can say BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # The busy timeout first, so that switching to WAL waits for other processes too.
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            _switch_to_wal(cursor, busy_timeout)
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    return on_connect


def _switch_to_wal(cursor: Any, busy_timeout: float) -> None:
    """Put the database in WAL mode, waiting while another process does the same.

    Changing the journal mode needs the database to itself, and SQLite answers "database is
    locked" at once, without its busy handler, when two processes open a new database
    together; so try again for up to the busy timeout.
    """
    import sqlite3

    deadline = time.monotonic() + busy_timeout
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


class SQLDatabase:
    """An SQLite or PostgreSQL database, opened: its engine, transactions and errors.

    The base of :class:`~hyperscout.storage.sql.SQLStorage`, which documents ``url`` and
    ``engine_kwargs``. ``busy_timeout``: seconds an SQLite connection waits for another
    writer; ``empty_file_grace``: seconds an empty SQLite file may take to become a database.
    """

    def __init__(
        self,
        url: str,
        *,
        engine_kwargs: Mapping[str, Any] | None,
        busy_timeout: float,
        empty_file_grace: float,
    ) -> None:
        self._busy_timeout = busy_timeout
        self._empty_file_grace = empty_file_grace
        parsed = self._parse_url(url)
        self._url = parsed
        self._backend = parsed.get_backend_name()
        # An in-memory SQLite database lives in one connection that all threads share, so
        # its users take turns; every other database gives each thread its own connection.
        self._serial: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
        self._engine = self._create_engine(parsed, dict(engine_kwargs or {}))
        # A storage dropped without close() still closes its pooled connections (instead of
        # leaving them to the driver's garbage collection, which warns of each).
        weakref.finalize(self, self._engine.dispose)
        try:
            self._create_schema()
        except BaseException:
            self._engine.dispose()
            raise

    # -- setup ---------------------------------------------------------------------------
    @staticmethod
    def _parse_url(url: str) -> sa.URL:
        # The scheme first: a database hyperscout does not run on is refused with a sentence
        # before SQLAlchemy looks for its driver.
        check_database_url("SQLStorage", "url", url)
        try:
            parsed = sa.make_url(url)
        except (sa.exc.ArgumentError, TypeError, ValueError):
            fail("SQLStorage", "url", hide_password(url), DATABASE_URLS)
        if parsed.drivername == "postgresql":
            # The postgres extra installs psycopg 3; make it the driver of a bare URL.
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed

    def _create_engine(self, url: sa.URL, engine_kwargs: dict[str, Any]) -> Engine:
        kwargs: dict[str, Any] = {}
        connect_args: dict[str, Any] = {}
        if self._backend == "sqlite":
            connect_args["timeout"] = self._busy_timeout
            if _is_memory_sqlite(url):
                self._serial = threading.RLock()
                connect_args["check_same_thread"] = False
                kwargs["poolclass"] = sa.pool.StaticPool
            elif url.database and not url.database.startswith("file:"):
                self._refuse_empty_file(Path(url.database))
                make_folder(Path(url.database).parent, f"SQLStorage(url={self._display_url!r})")
        else:  # PostgreSQL, through psycopg (check_database_url allows no other driver)
            require("psycopg", feature="SQLStorage on PostgreSQL", extra="postgres")
        connect_args.update(engine_kwargs.pop("connect_args", {}))
        kwargs.update(engine_kwargs)
        kwargs["connect_args"] = connect_args
        engine = sa.create_engine(url, **kwargs)
        if self._backend == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_connect_hook(self._busy_timeout))
        return engine

    def _refuse_empty_file(self, path: Path) -> None:
        """Refuse an SQLite file that was there, empty, before this storage opened it.

        SQLite takes an empty file for a new database, so a study truncated to 0 bytes would
        open as a new, empty one. A process creating the database leaves it empty for a
        moment, so a file still empty after ``empty_file_grace`` seconds is refused.
        """
        deadline = time.monotonic() + self._empty_file_grace
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
        """Turn a :class:`DamagedRowError` row met inside into a :class:`DamagedStudyError`.

        Enter it before a transaction, so that the error is built once the transaction has
        ended (building it reads the study's name). ``number``: the trial being read.
        """
        try:
            yield
        except DamagedRowError as damage:
            if damage.number is None:
                damage.number = number
            raise self._damaged(study, damage) from None

    def _damaged(self, study: int | str, damage: DamagedRowError) -> DamagedStudyError:
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

    @contextlib.contextmanager
    def _pg(self) -> Iterator[Any]:
        """PostgreSQL: the psycopg connection of a pooled connection, in autocommit mode.

        For the statements of ``_sql_postgres.py``, which send their own BEGIN and COMMIT in
        psycopg's pipeline mode. A transaction still open when the block ends (an error
        between two round trips) is rolled back; the driver's errors become SQLAlchemy's, so
        that callers see the same errors as through :meth:`_write`.
        """
        import psycopg

        with self._database_errors():
            pooled = self._engine.raw_connection()
            conn: Any = pooled.driver_connection
            autocommit = conn.autocommit  # as SQLAlchemy set it (an isolation level)
            try:
                try:
                    conn.autocommit = True
                    yield conn
                except psycopg.Error as exc:
                    if self._engine.dialect.is_disconnect(exc, conn, None):  # type: ignore[arg-type]
                        pooled.invalidate(exc)  # the pool opens a new one next time
                    raise sa.exc.DBAPIError.instance(
                        "", None, exc, psycopg.Error, dialect=self._engine.dialect
                    ) from exc
                finally:
                    if pooled.dbapi_connection is not None:  # not invalidated
                        try:
                            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                                conn.rollback()
                            conn.autocommit = autocommit
                        except psycopg.Error as exc:  # broken meanwhile
                            pooled.invalidate(exc)
            finally:
                pooled.close()

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
            f"connection's write for the whole busy timeout of {self._busy_timeout:g} s "
            f"({error}). A worker stopped in the middle of a write (suspended with Ctrl-Z or "
            "SIGSTOP, swapped out, its machine asleep) keeps SQLite's one write lock until it "
            "goes on or ends, and every other worker waits. Resume or end that worker. Run "
            "workers that may hang on PostgreSQL (storage='postgresql+psycopg://...'), where "
            "a stalled worker locks only its own trials."
        )

    def close(self) -> None:
        """Close every pooled connection (the storage reconnects if used again)."""
        self._engine.dispose()
