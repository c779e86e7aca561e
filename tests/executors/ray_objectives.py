"""Module-level objectives for tests/executors/test_ray.py: Ray's worker processes import them."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import hyperscout as hs


def grid(hp: hs.HyperParameters) -> float:
    """A 30-point grid (3 x 10)."""
    a = hp.Choice("a", [0, 1, 2])
    b = hp.Int("b", 0, 9)
    return float((a - 1) ** 2 + (b - 5) ** 2)


def meets(hp: hs.HyperParameters, trial: hs.RunningTrial, folder: str) -> dict[str, float]:
    """A short trial that says which process ran it, once a trial of another process runs.

    Each trial leaves its process id in FOLDER, and waits (up to 60 s) until another process
    has left one: ``met`` is 1 when trials ran in two processes at once.
    """
    x = hp.Float("x", -1.0, 1.0)
    (Path(folder) / str(os.getpid())).touch()
    deadline = time.monotonic() + 60.0
    while len(list(Path(folder).iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    met = len(list(Path(folder).iterdir())) >= 2
    return {"loss": x * x, "pid": float(os.getpid()), "met": float(met)}


def curve(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
    """A learning curve reported epoch by epoch, from the budget the trial was given."""
    x = hp.Float("x", -5.0, 5.0)
    floor = (x - 1.0) ** 2
    loss = floor
    for epoch in range(int(trial.previous_budget or 0), int(trial.budget or 9)):
        loss = floor + 5.0 / (epoch + 1)
        time.sleep(0.01)
        trial.report(epoch, loss=loss)
        if trial.should_stop():
            break
    return float(loss)


def broken(hp: hs.HyperParameters) -> float:
    """Fails on every trial."""
    hp.Float("x", 0.0, 1.0)
    raise ValueError("the objective broke on purpose")


def hangs_once(hp: hs.HyperParameters, trial: hs.RunningTrial, folder: str) -> float:
    """The first trial writes its process id to FOLDER/pid and waits to be killed."""
    x = hp.Float("x", -1.0, 1.0)
    try:
        with open(Path(folder) / "claimed", "x"):
            pass
    except FileExistsError:
        time.sleep(0.05)
        return x * x
    (Path(folder) / "pid.tmp").write_text(f"{os.getpid()} {x!r}")
    os.replace(Path(folder) / "pid.tmp", Path(folder) / "pid")
    time.sleep(60.0)
    raise AssertionError("the test kills this process before")


def no_objective(hp: hs.HyperParameters) -> dict[str, float]:
    """Returns metrics without the one the search optimises (a usage error)."""
    return {"accuracy": hp.Float("x", 0.0, 1.0)}


def fail_with(message: str) -> None:
    raise KeyError(message)


def sleep_and_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def sleeps(hp: hs.HyperParameters, trial: hs.RunningTrial, folder: str) -> float:
    """A trial far longer than the search's timeout; its process id is a file in FOLDER."""
    x = hp.Float("x", -1.0, 1.0)
    (Path(folder) / str(os.getpid())).touch()
    time.sleep(30.0)
    return x * x


def pid_then_sleep(folder: str, seconds: float) -> int:
    """Leaves this process's id in FOLDER, then sleeps."""
    (Path(folder) / str(os.getpid())).touch()
    time.sleep(seconds)
    return os.getpid()


def length_of(shared: Any) -> int:
    """The length of the data an ``Executor.share()`` answer stands for."""
    return len(shared.load())
