"""Storage in the memory of one process: fast, and gone when the process ends."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from hyperscout.exceptions import ClaimTakenError, StorageError
from hyperscout.storage.base import Storage, StudyInfo, check_alive_since, normalize_budget
from hyperscout.trial import Trial, TrialState

__all__ = ["MemoryStorage"]


_SCALARS = (str, int, float, bool, type(None))


def _copy(value: Any) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, Mapping):
        return {str(k): _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    # Anything else goes through JSON, which refuses what it cannot store (TypeError).
    return json.loads(json.dumps(value))


def _json_copy(data: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy holding only JSON types, so that memory keeps exactly what SQL would."""
    copied: dict[str, Any] = _copy(data)
    return copied


class MemoryStorage(Storage):
    """Keeps studies and trials in a dict; thread-safe.

    >>> from hyperscout.trial import TrialState
    >>> storage = MemoryStorage()
    >>> study = storage.create_study("demo")
    >>> trial = storage.create_trial(study.id, values={"x": 1})
    >>> storage.finish_trial(study.id, trial.number, state=TrialState.COMPLETE, value=0.5).value
    0.5
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._studies: dict[str, StudyInfo] = {}
        self._trials: dict[int, list[Trial]] = {}
        self._next_id = 1

    def create_study(
        self,
        name: str,
        *,
        space: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> StudyInfo:
        with self._lock:
            if name in self._studies:
                raise StorageError(f"A study named {name!r} already exists.")
            info = StudyInfo(
                id=self._next_id,
                name=name,
                space=_json_copy(space or {}),
                meta=_json_copy(meta or {}),
                created_at=self.now(),
            )
            self._next_id += 1
            self._studies[name] = info
            self._trials[info.id] = []
            return info

    def load_study(self, name: str) -> StudyInfo | None:
        with self._lock:
            return self._studies.get(name)

    def delete_study(self, name: str) -> None:
        with self._lock:
            info = self._studies.pop(name, None)
            if info is not None:
                del self._trials[info.id]

    def list_studies(self) -> list[StudyInfo]:
        with self._lock:
            return [self._studies[name] for name in sorted(self._studies)]

    def save_space(self, study_id: int, space: Mapping[str, Any]) -> None:
        with self._lock:
            for name, info in self._studies.items():
                if info.id == study_id:
                    self._studies[name] = dataclasses.replace(info, space=_json_copy(space))
                    return
            raise StorageError(f"No study with id {study_id}.")

    def save_meta(self, study_id: int, meta: Mapping[str, Any]) -> None:
        with self._lock:
            for name, info in self._studies.items():
                if info.id == study_id:
                    self._studies[name] = dataclasses.replace(info, meta=_json_copy(meta))
                    return
            raise StorageError(f"No study with id {study_id}.")

    def _study_trials(self, study_id: int) -> list[Trial]:
        try:
            return self._trials[study_id]
        except KeyError:
            raise StorageError(f"No study with id {study_id}.") from None

    def create_trial(
        self,
        study_id: int,
        *,
        values: Mapping[str, Any],
        budget: float | None = None,
        attrs: Mapping[str, Any] | None = None,
        claim: str | None = None,
    ) -> Trial:
        with self._lock:
            trials = self._study_trials(study_id)
            if claim is not None:
                if any(t.attrs.get("claim") == claim for t in trials):
                    raise ClaimTakenError(f"Slot {claim!r} of study {study_id} is taken.")
                attrs = {**(attrs or {}), "claim": claim}
            trial = Trial(
                number=len(trials),
                values=_json_copy(values),
                state=TrialState.RUNNING,
                budget=normalize_budget(budget),
                started_at=self.now(),
                attrs=_json_copy(attrs or {}),
            )
            trials.append(trial)
            return trial

    def _running(self, study_id: int, number: int) -> Trial:
        trial = self.get_trial(study_id, number)
        if trial.is_finished:
            raise StorageError(
                f"Trial {number} is already {trial.state.name}; it cannot change any more."
            )
        return trial

    def report(self, study_id: int, number: int, step: int, metrics: Mapping[str, float]) -> None:
        with self._lock:
            trial = self._running(study_id, number)
            intermediate = {k: dict(v) for k, v in trial.intermediate.items()}
            intermediate.setdefault(int(step), {}).update({k: float(v) for k, v in metrics.items()})
            self._trials[study_id][number] = dataclasses.replace(trial, intermediate=intermediate)

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
        if not state.is_finished:
            raise StorageError("finish_trial() needs a finished state, got RUNNING.")
        with self._lock:
            trial = self._running(study_id, number)
            check_alive_since(trial, unless_alive_since)
            finished = dataclasses.replace(
                trial,
                state=state,
                values=trial.values if values is None else _json_copy(values),
                value=None if value is None else float(value),
                metrics=_json_copy(metrics or {}),
                error=error,
                attrs={**trial.attrs, **_json_copy(attrs or {})},
                finished_at=self.now(),
            )
            self._trials[study_id][number] = finished
            return finished

    def heartbeat(self, study_id: int, numbers: Iterable[int]) -> list[int]:
        lost: list[int] = []
        with self._lock:
            trials = self._trials.get(study_id, [])
            beat_at = self.now()
            for number in sorted({int(number) for number in numbers}):
                if 0 <= number < len(trials) and not trials[number].is_finished:
                    trials[number] = dataclasses.replace(trials[number], heartbeat_at=beat_at)
                else:
                    lost.append(number)
        return lost

    def trials(self, study_id: int, *, states: Iterable[TrialState] | None = None) -> list[Trial]:
        with self._lock:
            trials = list(self._study_trials(study_id))
        if states is None:
            return trials
        wanted = set(states)
        return [t for t in trials if t.state in wanted]

    def get_trial(self, study_id: int, number: int) -> Trial:
        with self._lock:
            trials = self._study_trials(study_id)
            if not 0 <= number < len(trials):
                raise StorageError(f"Study {study_id} has no trial {number}.")
            return trials[number]
