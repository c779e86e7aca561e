"""The folders hyperscout makes on disk, and the rules that keep it out of the user's files.

A study lives in ``directory/project_name/``: its SQLite database and a ``checkpoints``
folder with one ``trial_NNNNN`` folder per trial. Two rules keep users' files safe:

* ``project_name`` is one folder name of safe characters, so that a study never lands
  outside ``directory`` (:func:`check_project_name`).
* hyperscout deletes only what it made. The checkpoints folder it creates holds a marker
  file, :data:`MARKER_FILE`; a new study (or ``overwrite=True``) removes only the
  ``trial_NNNNN`` folders of a marked checkpoints folder and leaves every other file where
  it is (:func:`claim_checkpoint_root`).

>>> check_project_name("resnet-50_v2")
'resnet-50_v2'
>>> check_project_name("../../etc")
Traceback (most recent call last):
...
hyperscout.exceptions.InvalidArgumentError: Tuner(project_name=...): expected one folder name \
of 1 to 100 letters, digits, '-', '_' and '.' (not '.' or '..'), got '../../etc'.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from hyperscout.exceptions import InvalidArgumentError

__all__ = [
    "DEFAULT_PROJECT_NAME",
    "MARKER_FILE",
    "MAX_PROJECT_NAME_LENGTH",
    "PROJECT_NAME_EXPECTED",
    "check_project_name",
    "claim_checkpoint_root",
    "is_project_name",
    "make_checkpoint_folder",
    "make_folder",
    "mark_checkpoint_root",
]

#: The study of a tuner given no ``project_name`` (KerasTuner's default).
DEFAULT_PROJECT_NAME = "untitled_project"
#: The longest ``project_name``: a folder name, well below every file system's limit.
MAX_PROJECT_NAME_LENGTH = 100
#: What a ``project_name`` must be, for error messages.
PROJECT_NAME_EXPECTED = (
    f"one folder name of 1 to {MAX_PROJECT_NAME_LENGTH} letters, digits, '-', '_' and '.' "
    "(not '.' or '..')"
)
#: The file that marks a checkpoints folder as made by hyperscout.
MARKER_FILE = ".hyperscout"
_MARKER_TEXT = (
    "hyperscout made this folder for the checkpoints of its trials (one trial_NNNNN folder\n"
    "per trial). A new study of the same name, or overwrite=True, deletes those trial_NNNNN\n"
    "folders and nothing else.\n"
)
# \w is a Unicode letter, digit or '_': never a path separator, a NUL or a drive colon.
_PROJECT_NAME = re.compile(rf"[\w.-]{{1,{MAX_PROJECT_NAME_LENGTH}}}")
_TRIAL_FOLDER = re.compile(r"trial_\d+")


def is_project_name(value: object) -> bool:
    """True when ``value`` is a name :func:`check_project_name` accepts."""
    return (
        isinstance(value, str)
        and value not in (".", "..")
        and _PROJECT_NAME.fullmatch(value) is not None
    )


def check_project_name(value: object, owner: str = "Tuner") -> str:
    """``value`` as a project name (None: :data:`DEFAULT_PROJECT_NAME`).

    A project name is one folder name inside ``directory``: a name with a separator, an
    absolute path, ``".."`` or a NUL byte would put the study (and the deletion of its old
    checkpoints) somewhere else, so it is refused before anything is created.

    Raises:
        InvalidArgumentError: anything else, including ``""`` and non-strings.
    """
    if value is None:
        return DEFAULT_PROJECT_NAME
    if is_project_name(value):
        assert isinstance(value, str)
        return value
    shown = repr(value)
    if isinstance(value, str) and len(value) > MAX_PROJECT_NAME_LENGTH:
        shown = f"{value[:20]!r}... ({len(value)} characters)"
    raise InvalidArgumentError(
        f"{owner}(project_name=...): expected {PROJECT_NAME_EXPECTED}, got {shown}."
    )


def _obstacle(path: Path, error: OSError) -> str:
    """Why ``path`` cannot be made a folder, as words."""
    for folder in (path, *path.parents):
        if folder.exists() and not folder.is_dir():
            return f"{folder} is a file, not a folder"
    return error.strerror or str(error)


def make_folder(path: Path, owner: str) -> None:
    """Create the folder ``path`` and its parents, unless it exists.

    Raises:
        InvalidArgumentError: it cannot be created (a file in the way, no permission); the
            message names the folder, the reason and ``owner``, the argument that chose it.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidArgumentError(
            f"{owner}: cannot create the folder {path}: {_obstacle(path, exc)}. Choose a "
            "folder that can be created there, or move what is in the way."
        ) from exc


def mark_checkpoint_root(root: Path) -> None:
    """Write the marker that says ``root`` is hyperscout's checkpoints folder."""
    marker = root / MARKER_FILE
    if not marker.is_file():
        marker.write_text(_MARKER_TEXT, encoding="utf-8")


def make_checkpoint_folder(root: Path, folder: Path) -> None:
    """Create a trial's checkpoint ``folder`` under ``root``, marking ``root`` if new."""
    if not root.is_dir():
        make_folder(root, "the tuner's checkpoints folder")
        mark_checkpoint_root(root)
    make_folder(folder, "the trial's checkpoint folder")


def claim_checkpoint_root(root: Path, *, new_study: bool) -> None:
    """Take ``root`` as the study's checkpoints folder; for a new study, empty it of old trials.

    Old ``trial_NNNNN`` folders of an earlier study of the same name would be read as this
    study's checkpoints (a promoted trial would continue someone else's weights), so a new
    study removes them. It removes nothing else: a user's file in the folder (say, the
    pretrained weights the objective starts from) stays where it is, and hyperscout's trial
    folders sit beside it. Refusing such a folder would break the natural layout of keeping
    one's own files in the project folder, and never touching them is what a user expects.

    A checkpoints folder without :data:`MARKER_FILE` is adopted (marked) when it holds no
    ``trial_NNNNN`` folder, or when the study already has trials (a study of a hyperscout
    without markers). A new study refuses one that holds ``trial_NNNNN`` folders: hyperscout
    cannot tell whose they are, and does not delete what may not be its own.

    Raises:
        InvalidArgumentError: ``root`` is a file, or the unmarked folder of a new study holds
            ``trial_NNNNN`` folders.
    """
    if not root.exists():
        return
    if not root.is_dir():
        raise InvalidArgumentError(
            f"Tuner(directory=...): the checkpoints folder {root} is a file. Move it away, or "
            "choose another directory= or project_name=."
        )
    trials = sorted(p for p in root.iterdir() if _TRIAL_FOLDER.fullmatch(p.name) and p.is_dir())
    if not (root / MARKER_FILE).is_file():
        if new_study and trials:
            raise InvalidArgumentError(
                f"Tuner(directory=...): {root} holds {len(trials)} trial folders "
                f"({trials[0].name}, ...) that hyperscout did not mark as its own (no "
                f"{MARKER_FILE} file), and a new study would have to delete them. Move them "
                "away (or delete them if they are an old study's), or choose another "
                "directory= or project_name=."
            )
        mark_checkpoint_root(root)
    if new_study:
        for folder in trials:
            shutil.rmtree(folder, ignore_errors=True)
