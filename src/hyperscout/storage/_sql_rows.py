"""Rows of :class:`~hyperscout.storage.sql.SQLStorage`'s tables, read into studies and trials.

Values are stored as JSON text and read back here. A row that holds what hyperscout never
writes (a hand edit, a bad disk) raises :class:`DamagedRowError`, which names the column;
:class:`SQLStorage` adds the database, the study and the trial. :class:`StudyCache` keeps the
finished trials already read, which never change again. Nothing here opens a connection but
:func:`study_problems`, which reads through one it is given.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from hyperscout.exceptions import StorageError
from hyperscout.storage._sql_schema import (
    RUNNING,
    SELECT_NEW_TRIALS,
    SELECT_REPORTS,
    SELECT_STUDIES,
)
from hyperscout.storage.base import StudyInfo, normalize_budget
from hyperscout.trial import Trial, TrialState

__all__ = [
    "DamagedRowError",
    "StudyCache",
    "check_running",
    "database_problems",
    "dumps",
    "group_reports",
    "loads",
    "object_column",
    "reports_of",
    "study_from_row",
    "study_problems",
    "trial_from_row",
]


def dumps(data: Mapping[str, Any], what: str) -> str:
    """``data`` as JSON text, or a TypeError that says which argument is not JSON."""
    try:
        return json.dumps(dict(data), separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"SQLStorage stores {what} as JSON (str, int, float, bool, None, lists and dicts "
            f"with str keys); {exc}. Convert the value before storing it."
        ) from exc


def loads(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    return data


class DamagedRowError(Exception):
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


def object_column(text: Any, column: str) -> dict[str, Any]:
    """The JSON object stored as ``text`` in ``column``, or :class:`DamagedRowError`."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise DamagedRowError(column, f"holds {_shown(text)}, which is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DamagedRowError(column, f"holds {_shown(text)}, expected a JSON object")
    return data


def _number_column(raw: Any, column: str) -> Any:
    """``raw`` if it is NULL or a number, as a numeric column must hold; else an error."""
    if raw is None or (isinstance(raw, int | float) and not isinstance(raw, bool)):
        return raw
    raise DamagedRowError(column, f"holds {_shown(raw)}, expected a number or NULL")


_STATES = ", ".join(state.value for state in TrialState)


def study_from_row(row: Sequence[Any]) -> StudyInfo:
    study_id, name, space, meta, created_at = row
    return StudyInfo(
        id=study_id,
        name=name,
        space=object_column(space, "hs_studies.space"),
        meta=object_column(meta, "hs_studies.meta"),
        created_at=_number_column(created_at, "hs_studies.created_at"),
    )


def trial_from_row(row: Sequence[Any], reports: Mapping[int, str]) -> Trial:
    """A trial from a row that starts with the columns of ``TRIAL_COLUMNS``.

    ``reports`` holds the stored text of the trial's reports by step. Raises
    :class:`DamagedRowError`, naming the trial, when a column holds what hyperscout never
    writes.
    """
    try:
        try:
            state = TrialState(row[2])
        except ValueError:
            raise DamagedRowError(
                "hs_trials.state", f"holds {_shown(row[2])}, expected one of {_STATES}"
            ) from None
        if not isinstance(row[8], str | None):
            raise DamagedRowError(
                "hs_trials.error", f"holds {_shown(row[8])}, expected text or NULL"
            )
        return Trial(
            number=row[1],
            values=object_column(row[3], "hs_trials.values"),
            state=state,
            value=_number_column(row[4], "hs_trials.value"),
            metrics=object_column(row[5], "hs_trials.metrics"),
            intermediate={
                step: object_column(text, f"hs_trial_reports.metrics (step {step})")
                for step, text in reports.items()
            },
            budget=normalize_budget(_number_column(row[6], "hs_trials.budget")),
            started_at=_number_column(row[9], "hs_trials.started_at"),
            finished_at=_number_column(row[10], "hs_trials.finished_at"),
            error=row[8],
            attrs=object_column(row[7], "hs_trials.attrs"),
            heartbeat_at=_number_column(row[11], "hs_trials.heartbeat_at"),
        )
    except DamagedRowError as damage:
        damage.number = row[1]
        raise


def reports_of(rows: Sequence[Sequence[Any]]) -> dict[int, str]:
    """``{step: stored metrics}`` from the rows of ``SELECT_TRIAL_WITH_REPORTS``."""
    return {row[-2]: row[-1] for row in rows if row[-2] is not None}


def check_running(state: str | None, study_id: int, number: int) -> None:
    """Raise unless ``state`` (None: no such trial) is RUNNING."""
    if state is None:
        raise StorageError(f"Study {study_id} has no trial {number}.")
    if state != RUNNING:
        raise StorageError(f"Trial {number} is already {state}; it cannot change any more.")


def group_reports(rows: Iterable[Sequence[Any]]) -> dict[int, dict[int, str]]:
    """``{trial_id: {step: stored metrics}}`` from rows of (trial_id, step, metrics)."""
    grouped: dict[int, dict[int, str]] = {}
    for trial_id, step, metrics in rows:
        grouped.setdefault(trial_id, {})[step] = metrics
    return grouped


class StudyCache:
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


def study_problems(conn: Connection, study_row: Sequence[Any]) -> list[str]:
    """The problems of one study and its trials (see :meth:`SQLStorage.check`)."""
    study_id, name = study_row[0], study_row[1]
    problems: list[str] = []
    try:
        study_from_row(study_row)
    except DamagedRowError as damage:
        problems.append(f"Study {name!r}: {damage}.")
    rows = conn.execute(SELECT_NEW_TRIALS, {"study_id": study_id, "after": -1}).all()
    rows = [row for row in rows if row.number is not None]
    ids = [row.id for row in rows]
    reports = group_reports(conn.execute(SELECT_REPORTS, {"trial_ids": ids})) if ids else {}
    for row in rows:
        try:
            trial_from_row(row, reports.get(row.id, {}))
        except DamagedRowError as damage:
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


def database_problems(conn: Connection, backend: str) -> list[str]:
    """Every problem of the database's studies and trials (see :meth:`SQLStorage.check`)."""
    problems: list[str] = []
    if backend == "sqlite":
        verdict = [str(row[0]) for row in conn.exec_driver_sql("PRAGMA quick_check")]
        if verdict != ["ok"]:
            problems.extend(f"SQLite's quick_check: {line}." for line in verdict)
    for study_row in conn.execute(SELECT_STUDIES).all():
        problems.extend(study_problems(conn, study_row))
    return problems
