"""Schedulers give budgets and stop trials: FIFO, successive halving, Hyperband, ASHA, BOHB,
median stopping."""

from __future__ import annotations

from hyperscout.schedulers._rungs import Bracket, Rung
from hyperscout.schedulers.asha import ASHAScheduler
from hyperscout.schedulers.base import Decision, Scheduler, Stop, Suggestion, Wait
from hyperscout.schedulers.bohb import BOHBScheduler
from hyperscout.schedulers.fifo import FIFOScheduler
from hyperscout.schedulers.halving import HyperbandScheduler, SuccessiveHalvingScheduler
from hyperscout.schedulers.median import MedianStoppingScheduler

__all__ = [
    "ASHAScheduler",
    "BOHBScheduler",
    "Bracket",
    "Decision",
    "FIFOScheduler",
    "HyperbandScheduler",
    "MedianStoppingScheduler",
    "Rung",
    "Scheduler",
    "Stop",
    "SuccessiveHalvingScheduler",
    "Suggestion",
    "Wait",
]
