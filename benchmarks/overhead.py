"""The tuner's own cost per trial: 1,000 trials of an objective that does nothing.

hyperscout (RandomSearch) with MemoryStorage and with SQLite, side by side in the same run with
Optuna's RandomSampler on its in-memory storage and on SQLite. Optuna comes with the ``bench``
extra: ``pip install -e '.[bench]'``.

Run: ``python benchmarks/overhead.py [--trials 1000] [--repeats 3] [--markdown]``

The figure is wall time of the whole search divided by the number of trials, the median of
``--repeats`` runs; the objective draws four parameters (a float, a log float, an int and a
choice) and returns at once, so what is measured is sampling, bookkeeping and storage.
"""

from __future__ import annotations

import argparse
import logging
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hyperscout as hs


def hyperscout_run(storage: str, trials: int, directory: Path) -> float:
    def objective(hp: hs.HyperParameters) -> float:
        x = hp.Float("x", -5.0, 5.0)
        lr = hp.Float("lr", 1e-5, 1e-1, sampling="log")
        units = hp.Int("units", 16, 256)
        act = hp.Choice("activation", ["relu", "tanh", "gelu"])
        return x + lr + units + len(act)

    started = time.perf_counter()
    tuner = hs.RandomSearch(
        objective,
        max_trials=trials,
        seed=0,
        verbose=0,
        directory=directory,
        project_name="overhead",
        storage="memory" if storage == "memory" else None,
    )
    tuner.search()
    elapsed = time.perf_counter() - started
    assert len(tuner.trials) == trials
    tuner.storage.close()
    return elapsed


def optuna_run(storage: str, trials: int, directory: Path) -> float:
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)

    def objective(trial: Any) -> float:
        x = trial.suggest_float("x", -5.0, 5.0)
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        units = trial.suggest_int("units", 16, 256)
        act = trial.suggest_categorical("activation", ["relu", "tanh", "gelu"])
        return float(x + lr + units + len(act))

    url = None if storage == "memory" else f"sqlite:///{directory / 'optuna.db'}"
    started = time.perf_counter()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), storage=url)
    study.optimize(objective, n_trials=trials)
    elapsed = time.perf_counter() - started
    assert len(study.trials) == trials
    return elapsed


RUNNERS: dict[str, Callable[[str, int, Path], float]] = {
    "hyperscout RandomSearch": hyperscout_run,
    "Optuna RandomSampler": optuna_run,
}


def machine() -> str:
    import os

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args()

    rows = []
    for name, runner in RUNNERS.items():
        for storage in ("memory", "sqlite"):
            times = []
            for _ in range(args.repeats):
                with tempfile.TemporaryDirectory() as tmp:
                    try:
                        times.append(runner(storage, args.trials, Path(tmp)))
                    except ImportError as exc:
                        print(f"skipping {name}: {exc}")
                        break
            if times:
                per_trial = statistics.median(times) / args.trials * 1000
                rows.append((name, storage, per_trial))
                print(f"{name:26s} {storage:7s} {per_trial:8.3f} ms/trial", flush=True)

    if args.markdown:
        print()
        print(f"Machine: {machine()}. {args.trials} trials, median of {args.repeats} runs.")
        print()
        print("| tuner | storage | ms per trial |")
        print("| --- | --- | ---: |")
        for name, storage, per_trial in rows:
            print(f"| {name} | {storage} | {per_trial:.3f} |")


if __name__ == "__main__":
    main()
