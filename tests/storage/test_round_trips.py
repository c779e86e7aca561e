"""What one trial costs the database: statements, transactions, commits and round trips.

SQLite's are counted through SQLAlchemy's events. PostgreSQL's are counted on the wire, from
libpq's trace of every message the client sends and receives (SQLStorage sends a trial's
statements straight through psycopg, in pipeline mode): a round trip is a point where the client
waits for the server (a Sync, or a simple Query); a write is an INSERT, UPDATE or DELETE, each
in a transaction of its own here; a durable commit is that of a write whose transaction did not
turn ``synchronous_commit`` off (the claim's row lock does, with ``set_config``). These counts
are the
coordination cost of a trial (``python -m benchmarks.overhead --postgres URL`` times it): a
change that adds a round trip or a durable commit to every trial fails here.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import hyperscout as hs
from hyperscout.storage import sqlite_url
from hyperscout.storage.sql import SQLStorage

POSTGRES_URL = os.environ.get(
    "HYPERSCOUT_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

# Per trial of a one-process RandomSearch: one read of what changed, one transaction that
# creates (claims) the trial, one that finishes it. SQLite's read is a transaction of its own
# (BEGIN costs no round trip there); its statements leave out BEGIN and COMMIT.
EXPECTED_SQLITE = {"statements": 4, "transactions": 3, "commits": 2}
# PostgreSQL: the read is one statement outside a transaction; the claim is a row lock on the
# study (which turns synchronous_commit off) and the INSERT, sent at once; the finish is the
# UPDATE and the read of the trial's reports, sent at once. Each sent-at-once pair is one
# implicit transaction. Only the finish's commit waits for the disk.
EXPECTED_POSTGRES = {"round_trips": 3, "statements": 5, "writes": 2, "durable_commits": 1}


def objective(hp: hs.HyperParameters) -> float:
    return hp.Float("x", -5.0, 5.0) + hp.Int("units", 16, 256)


def count_events(engine: sa.Engine, counts: Counter[str]) -> None:
    """Count statements, transactions begun (autocommit reads are none) and commits."""

    def statement(*args: Any) -> None:
        counts["statements"] += 1

    def begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            counts["transactions"] += 1

    def commit(conn: sa.Connection) -> None:
        counts["commits"] += 1

    sa.event.listen(engine, "before_cursor_execute", statement)
    sa.event.listen(engine, "begin", begin)
    sa.event.listen(engine, "commit", commit)


class WireCounter:
    """Counts PostgreSQL's messages on every connection of an engine, from libpq's trace.

    Tracing starts on each connection when it is next checked out of the pool after
    :meth:`start`, and stops (which writes the trace out) in :meth:`stop`.
    """

    def __init__(self, engine: sa.Engine, folder: Path) -> None:
        self.folder = folder
        self.traced: list[tuple[Any, Path]] = []
        self.on = False
        sa.event.listen(engine, "checkout", self._checkout)

    def _checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if not self.on or any(conn is dbapi_connection for conn, _ in self.traced):
            return
        from psycopg import pq

        path = self.folder / f"trace-{len(self.traced)}.txt"
        path.touch()
        # libpq writes through a stream of its own on this descriptor (never closed).
        fd = os.open(path, os.O_WRONLY)
        dbapi_connection.pgconn.trace(fd)
        dbapi_connection.pgconn.set_trace_flags(
            pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE
        )
        self.traced.append((dbapi_connection, path))

    def start(self) -> None:
        self.on = True

    def stop(self) -> Counter[str]:
        """Stop tracing; the counts since :meth:`start`."""
        counts: Counter[str] = Counter()
        for conn, path in self.traced:
            conn.pgconn.untrace()  # flushes the stream
            for line in path.read_text().splitlines():
                fields = line.split("\t")
                if len(fields) < 3 or fields[0] not in ("F", "B"):
                    continue  # the next line of a statement's text
                sender, _, message, *rest = fields
                text = rest[0] if rest else ""
                if sender == "F" and message in ("Sync", "Query"):
                    counts["round_trips"] += 1
                if sender == "F" and message in ("Execute", "Query"):
                    counts["statements"] += 1
                if sender == "B" and message == "RowDescription" and '"set_config"' in text:
                    counts["no_wait"] += 1
                if sender == "B" and message == "CommandComplete":
                    tag = text.strip().strip('"').split(" ")[0]
                    if tag in ("INSERT", "UPDATE", "DELETE"):
                        counts["writes"] += 1
        counts["durable_commits"] = counts["writes"] - counts.pop("no_wait", 0)
        self.traced.clear()
        self.on = False
        return counts


def per_trial(
    storage: SQLStorage, tmp_path: Path, project: str, *, wire: bool = False
) -> dict[str, float]:
    """The counts of 30 more trials minus those of 10 more, over 20: a search's own start
    and end fall out, what is left is the cost of one trial. ``wire``: PostgreSQL's messages
    (:class:`WireCounter`), else SQLAlchemy's events."""
    counts: Counter[str] = Counter()
    wire_counter = WireCounter(storage._engine, tmp_path) if wire else None
    if wire_counter is None:
        count_events(storage._engine, counts)
    tuner = hs.RandomSearch(
        objective,
        max_trials=3,
        seed=0,
        verbose=0,
        directory=tmp_path,
        project_name=project,
        storage=storage,
    )
    tuner.search()
    totals = []
    for more in (10, 30):
        counts.clear()
        if wire_counter is not None:
            wire_counter.start()
        tuner.max_trials = len(tuner.trials) + more
        tuner.search()
        totals.append(Counter(counts) if wire_counter is None else wire_counter.stop())
    assert len(tuner.trials) == 43
    keys = EXPECTED_POSTGRES if wire else EXPECTED_SQLITE
    return {key: (totals[1][key] - totals[0][key]) / 20 for key in keys}


def test_sqlite_trial_round_trips(tmp_path: Path) -> None:
    storage = SQLStorage(sqlite_url(tmp_path / "study.db"))
    try:
        assert per_trial(storage, tmp_path, "counted") == EXPECTED_SQLITE
    finally:
        storage.close()


@pytest.fixture
def postgres() -> Iterator[SQLStorage]:
    if not sys.platform.startswith("linux"):
        pytest.skip("libpq's trace, which counts the messages, is read on Linux only")
    try:
        storage = SQLStorage(POSTGRES_URL)
        storage.list_studies()
    except Exception as exc:  # no driver, no server
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is unavailable (CI=true): {exc}")
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is unavailable: {exc}")
    yield storage
    storage.close()


@pytest.mark.postgres
def test_postgres_trial_round_trips(postgres: SQLStorage, tmp_path: Path) -> None:
    project = f"round_trips_{uuid.uuid4().hex[:12]}"
    try:
        assert per_trial(postgres, tmp_path, project, wire=True) == EXPECTED_POSTGRES
    finally:
        postgres.delete_study(project)
