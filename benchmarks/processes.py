"""Worker processes (``ProcessExecutor``): what a search's arguments and a worker's start-up cost.

Arguments: a search given a 50 MB NumPy array (``search(x)``) runs 40 trials of an objective
that reads one element of it and returns at once, over 2 worker processes, on SQLite. Side by
side in the same run: ``ProcessExecutor``, which sends what a search shares (the pickled
objective, its arguments, the strategy) to each worker process once, as it starts
(``Executor.share``), and the same executor with ``Executor``'s default ``share`` (the bytes
go with every trial, as every ``ProcessExecutor`` did before). The figures are the search's
wall time and the driver's CPU time (``time.process_time``, this process only), divided by the
number of trials, the median of ``--repeats`` runs.

Start-up: the CPU a fresh worker process spends before its first trial's objective runs,
read in the objective with ``getrusage``, in searches of 16 trials that return at once over
``--startup-workers`` (8) processes, for each start method: ``spawn`` (each process imports
the interpreter's modules, spawn's re-import of the driver's main module, this one, which
imports hyperscout and NumPy as a user's script does, hyperscout's modules and the storage's
database driver, SQLAlchemy) and ``forkserver`` (imported once, in the server; each worker
process is forked from it). Also how soon the first trial ends and the search's wall time;
medians of ``--repeats``. Beside it, the parts' import costs (the CPU of
``python -c "import ..."`` in fresh processes, median of 5), of this tree and of
``--baseline``.

Run from the repository root::

    python -m benchmarks.processes                    # both, into docs/benchmarks/processes/
    python -m benchmarks.processes --only startup
    python -m benchmarks.processes --only startup --baseline ../old-checkout/src  # before/after
    python -m benchmarks.processes --quick            # smoke run, into a temporary folder
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import hyperscout as hs
from benchmarks.harness.folders import docs_folder, quick_folder, relative, write_json
from benchmarks.harness.machine import command_line, machine
from benchmarks.harness.markdown import md_table

NAME = "processes"


# -- objectives (module level: worker processes import them) --------------------------------
def reads_array(hp: hs.HyperParameters, trial: hs.RunningTrial, x: np.ndarray) -> float:
    """Reads one element of the search's argument ``x``; returns at once."""
    v = hp.Float("v", 0.0, 1.0)
    return float(x[0]) + v


def startup_probe(hp: hs.HyperParameters) -> dict[str, float]:
    """The CPU this process spent, and its age, when its objective runs."""
    v = hp.Float("v", 0.0, 1.0)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"loss": v, "pid": float(os.getpid()), "cpu": usage.ru_utime + usage.ru_stime}


class PerTrialProcessExecutor(hs.ProcessExecutor):
    """A ProcessExecutor that sends what a search shares with every trial (the default)."""

    def share(self, data: bytes) -> Any:
        return data


# -- arguments ------------------------------------------------------------------------------
def run_arguments(megabytes: float, trials: int, workers: int, repeats: int) -> dict[str, Any]:
    x = np.random.default_rng(0).random(int(megabytes * 1e6 / 8))
    results: dict[str, Any] = {}
    for label in ("once per worker process", "with every trial"):
        walls, cpus = [], []
        for _ in range(repeats):
            executor = (
                hs.ProcessExecutor(workers)
                if label == "once per worker process"
                else PerTrialProcessExecutor(workers)
            )
            with tempfile.TemporaryDirectory() as folder:
                tuner = hs.RandomSearch(
                    reads_array,
                    max_trials=trials,
                    seed=0,
                    verbose=0,
                    executor=executor,
                    storage=f"sqlite:///{folder}/study.db",
                    project_name="arguments",
                )
                cpu, wall = time.process_time(), time.perf_counter()
                tuner.search(x)
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
                assert len(tuner.trials) == trials
        results[label] = {
            "wall_s": statistics.median(walls),
            "driver_cpu_s": statistics.median(cpus),
            "walls": walls,
            "cpus": cpus,
        }
    return {
        "megabytes": x.nbytes / 1e6,
        "trials": trials,
        "workers": workers,
        "repeats": repeats,
        "results": results,
    }


def arguments_table(record: dict[str, Any]) -> str:
    trials = record["trials"]
    rows = []
    for label, r in record["results"].items():
        rows.append(
            [
                f"sent {label}",
                f"{r['wall_s']:.2f} s",
                f"{1000 * r['wall_s'] / trials:.0f} ms",
                f"{r['driver_cpu_s']:.2f} s",
                f"{1000 * r['driver_cpu_s'] / trials:.0f} ms",
            ]
        )
    header = [
        f"{record['megabytes']:.0f} MB argument, {trials} trials, {record['workers']} processes",
        "search (wall)",
        "per trial",
        "driver CPU",
        "per trial",
    ]
    return md_table(header, rows)


# -- start-up -------------------------------------------------------------------------------
#: What a fresh worker process loads, as Python statements, each timed in fresh processes.
IMPORTS = {
    "the interpreter alone": "pass",
    "import numpy": "import numpy",
    "import sqlalchemy": "import sqlalchemy",
    "import hyperscout": "import hyperscout",
    "import hyperscout + its SQL storage": "import hyperscout, hyperscout.storage.sql",
}


def import_cpu(runs: int = 5, baseline: Path | None = None) -> dict[str, dict[str, float]]:
    """The CPU (user + system) of ``python -c STATEMENT`` for each of :data:`IMPORTS`: median.

    CPU rather than wall time: a loaded machine stretches wall time, far less the CPU. With
    ``baseline`` (another checkout's ``src`` folder), its hyperscout is timed too, the two
    taking turns, so that both see the same load.
    """
    trees = {"this tree": Path(__file__).resolve().parents[1] / "src"}
    if baseline is not None:
        trees["baseline"] = baseline.resolve()
    found: dict[str, dict[str, list[float]]] = {t: {label: [] for label in IMPORTS} for t in trees}
    for run in range(runs + 1):  # the first round warms the page cache and is dropped
        for tree, src in trees.items():
            env = {**os.environ, "PYTHONPATH": str(src)}
            for label, statement in IMPORTS.items():
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                subprocess.run([sys.executable, "-c", statement], env=env, check=True)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                if run:
                    found[tree][label].append(cpu)
    return {
        tree: {label: statistics.median(cpus) for label, cpus in by_label.items()}
        for tree, by_label in found.items()
    }


def start_methods() -> list[str]:
    """The start methods ProcessExecutor offers on this system."""
    return [m for m in ("spawn", "forkserver") if m in multiprocessing.get_all_start_methods()]


def run_startup(
    workers: int, repeats: int, import_runs: int = 5, baseline: Path | None = None
) -> dict[str, Any]:
    """Per start method: a worker's CPU before its first objective, and how soon the first
    trial ends, in searches of ``2 * workers`` trials over ``workers`` processes."""
    methods: dict[str, Any] = {}
    for method in start_methods():
        cpus: list[float] = []
        first_results: list[float] = []
        walls: list[float] = []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as folder:
                tuner = hs.RandomSearch(
                    startup_probe,
                    objective="loss",
                    max_trials=2 * workers,
                    seed=0,
                    verbose=0,
                    executor=hs.ProcessExecutor(workers, start_method=method),
                    storage=f"sqlite:///{folder}/study.db",
                    project_name="startup",
                )
                started = time.time()
                tuner.search()
                walls.append(time.time() - started)
                first: dict[float, Any] = {}
                for trial in sorted(tuner.trials, key=lambda t: t.number):
                    first.setdefault(trial.metrics["pid"], trial)
                cpus.extend(t.metrics["cpu"] for t in first.values())
                ends = [t.finished_at for t in tuner.trials if t.finished_at is not None]
                first_results.append(min(ends) - started)
        methods[method] = {
            "worker_cpu_before_first_trial_s": statistics.median(cpus),
            "worker_cpus": cpus,
            "first_trial_done_after_s": statistics.median(first_results),
            "search_wall_s": statistics.median(walls),
        }
    return {
        "workers": workers,
        "trials": 2 * workers,
        "repeats": repeats,
        "start_methods": methods,
        "imports_cpu_s": import_cpu(import_runs, baseline),
    }


def startup_tables(record: dict[str, Any]) -> str:
    rows = [
        [
            f"`ProcessExecutor({record['workers']}, start_method={method!r})`",
            f"{r['worker_cpu_before_first_trial_s']:.2f} s",
            f"{r['first_trial_done_after_s']:.2f} s",
            f"{r['search_wall_s']:.2f} s",
        ]
        for method, r in record["start_methods"].items()
    ]
    header = [
        f"{record['trials']} trials that return at once, {record['workers']} processes",
        "a worker's CPU before its first objective",
        "first trial done after",
        "search (wall)",
    ]
    trees = list(record["imports_cpu_s"])
    imports = [
        [
            f"`python -c {statement!r}`",
            *(f"{record['imports_cpu_s'][t][label]:.2f} s" for t in trees),
        ]
        for label, statement in IMPORTS.items()
    ]
    return md_table(header, rows) + "\n\n" + md_table(["CPU of a fresh", *trees], imports)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["arguments", "startup"])
    parser.add_argument("--megabytes", type=float, default=50.0)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--startup-workers", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="a smoke run into a temporary folder")
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout's src folder: its import CPU is measured beside this tree's",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.megabytes, args.trials, args.repeats, import_runs = 1.0, 6, 1, 1
        args.startup_workers = 2
    else:
        import_runs = 5
    out = args.out or (quick_folder(NAME) if args.quick else docs_folder(NAME))
    out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    record: dict[str, Any] = {"machine": machine(), "command": command_line()}
    sections = []
    if args.only in (None, "arguments"):
        record["arguments"] = run_arguments(args.megabytes, args.trials, args.workers, args.repeats)
        sections.append(arguments_table(record["arguments"]))
    if args.only in (None, "startup"):
        record["startup"] = run_startup(
            args.startup_workers, args.repeats, import_runs, args.baseline
        )
        sections.append(startup_tables(record["startup"]))
    load_after = os.getloadavg()
    record["load_average"] = {"before": load[0], "after": load_after[0]}
    described = ", ".join(f"{k} {v}" for k, v in record["machine"].items())
    text = (
        "# Worker processes\n\n"
        + "\n\n".join(sections)
        + f"\n\nMeasured by `{record['command']}` on {time.strftime('%Y-%m-%d')}; machine: "
        + f"{described}; load average {load[0]:.1f} before, {load_after[0]:.1f} after.\n"
    )
    (out / "report.md").write_text(text)
    write_json(out / "results.json", record, indent=2)
    print(text)
    print(f"written: {relative(out / 'report.md')}")


if __name__ == "__main__":
    main()
