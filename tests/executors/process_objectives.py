"""Module-level objectives for tests/executors/test_process.py: worker processes import them."""

from __future__ import annotations

import os
import time

import hyperscout as hs


def grid(hp: hs.HyperParameters) -> float:
    """A 50-point grid (5 x 10); the worker's pid is kept as a metric."""
    a = hp.Choice("a", [0, 1, 2, 3, 4])
    b = hp.Int("b", 0, 9)
    return float((a - 2) ** 2 + (b - 5) ** 2)


def pid(hp: hs.HyperParameters) -> dict[str, float]:
    """A short trial that says which process ran it."""
    x = hp.Float("x", -1.0, 1.0)
    time.sleep(0.05)
    return {"loss": x * x, "pid": float(os.getpid())}


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


def scaled(
    hp: hs.HyperParameters, trial: hs.RunningTrial, scale: float, *, offset: float = 0.0
) -> float:
    """Uses the arguments of search() (after hp and the trial)."""
    x = hp.Float("x", -1.0, 1.0)
    return scale * x * x + offset


def dies_once(hp: hs.HyperParameters, trial: hs.RunningTrial, marker: str) -> float:
    """The first trial to run kills its own worker process (SIGKILL); the others sleep a bit."""
    x = hp.Float("x", -1.0, 1.0)
    try:
        with open(marker, "x"):
            pass
    except FileExistsError:
        time.sleep(0.05)
        return x * x
    os.kill(os.getpid(), 9)
    raise AssertionError("unreachable")


def slow(hp: hs.HyperParameters) -> float:
    """A long trial (for Ctrl-C)."""
    x = hp.Float("x", -1.0, 1.0)
    time.sleep(30.0)
    return x * x


class SquareTuner(hs.RandomSearch):
    """A tuner whose run_trial is overridden (KerasTuner's way); it needs no hypermodel."""

    def run_trial(self, trial: hs.RunningTrial, *args: object, **kwargs: object) -> float:
        x = trial.hyperparameters.Float("x", -1.0, 1.0)
        return x * x + 1.0


if __name__ == "__main__":  # python -m tests.executors.process_objectives URL: a long search
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.default_int_handler)  # a background job ignores it
    tuner = hs.RandomSearch(
        slow, max_trials=4, storage=sys.argv[1], project_name="p", seed=0, verbose=0
    )
    tuner.search(n_jobs=2)
