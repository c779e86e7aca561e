"""Where a project's study lives on disk: ``directory/project_name/hyperscout.db``.

A tuner given a ``directory`` and a ``project_name`` (and no ``storage``) keeps its study in
the SQLite file :data:`DATABASE_FILE` of the project folder; the command line finds projects
by that file, and the demo reports it. All three ask :func:`for_project` rather than spell
the path out.

>>> project = for_project("runs", "mnist")
>>> project.folder.as_posix(), project.database.as_posix()
('runs/mnist', 'runs/mnist/hyperscout.db')
>>> for_project("runs", None).name
'untitled_project'
>>> for_project("runs", "../etc")
Traceback (most recent call last):
...
hyperscout.exceptions.InvalidArgumentError: for_project(project_name=...): expected one folder \
name of 1 to 100 letters, digits, '-', '_' and '.' (not '.' or '..'), got '../etc'.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hyperscout._paths import check_project_name, make_folder
from hyperscout._validation import check
from hyperscout.storage._factory import open_storage, sqlite_url
from hyperscout.storage.base import Storage

__all__ = ["DATABASE_FILE", "Project", "find_projects", "for_project"]

#: The SQLite file of a project folder.
DATABASE_FILE = "hyperscout.db"


@dataclass(frozen=True)
class Project:
    """A project folder: where a tuner keeps its study, its SQLite file and checkpoints.

    Build one with :func:`for_project`, which checks the project name; ``Project(folder)``
    takes an existing folder as it is (the command line reads folders a user names).
    """

    folder: Path

    @property
    def name(self) -> str:
        """The project name: the folder's name, and the name of the study in it."""
        return self.folder.name

    @property
    def database(self) -> Path:
        """The SQLite file that holds the study."""
        return self.folder / DATABASE_FILE

    @property
    def url(self) -> str:
        """The database's URL, for :func:`~hyperscout.storage.open_storage`."""
        return sqlite_url(self.database)

    def exists(self) -> bool:
        """True when the folder holds a study (its SQLite file)."""
        return self.database.is_file()

    def open(self, *, owner: str = "for_project") -> Storage:
        """The project's storage; the folder and its database are created if missing.

        Args:
            owner: who chose the folder, for the error when it cannot be created, e.g.
                ``"Tuner(directory='runs')"``.

        Raises:
            InvalidArgumentError: the folder cannot be created (a file in the way, no
                permission).
        """
        make_folder(self.folder, owner)
        return open_storage(self.url)


def for_project(
    directory: str | os.PathLike[str],
    project_name: str | None = None,
    *,
    owner: str = "for_project",
) -> Project:
    """The project folder ``directory/project_name`` (nothing is created).

    Args:
        directory: the folder that holds the projects.
        project_name: one folder name of safe characters (None: ``untitled_project``, as in
            KerasTuner); also the name of the study.
        owner: who was given the arguments, for error messages (the tuner passes its class).

    Raises:
        InvalidArgumentError: ``directory`` is not a path, or ``project_name`` is not one
            safe folder name (a separator, ``..``, an absolute path, ``""``).
    """
    check(owner, "directory", directory, isinstance(directory, str | os.PathLike), "a path")
    name = check_project_name(project_name, owner)
    return Project(Path(directory) / name)


def find_projects(directory: str | os.PathLike[str]) -> list[Project]:
    """The projects in ``directory`` (its subfolders that hold a study), sorted by name.

    A ``directory`` that is no folder holds none. Nothing is opened or created.
    """
    folder = Path(directory)
    if not folder.is_dir():
        return []
    found = (Project(path) for path in folder.iterdir() if path.is_dir())
    return sorted((project for project in found if project.exists()), key=lambda p: p.folder)
