"""PostgreSQL's side of a trial: its claim, its finish and the read of what changed.

These run once per trial, so each is sent to the server in as few network round trips as
psycopg's pipeline mode allows, straight through the psycopg connection of SQLAlchemy's pool
(SQLAlchemy's own cost per statement, as much as a round trip, is left out). The connection is
in autocommit mode (:meth:`~hyperscout.storage._sql_engine.SQLDatabase._pg`), so a transaction
is the BEGIN and COMMIT queued here, and nothing else waits on the network:

- :func:`new_trials`: one statement, outside a transaction (one round trip);
- :func:`claim_trial`: a row lock on the study, then one INSERT (one round trip). Both run in
  one transaction without a BEGIN or a COMMIT of their own: the extended query protocol runs
  everything up to the pipeline's Sync as one implicit transaction. Its commit does not wait
  for the disk (``synchronous_commit`` off, for this transaction only): PostgreSQL writes its
  log in order, so the trial's finish, whose COMMIT does wait, puts the claim on disk too. A
  crash of the server in between loses the claim of a trial still running, which
  :class:`~hyperscout.storage.sql.SQLStorage` makes again when the trial reports or finishes
  (:func:`reclaim_trial`);
- :func:`finish_running`: the UPDATE of a running trial and the read of its reports, in one
  implicit transaction whose commit waits for the disk (one round trip). Every check that
  :class:`~hyperscout.storage.sql.SQLStorage` makes on the row before it finishes it is in the
  UPDATE's WHERE: when one fails, nothing is written, and the careful path below finds out why;
- :func:`lock_trial` then :func:`finish_locked`, the careful path: BEGIN, a row lock on the
  trial and its read, then the UPDATE and a COMMIT that waits for the disk (two round trips:
  what the UPDATE writes depends on what was read). For what the quick one leaves out: new
  attrs to merge with the stored ones, a check that the trial was not alive since a time, and
  every finish the quick one did not write.

Every statement here is the same text each time, so psycopg prepares it on the server after a
few uses. The SQL is written for PostgreSQL; the tables are those of ``_sql_schema.py``.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

__all__ = [
    "claim_trial",
    "finish_locked",
    "finish_running",
    "lock_trial",
    "new_trials",
    "reclaim_trial",
    "trial_rows",
]

# The order trial_from_row() unpacks (_sql_schema.TRIAL_COLUMNS).
_TRIAL = (
    't.id, t.number, t.state, t."values", t.value, t.metrics, t.budget, t.attrs, t.error, '
    "t.started_at, t.finished_at, t.heartbeat_at"
)
# The server's clock, read inside the statement, after the transaction took its lock.
_NOW = "CAST(extract(epoch FROM clock_timestamp()) AS double precision)"

_COMMIT = b"COMMIT"
# Row locks: each a statement of its own, so that under READ COMMITTED the statements after
# it see everything committed while it waited (see _sql_schema.LOCK_STUDY).
_LOCK_STUDY = b"SELECT id FROM hs_studies WHERE id = %(study_id)s FOR UPDATE"
# The same, and this transaction's commit returns before its log record is on disk (see the
# module's doc): set_config(..., true) is SET LOCAL, which needs no statement of its own.
_LOCK_STUDY_NO_WAIT = (
    b"SELECT id, set_config('synchronous_commit', 'off', true) FROM hs_studies "
    b"WHERE id = %(study_id)s FOR UPDATE"
)
_LOCK_TRIAL = (
    b"SELECT id FROM hs_trials WHERE study_id = %(study_id)s AND number = %(number)s FOR UPDATE"
)
# A new RUNNING trial numbered one above the study's highest; nothing when the study does not
# exist or another trial holds the claim (a NULL claim claims nothing).
_INSERT_NEXT_TRIAL = f"""
INSERT INTO hs_trials (study_id, number, state, "values", metrics, budget, attrs, started_at,
                       claim)
SELECT s.id, coalesce((SELECT max(number) FROM hs_trials WHERE study_id = s.id), -1) + 1,
       'RUNNING', %(new_values)s::text, '{{}}', %(new_budget)s::double precision,
       %(new_attrs)s::text, {_NOW}, %(new_claim)s::text
FROM hs_studies s
WHERE s.id = %(study_id)s
  AND NOT EXISTS (SELECT 1 FROM hs_trials WHERE study_id = %(study_id)s
                                           AND claim = %(new_claim)s::text)
RETURNING number, started_at
""".encode()
# A claim lost with a crash of the server, made again as it was: nothing when its number or its
# claim has been taken since.
_REINSERT_TRIAL = b"""
INSERT INTO hs_trials (study_id, number, state, "values", metrics, budget, attrs, started_at,
                       claim)
SELECT s.id, %(number)s, 'RUNNING', %(new_values)s::text, '{}',
       %(new_budget)s::double precision, %(new_attrs)s::text,
       %(new_started_at)s::double precision, %(new_claim)s::text
FROM hs_studies s
WHERE s.id = %(study_id)s
  AND NOT EXISTS (SELECT 1 FROM hs_trials WHERE study_id = %(study_id)s
                                           AND (number = %(number)s
                                                OR claim = %(new_claim)s::text))
"""
_SELECT_TRIAL_WITH_REPORTS = f"""
SELECT {_TRIAL}, r.step, r.metrics
FROM hs_trials t LEFT OUTER JOIN hs_trial_reports r ON r.trial_id = t.id
WHERE t.study_id = %(study_id)s AND t.number = %(number)s
ORDER BY r.step
""".encode()
# See _sql_schema.SELECT_NEW_TRIALS_AND_REPORTS.
_SELECT_NEW_TRIALS_AND_REPORTS = f"""
SELECT {_TRIAL}, r.step, r.metrics
FROM hs_studies s
LEFT OUTER JOIN hs_trials t ON t.study_id = s.id AND t.number > %(after)s
LEFT OUTER JOIN hs_trial_reports r
  ON r.trial_id = t.id AND t.number <> ALL(%(known)s::integer[])
WHERE s.id = %(study_id)s
ORDER BY t.number, r.step
""".encode()
# The quick finish (see the module's doc). It keeps the stored attrs, and writes nothing unless
# the trial is RUNNING, is the one this process claimed (``claimed_at``: its started_at, NULL
# when this process did not claim it) and every JSON column of its row and its reports holds
# an object (what trial_from_row() checks: text that is no JSON fails the statement, which
# writes nothing either). The WHERE state = 'RUNNING' is what makes finishing happen at most
# once.
_FINISH_RUNNING_TRIAL = f"""
UPDATE hs_trials t
SET state = %(new_state)s, "values" = coalesce(%(new_values)s::text, t."values"),
    value = %(new_value)s, metrics = %(new_metrics)s, error = %(new_error)s,
    finished_at = {_NOW}
WHERE t.study_id = %(study_id)s AND t.number = %(number)s AND t.state = 'RUNNING'
  AND (%(claimed_at)s::double precision IS NULL
       OR (t.started_at = %(claimed_at)s AND t."values" = %(claimed_values)s::text))
  AND jsonb_typeof(t."values"::jsonb) = 'object'
  AND jsonb_typeof(t.metrics::jsonb) = 'object'
  AND jsonb_typeof(t.attrs::jsonb) = 'object'
  AND NOT EXISTS (SELECT 1 FROM hs_trial_reports r
                  WHERE r.trial_id = t.id AND jsonb_typeof(r.metrics::jsonb) <> 'object')
RETURNING {_TRIAL}
""".encode()
_SELECT_REPORTS_OF_TRIAL = b"""
SELECT r.step, r.metrics
FROM hs_trial_reports r JOIN hs_trials t ON t.id = r.trial_id
WHERE t.study_id = %(study_id)s AND t.number = %(number)s
ORDER BY r.step
"""
# The careful finish. The WHERE state = 'RUNNING' is what makes finishing happen at most once.
_FINISH_TRIAL = f"""
UPDATE hs_trials
SET state = %(new_state)s, "values" = %(new_values)s, value = %(new_value)s,
    metrics = %(new_metrics)s, attrs = %(new_attrs)s, error = %(new_error)s,
    finished_at = {_NOW}
WHERE id = %(trial_id)s AND state = 'RUNNING'
RETURNING finished_at
""".encode()


@functools.cache
def _pipelines() -> bool:
    """True if psycopg's libpq has pipeline mode (libpq 14 and later; the binary wheel's has)."""
    import psycopg

    return bool(psycopg.Pipeline.is_supported())


def _at_once(conn: Any) -> contextlib.AbstractContextManager[Any]:
    """Send the statements of the block at once (pipeline mode), or one by one without it."""
    block: contextlib.AbstractContextManager[Any] = (
        conn.pipeline() if _pipelines() else contextlib.nullcontext()
    )
    return block


def _together(conn: Any) -> contextlib.AbstractContextManager[Any]:
    """The statements of the block as one transaction, sent at once: the implicit transaction
    of a pipeline's Sync, or, without pipeline mode, an explicit one, statement by statement."""
    block: contextlib.AbstractContextManager[Any] = (
        conn.pipeline() if _pipelines() else conn.transaction()
    )
    return block


def begin_statement(conn: Any) -> bytes:
    """The BEGIN psycopg would send itself (it honours an isolation level set on ``conn``)."""
    level = conn.isolation_level
    if level is None:
        return b"BEGIN"
    return b"BEGIN ISOLATION LEVEL " + str(level.name).replace("_", " ").encode()


def new_trials(conn: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of ``SELECT_NEW_TRIALS_AND_REPORTS``: one statement, one round trip."""
    rows: list[tuple[Any, ...]] = conn.execute(_SELECT_NEW_TRIALS_AND_REPORTS, params).fetchall()
    return rows


def trial_rows(conn: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of ``SELECT_TRIAL_WITH_REPORTS``: one statement, one round trip."""
    rows: list[tuple[Any, ...]] = conn.execute(_SELECT_TRIAL_WITH_REPORTS, params).fetchall()
    return rows


def claim_trial(conn: Any, params: dict[str, Any]) -> tuple[int, float] | None:
    """Insert the next trial of ``params['study_id']``: its number and start time, or None.

    None: no study with that id, or another trial holds ``params['new_claim']``. One round
    trip, one implicit transaction (``conn`` is in autocommit mode) whose commit does not wait
    for the disk.
    """
    with _together(conn):
        conn.execute(_LOCK_STUDY_NO_WAIT, params)
        inserted = conn.execute(_INSERT_NEXT_TRIAL, params)
    row = inserted.fetchone()
    return None if row is None else (int(row[0]), float(row[1]))


def reclaim_trial(conn: Any, params: dict[str, Any]) -> bool:
    """Insert again, as it was claimed, a RUNNING trial whose claim the server lost.

    False, and nothing written, when its number or its claim has been taken since (or the
    study is gone). A durable commit: one round trip.
    """
    with _at_once(conn):
        conn.execute(begin_statement(conn))
        conn.execute(_LOCK_STUDY, params)
        inserted = conn.execute(_REINSERT_TRIAL, params)
        conn.execute(_COMMIT)
    return bool(inserted.rowcount == 1)


def finish_running(
    conn: Any, params: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[int, str]] | None:
    """Finish a RUNNING trial in one round trip: its row as finished, with its reports.

    None, and nothing written, when a check of ``_FINISH_RUNNING_TRIAL`` fails (not running,
    not this process's claim, a damaged row): the careful path says why.
    """
    import psycopg

    try:
        with _together(conn):
            updated = conn.execute(_FINISH_RUNNING_TRIAL, params)
            reports = conn.execute(_SELECT_REPORTS_OF_TRIAL, params)
    except psycopg.DataError:  # a JSON column that holds no JSON: nothing was written
        return None
    row = updated.fetchone()
    if row is None:
        return None
    return row, dict(reports.fetchall())


def lock_trial(conn: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Open a transaction, lock the trial's row, and read it with its reports (one round trip).

    The rows are those of ``SELECT_TRIAL_WITH_REPORTS`` (none: no such trial). The transaction
    stays open: :func:`finish_locked` commits it; anything else rolls it back.
    """
    with _at_once(conn):
        conn.execute(begin_statement(conn))
        conn.execute(_LOCK_TRIAL, params)
        rows = conn.execute(_SELECT_TRIAL_WITH_REPORTS, params)
    found: list[tuple[Any, ...]] = rows.fetchall()
    return found


def finish_locked(conn: Any, params: dict[str, Any]) -> float | None:
    """Finish the trial :func:`lock_trial` locked, and commit (one round trip, durable).

    Returns its ``finished_at``; None when it was not running, and nothing was written.
    """
    with _at_once(conn):
        updated = conn.execute(_FINISH_TRIAL, params)
        conn.execute(_COMMIT)
    row = updated.fetchone()
    return None if row is None else float(row[0])
