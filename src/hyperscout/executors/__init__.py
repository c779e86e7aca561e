"""Executors run objectives: in the calling process, in threads or in worker processes."""

from __future__ import annotations

from hyperscout.executors.base import Executor, WorkerLostError
from hyperscout.executors.local import InlineExecutor, ThreadExecutor
from hyperscout.executors.process import ProcessExecutor
from hyperscout.executors.ray import RayExecutor  # imports Ray only when one is made

__all__ = [
    "Executor",
    "InlineExecutor",
    "ProcessExecutor",
    "RayExecutor",
    "ThreadExecutor",
    "WorkerLostError",
]
