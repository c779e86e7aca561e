"""The scheduler interface: what runs next, with what budget, and whether a trial goes on.

The tuner asks :meth:`Scheduler.next` before each trial and passes every intermediate report
to :meth:`Scheduler.on_report`. A scheduler decides budgets and stopping; it asks its sampler
for configurations. Like samplers, schedulers read everything from the history.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from hyperscout.history import History
from hyperscout.samplers.base import Sampler
from hyperscout.space import HyperParameters
from hyperscout.trial import Trial

__all__ = ["Decision", "Scheduler", "Stop", "Suggestion", "Wait", "upgrade_settings"]


@dataclass(frozen=True)
class Suggestion:
    """Run ``values`` with ``budget`` (None: the full budget); ``attrs`` are kept with the trial.

    ``claim`` names the slot of the strategy this trial fills (a rung's 8th configuration, a
    promotion of trial 12); storage starts at most one trial per claim, so workers that read
    the same history never run the same slot twice. None: no slot (e.g. a random proposal).
    """

    values: Mapping[str, Any]
    budget: float | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    claim: str | None = None


@dataclass(frozen=True)
class Wait:
    """Nothing to start now: ask again when a running trial ends; ``reason`` says why."""

    reason: str = "the strategy waits for running trials"


@dataclass(frozen=True)
class Stop:
    """The search is done; ``reason`` says why (shown to the user)."""

    reason: str = "the strategy has nothing left to try"


class Decision(enum.Enum):
    """What :meth:`Scheduler.on_report` decides for a running trial."""

    CONTINUE = "continue"
    STOP = "stop"


class Scheduler(abc.ABC):
    """Gives budgets, and stops trials from what they report."""

    #: Keys of :meth:`settings` renamed since studies were stored with them: old -> new.
    #: :func:`upgrade_settings` reads a stored study's settings through it on resume.
    renamed_settings: ClassVar[Mapping[str, str]] = {}

    @abc.abstractmethod
    def next(
        self,
        space: HyperParameters,
        history: History,
        sampler: Sampler,
        rng: np.random.Generator,
    ) -> Suggestion | Wait | Stop:
        """What to run next. Called by the tuner before each trial."""

    def on_report(self, trial: Trial, history: History) -> Decision:
        """Decide on a running ``trial`` after it reported (its ``intermediate`` is current).

        The default lets every trial run to the end.
        """
        return Decision.CONTINUE

    def has_end(self, sampler: Sampler) -> bool:
        """True when this scheduler, with ``sampler``, stops the search by itself.

        The tuner refuses to search without an end (no ``max_trials``, no ``timeout``) unless
        told ``run_until_stopped=True``. The default: False (a scheduler that may run forever).
        """
        return False

    def settings(self) -> dict[str, Any]:
        """The settings that decide budgets and stopping, as JSON.

        The tuner keeps them with the study (its provenance) and refuses to resume the study
        with other settings, except the number of iterations (``iterations``), which only says
        how long the search goes on. A key renamed later goes in :attr:`renamed_settings`, so
        that studies stored with the old one still resume. The default: none.
        """
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def upgrade_settings(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored ``{"class": ..., "settings": ...}`` with today's setting names.

    The class's :attr:`Scheduler.renamed_settings` rename the keys; a setting that is itself
    a stored scheduler (BOHB's ``scheduler``) is upgraded too. A class this process does not
    know keeps its settings as they are.

    >>> upgrade_settings({"class": "HyperbandScheduler",
    ...                   "settings": {"max_epochs": 9, "hyperband_iterations": 2}})
    {'class': 'HyperbandScheduler', 'settings': {'max_budget': 9, 'iterations': 2}}
    """
    classes = _scheduler_classes()
    renamed = getattr(classes.get(stored.get("class")), "renamed_settings", {})
    settings = {}
    for key, value in dict(stored.get("settings") or {}).items():
        if isinstance(value, Mapping) and {"class", "settings"} <= set(value):
            value = upgrade_settings(value)
        settings[renamed.get(key, key)] = value
    return {**stored, "settings": settings}


def _scheduler_classes() -> dict[Any, type[Scheduler]]:
    """Every Scheduler subclass defined so far, by class name."""
    found: dict[Any, type[Scheduler]] = {}
    todo = list(Scheduler.__subclasses__())
    while todo:
        cls = todo.pop()
        found.setdefault(cls.__name__, cls)
        todo.extend(cls.__subclasses__())
    return found
