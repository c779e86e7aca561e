"""The state the parts of the tuner share, and the helpers they share."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hyperscout.exceptions import (
    InvalidArgumentError,
    InvalidSpaceError,
)
from hyperscout.executors import Executor
from hyperscout.history import History
from hyperscout.hypermodel.caller import ObjectiveCaller
from hyperscout.objective import Objective
from hyperscout.samplers import Sampler
from hyperscout.schedulers import Scheduler
from hyperscout.space import HyperParameters
from hyperscout.storage import Storage
from hyperscout.trial import (
    RunningTrial,
    Trial,
)
from hyperscout.tuner._leases import (
    Heartbeat,
    fail_dead_trials,
)
from hyperscout.tuner._ledger import Ledger
from hyperscout.tuner._limits import (
    HardStop,
)


class TunerState:
    """What the parts of the tuner share: the study, its space and history, the strategy.

    :class:`~hyperscout.tuner.Tuner` sets every attribute in its constructor; the parts
    (running one trial, the loop, ask and tell) read and update them through the helpers
    here.
    """

    hypermodel: Any
    objective: Objective
    sampler: Sampler
    scheduler: Scheduler
    executor: Executor
    storage: Storage
    seed: int
    max_trials: int | None
    executions_per_trial: int
    max_retries_per_trial: int
    max_consecutive_failed_trials: int
    verbose: int
    timeout: float | None
    trial_timeout: float | None
    run_until_stopped: bool
    poll_interval: float
    project_name: str
    checkpoint_root: Path
    _study_id: int
    _space: HyperParameters
    _stored_names: frozenset[str]
    _space_lock: threading.Lock
    _ledger: Ledger
    _ledger_lock: threading.Lock
    _asked: dict[int, HyperParameters]
    _queue: list[dict[str, Any]]
    _handles: dict[int, RunningTrial]
    _search_deadline: float | None
    _hard_stop: HardStop
    _trial_lease: float
    _heartbeat: Heartbeat
    _caller: ObjectiveCaller

    def _history(self) -> History:
        with self._ledger_lock:
            return self._ledger.refresh(self.storage.trials(self._study_id))

    def _save_space(self) -> None:
        self.storage.save_space(self._study_id, self._space.to_dict())

    def _merge_space(self, hp: HyperParameters) -> None:
        with self._space_lock:
            before = len(self._space)
            self._space.merge(hp)
            grew = len(self._space) != before
        if grew:
            self._save_space()

    def _space_changed(self, exc: InvalidSpaceError) -> InvalidArgumentError:
        """The error for a parameter defined otherwise than earlier runs of the study did."""
        return InvalidArgumentError(
            f"Project {self.project_name!r} was searched with another definition of a "
            f"parameter: {exc} Its trials would mix two spaces. Define the parameter as "
            "before, use another project_name (--project-name on the command line), or pass "
            "overwrite=True (--overwrite) to start over."
        )

    def _fail_dead_trials(self, trials: Iterable[Trial]) -> list[int]:
        """Mark FAILED the RUNNING trials of dead workers; the numbers of those marked."""
        return fail_dead_trials(
            self.storage,
            self._study_id,
            trials,
            lease=self._trial_lease,
            own=self._heartbeat.numbers,
        )

    def _metric_seen(self) -> bool:
        """Whether any trial of the study has produced the objective's metric (or reported it)."""
        name = self.objective.name
        return any(
            t.value is not None or any(name in m for m in t.intermediate.values())
            for t in self.storage.trials(self._study_id)
        )
