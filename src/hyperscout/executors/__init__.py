"""Executors run objectives: in the calling process, in threads or in worker processes."""

from __future__ import annotations

from hyperscout.executors.base import Executor, WorkerLostError
from hyperscout.executors.local import InlineExecutor, ThreadExecutor
from hyperscout.executors.process import ProcessExecutor

__all__ = [
    "Executor",
    "InlineExecutor",
    "ProcessExecutor",
    "ThreadExecutor",
    "WorkerLostError",
]
