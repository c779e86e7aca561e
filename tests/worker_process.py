"""One worker of a shared study, run as its own process by tests/test_workers.py.

    python tests/worker_process.py STRATEGY STORAGE_URL PROJECT [--max-trials N] [--sleep S]

It builds the tuner the way a user would (the same call in every process), runs
``search()`` until the study is done, and prints one JSON line: its pid and how many trials
of the study it finished. Define-by-run objectives only: the space is learnt from the trials.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import hyperscout as hs

STRATEGIES = ("grid", "random", "gp", "tpe", "hyperband", "bohb", "asha")


def flat(hp: hs.HyperParameters, sleep: float) -> float:
    """A define-by-run objective of a continuous and a discrete parameter."""
    x = hp.Float("x", -5.0, 5.0)
    n = hp.Int("n", 1, 50)
    time.sleep(sleep)
    return float((x - 1.0) ** 2 + abs(n - 20) / 10.0)


def grid(hp: hs.HyperParameters, sleep: float) -> float:
    """A 40-point grid: 5 x 8."""
    a = hp.Choice("a", [0, 1, 2, 3, 4])
    b = hp.Int("b", 0, 7)
    time.sleep(sleep)
    return float((a - 2) ** 2 + (b - 5) ** 2)


def budgeted(hp: hs.HyperParameters, trial: hs.RunningTrial, sleep: float) -> float:
    """A learning curve: the loss falls with the budget, towards a configuration's floor."""
    x = hp.Float("x", -5.0, 5.0)
    n = hp.Int("n", 1, 50)
    floor = (x - 1.0) ** 2 + abs(n - 20) / 10.0
    epochs = int(trial.budget or 9)
    start = int(trial.previous_budget or 0)
    loss = floor
    for epoch in range(start, epochs):
        loss = floor + 5.0 / (epoch + 1)
        time.sleep(sleep / max(1, epochs - start))
        trial.report(epoch, loss=loss)
        if trial.should_stop():
            break
    return float(loss)


def make_tuner(strategy: str, storage: str, project: str, max_trials: int | None, sleep: float):
    common: dict[str, Any] = {
        "storage": storage,
        "project_name": project,
        "seed": 5,
        "verbose": 0,
        "objective": "loss",
        "trial_lease": 6.0,
    }

    def plain(hp: hs.HyperParameters) -> float:
        return flat(hp, sleep)

    def with_trial(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        return budgeted(hp, trial, sleep)

    if strategy == "grid":
        return hs.GridSearch(lambda hp: grid(hp, sleep), max_trials=max_trials, **common)
    if strategy == "random":
        return hs.RandomSearch(plain, max_trials=max_trials, **common)
    if strategy == "gp":
        return hs.BayesianOptimization(plain, max_trials=max_trials, sampler="gp", **common)
    if strategy == "tpe":
        return hs.BayesianOptimization(plain, max_trials=max_trials, sampler="tpe", **common)
    if strategy == "hyperband":
        return hs.Hyperband(with_trial, max_epochs=9, max_trials=max_trials, **common)
    if strategy == "bohb":
        return hs.BOHB(with_trial, max_epochs=9, max_trials=max_trials, **common)
    if strategy == "asha":
        scheduler = hs.ASHAScheduler(1, 9, factor=3)
        return hs.Tuner(with_trial, scheduler=scheduler, max_trials=max_trials, **common)
    raise SystemExit(f"unknown strategy {strategy!r}; expected one of {STRATEGIES}")


def wait_for_the_others(folder: Path, timeout: float = 120.0) -> None:
    """Say this worker is ready (its imports done, its tuner made), then wait for the go.

    On a loaded machine a worker's start-up (imports, the study opened) can take longer than
    the whole search; the test starts every worker's search at once so that each takes part.
    """
    (folder / f"{os.getpid()}.ready").touch()
    deadline = time.monotonic() + timeout
    while not (folder / "go").exists():
        if time.monotonic() > deadline:
            raise SystemExit("no go from the test within the timeout")
        time.sleep(0.02)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("strategy", choices=STRATEGIES)
    parser.add_argument("storage")
    parser.add_argument("project")
    parser.add_argument("--max-trials", type=int, default=None)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--start-together", default=None, metavar="FOLDER")
    args = parser.parse_args(argv)
    with make_tuner(args.strategy, args.storage, args.project, args.max_trials, args.sleep) as t:
        if args.start_together is not None:
            wait_for_the_others(Path(args.start_together))
        t.heartbeat_interval = 1.0
        t.poll_interval = 0.05
        t.search()
        mine = [
            trial
            for trial in t.trials
            if trial.is_finished and (trial.attrs.get("worker") or {}).get("pid") == os.getpid()
        ]
    print(json.dumps({"pid": os.getpid(), "finished": len(mine)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
