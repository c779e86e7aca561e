"""Executors run objectives: in the calling process, in threads, in worker processes or on Dask."""

from __future__ import annotations

from hyperscout.executors.base import Executor, WorkerLostError
from hyperscout.executors.dask import DaskExecutor  # imports Dask only when one is made
from hyperscout.executors.local import InlineExecutor, ThreadExecutor
from hyperscout.executors.process import ProcessExecutor
from hyperscout.executors.ray import RayExecutor  # imports Ray only when one is made

__all__ = [
    "DaskExecutor",
    "Executor",
    "InlineExecutor",
    "ProcessExecutor",
    "RayExecutor",
    "ThreadExecutor",
    "WorkerLostError",
]
