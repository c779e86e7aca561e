"""Trials: the record of one evaluation, and the live handle an objective receives.

:class:`Trial` is an immutable record, read from storage. :class:`RunningTrial` is what an
objective that takes ``(hp, trial)`` receives while it runs: it reports intermediate metrics
(``trial.report(step, val_loss=...)``) and asks whether the scheduler wants it stopped
(``trial.should_stop()``).
"""

from __future__ import annotations

import enum
import json
import math
import os
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hyperscout._paths import make_checkpoint_folder
from hyperscout.exceptions import HyperscoutWarning, InvalidArgumentError, UsageError
from hyperscout.space import HyperParameters

__all__ = [
    "Bookkeeping",
    "RunningTrial",
    "Trial",
    "TrialState",
    "checkpoint_path",
    "config_key",
    "trial_id_of",
]


class TrialState(str, enum.Enum):
    """The state of a trial. Stored by its name."""

    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAILED = "FAILED"

    @property
    def is_finished(self) -> bool:
        """True for every state but ``RUNNING``."""
        return self is not TrialState.RUNNING


def config_key(values: Mapping[str, Any]) -> str:
    """A canonical text for a configuration, equal for equal configurations.

    >>> config_key({"b": 1, "a": 0.5}) == config_key({"a": 0.5, "b": 1})
    True
    """
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


class Bookkeeping:
    """The keys of a trial's attrs that the retry and promotion protocol writes.

    Read them through :class:`Trial`'s properties (``is_rerun``, ``retry_of``, ``attempt``,
    ``promoted_from``, ``slot``).
    """

    #: True on a trial given up to run again.
    RERUN = "rerun"
    #: On a retry: the number of the trial it runs again.
    RETRY_OF = "retry_of"
    #: On a retry: 1 for the first, 2 for the second ...
    ATTEMPT = "attempt"
    #: On a promoted trial: the number of the trial it continues.
    PROMOTED_FROM = "promoted_from"
    #: The study's proposal (slot) the trial runs.
    SLOT = "slot"
    #: The claim of the scheduler that proposed the trial.
    STRATEGY_CLAIM = "strategy_claim"
    #: True on a trial whose worker was found dead.
    ABANDONED = "abandoned"
    #: The worker that ran the trial.
    WORKER = "worker"
    #: On a point of a one-factor-at-a-time sweep (tuner.sensitivity): the parameter swept.
    SENSITIVITY = "sensitivity"


@dataclass(frozen=True)
class Trial:
    """One evaluation of the objective, as kept in storage.

    Attributes:
        number: 0, 1, 2 ... in the order trials were created within the study.
        values: the hyperparameter values of this trial: those its code read (active
            parameters only; see ``HyperParameters.read_values``). A running trial holds the
            configuration it was given, a failed one keeps it whole.
        state: a :class:`TrialState`.
        value: the objective's value (in the metric's own sign), ``None`` unless complete
            (or pruned with a report).
        metrics: every metric the objective returned.
        intermediate: ``{step: {metric: value}}`` from ``trial.report``.
        budget: the resource given to the trial (epochs, steps, ...); ``None`` means full.
        started_at, finished_at: Unix timestamps.
        error: for a failed trial, the reason and the traceback.
        attrs: JSON bookkeeping of the strategy (bracket, rung, retry_of, ...).
        heartbeat_at: Unix timestamp of the last heartbeat of the worker that runs the trial
            (see :meth:`~hyperscout.storage.base.Storage.heartbeat`); ``None`` before the first.

    >>> t = Trial(number=0, values={"x": 1.0}, state=TrialState.COMPLETE, value=2.0)
    >>> t.is_finished, t.duration
    (True, None)
    """

    number: int
    values: Mapping[str, Any]
    state: TrialState
    value: float | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    intermediate: Mapping[int, Mapping[str, float]] = field(default_factory=dict)
    budget: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    heartbeat_at: float | None = None

    @property
    def is_finished(self) -> bool:
        """True when the trial is no longer running."""
        return self.state.is_finished

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, ``None`` while running or when unknown."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    @property
    def last_seen_at(self) -> float | None:
        """The last sign of life of its worker: the last heartbeat, else the start.

        >>> Trial(number=0, values={}, state=TrialState.RUNNING, started_at=5.0).last_seen_at
        5.0
        """
        return self.started_at if self.heartbeat_at is None else self.heartbeat_at

    @property
    def key(self) -> str:
        """:func:`config_key` of the values."""
        return config_key(self.values)

    # The bookkeeping of retries and promotions, read through these and written with the
    # keys of :class:`Bookkeeping`, never spelled out as strings elsewhere.
    @property
    def is_rerun(self) -> bool:
        """True when the trial was given up to run again (a failure retried, a killed worker).

        >>> Trial(0, {}, TrialState.FAILED, attrs={"rerun": True}).is_rerun
        True
        """
        return bool(self.attrs.get(Bookkeeping.RERUN))

    @property
    def retry_of(self) -> int | None:
        """The number of the trial this one runs again, ``None`` for a first attempt."""
        number = self.attrs.get(Bookkeeping.RETRY_OF)
        return None if number is None else int(number)

    @property
    def attempt(self) -> int:
        """0 for a first attempt, 1 for its first retry, and so on."""
        return int(self.attrs.get(Bookkeeping.ATTEMPT, 0))

    @property
    def promoted_from(self) -> int | None:
        """The number of the trial whose configuration this one continues on a larger budget."""
        number = self.attrs.get(Bookkeeping.PROMOTED_FROM)
        return None if number is None else int(number)

    @property
    def slot(self) -> int:
        """The study's proposal this trial runs (its number when the study kept none)."""
        return int(self.attrs.get(Bookkeeping.SLOT, self.number))

    # KerasTuner's names for the same things, so that its code reads trials unchanged.
    @property
    def trial_id(self) -> str:
        """The number as KerasTuner's string id, zero-padded: ``"00003"`` for trial 3.

        It names the trial's checkpoint folder, ``trial_00003``.

        >>> Trial(number=3, values={}, state=TrialState.COMPLETE).trial_id
        '00003'
        """
        return trial_id_of(self.number)

    @property
    def score(self) -> float | None:
        """KerasTuner's name for :attr:`value`: the objective's value (None unless finished)."""
        return self.value

    @property
    def hyperparameters(self) -> HyperParameters:
        """The trial's values as KerasTuner's ``trial.hyperparameters``.

        ``.values`` is the dict of values, ``.get(name)`` one of them, and a hypermodel built
        with it (``tuner.hypermodel.build(trial.hyperparameters)``) gets these values.

        >>> t = Trial(number=0, values={"units": 32}, state=TrialState.COMPLETE, value=0.9)
        >>> t.hyperparameters.get("units"), t.score
        (32, 0.9)
        """
        hp = HyperParameters()
        hp.values = dict(self.values)
        return hp

    def __repr__(self) -> str:
        return (
            f"Trial(number={self.number}, state={self.state.name}, value={self.value!r}, "
            f"values={dict(self.values)!r})"
        )


ReportCallback = Callable[[int, dict[str, float]], bool]


class RunningTrial:
    """The handle an objective ``(hp, trial)`` receives while it runs.

    Args:
        number: the trial's number in the study.
        budget: the resource granted (epochs by default); ``None`` means the full budget.
        attrs: the strategy's bookkeeping for the trial (read-only for the objective).
        on_report: called with ``(step, metrics)`` after each report; returns True when the
            scheduler wants the trial stopped. The tuner supplies it.
        checkpoint_root: the folder that holds every trial's checkpoint folder.
        previous: ``(number, budget)`` of the trial this one continues (a configuration
            promoted to a higher budget continues from its lower-rung checkpoint).
        hyperparameters: the trial's ``hp``, for KerasTuner's ``trial.hyperparameters`` in a
            tuner's own ``run_trial`` (the tuner sets it).
        deadline: when the trial must end, on the :func:`time.monotonic` clock (the tuner's
            ``trial_timeout`` or ``timeout``); None: no limit.

    Attributes:
        hyperparameters: the ``hp`` of this trial (None for a handle made by hand).
        execution: which run of the trial this is, 0 to ``executions_per_trial - 1``.
        notes: JSON values the tuner adds to the trial's attrs when it finishes; the
            checkpoint helpers set ``checkpoint_missing`` (see
            :func:`record_missing_checkpoint`).

    Checkpoints are framework-neutral: save anything into :attr:`checkpoint_dir`; a trial
    that continues another finds that trial's files in :attr:`previous_checkpoint_dir`
    and the budget already spent in :attr:`previous_budget`.

    >>> trial = RunningTrial(number=3, budget=9)
    >>> trial.report(1, val_loss=0.5)
    >>> trial.reports
    {1: {'val_loss': 0.5}}
    >>> trial.should_stop()
    False
    """

    def __init__(
        self,
        number: int,
        budget: float | None = None,
        *,
        attrs: Mapping[str, Any] | None = None,
        on_report: ReportCallback | None = None,
        checkpoint_root: str | os.PathLike[str] | None = None,
        previous: tuple[int, float | None] | None = None,
        hyperparameters: HyperParameters | None = None,
        deadline: float | None = None,
    ) -> None:
        self.number = number
        self.deadline = deadline
        self.hyperparameters = hyperparameters
        self.execution = 0
        self.budget = budget
        self.attrs: Mapping[str, Any] = dict(attrs or {})
        self._checkpoint_root = None if checkpoint_root is None else Path(checkpoint_root)
        self._previous = previous
        self.reports: dict[int, dict[str, float]] = {}
        self._on_report = on_report
        self._should_stop = False
        self._revoked = False
        self.notes: dict[str, Any] = {}

    @property
    def trial_id(self) -> str:
        """KerasTuner's string id of the trial (see :attr:`Trial.trial_id`)."""
        return trial_id_of(self.number)

    @property
    def checkpoint_dir(self) -> Path:
        """This trial's own folder for checkpoints, created on first use.

        Raises:
            InvalidArgumentError: the tuner has no folder for checkpoints.
        """
        if self._checkpoint_root is None:
            raise InvalidArgumentError(
                f"Trial {self.number} has no checkpoint folder: give the tuner a directory=."
            )
        path = checkpoint_path(self._checkpoint_root, self.number)
        make_checkpoint_folder(self._checkpoint_root, path)
        return path

    @property
    def previous_checkpoint_dir(self) -> Path | None:
        """The checkpoint folder of the trial this one continues, or None (a fresh start)."""
        if self._previous is None or self._checkpoint_root is None:
            return None
        path = checkpoint_path(self._checkpoint_root, self._previous[0])
        return path if path.is_dir() else None

    @property
    def previous_budget(self) -> float | None:
        """The budget the continued trial reached (e.g. epochs already trained), or None."""
        return None if self._previous is None else self._previous[1]

    def report(self, step: int, **metrics: float) -> None:
        """Record intermediate metrics at ``step`` (an epoch, an iteration ...).

        Raises:
            UsageError: ``step`` is not an int, or no metric is given (how the objective is
                written: a search stops at once).
            InvalidArgumentError: a metric is not a finite number (the trial fails).
        """
        if isinstance(step, bool) or not isinstance(step, int):
            raise UsageError(f"trial.report(step=...): expected an int step, got {step!r}.")
        if not metrics:
            raise UsageError(
                "trial.report(): expected at least one metric, e.g. trial.report(1, val_loss=0.3)."
            )
        clean: dict[str, float] = {}
        for name, value in metrics.items():
            number = _as_float(value)
            if number is None:
                raise InvalidArgumentError(
                    f"trial.report(): metric {name!r} must be a finite number, got {value!r}."
                )
            clean[name] = number
        self.reports.setdefault(step, {}).update(clean)
        if self._revoked:
            return  # the trial is no longer ours: nothing more is written for it
        if self._on_report is not None and self._on_report(step, clean):
            self._should_stop = True

    def should_stop(self) -> bool:
        """True when the scheduler decided, from the reports, to stop this trial, when the
        trial was :attr:`revoked`, or when its :attr:`deadline` has passed.

        An objective that sees True should return (its last metrics) or raise
        :class:`hyperscout.TrialPruned`; the trial is then recorded as ``PRUNED`` (a revoked
        trial keeps the record it has; one past its deadline is recorded as the tuner's
        ``trial_timeout`` or ``timeout`` says).

        >>> import time
        >>> RunningTrial(number=0, deadline=time.monotonic() - 1.0).should_stop()
        True
        """
        return self._should_stop or self._revoked or self.time_left == 0.0

    @property
    def time_left(self) -> float | None:
        """Seconds until the trial's :attr:`deadline` (0.0 once passed); None without one.

        >>> RunningTrial(number=0).time_left is None
        True
        """
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())

    @property
    def revoked(self) -> bool:
        """True when the trial was taken away from this worker.

        Another worker took it for dead after heartbeats failed to reach the storage for
        longer than its lease, and marked it ``FAILED`` to run again (or a search gave it up).
        :meth:`should_stop` then returns True; :meth:`report` still checks its arguments and
        keeps them in :attr:`reports`, but writes nothing to the storage; and the tuner
        records nothing when the objective returns: the other record stands.
        """
        return self._revoked

    def revoke(self) -> None:
        """Mark the trial as taken away from this worker (see :attr:`revoked`).

        The tuner calls it, from its heartbeat thread, when the storage says the trial no
        longer runs.

        >>> trial = RunningTrial(number=3)
        >>> trial.revoke()
        >>> trial.should_stop(), trial.revoked
        (True, True)
        """
        self._revoked = True

    def __repr__(self) -> str:
        return f"RunningTrial(number={self.number}, budget={self.budget!r})"


def trial_id_of(number: int) -> str:
    """KerasTuner's string id of trial ``number`` (see :attr:`Trial.trial_id`)."""
    return f"{number:05d}"


def checkpoint_path(root: str | os.PathLike[str], number: int) -> Path:
    """The checkpoint folder of trial ``number`` under ``root``."""
    return Path(root) / f"trial_{trial_id_of(number)}"


_warned_roots: set[Path] = set()
_warned_lock = threading.Lock()


def record_missing_checkpoint(trial: RunningTrial, file: str) -> bool:
    """For a trial that continues another, note when that trial's ``file`` is missing.

    A promoted trial whose lower-rung checkpoint was deleted (or never saved) starts from
    scratch; this records ``checkpoint_missing`` (the path looked for) in its attrs and warns
    with :class:`~hyperscout.HyperscoutWarning`, once per project and process. The checkpoint
    helpers of :mod:`hyperscout.integrations` call it; a handwritten objective may too.

    Returns:
        True when the trial continues another and the file is missing.
    """
    if trial._previous is None or trial._checkpoint_root is None:
        return False
    path = checkpoint_path(trial._checkpoint_root, trial._previous[0]) / file
    if path.is_file():
        return False
    trial.notes["checkpoint_missing"] = str(path)
    root = trial._checkpoint_root.resolve()
    with _warned_lock:
        first = root not in _warned_roots
        _warned_roots.add(root)
    if first:
        warnings.warn(
            f"Trial {trial.number} continues trial {trial._previous[0]}, but its checkpoint "
            f"{path} is missing, so it starts from scratch. Its attrs record 'checkpoint_missing' "
            "(this warning is shown once for this project).",
            HyperscoutWarning,
            stacklevel=3,
        )
    return True


def _as_float(value: object) -> float | None:
    """The value as a finite float, or None when it is not a finite real number."""
    if isinstance(value, (bool, str, bytes)):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int past 1.8e308
        return None
    return number if math.isfinite(number) else None
