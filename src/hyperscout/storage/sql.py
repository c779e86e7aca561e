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

This module holds what is stored and how; its helpers are ``_sql_engine.py`` (the engine,
transactions, errors and schema setup), ``_sql_rows.py`` (rows read into trials, the cache,
``check``), ``_sql_schema.py`` (tables and statements) and ``_sql_postgres.py`` (what every
trial costs on PostgreSQL, a claim, a finish and a read, in three round trips through psycopg).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from hyperscout.exceptions import ClaimTakenError, StorageError
from hyperscout.storage._factory import sqlite_url
from hyperscout.storage._sql_engine import SQLDatabase
from hyperscout.storage._sql_postgres import (
    claim_trial,
    finish_locked,
    finish_running,
    lock_trial,
    new_trials,
    reclaim_trial,
    trial_rows,
)
from hyperscout.storage._sql_rows import (
    DamagedRowError,
    StudyCache,
    check_running,
    database_problems,
    dumps,
    loads,
    object_column,
    reports_of,
    study_from_row,
    trial_from_row,
)
from hyperscout.storage._sql_schema import (
    CLAIM_TAKEN,
    FINISH_TRIAL,
    HEARTBEAT,
    INSERT_NEXT_TRIAL,
    INSERT_REPORT,
    INSERT_STUDY,
    LOCK_TRIAL,
    REPORTS,
    RUNNING,
    SELECT_AMONG,
    SELECT_NEW_TRIALS_AND_REPORTS,
    SELECT_STUDIES,
    SELECT_STUDY_BY_NAME,
    SELECT_TRIAL_WITH_REPORTS,
    SELECT_TRIAL_WITH_STEP,
    STUDIES,
    TRIALS,
    UPDATE_REPORT,
)
from hyperscout.storage.base import Storage, StudyInfo, check_alive_since, normalize_budget
from hyperscout.trial import Trial, TrialState

# sqlite_url is re-exported: its earlier home, named by users.
__all__ = ["EMPTY_FILE_GRACE", "SQLITE_BUSY_TIMEOUT", "SQLStorage", "sqlite_url"]

#: Seconds an SQLite connection waits for another writer before it gives up with a
#: StorageError (a writer frozen mid-write holds the lock; see SQLStorage's note on hangs).
SQLITE_BUSY_TIMEOUT = 30.0

#: Seconds an SQLite file found empty may take to become a database: another process that
#: creates it leaves it empty for a moment. A file still empty then is refused.
EMPTY_FILE_GRACE = 1.0

# How often create_trial() tries again when a concurrent worker took the same number.
_CREATE_TRIAL_ATTEMPTS = 10


def _back_off(attempt: int) -> None:
    """Wait a little, longer after each failed attempt, before trying a write again."""
    time.sleep(random.uniform(0.001, 0.01) * (attempt + 1))


class SQLStorage(SQLDatabase, Storage):
    """Keeps studies and trials in an SQL database: SQLite or PostgreSQL.

    Safe for many threads, processes and machines on one database. Open one instance per
    process and share it among threads; call :meth:`close` when done.

    Each write is one short transaction inside one method: no user code, callback or wait
    runs while it is open. Still, SQLite has one write lock per file: a worker frozen in the
    middle of a write (suspended, swapped out) holds it, and the others wait for it
    ``SQLITE_BUSY_TIMEOUT`` seconds (30) and then raise :class:`StorageError`. Workers that
    may hang belong on PostgreSQL, whose locks are per row.

    Args:
        url: an SQLite or PostgreSQL URL: ``sqlite:///path/to/study.db`` (the parent
            directories are created; :func:`sqlite_url` builds the URL from a path) or
            ``postgresql://user:password@host:5432/dbname`` (psycopg 3, the ``postgres``
            extra; ``postgresql+psycopg://`` names it). ``sqlite://`` is an in-memory
            database of this process.
        engine_kwargs: extra arguments for :func:`sqlalchemy.create_engine`
            (``connect_args`` are merged with the defaults).

    Raises:
        InvalidArgumentError: ``url`` is no SQLite or PostgreSQL URL (MySQL, Oracle,
            another driver, a file path), refused before any driver is imported.
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
        self._cache: dict[int, StudyCache] = {}
        self._cache_lock = threading.Lock()
        # PostgreSQL: the trials this process claimed and has not finished yet, by (study id,
        # number), with what their claim wrote. A claim's COMMIT does not wait for the disk,
        # so a crash of the server may lose it; finish_trial() then claims it again from here.
        self._claimed: dict[tuple[int, int], dict[str, Any]] = {}
        super().__init__(
            url,
            engine_kwargs=engine_kwargs,
            busy_timeout=SQLITE_BUSY_TIMEOUT,
            empty_file_grace=EMPTY_FILE_GRACE,
        )

    def close(self) -> None:
        """Close every pooled connection (the storage reconnects if used again)."""
        with self._cache_lock:
            self._cache.clear()
        super().close()

    # -- studies -------------------------------------------------------------------------
    def create_study(
        self,
        name: str,
        *,
        space: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> StudyInfo:
        space_json = dumps(space or {}, "the search space")
        meta_json = dumps(meta or {}, "the study's meta")
        exists = StorageError(f"A study named {name!r} already exists.")
        try:
            with self._write() as conn:
                if conn.execute(SELECT_STUDY_BY_NAME, {"name": name}).first() is not None:
                    raise exists
                created_at = self._clock(conn)
                row = {"name": name, "space": space_json, "meta": meta_json}
                study_id = int(
                    conn.execute(INSERT_STUDY, {**row, "created_at": created_at}).scalar_one()
                )
        except sa.exc.IntegrityError as exc:  # another process created it in between
            raise exists from exc
        with self._cache_lock:
            self._cache.pop(study_id, None)
        return StudyInfo(
            id=study_id,
            name=name,
            space=loads(space_json),
            meta=loads(meta_json),
            created_at=created_at,
        )

    def load_study(self, name: str) -> StudyInfo | None:
        with self._read() as conn:
            row = conn.execute(SELECT_STUDY_BY_NAME, {"name": name}).first()
        try:
            return None if row is None else study_from_row(row)
        except DamagedRowError as damage:
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
            for key in [key for key in self._claimed if key[0] == study_id]:
                del self._claimed[key]

    def list_studies(self) -> list[StudyInfo]:
        with self._read() as conn:
            rows = conn.execute(SELECT_STUDIES).all()
        studies = []
        for row in rows:
            try:
                studies.append(study_from_row(row))
            except DamagedRowError as damage:
                raise self._damaged(str(row[1]), damage) from None
        return studies

    def save_space(self, study_id: int, space: Mapping[str, Any]) -> None:
        self._update_study(study_id, space=dumps(space, "the search space"))

    def save_meta(self, study_id: int, meta: Mapping[str, Any]) -> None:
        self._update_study(study_id, meta=dumps(meta, "the study's meta"))

    def _update_study(self, study_id: int, **columns: str) -> None:
        with self._write() as conn:
            update = sa.update(STUDIES).where(STUDIES.c.id == study_id).values(**columns)
            if conn.execute(update).rowcount == 0:
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
        values_json = dumps(values, "trial values")
        if claim is not None:
            attrs = {**(attrs or {}), "claim": claim}
        attrs_json = dumps(attrs or {}, "trial attrs")
        budget = None if budget is None else float(budget)
        row = {"new_values": values_json, "new_budget": budget, "new_attrs": attrs_json}
        for attempt in range(_CREATE_TRIAL_ATTEMPTS):
            try:
                number, started_at = self._insert_trial(study_id, claim, row)
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
                values=loads(values_json),
                state=TrialState.RUNNING,
                budget=normalize_budget(budget),
                started_at=started_at,
                attrs=loads(attrs_json),
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _insert_trial(
        self, study_id: int, claim: str | None, row: dict[str, Any]
    ) -> tuple[int, float]:
        """One attempt of :meth:`create_trial`: the new trial's number and start time."""
        if self._backend == "postgresql":
            return self._claim_on_postgres(study_id, claim, row)
        with self._write() as conn:  # SQLite: BEGIN IMMEDIATE holds every lock
            params = {**row, "study_id": study_id, "new_claim": claim}
            params["new_started_at"] = self._clock(conn)
            # One statement checks the claim and numbers the trial.
            inserted = conn.execute(INSERT_NEXT_TRIAL, params).first()
            if inserted is None:
                if (
                    claim is not None
                    and conn.execute(CLAIM_TAKEN, {"study_id": study_id, "claim": claim}).first()
                ):
                    raise ClaimTakenError(f"Slot {claim!r} of study {study_id} is taken.")
                raise StorageError(f"No study with id {study_id}.")
        return inserted.number, inserted.started_at

    def _claim_on_postgres(
        self, study_id: int, claim: str | None, row: dict[str, Any]
    ) -> tuple[int, float]:
        """:meth:`_insert_trial` on PostgreSQL: one round trip, a COMMIT that does not wait."""
        params = {**row, "study_id": study_id, "new_claim": claim}
        with self._pg() as conn:
            inserted = claim_trial(conn, params)
        if inserted is None:
            if claim is not None:
                with self._read() as read:
                    taken = read.execute(CLAIM_TAKEN, {"study_id": study_id, "claim": claim})
                    if taken.first() is not None:
                        raise ClaimTakenError(f"Slot {claim!r} of study {study_id} is taken.")
            raise StorageError(f"No study with id {study_id}.")
        number, started_at = inserted
        with self._cache_lock:
            self._claimed[study_id, number] = {
                **row,
                "new_claim": claim,
                "new_started_at": started_at,
            }
        return number, started_at

    def report(self, study_id: int, number: int, step: int, metrics: Mapping[str, float]) -> None:
        clean = {str(name): float(value) for name, value in metrics.items()}
        step = int(step)
        with self._cache_lock:
            claimed = self._claimed.get((study_id, number))
        with self._reading_rows(study_id, number), self._write() as conn:
            self._lock(conn, LOCK_TRIAL, {"study_id": study_id, "number": number})
            row = conn.execute(
                SELECT_TRIAL_WITH_STEP, {"study_id": study_id, "number": number, "step": step}
            ).first()
            if claimed is not None and (row is None or not self._is_claim(row[3], row[4], claimed)):
                lost = row is None  # else another trial took the number the server lost
            else:
                lost = None
                self._report_row(conn, study_id, number, step, clean, row)
        if lost is None:
            return
        assert claimed is not None
        self._reclaim(study_id, number, claimed, taken=not lost)
        self.report(study_id, number, step, clean)

    @staticmethod
    def _report_row(
        conn: sa.Connection,
        study_id: int,
        number: int,
        step: int,
        clean: dict[str, float],
        row: Sequence[Any] | None,
    ) -> None:
        """The write of :meth:`report`, given the trial's row of ``SELECT_TRIAL_WITH_STEP``."""
        trial_id, state, stored = (None, None, None) if row is None else row[:3]
        check_running(state, study_id, number)
        if stored is None:
            conn.execute(
                INSERT_REPORT,
                {"trial_id": trial_id, "step": step, "metrics": dumps(clean, "metrics")},
            )
        else:
            conn.execute(
                UPDATE_REPORT,
                {
                    "key_trial_id": trial_id,
                    "key_step": step,
                    "new_metrics": dumps(
                        {
                            **object_column(stored, f"hs_trial_reports.metrics (step {step})"),
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
        change = {
            "new_state": state.value,
            "new_values": None if values is None else dumps(values, "trial values"),
            "new_value": None if value is None else float(value),
            "new_metrics": dumps(metrics or {}, "metrics"),
            "new_error": error,
        }
        new_attrs = loads(dumps(attrs or {}, "trial attrs"))
        if self._backend == "postgresql":
            trial = self._finish_on_postgres(
                study_id, number, change, new_attrs, unless_alive_since
            )
        else:
            with self._reading_rows(study_id, number), self._write() as conn:
                rows = conn.execute(
                    SELECT_TRIAL_WITH_REPORTS, {"study_id": study_id, "number": number}
                ).all()
                before, params, attrs = self._to_finish(
                    study_id, number, rows, change, new_attrs, unless_alive_since
                )
                params["new_finished_at"] = self._clock(conn)
                finished_at = conn.execute(FINISH_TRIAL, params).scalar()
                trial = self._finished(study_id, before, change, attrs, finished_at)
        with self._cache_lock:
            self._cache.setdefault(study_id, StudyCache()).add(trial)
        return trial

    def _finish_on_postgres(
        self,
        study_id: int,
        number: int,
        change: dict[str, Any],
        new_attrs: dict[str, Any],
        unless_alive_since: float | None,
    ) -> Trial:
        """:meth:`finish_trial` on PostgreSQL, its commit waiting for the disk: one round trip
        (``finish_running``), or two (the careful path, ``lock_trial`` and ``finish_locked``)
        with new attrs, ``unless_alive_since``, or when the quick one wrote nothing.

        A trial this process claimed whose row is gone (the server lost the claim in a crash)
        is claimed again as it was, then finished.
        """
        key = {"study_id": study_id, "number": number}
        if not new_attrs and unless_alive_since is None:
            with self._cache_lock:
                claimed = self._claimed.get((study_id, number))
            quick = {
                **change,
                **key,
                "claimed_at": None if claimed is None else claimed.get("new_started_at"),
                "claimed_values": None if claimed is None else claimed.get("new_values"),
            }
            if claimed is None or "new_started_at" in claimed:  # else: known lost
                with self._reading_rows(study_id, number), self._pg() as conn:
                    done = finish_running(conn, quick)
                if done is not None:
                    self._forget_claim(study_id, number)  # on disk now, with the finish
                    with self._reading_rows(study_id, number):
                        return trial_from_row(*done)
        with self._reading_rows(study_id, number), self._pg() as conn:
            rows = lock_trial(conn, key)
            with self._cache_lock:
                lost = self._claimed.get((study_id, number))
            if lost is None or (rows and self._is_claim(rows[0][9], rows[0][3], lost)):
                try:
                    before, params, attrs = self._to_finish(
                        study_id, number, rows, change, new_attrs, unless_alive_since
                    )
                except StorageError:
                    if rows and rows[0][2] != RUNNING:  # finished elsewhere, so on disk
                        self._forget_claim(study_id, number)
                    raise
                finished_at = finish_locked(conn, params)
                self._forget_claim(study_id, number)  # on disk now, with the finish
                return self._finished(study_id, before, change, attrs, finished_at)
        self._reclaim(study_id, number, lost, taken=bool(rows))
        return self._finish_on_postgres(study_id, number, change, new_attrs, unless_alive_since)

    def _forget_claim(self, study_id: int, number: int) -> None:
        with self._cache_lock:
            self._claimed.pop((study_id, number), None)

    @staticmethod
    def _is_claim(started_at: Any, values: Any, claimed: dict[str, Any]) -> bool:
        """True if the row that holds ``started_at`` and ``values`` is the trial ``claimed``
        created: the server's clock, to the microsecond, and the same values. Else another
        trial took its number after the server lost it."""
        return bool(
            not claimed.get("lost")
            and started_at == claimed["new_started_at"]
            and values == claimed["new_values"]
        )

    @staticmethod
    def _lost(study_id: int, number: int) -> StorageError:
        return StorageError(
            f"Trial {number} of study {study_id} was lost by the database server: its creation "
            "had not reached the disk when the server stopped, and another trial has taken its "
            "number or its slot since. Its result is not recorded; the search goes on without it."
        )

    def _reclaim(self, study_id: int, number: int, claimed: dict[str, Any], *, taken: bool) -> None:
        """Insert again a trial this process claimed and the server lost; else StorageError.

        ``taken``: another trial holds its number now. Then, or when its number or slot is
        found taken, the trial stays lost: every later report or finish of it here raises.
        """
        if not (taken or claimed.get("lost")):
            with self._pg() as conn:
                if reclaim_trial(conn, {**claimed, "study_id": study_id, "number": number}):
                    self._forget_claim(study_id, number)  # on disk: the reclaim waited
                    return
        with self._cache_lock:
            self._claimed[study_id, number] = {"lost": True}
        raise self._lost(study_id, number)

    @staticmethod
    def _to_finish(
        study_id: int,
        number: int,
        rows: Sequence[Any],
        change: dict[str, Any],
        new_attrs: dict[str, Any],
        unless_alive_since: float | None,
    ) -> tuple[Trial, dict[str, Any], dict[str, Any]]:
        """What finishing the trial read as ``rows`` (``SELECT_TRIAL_WITH_REPORTS``) writes.

        The trial as it was, the parameters of FINISH_TRIAL and the attrs it will have.
        Raises StorageError when it is missing, finished or alive since ``unless_alive_since``,
        and DamagedRowError when it cannot be read. ``change`` holds FINISH_TRIAL's new values
        (JSON text); ``new_attrs`` joins the trial's attrs.
        """
        check_running(rows[0][2] if rows else None, study_id, number)
        before = trial_from_row(rows[0], reports_of(rows))  # refuses a damaged row
        check_alive_since(before, unless_alive_since)
        if change["new_values"] is None:
            change["new_values"] = rows[0][3]
        attrs = {**before.attrs, **new_attrs}
        params = {**change, "trial_id": rows[0][0], "new_attrs": dumps(attrs, "trial attrs")}
        return before, params, attrs

    @staticmethod
    def _finished(
        study_id: int,
        before: Trial,
        change: dict[str, Any],
        attrs: dict[str, Any],
        finished_at: float | None,
    ) -> Trial:
        """The trial ``before`` as finishing it made it; StorageError if it was not running."""
        if finished_at is None:  # finished meanwhile: nothing was written
            raise StorageError(f"Trial {before.number} of study {study_id} is already finished.")
        # Everything the row now holds is known here: build the record without reading it.
        return Trial(
            number=before.number,
            values=loads(change["new_values"]),
            state=TrialState(change["new_state"]),
            value=change["new_value"],
            metrics=loads(change["new_metrics"]),
            intermediate=before.intermediate,
            budget=before.budget,
            started_at=before.started_at,
            finished_at=finished_at,
            error=change["new_error"],
            attrs=attrs,
            heartbeat_at=before.heartbeat_at,
        )

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
            rows = conn.execute(SELECT_AMONG, {"study_id": study_id, "numbers": wanted}).all()
        running = {number for number, state, _, _ in rows if state == RUNNING}
        with self._cache_lock:
            claims = {n: self._claimed.get((study_id, n)) for n in wanted} if self._claimed else {}
        present = {number: (started_at, values) for number, _, started_at, values in rows}
        for number, claimed in claims.items():
            if claimed is None or (number in present and self._is_claim(*present[number], claimed)):
                continue
            # PostgreSQL lost this process's claim: make it again, or the trial is lost.
            try:
                self._reclaim(study_id, number, claimed, taken=number in present)
                running.add(number)
            except StorageError:
                running.discard(number)
        return [number for number in wanted if number not in running]

    def trials(self, study_id: int, *, states: Iterable[TrialState] | None = None) -> list[Trial]:
        with self._cache_lock:
            cache = self._cache.get(study_id)
            after = -1 if cache is None else cache.horizon
            # Finished trials above the horizon already read: their reports are not read again.
            known = {} if cache is None else dict(cache.later)
        params = {"study_id": study_id, "after": after, "known": sorted(known)}
        if self._backend == "postgresql":
            with self._pg() as pg:
                rows = new_trials(pg, params)
        else:
            with self._read() as conn:
                rows = list(conn.execute(SELECT_NEW_TRIALS_AND_REPORTS, params))
        if not rows:
            with self._cache_lock:
                self._cache.pop(study_id, None)
            raise StorageError(f"No study with id {study_id}.")
        by_number: dict[int, list[Any]] = {}
        for row in rows:
            if row[1] is not None:  # the number
                by_number.setdefault(row[1], []).append(row)
        with self._reading_rows(study_id), self._cache_lock:
            cache = self._cache.setdefault(study_id, StudyCache())
            fresh: list[Trial] = []
            for number, group in by_number.items():
                if number <= cache.horizon:
                    continue  # another thread cached it meanwhile
                trial = cache.get(number)
                if trial is None:
                    trial = known.get(number)
                if trial is None:
                    trial = trial_from_row(group[0], reports_of(group))
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
        key = {"study_id": study_id, "number": number}
        if self._backend == "postgresql":
            with self._pg() as pg:
                rows = trial_rows(pg, key)
        else:
            with self._read() as conn:
                rows = list(conn.execute(SELECT_TRIAL_WITH_REPORTS, key))
        if not rows:
            raise StorageError(f"Study {study_id} has no trial {number}.")
        with self._reading_rows(study_id):
            return trial_from_row(rows[0], reports_of(rows))

    def check(self) -> list[str]:
        """Read every study and trial row; the problems found, one sentence each.

        Unlike :meth:`trials`, which stops at the first damaged row, this reads on and lists
        every damaged row, and trial numbers that skip one (a deleted row); on SQLite it also
        runs ``PRAGMA quick_check``. Called by ``hyperscout check``.
        """
        with self._read() as conn:
            return database_problems(conn, self._backend)
