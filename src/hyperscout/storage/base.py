"""The storage interface: the one source of truth of a search.

A tuner writes every event of a trial at once: :meth:`Storage.create_trial` when it starts,
:meth:`Storage.report` for each intermediate report, :meth:`Storage.finish_trial` when it ends,
and :meth:`Storage.heartbeat` every few seconds while it runs, so that other workers can tell a
trial whose worker died from one still running. Strategies read the history back with
:meth:`Storage.trials`. Everything stored is JSON: nothing is pickled.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hyperscout.exceptions import StorageError
from hyperscout.trial import Trial, TrialState

__all__ = ["SCHEMA_VERSION", "Storage", "StudyInfo", "check_alive_since", "normalize_budget"]

#: The version of the stored layout. A storage upgrades a database of an older version when it
#: opens it and refuses one of a newer version. Version 2 added the trials' heartbeats.
SCHEMA_VERSION = 2


def normalize_budget(value: float | None) -> float | None:
    """A whole budget as an int (3 epochs, not 3.0), whatever the storage's column type."""
    if value is None:
        return None
    number = float(value)
    return int(number) if number.is_integer() else number


@dataclass(frozen=True)
class StudyInfo:
    """A study as kept in storage: its name, its search space and its settings.

    Attributes:
        id: the storage's identifier of the study.
        name: unique within the storage (the tuner's ``project_name``).
        space: the search space, as :meth:`HyperParameters.to_dict` gives it.
        meta: JSON settings (objective, strategy, ...).
        created_at: Unix timestamp.
    """

    id: int
    name: str
    space: Mapping[str, Any] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)
    created_at: float = 0.0


class Storage(abc.ABC):
    """Keeps studies and their trials.

    The tuner calls these methods; samplers and schedulers never see the storage, only the
    trials it returns. Implementations must be safe for several workers on one study: trial
    numbers are unique and dense, and a trial is finished at most once.
    """

    # -- studies -------------------------------------------------------------------------
    @abc.abstractmethod
    def create_study(
        self,
        name: str,
        *,
        space: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> StudyInfo:
        """Create a study. Raises :class:`StorageError` if ``name`` exists."""

    @abc.abstractmethod
    def load_study(self, name: str) -> StudyInfo | None:
        """The study called ``name``, or None."""

    @abc.abstractmethod
    def delete_study(self, name: str) -> None:
        """Delete a study and all its trials; nothing happens if it does not exist."""

    @abc.abstractmethod
    def list_studies(self) -> list[StudyInfo]:
        """Every study, ordered by name."""

    @abc.abstractmethod
    def save_space(self, study_id: int, space: Mapping[str, Any]) -> None:
        """Replace the stored search space of a study (it grows as objectives run)."""

    @abc.abstractmethod
    def save_meta(self, study_id: int, meta: Mapping[str, Any]) -> None:
        """Replace the stored meta of a study (the tuner adds the provenance of old studies)."""

    def get_or_create_study(
        self,
        name: str,
        *,
        space: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> StudyInfo:
        """Load ``name`` or create it."""
        found = self.load_study(name)
        if found is not None:
            return found
        try:
            return self.create_study(name, space=space, meta=meta)
        except StorageError:
            # Another worker created it between our load and our create.
            found = self.load_study(name)
            if found is None:
                raise
            return found

    # -- trials --------------------------------------------------------------------------
    @abc.abstractmethod
    def create_trial(
        self,
        study_id: int,
        *,
        values: Mapping[str, Any],
        budget: float | None = None,
        attrs: Mapping[str, Any] | None = None,
        claim: str | None = None,
    ) -> Trial:
        """Write a new RUNNING trial with the next free number, in its own transaction.

        ``claim`` names the strategy's slot that the trial fills; it is kept in the trial's
        attrs under ``"claim"``.

        Raises:
            ClaimTakenError: a trial of the study already holds ``claim``.
        """

    @abc.abstractmethod
    def report(self, study_id: int, number: int, step: int, metrics: Mapping[str, float]) -> None:
        """Record intermediate metrics of a running trial (merged into the same step)."""

    @abc.abstractmethod
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
        """Finish a RUNNING trial, in its own transaction, and return its record.

        ``values`` replaces the trial's values (parameters defined while it ran join them);
        ``attrs`` is merged into the trial's attrs. ``unless_alive_since`` (a time of
        :meth:`now`) finishes the trial only if its worker has shown no sign of life
        (:attr:`Trial.last_seen_at`) since then: a worker taken for dead that beats at the
        last moment keeps its trial.

        Raises:
            StorageError: the trial does not exist, is already finished, or was alive since
                ``unless_alive_since``.
        """

    @abc.abstractmethod
    def heartbeat(self, study_id: int, numbers: Iterable[int]) -> list[int]:
        """Record that the worker running trials ``numbers`` is alive, in one transaction.

        The worker calls it every few seconds for the trials it runs; each RUNNING trial among
        ``numbers`` gets :attr:`Trial.heartbeat_at` set to :meth:`now`. Finished trials, and
        numbers that are no trial of the study, are left alone.

        Returns:
            The numbers among ``numbers``, sorted and without repeats, that are no RUNNING
            trial of the study: finished elsewhere (another worker took the trial for dead,
            or a search gave it up), or no trial at all. Their worker should stop running
            them: whatever it records for them is dropped.
        """

    @abc.abstractmethod
    def trials(self, study_id: int, *, states: Iterable[TrialState] | None = None) -> list[Trial]:
        """The study's trials ordered by number, optionally only those in ``states``."""

    @abc.abstractmethod
    def get_trial(self, study_id: int, number: int) -> Trial:
        """One trial. Raises :class:`StorageError` if it does not exist."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. The default does nothing."""

    def check(self) -> list[str]:
        """Read every study and trial back; the problems found, one sentence each.

        Called by ``hyperscout check``. An empty list means every study and trial can be read.
        The default reads through :meth:`list_studies` and :meth:`trials` and lists the
        :class:`StorageError` of each study that fails; storages that keep rows a user can
        damage (:class:`~hyperscout.storage.sql.SQLStorage`) list every damaged row.
        """
        try:
            studies = self.list_studies()
        except StorageError as exc:
            return [str(exc)]
        problems: list[str] = []
        for study in studies:
            try:
                self.trials(study.id)
            except StorageError as exc:
                problems.append(str(exc))
        return problems

    def now(self) -> float:
        """The storage's clock: the Unix timestamp stored for starts, ends and heartbeats.

        Workers compare heartbeats with this clock, so a storage shared by several machines
        should give them all one clock (:class:`~hyperscout.storage.sql.SQLStorage` reads
        PostgreSQL's). The default is this machine's clock.
        """
        return time.time()


def check_alive_since(trial: Trial, unless_alive_since: float | None) -> None:
    """Raise :class:`StorageError` if ``trial`` showed a sign of life at or after the time given.

    >>> from hyperscout.trial import TrialState
    >>> trial = Trial(number=3, values={}, state=TrialState.RUNNING, started_at=100.0)
    >>> check_alive_since(trial, 100.5)
    >>> check_alive_since(trial, 99.0)
    Traceback (most recent call last):
    ...
    hyperscout.exceptions.StorageError: Trial 3 was alive at 100.0, since 99.0; it is left running.
    """
    if unless_alive_since is None:
        return
    seen = trial.last_seen_at
    if seen is not None and seen >= unless_alive_since:
        raise StorageError(
            f"Trial {trial.number} was alive at {seen}, since {unless_alive_since}; "
            "it is left running."
        )
