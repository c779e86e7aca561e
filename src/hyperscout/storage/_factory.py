"""Opening a storage from what a user wrote: ``None``, ``"memory"``, a database URL, a Storage.

The databases hyperscout runs on are named here, once: SQLite and PostgreSQL (through psycopg
3). Any other URL (``mysql://``, ``oracle://``, ``mongodb://``, a typo) is refused with a
sentence naming them, before SQLAlchemy or a database driver is imported. SQLAlchemy itself
is imported only when a database URL is opened, so that ``import hyperscout.storage`` stays
cheap.

>>> sqlite_url("/data/runs/study.db")
'sqlite:////data/runs/study.db'
>>> open_storage("mysql://tuner:secret@db-host/studies")
Traceback (most recent call last):
...
hyperscout.exceptions.InvalidArgumentError: open_storage(spec=...): expected a Storage, None \
or 'memory' (kept in this process), an SQLite URL 'sqlite:///path/to/study.db' (for a file \
path, hyperscout.storage.sqlite_url(path) makes one) or a PostgreSQL URL \
'postgresql://user@host/dbname' (psycopg 3: pip install 'hyperscout[postgres]'), got \
'mysql://tuner:***@db-host/studies'.
"""

from __future__ import annotations

import os
import re
from typing import Any

from hyperscout._validation import fail
from hyperscout.storage.base import Storage
from hyperscout.storage.memory import MemoryStorage

__all__ = [
    "DATABASE_URLS",
    "MEMORY_NAMES",
    "STORAGE_SPECS",
    "check_database_url",
    "hide_password",
    "open_storage",
    "sqlite_url",
]

#: The strings that name a new :class:`MemoryStorage` (as does ``None``).
MEMORY_NAMES = ("memory", ":memory:")

#: The database URLs hyperscout opens, for error messages.
DATABASE_URLS = (
    "an SQLite URL 'sqlite:///path/to/study.db' (for a file path, "
    "hyperscout.storage.sqlite_url(path) makes one) or a PostgreSQL URL "
    "'postgresql://user@host/dbname' (psycopg 3: pip install 'hyperscout[postgres]')"
)
#: Everything ``storage=`` accepts, for error messages.
STORAGE_SPECS = "a Storage, None or 'memory' (kept in this process), " + DATABASE_URLS

# The dialects hyperscout runs on, with the drivers it is tested with (None: the default,
# which SQLStorage sets to psycopg for PostgreSQL). The rest of SQLAlchemy's dialects lack
# what SQLStorage relies on (RETURNING, row locks, its clock), or are untested.
_DRIVERS: dict[str, tuple[str | None, ...]] = {
    "sqlite": (None, "pysqlite"),
    "postgresql": (None, "psycopg"),
}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://")
# The password of user:password@host, hidden in what an error message shows.
_PASSWORD = re.compile(r"(://[^/@:]*:)[^/@]*@")


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """The SQLAlchemy URL of the SQLite database file at ``path`` (made absolute).

    >>> sqlite_url(":memory:")
    'sqlite://'
    """
    text = os.fspath(path)
    if text == ":memory:":
        return "sqlite://"
    return "sqlite:///" + os.path.abspath(os.path.expanduser(text))


def hide_password(value: Any) -> Any:
    """``value`` for an error message: a URL without its password."""
    return _PASSWORD.sub(r"\1***@", value) if isinstance(value, str) else value


def check_database_url(owner: str, name: str, url: Any, expected: str = DATABASE_URLS) -> str:
    """The dialect (``"sqlite"`` or ``"postgresql"``) of a database URL hyperscout opens.

    Only the URL's scheme is read: nothing is imported and nothing is connected to.

    Raises:
        InvalidArgumentError: ``url`` is not a string of the form ``dialect[+driver]://...``
            with a dialect and driver hyperscout supports; the message says ``owner`` and
            ``name`` refused it and names ``expected``.

    >>> check_database_url("SQLStorage", "url", "postgresql+psycopg://me@db/tuning")
    'postgresql'
    >>> check_database_url("SQLStorage", "url", "oracle://scott:tiger@db")
    Traceback (most recent call last):
    ...
    hyperscout.exceptions.InvalidArgumentError: SQLStorage(url=...): expected an SQLite URL \
'sqlite:///path/to/study.db' (for a file path, hyperscout.storage.sqlite_url(path) makes one) \
or a PostgreSQL URL 'postgresql://user@host/dbname' (psycopg 3: pip install \
'hyperscout[postgres]'), got 'oracle://scott:***@db'.
    """
    match = _SCHEME.match(url) if isinstance(url, str) else None
    if match is not None:
        # Case matters, as it does to SQLAlchemy: "POSTGRESQL://" names no dialect.
        dialect, _, driver = match.group(1).partition("+")
        if (driver or None) in _DRIVERS.get(dialect, ()):
            return dialect
    fail(owner, name, hide_password(url), expected)


def open_storage(
    spec: str | Storage | None = None, *, owner: str = "open_storage", argument: str = "spec"
) -> Storage:
    """The storage that ``spec`` names.

    Args:
        spec: a :class:`Storage` (returned as it is); ``None``, ``"memory"`` or
            ``":memory:"`` for a new :class:`MemoryStorage`; an SQLite or PostgreSQL URL
            for :class:`~hyperscout.storage.sql.SQLStorage`, e.g.
            ``"sqlite:///runs/study.db"`` or ``"postgresql://user@host/dbname"``.
        owner, argument: who was given ``spec``, for the error message: the tuner passes
            its class and ``"storage"``.

    Raises:
        InvalidArgumentError: anything else, such as a MySQL, Oracle or MongoDB URL, before
            any driver is imported.
        MissingDependencyError: a PostgreSQL URL and psycopg is not installed.

    >>> type(open_storage()).__name__
    'MemoryStorage'
    >>> storage = open_storage("sqlite://")
    >>> storage
    SQLStorage('sqlite://')
    >>> open_storage(storage) is storage
    True
    >>> storage.close()
    """
    if isinstance(spec, Storage):
        return spec
    if spec is None or spec in MEMORY_NAMES:
        return MemoryStorage()
    check_database_url(owner, argument, spec, STORAGE_SPECS)
    # Imported here: SQLAlchemy takes a quarter of a second to import.
    from hyperscout.storage.sql import SQLStorage

    return SQLStorage(spec)
