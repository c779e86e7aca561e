"""Opening a tuner's study: its storage, the study itself, and the checks of a resume.

A tuner made again on the same project resumes its study. Before any trial runs, the study
must be the same search: the same objective, seed and strategy (its provenance). A study that
holds only trials given up (a usage error, Ctrl-C) may still change its objective.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hyperscout._paths import claim_checkpoint_root
from hyperscout.objective import Objective
from hyperscout.samplers import Sampler
from hyperscout.schedulers import Scheduler
from hyperscout.storage import Storage, StudyInfo, for_project, open_storage
from hyperscout.trial import Trial, TrialState
from hyperscout.tuner._checks import check_same_objective, objective_changed
from hyperscout.tuner._provenance import check_resume, check_same_seed, new_provenance

__all__ = ["clear_study", "open_study", "open_tuner_storage", "resume_provenance"]


def open_tuner_storage(
    storage: Storage | str | None, directory: Path, project_dir: Path, owner: str
) -> Storage:
    """The tuner's storage: the one given, the URL's, or the project folder's SQLite file."""
    if isinstance(storage, Storage):
        return storage
    if storage is not None:
        return open_storage(storage, owner=owner, argument="storage")
    project = for_project(directory, project_dir.name, owner=owner)
    return project.open(owner=f"{owner}(directory={os.fspath(directory)!r})")


def clear_study(storage: Storage, project_name: str, checkpoint_root: Path) -> None:
    """``overwrite=True``: delete the study's trials (and only its own checkpoint folders)."""
    old = storage.load_study(project_name)
    if old is not None and storage.trials(old.id):
        # The study's own checkpoints (maybe of a hyperscout without markers): the new
        # study removes its trial folders, and only those.
        claim_checkpoint_root(checkpoint_root, new_study=False)
    storage.delete_study(project_name)


def open_study(
    storage: Storage,
    project_name: str,
    *,
    objective: Objective,
    seed: int | None,
    preset: str,
    sampler: Sampler,
    scheduler: Scheduler,
    space: dict[str, Any],
) -> tuple[StudyInfo, dict[str, Any]]:
    """The study (created or resumed) and the provenance a new study would have.

    Raises:
        InvalidArgumentError: the study optimises another objective, or was seeded otherwise.
    """
    meta: dict[str, Any] = {
        "objective": objective.to_dict(),
        "seed": seed if seed is not None else secrets.randbelow(2**31),
    }
    meta["provenance"] = new_provenance(
        preset=preset, sampler=sampler, scheduler=scheduler, seed=meta["seed"], space=space
    )
    study = storage.get_or_create_study(project_name, space=space, meta=meta)
    if objective_changed(objective, study.meta) and _only_given_up(storage.trials(study.id)):
        # No result yet, only trials given up (a usage error such as a missing objective=,
        # or Ctrl-C): the study may still choose its objective. It starts over, same seed.
        storage.delete_study(project_name)
        meta["seed"] = seed if seed is not None else study.meta.get("seed", meta["seed"])
        meta["provenance"]["seed"] = meta["seed"]
        study = storage.get_or_create_study(project_name, space=space, meta=meta)
    check_same_objective(project_name, objective, study.meta)
    check_same_seed(project_name, study.meta.get("seed"), seed)
    return study, meta["provenance"]


def resume_provenance(
    storage: Storage, study: StudyInfo, project_name: str, new: dict[str, Any]
) -> dict[str, Any]:
    """The study's provenance, checked against this tuner's strategy (recorded if none).

    Raises:
        InvalidArgumentError: the study was made with another strategy or settings.
    """
    stored_meta: Mapping[str, Any] = study.meta
    stored = stored_meta.get("provenance")
    if stored:
        check_resume(project_name, stored, new)
        return dict(stored)
    # A study older than provenance: how it was made is unknown; record it from now on.
    new.update(
        seed=stored_meta.get("seed", new["seed"]),
        recorded_on_resume=True,
        recorded_at=new["created_at"],
        created_at=None,
    )
    storage.save_meta(study.id, {**stored_meta, "provenance": new})
    return new


def _only_given_up(trials: list[Trial]) -> bool:
    """True when the study has trials and each was given up: none holds a result or runs.

    (An empty study is another worker's, just created: it keeps the objective it has.)
    """
    return bool(trials) and all(
        t.state is TrialState.FAILED and t.attrs.get("abandoned") for t in trials
    )
