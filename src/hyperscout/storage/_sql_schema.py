"""The tables of :class:`~hyperscout.storage.sql.SQLStorage` and its statements, and the
upgrades of a database written with an older schema version.

The statements are built once, at import, so that SQLAlchemy's compiled cache is hit on every
call. Nothing here is public API: only :mod:`hyperscout.storage.sql` and its helper modules
use it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hyperscout.storage.base import SCHEMA_VERSION
from hyperscout.trial import TrialState

__all__ = [
    "CLAIM_TAKEN",
    "FINISH_TRIAL",
    "HEARTBEAT",
    "INSERT_NEXT_TRIAL",
    "INSERT_REPORT",
    "INSERT_STUDY",
    "INSERT_VERSION",
    "LOCK_STUDY",
    "LOCK_TRIAL",
    "META",
    "METADATA",
    "REPORTS",
    "RUNNING",
    "SCHEMA_LOCK_KEY",
    "SELECT_NEW_TRIALS",
    "SELECT_NEW_TRIALS_AND_REPORTS",
    "SELECT_REPORTS",
    "SELECT_AMONG",
    "SELECT_SERVER_TIME",
    "SELECT_STUDIES",
    "SELECT_STUDY_BY_NAME",
    "SELECT_TRIAL_WITH_REPORTS",
    "SELECT_TRIAL_WITH_STEP",
    "SELECT_VERSION",
    "STUDIES",
    "STUDY_COLUMNS",
    "THIS_TRIAL",
    "TRIALS",
    "TRIAL_COLUMNS",
    "UPDATE_REPORT",
    "UPDATE_VERSION",
    "add_heartbeat_column",
    "schema_version",
]

# Key of the PostgreSQL advisory lock that serialises schema creation and upgrades ("hs" + 1).
# It must never change: it keeps apart processes of every hyperscout version.
SCHEMA_LOCK_KEY = 0x68730001

RUNNING = TrialState.RUNNING.value

# -- tables ----------------------------------------------------------------------------------

METADATA = sa.MetaData()

META = sa.Table(
    "hs_meta",
    METADATA,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

STUDIES = sa.Table(
    "hs_studies",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("space", sa.Text, nullable=False),
    sa.Column("meta", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.UniqueConstraint("name", name="uq_hs_studies_name"),
    # Never reuse the id of a deleted study: other processes cache trials by study id.
    sqlite_autoincrement=True,
)

TRIALS = sa.Table(
    "hs_trials",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "study_id",
        sa.Integer,
        sa.ForeignKey("hs_studies.id", ondelete="CASCADE"),
        nullable=False,
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
    # The strategy's slot the trial fills (see ClaimTakenError); NULL for most trials.
    sa.Column("claim", sa.Text, nullable=True),
    sa.UniqueConstraint("study_id", "number", name="uq_hs_trials_study_number"),
    sa.UniqueConstraint("study_id", "claim", name="uq_hs_trials_study_claim"),
    # Schema version 2: the last heartbeat of the trial's worker. Last, as ALTER TABLE ADD
    # COLUMN puts it in an upgraded database.
    sa.Column("heartbeat_at", sa.Double, nullable=True),
)

REPORTS = sa.Table(
    "hs_trial_reports",
    METADATA,
    sa.Column(
        "trial_id",
        sa.Integer,
        sa.ForeignKey("hs_trials.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("trial_id", "step", name="pk_hs_trial_reports"),
)

# -- statements ------------------------------------------------------------------------------

STUDY_COLUMNS = (
    STUDIES.c.id,
    STUDIES.c.name,
    STUDIES.c.space,
    STUDIES.c.meta,
    STUDIES.c.created_at,
)
# The order _trial_from_row() unpacks.
TRIAL_COLUMNS = (
    TRIALS.c.id,
    TRIALS.c.number,
    TRIALS.c.state,
    TRIALS.c["values"],
    TRIALS.c.value,
    TRIALS.c.metrics,
    TRIALS.c.budget,
    TRIALS.c.attrs,
    TRIALS.c.error,
    TRIALS.c.started_at,
    TRIALS.c.finished_at,
    TRIALS.c.heartbeat_at,
)

SELECT_VERSION = sa.select(META.c.value).where(META.c.key == "schema_version")
INSERT_VERSION = sa.insert(META).values(key="schema_version", value=str(SCHEMA_VERSION))
UPDATE_VERSION = (
    sa.update(META).where(META.c.key == "schema_version").values(value=str(SCHEMA_VERSION))
)
# PostgreSQL's clock: one clock for every machine that shares the database.
SERVER_TIME = sa.func.extract("epoch", sa.func.clock_timestamp())
SELECT_SERVER_TIME = sa.select(SERVER_TIME)
SELECT_STUDY_BY_NAME = sa.select(*STUDY_COLUMNS).where(STUDIES.c.name == sa.bindparam("name"))
SELECT_STUDIES = sa.select(*STUDY_COLUMNS).order_by(STUDIES.c.name)
INSERT_STUDY = sa.insert(STUDIES).returning(STUDIES.c.id)
INSERT_REPORT = sa.insert(REPORTS)
THIS_TRIAL = sa.and_(
    TRIALS.c.study_id == sa.bindparam("study_id"), TRIALS.c.number == sa.bindparam("number")
)
# Row locks, held until the transaction ends, for PostgreSQL (on SQLite, BEGIN IMMEDIATE
# already serialises writers). Each lock is a statement of its own: under READ COMMITTED,
# the statements after it see everything committed while it waited; the rest of the locking
# statement itself would not. LOCK_STUDY makes concurrent workers take trial numbers one
# after the other; LOCK_TRIAL keeps a report and a finish of one trial apart.
LOCK_STUDY = (
    sa.select(STUDIES.c.id).where(STUDIES.c.id == sa.bindparam("study_id")).with_for_update()
)
LOCK_TRIAL = sa.select(TRIALS.c.id).where(THIS_TRIAL).with_for_update()
CLAIM_TAKEN = sa.select(TRIALS.c.number).where(
    TRIALS.c.study_id == sa.bindparam("study_id"), TRIALS.c.claim == sa.bindparam("claim")
)


def _insert_next_trial(started_at: sa.ColumnElement[float]) -> sa.Insert:
    """A new RUNNING trial numbered one above the study's highest, in one statement.

    It inserts nothing when the study does not exist or when another trial holds its claim
    (``new_claim``; NULL claims nothing), and returns the new number and ``started_at``.
    """
    claim_taken = sa.exists().where(
        TRIALS.c.study_id == sa.bindparam("study_id"),
        TRIALS.c.claim == sa.bindparam("new_claim", type_=sa.Text),
    )
    return (
        sa.insert(TRIALS)
        .from_select(
            [
                "study_id",
                "number",
                "state",
                "values",
                "metrics",
                "budget",
                "attrs",
                "started_at",
                "claim",
            ],
            sa.select(
                STUDIES.c.id,
                sa.func.coalesce(
                    sa.select(sa.func.max(TRIALS.c.number))
                    .where(TRIALS.c.study_id == STUDIES.c.id)
                    .scalar_subquery(),
                    -1,
                )
                + 1,
                sa.literal(RUNNING, sa.String),
                sa.bindparam("new_values", type_=sa.Text),
                sa.literal("{}", sa.Text),
                sa.bindparam("new_budget", type_=sa.Double),
                sa.bindparam("new_attrs", type_=sa.Text),
                started_at,
                sa.bindparam("new_claim", type_=sa.Text),
            ).where(STUDIES.c.id == sa.bindparam("study_id"), ~claim_taken),
        )
        .returning(TRIALS.c.number, TRIALS.c.started_at)
    )


def _finish_trial(finished_at: sa.ColumnElement[float]) -> sa.Update:
    """Finish a RUNNING trial; returns its ``finished_at``, or no row when it was not running.

    The WHERE state = 'RUNNING' is what makes finishing happen at most once.
    """
    return (
        sa.update(TRIALS)
        .where(TRIALS.c.id == sa.bindparam("trial_id"), TRIALS.c.state == RUNNING)
        .values(
            {
                "state": sa.bindparam("new_state"),
                "values": sa.bindparam("new_values"),
                "value": sa.bindparam("new_value"),
                "metrics": sa.bindparam("new_metrics"),
                "attrs": sa.bindparam("new_attrs"),
                "error": sa.bindparam("new_error"),
                "finished_at": finished_at,
            }
        )
        .returning(TRIALS.c.finished_at)
    )


# SQLite's (given time.time() as ``new_started_at`` / ``new_finished_at``). PostgreSQL's, which
# read the server's clock inside the statement, are in _sql_postgres.py.
INSERT_NEXT_TRIAL = _insert_next_trial(sa.bindparam("new_started_at", type_=sa.Double))
# A trial and its reports: one row per report, or one row whose step is NULL.
SELECT_TRIAL_WITH_REPORTS = (
    sa.select(*TRIAL_COLUMNS, REPORTS.c.step, REPORTS.c.metrics)
    .select_from(TRIALS.outerjoin(REPORTS, REPORTS.c.trial_id == TRIALS.c.id))
    .where(THIS_TRIAL)
    .order_by(REPORTS.c.step)
)
# A trial's id and state, with the metrics stored at one step (NULL if none), then what tells
# its claim from another's (SQLStorage._is_claim).
SELECT_TRIAL_WITH_STEP = (
    sa.select(
        TRIALS.c.id, TRIALS.c.state, REPORTS.c.metrics, TRIALS.c.started_at, TRIALS.c["values"]
    )
    .select_from(
        TRIALS.outerjoin(
            REPORTS,
            sa.and_(REPORTS.c.trial_id == TRIALS.c.id, REPORTS.c.step == sa.bindparam("step")),
        )
    )
    .where(THIS_TRIAL)
)
# One row per trial numbered above the cached ones, or one row of NULLs when there is none;
# no row at all means the study does not exist.
SELECT_NEW_TRIALS = (
    sa.select(*TRIAL_COLUMNS)
    .select_from(
        STUDIES.outerjoin(
            TRIALS,
            sa.and_(
                TRIALS.c.study_id == STUDIES.c.id,
                TRIALS.c.number > sa.bindparam("after"),
            ),
        )
    )
    .where(STUDIES.c.id == sa.bindparam("study_id"))
    .order_by(TRIALS.c.number)
)
# The trials numbered above ``after`` with their reports (one row per report, or one row whose
# step is NULL), except the reports of the trials numbered in ``known``, already read; one row
# with NULL trial columns when the study has no such trial, none when there is no study. One
# statement, so that it needs no transaction for a consistent answer.
SELECT_NEW_TRIALS_AND_REPORTS = (
    sa.select(*TRIAL_COLUMNS, REPORTS.c.step, REPORTS.c.metrics)
    .select_from(
        STUDIES.outerjoin(
            TRIALS,
            sa.and_(
                TRIALS.c.study_id == STUDIES.c.id,
                TRIALS.c.number > sa.bindparam("after"),
            ),
        ).outerjoin(
            REPORTS,
            sa.and_(
                REPORTS.c.trial_id == TRIALS.c.id,
                TRIALS.c.number.not_in(sa.bindparam("known", expanding=True)),
            ),
        )
    )
    .where(STUDIES.c.id == sa.bindparam("study_id"))
    .order_by(TRIALS.c.number, REPORTS.c.step)
)
SELECT_REPORTS = (
    sa.select(REPORTS.c.trial_id, REPORTS.c.step, REPORTS.c.metrics)
    .where(REPORTS.c.trial_id.in_(sa.bindparam("trial_ids", expanding=True)))
    .order_by(REPORTS.c.trial_id, REPORTS.c.step)
)
# The trials among some numbers of a study, with their state and what tells a claim from
# another's (SQLStorage._is_claim): heartbeat() answers with those that are not RUNNING.
SELECT_AMONG = sa.select(
    TRIALS.c.number, TRIALS.c.state, TRIALS.c.started_at, TRIALS.c["values"]
).where(
    TRIALS.c.study_id == sa.bindparam("study_id"),
    TRIALS.c.number.in_(sa.bindparam("numbers", expanding=True)),
)
UPDATE_REPORT = (
    sa.update(REPORTS)
    .where(
        REPORTS.c.trial_id == sa.bindparam("key_trial_id"),
        REPORTS.c.step == sa.bindparam("key_step"),
    )
    .values(metrics=sa.bindparam("new_metrics"))
)
# A finished trial never beats again: the WHERE state = 'RUNNING' keeps its record as it is.
HEARTBEAT = (
    sa.update(TRIALS)
    .where(
        TRIALS.c.study_id == sa.bindparam("key_study_id"),
        TRIALS.c.number.in_(sa.bindparam("key_numbers", expanding=True)),
        TRIALS.c.state == RUNNING,
    )
    .values(heartbeat_at=sa.bindparam("new_heartbeat_at"))
)
FINISH_TRIAL = _finish_trial(sa.bindparam("new_finished_at", type_=sa.Double))


def schema_version(stored: str) -> int | None:
    """The stored schema version as an int, or None when this hyperscout cannot read it."""
    try:
        version = int(stored)
    except ValueError:
        return None
    return version if 1 <= version <= SCHEMA_VERSION else None


def add_heartbeat_column(conn: Connection) -> None:
    """Add ``hs_trials.heartbeat_at`` (schema version 2) unless it is there already."""
    columns = {column["name"] for column in sa.inspect(conn).get_columns(TRIALS.name)}
    if "heartbeat_at" in columns:
        return
    preparer = conn.dialect.identifier_preparer
    column = TRIALS.c.heartbeat_at
    conn.execute(
        sa.text(
            f"ALTER TABLE {preparer.format_table(TRIALS)} ADD COLUMN "
            f"{preparer.format_column(column)} {column.type.compile(dialect=conn.dialect)}"
        )
    )
