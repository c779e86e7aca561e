"""Which process runs a trial: the worker stamp on each trial, and trials whose process died.

Every trial records the host and process id that started it (:func:`worker_stamp`). A tuner
that opens a study marks FAILED, to run again, the trials left RUNNING by a dead process of
its own machine (:func:`fail_abandoned_trials`); trials of other machines are left to them.
"""

from __future__ import annotations

import contextlib
import os
import socket

from hyperscout.exceptions import StorageError
from hyperscout.storage import Storage
from hyperscout.trial import TrialState

__all__ = ["HOST", "abandon_trial", "fail_abandoned_trials", "pid_alive", "worker_stamp"]

HOST = socket.gethostname()


def worker_stamp() -> dict[str, object]:
    """The ``worker`` attribute of a trial started by this process.

    >>> worker_stamp()["pid"] == os.getpid()
    True
    """
    return {"host": HOST, "pid": os.getpid()}


def pid_alive(pid: int) -> bool:
    """True when a process of this machine has the id ``pid``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_abandoned_trials(storage: Storage, study_id: int) -> None:
    """Mark FAILED the trials left RUNNING by a process of this machine that has died."""
    for trial in storage.trials(study_id, states=[TrialState.RUNNING]):
        worker = trial.attrs.get("worker") or {}
        if worker.get("host") != HOST:
            continue  # another machine's trial: its own process finishes it
        pid = int(worker.get("pid", -1))
        # A trial of this very process belongs to a live tuner (another thread, or an
        # ask() not yet told): never take it for a leftover.
        if pid == os.getpid() or pid_alive(pid):
            continue
        error = (
            f"The process that ran this trial ({HOST}, pid {pid}) stopped before "
            "the trial finished; its configuration is run again."
        )
        abandon_trial(storage, study_id, trial.number, error)


def abandon_trial(storage: Storage, study_id: int, number: int, error: str) -> None:
    """Mark FAILED a trial whose run was given up, so that its configuration runs again."""
    # A trial finished meanwhile (by its process, or a search that gave it up) keeps that record.
    with contextlib.suppress(StorageError):
        storage.finish_trial(
            study_id,
            number,
            state=TrialState.FAILED,
            error=error,
            attrs={"rerun": True, "abandoned": True},
        )
