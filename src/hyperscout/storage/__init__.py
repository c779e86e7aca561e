"""Where studies and trials are kept: memory, SQLite (the default) and PostgreSQL."""

from __future__ import annotations

from hyperscout.storage.base import SCHEMA_VERSION, Storage, StudyInfo
from hyperscout.storage.memory import MemoryStorage
from hyperscout.storage.sql import SQLStorage, open_storage

__all__ = ["SCHEMA_VERSION", "MemoryStorage", "SQLStorage", "Storage", "StudyInfo", "open_storage"]
