"""Where studies and trials are kept: memory, SQLite (the default) and PostgreSQL.

:func:`open_storage` turns what a user wrote (``None``, ``"memory"``, a database URL, a
:class:`Storage`) into a storage, and refuses databases hyperscout does not run on;
:func:`for_project` says where a project's SQLite study lives on disk.
:class:`~hyperscout.storage.sql.SQLStorage` (and SQLAlchemy with it) is imported when first
used, so that importing this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hyperscout.storage._factory import open_storage, sqlite_url
from hyperscout.storage._layout import DATABASE_FILE, Project, find_projects, for_project
from hyperscout.storage.base import SCHEMA_VERSION, Storage, StudyInfo
from hyperscout.storage.memory import MemoryStorage

if TYPE_CHECKING:
    from hyperscout.storage.sql import SQLStorage

__all__ = [
    "DATABASE_FILE",
    "SCHEMA_VERSION",
    "MemoryStorage",
    "Project",
    "SQLStorage",
    "Storage",
    "StudyInfo",
    "find_projects",
    "for_project",
    "open_storage",
    "sqlite_url",
]


def __getattr__(name: str) -> Any:
    # SQLStorage on first use: importing SQLAlchemy takes a quarter of a second.
    if name == "SQLStorage":
        from hyperscout.storage.sql import SQLStorage

        return SQLStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
