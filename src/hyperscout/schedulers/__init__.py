"""Schedulers give budgets and stop trials: FIFO (and, later, the early-stopping family)."""

from __future__ import annotations

from hyperscout.schedulers.base import Decision, Scheduler, Stop, Suggestion, Wait
from hyperscout.schedulers.fifo import FIFOScheduler

__all__ = ["Decision", "FIFOScheduler", "Scheduler", "Stop", "Suggestion", "Wait"]
