"""Executors run objectives: in the calling process or in threads (Dask and Ray to come)."""

from __future__ import annotations

from hyperscout.executors.base import Executor
from hyperscout.executors.local import InlineExecutor, ThreadExecutor

__all__ = ["Executor", "InlineExecutor", "ThreadExecutor"]
