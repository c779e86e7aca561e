"""What one trial costs the database: statements and transactions, counted through SQLAlchemy.

On PostgreSQL every statement, BEGIN and COMMIT is a network round trip, so these counts are
the coordination cost of a trial (``python -m benchmarks.overhead --postgres URL`` times it).
A change that adds a statement or a transaction to every trial fails here.
"""

from __future__ import annotations

import os
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
# creates (claims) the trial, one that finishes it. PostgreSQL's statements add the row locks
# (SELECT ... FOR UPDATE) that SQLite's BEGIN IMMEDIATE takes without a statement; SQLite's
# read is a transaction of its own (BEGIN costs no round trip there), PostgreSQL's is not.
EXPECTED = {
    "sqlite": {"statements": 4, "transactions": 3, "commits": 2},
    "postgresql": {"statements": 6, "transactions": 2, "commits": 2},
}


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


def per_trial(storage: SQLStorage, tmp_path: Path, project: str) -> dict[str, float]:
    """The counts of 30 more trials minus those of 10 more, over 20: a search's own start
    and end fall out, what is left is the cost of one trial."""
    counts: Counter[str] = Counter()
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
        tuner.max_trials = len(tuner.trials) + more
        tuner.search()
        totals.append(Counter(counts))
    assert len(tuner.trials) == 43
    return {key: (totals[1][key] - totals[0][key]) / 20 for key in EXPECTED["sqlite"]}


def test_sqlite_trial_round_trips(tmp_path: Path) -> None:
    storage = SQLStorage(sqlite_url(tmp_path / "study.db"))
    try:
        assert per_trial(storage, tmp_path, "counted") == EXPECTED["sqlite"]
    finally:
        storage.close()


@pytest.fixture
def postgres() -> Iterator[SQLStorage]:
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
        assert per_trial(postgres, tmp_path, project) == EXPECTED["postgresql"]
    finally:
        postgres.delete_study(project)
