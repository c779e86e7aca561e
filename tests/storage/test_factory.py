"""Opening a storage from what a user wrote, and where a project keeps its study on disk.

The databases hyperscout runs on are SQLite and PostgreSQL: anything else is refused with a
sentence naming them, before SQLAlchemy or a driver is imported.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import hyperscout as hs
import hyperscout.storage as storage_package
from hyperscout.exceptions import InvalidArgumentError, MissingDependencyError
from hyperscout.storage import (
    DATABASE_FILE,
    MemoryStorage,
    Project,
    find_projects,
    for_project,
    open_storage,
    sqlite_url,
)
from hyperscout.storage.sql import SQLStorage

SRC = Path(storage_package.__file__).resolve().parents[2]

# What every refusal names: the two databases, and how to install PostgreSQL's driver.
SUPPORTED = (
    "an SQLite URL 'sqlite:///path/to/study.db' (for a file path, "
    "hyperscout.storage.sqlite_url(path) makes one) or a PostgreSQL URL "
    "'postgresql://user@host/dbname' (psycopg 3: pip install 'hyperscout[postgres]')"
)
STORAGE_SPECS = "a Storage, None or 'memory' (kept in this process), " + SUPPORTED

UNSUPPORTED = [
    ("mysql://tuner:secret@db-host/studies", "'mysql://tuner:***@db-host/studies'"),
    ("mysql+pymysql://tuner@db-host/studies", "'mysql+pymysql://tuner@db-host/studies'"),
    ("oracle://scott:tiger@db-host:1521/orcl", "'oracle://scott:***@db-host:1521/orcl'"),
    ("mongodb://db-host:27017/studies", "'mongodb://db-host:27017/studies'"),
    ("mssql+pyodbc://db-host/studies", "'mssql+pyodbc://db-host/studies'"),
    ("nosuchdb://host/db", "'nosuchdb://host/db'"),
    ("postgresql+psycopg2://me@db-host/studies", "'postgresql+psycopg2://me@db-host/studies'"),
    ("postgres://me@db-host/studies", "'postgres://me@db-host/studies'"),
    ("POSTGRESQL://me@db-host/studies", "'POSTGRESQL://me@db-host/studies'"),
    ("sqlite+pysqlcipher:///study.db", "'sqlite+pysqlcipher:///study.db'"),
    ("runs/study.db", "'runs/study.db'"),
    ("", "''"),
]


def _run(code: str) -> str:
    """Run ``code`` in a fresh interpreter (nothing imported yet); its standard output."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# -- open_storage ------------------------------------------------------------------------------


def test_open_storage(tmp_path: Path) -> None:
    assert isinstance(open_storage(), MemoryStorage)
    assert isinstance(open_storage("memory"), MemoryStorage)
    assert isinstance(open_storage(":memory:"), MemoryStorage)
    memory = MemoryStorage()
    assert open_storage(memory) is memory
    path = tmp_path / "open" / "study.db"
    storage = open_storage(sqlite_url(path))
    try:
        assert isinstance(storage, SQLStorage)
        storage.create_study("opened")
    finally:
        storage.close()
    assert path.is_file()
    in_memory = open_storage("sqlite://")
    assert isinstance(in_memory, SQLStorage)
    in_memory.close()


def test_sqlite_url_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert sqlite_url("runs/a.db") == "sqlite:///" + str(tmp_path / "runs" / "a.db")
    assert sqlite_url(tmp_path / "b.db") == "sqlite:///" + str(tmp_path / "b.db")
    assert sqlite_url(":memory:") == "sqlite://"


@pytest.mark.parametrize(("url", "shown"), UNSUPPORTED)
def test_an_unsupported_database_is_refused_naming_the_supported_ones(url: str, shown: str) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        open_storage(url)
    assert str(refused.value) == f"open_storage(spec=...): expected {STORAGE_SPECS}, got {shown}."

    with pytest.raises(InvalidArgumentError) as refused:
        SQLStorage(url)
    assert str(refused.value) == f"SQLStorage(url=...): expected {SUPPORTED}, got {shown}."


@pytest.mark.parametrize("preset", [hs.RandomSearch, hs.BayesianOptimization, hs.Tuner])
def test_a_tuner_refuses_an_unsupported_database_naming_itself(preset: Any, tmp_path: Path) -> None:
    def objective(hp: hs.HyperParameters) -> float:
        return hp.Float("x", 0, 1)

    with pytest.raises(InvalidArgumentError) as refused:
        preset(objective, storage="mysql://tuner:secret@db-host/studies", directory=tmp_path)
    assert str(refused.value) == (
        f"{preset.__name__}(storage=...): expected {STORAGE_SPECS}, got "
        "'mysql://tuner:***@db-host/studies'."
    )
    assert "secret" not in str(refused.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("spec", [42, 1.5, b"sqlite://", ["memory"], Path("study.db")])
def test_open_storage_refuses_what_is_no_storage(spec: Any) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        open_storage(spec)
    assert str(refused.value) == (
        f"open_storage(spec=...): expected {STORAGE_SPECS}, got {spec!r}."
    )


def test_the_refusal_imports_no_driver_and_not_sqlalchemy() -> None:
    out = _run(
        """
        import sys
        import hyperscout
        from hyperscout.exceptions import InvalidArgumentError
        from hyperscout.storage import open_storage
        for url in ["mysql://me@h/db", "oracle://me@h/db", "mongodb://h/db"]:
            try:
                open_storage(url)
            except InvalidArgumentError:
                pass
        loaded = [m for m in ("sqlalchemy", "MySQLdb", "pymysql", "oracledb", "cx_Oracle",
                              "pymongo") if m in sys.modules]
        print(loaded)
        """
    )
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://nobody@127.0.0.1:1/none",
        "postgresql+psycopg://nobody@127.0.0.1:1/none",
    ],
)
def test_postgres_without_psycopg_says_how_to_install(
    url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    hint = re.escape("SQLStorage on PostgreSQL needs psycopg. Install it with: ") + re.escape(
        "pip install 'hyperscout[postgres]'"
    )
    with pytest.raises(MissingDependencyError, match=hint):
        SQLStorage(url)
    with pytest.raises(MissingDependencyError, match=hint):
        open_storage(url)
    with pytest.raises(MissingDependencyError, match=hint):
        hs.RandomSearch(lambda hp: hp.Float("x", 0, 1), storage=url, directory=tmp_path)


def test_a_malformed_supported_url_is_refused_with_the_template() -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        SQLStorage("postgresql://me:secret@db-host:port/studies")
    assert str(refused.value) == (
        f"SQLStorage(url=...): expected {SUPPORTED}, got 'postgresql://me:***@db-host:port/studies'."
    )


# -- what importing costs ----------------------------------------------------------------------


def test_importing_hyperscout_and_its_storage_does_not_import_sqlalchemy() -> None:
    out = _run(
        """
        import sys
        import hyperscout, hyperscout.storage
        from hyperscout.storage import open_storage
        print("sqlalchemy" in sys.modules, "hyperscout.storage.sql" in sys.modules)
        open_storage("memory")
        print("sqlalchemy" in sys.modules)
        from hyperscout.storage import SQLStorage
        import hyperscout.storage.sql as sql
        print(SQLStorage is sql.SQLStorage is hyperscout.SQLStorage, "sqlalchemy" in sys.modules)
        """
    )
    assert out.split("\n")[:3] == ["False False", "False", "True True"]


def test_the_sql_modules_do_not_import_memory_storage_or_the_factory_sql() -> None:
    """sql.py and its helpers stand alone; the factory imports sql.py only when it opens one."""
    folder = SRC / "hyperscout" / "storage"
    for name in ("sql.py", "_sql_engine.py", "_sql_postgres.py", "_sql_rows.py", "_sql_schema.py"):
        imported = _module_level_imports(folder / name)
        assert "hyperscout.storage.memory" not in imported, name
    for name in ("__init__.py", "_factory.py", "_layout.py", "base.py", "memory.py"):
        imported = _module_level_imports(folder / name)
        assert not any(m.startswith(("sqlalchemy", "hyperscout.storage.sql")) for m in imported)


def _module_level_imports(path: Path) -> set[str]:
    """The modules that ``path`` imports when it is imported (not inside functions)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


# -- the project layout ------------------------------------------------------------------------


def test_for_project_says_where_the_study_lives(tmp_path: Path) -> None:
    project = for_project(tmp_path, "resnet")
    assert project == Project(tmp_path / "resnet")
    assert project.name == "resnet"
    assert project.folder == tmp_path / "resnet"
    assert (
        project.database
        == tmp_path / "resnet" / DATABASE_FILE
        == tmp_path / "resnet" / "hyperscout.db"
    )
    assert project.url == sqlite_url(tmp_path / "resnet" / "hyperscout.db")
    assert not project.exists()
    assert list(tmp_path.iterdir()) == []  # nothing is created
    assert for_project(str(tmp_path)).name == "untitled_project"


@pytest.mark.parametrize("name", ["", "..", "a/b", "../x", "/etc", 7, "x" * 101])
def test_for_project_refuses_an_unsafe_name(tmp_path: Path, name: Any) -> None:
    with pytest.raises(InvalidArgumentError, match=r"^for_project\(project_name=\.\.\.\): "):
        for_project(tmp_path, name)
    with pytest.raises(InvalidArgumentError, match=r"^run_demo\(project_name=\.\.\.\): "):
        for_project(tmp_path, name, owner="run_demo")


def test_for_project_refuses_a_directory_that_is_no_path() -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        for_project(3, "p")  # type: ignore[arg-type]
    assert str(refused.value) == "for_project(directory=...): expected a path, got 3."


def test_a_project_opens_where_the_tuner_writes(tmp_path: Path) -> None:
    project = for_project(tmp_path / "runs", "p")
    storage = project.open()
    try:
        storage.create_study("p")
    finally:
        storage.close()
    assert project.exists()

    with hs.RandomSearch(
        lambda hp: hp.Float("x", 0, 1),
        max_trials=2,
        seed=0,
        directory=tmp_path / "runs",
        project_name="p",
        verbose=0,
    ) as tuner:
        tuner.search()
    reopened = project.open()
    try:
        study = reopened.load_study("p")
        assert study is not None
        assert len(reopened.trials(study.id)) == 2
    finally:
        reopened.close()


def test_a_project_folder_behind_a_file_is_refused_naming_the_owner(tmp_path: Path) -> None:
    (tmp_path / "runs").write_text("a file")
    with pytest.raises(InvalidArgumentError, match=r"^Tuner\(directory='x'\): cannot create"):
        for_project(tmp_path / "runs", "p").open(owner="Tuner(directory='x')")


def test_find_projects_lists_the_folders_that_hold_a_study(tmp_path: Path) -> None:
    assert find_projects(tmp_path / "missing") == []
    for name in ("b", "a", "empty"):
        (tmp_path / name).mkdir()
    for name in ("b", "a"):
        (tmp_path / name / DATABASE_FILE).write_bytes(b"")
    (tmp_path / "loose.db").write_bytes(b"")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / DATABASE_FILE).mkdir()  # a folder named like the file is no study
    assert [p.name for p in find_projects(tmp_path)] == ["a", "b"]
    assert find_projects(tmp_path / "loose.db") == []
