"""A study as the report reads it: its trials, objective, space and how it was made.

Every plot, the advice, the HTML report and the dashboard take a :class:`StudyData`, read from
storage by :func:`study_of`: from a tuner (its storage and project name: the tuner itself is
not read), a :class:`~hyperscout.storage.Storage` or a database URL with a study name, or a
project folder ``DIRECTORY/PROJECT``. So a running search, a finished one and one read back
from a file show alike.

>>> import hyperscout as hs
>>> tuner = hs.RandomSearch(lambda hp: hp.Float("x", 0.0, 1.0), max_trials=3, seed=0,
...                         storage="memory", verbose=0)
>>> tuner.search()
>>> data = study_of(tuner)
>>> data.name, len(data.trials), data.objective.name, data.space.names
('untitled_project', 3, 'objective', ['x'])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hyperscout._validation import fail
from hyperscout.history import History
from hyperscout.objective import Objective
from hyperscout.space import HyperParameters
from hyperscout.storage import DATABASE_FILE, Project, Storage, open_storage
from hyperscout.trial import Trial

__all__ = ["StudyData", "read_study", "study_of"]


@dataclass(frozen=True)
class StudyData:
    """One study's trials and what they mean, read at one moment.

    Attributes:
        name: the study's (project's) name.
        trials: every trial, in order.
        objective: the metric optimised and its direction.
        space: the search space as stored (it grows as objectives define parameters).
        meta: the study's stored metadata; ``meta["provenance"]`` says how it was made.
    """

    name: str
    trials: Sequence[Trial]
    objective: Objective
    space: HyperParameters
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def history(self) -> History:
        """The trials with the objective that ranks them (``best(n)``, ``counts()``)."""
        return History(self.trials, self.objective)

    @property
    def provenance(self) -> Mapping[str, Any]:
        """How the study was made (preset, sampler, scheduler, seed, host ...), or ``{}``."""
        value = self.meta.get("provenance")
        return value if isinstance(value, Mapping) else {}


def read_study(storage: Storage, name: str) -> StudyData:
    """The study ``name`` of ``storage``, read now.

    Raises:
        InvalidArgumentError: the storage holds no study of that name.
    """
    study = storage.load_study(name)
    if study is None:
        fail("read_study", "name", name, "the name of a study in the storage")
    stored = study.meta.get("objective") or {}
    objective = Objective(str(stored.get("name", "objective")), str(stored.get("direction", "min")))
    return StudyData(
        name=study.name,
        trials=storage.trials(study.id),
        objective=objective,
        space=HyperParameters.from_dict(study.space),
        meta=dict(study.meta),
    )


def study_of(source: Any, project_name: str | None = None) -> StudyData:
    """A :class:`StudyData` from whatever names a study.

    Args:
        source: a :class:`StudyData` (returned as is); a tuner, or anything with
            ``storage`` and ``project_name`` (its storage is read, not the tuner); a
            :class:`~hyperscout.storage.Storage` or a database URL, with ``project_name``; or a
            project folder ``DIRECTORY/PROJECT`` (its ``hyperscout.db``).
        project_name: the study's name in a storage or URL; for a folder, its name is the
            default.

    Raises:
        InvalidArgumentError: ``source`` names no study.
    """
    if isinstance(source, StudyData):
        return source
    storage = getattr(source, "storage", None)
    if isinstance(storage, Storage) and project_name is None:
        return read_study(storage, str(source.project_name))
    if isinstance(source, Storage):
        if project_name is None:
            fail("study_of", "project_name", None, "the study's name with a storage")
        return read_study(source, project_name)
    if isinstance(source, str) and "://" in source:
        if project_name is None:
            fail("study_of", "project_name", None, "the study's name with a database URL")
        return _read_and_close(open_storage(source), project_name)
    if isinstance(source, (str, os.PathLike)):
        project = Project(Path(source))
        if not project.database.is_file():
            fail("study_of", "source", os.fspath(source), f"a project folder with {DATABASE_FILE}")
        return _read_and_close(open_storage(project.url), project_name or project.name)
    fail(
        "study_of",
        "source",
        source,
        "a tuner, a Storage or database URL with project_name, or a project folder",
    )


def _read_and_close(storage: Storage, name: str) -> StudyData:
    try:
        return read_study(storage, name)
    finally:
        storage.close()
