"""Sample efficiency: hyperscout's samplers beside Optuna, Hyperopt, scikit-optimize, KerasTuner.

Every method minimises every problem (``problems.py``) from the same seeds with the same budget
of trials. The report gives, per problem, the simple regret (best value found minus the known
optimum; for the real tuning tasks, the best 3-fold cross-validation error) at each budget; the
mean rank of each method across problems; hyperscout's default ``BayesianOptimization`` against
Optuna's ``GPSampler`` seed by seed; and the time each method spends proposing a trial, apart
from the objective (``methods.py`` says how each method is timed).

Install the peers in a virtualenv of their own, so that the project's stays clean::

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -e '.[bench]'

Run (from the repository root, with that virtualenv's python)::

    python -m benchmarks.sample_efficiency.run --quick        # smoke run: 2 problems, 15 trials
    python -m benchmarks.sample_efficiency.run                # all: 10 seeds, budgets 25,50,100
    python -m benchmarks.sample_efficiency.run --problems branin,mixed --methods hs-gp,optuna-gp
    python -m benchmarks.sample_efficiency.run --timing       # proposal time against trial count
    python -m benchmarks.sample_efficiency.run --report-only  # redraw the report from saved runs
    python -m benchmarks.sample_efficiency.run --list         # the problems and the methods

Each run goes to the largest budget once; the best so far is read at every smaller budget.
Raw runs go to ``--results`` (default ``benchmarks/results/sample_efficiency/``, git-ignored):
one JSON file per (problem, method, seed) (a rerun skips the runs already there; ``--force``
runs them again). The report goes to ``--out`` (default ``docs/benchmarks/sample_efficiency/``):
``report.md`` (summarised in ``docs/benchmarks.md``; its image links are relative to the
report) and ``best_so_far.png``. ``--timing`` writes ``timing.md`` and ``proposal_time.png``
beside them, from runs under ``benchmarks/results/sample_efficiency_timing/``. ``--quick``
writes both into a temporary folder (``--out`` and ``--out``/raw) unless given folders.

A method whose library does not import (hyperscout's GP and TPE samplers or its
``BayesianOptimization`` preset while they are being written) is skipped with a note. Every
process runs single-threaded (``OMP_NUM_THREADS=1`` and friends unless already set), so that
proposal times compare like for like and ``--jobs 2`` does not oversubscribe two cores.

How long: the whole default run (9 problems x 9 methods x 10 seeds x 100 trials) takes about
10 hours on one core of a 2-core AMD EPYC, about 5 with ``--jobs 2``; KerasTuner (about 3.5 min
a run) and scikit-optimize (about 2 min a run) take most of it, hyperscout GP about 2.5 s a run
plus the objective. ``--methods`` without those two takes about 1.5 hours.

The modules beside this script: ``problems.py`` (the problems; each tuner's space adapters
are in ``benchmarks/harness/space.py``), ``methods.py`` (one timed runner per method),
``report.py`` (the markdown report and the figures).
"""

# ruff: noqa: E402 (the thread variables are set before NumPy is first imported)
from __future__ import annotations

from benchmarks.harness.machine import single_thread

single_thread()  # before NumPy, SciPy and torch start their thread pools

import argparse
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.harness.cli import add_run_arguments, available, resolve_folders, split_names
from benchmarks.harness.folders import (
    cell_path,
    quick_folder,
    read_json,
    results_folder,
    write_json,
)
from benchmarks.harness.pool import run_all
from benchmarks.sample_efficiency.methods import METHODS, warm_up
from benchmarks.sample_efficiency.problems import PROBLEMS
from benchmarks.sample_efficiency.report import Results, write_report, write_timing_report

NAME = "sample_efficiency"
TIMING_NAME = "sample_efficiency_timing"
# --timing: GP methods on Hartmann-6 up to 200 trials, TPE methods on Ackley-5 up to 1,000.
TIMING_SWEEPS = {
    "gp": ("hartmann6", 200, (25, 50, 100, 150, 200)),
    "tpe": ("ackley5", 1000, (100, 250, 500, 750, 1000)),
}
# --timing --quick: the same sweeps, short, to check that they run.
QUICK_TIMING_SWEEPS = {
    "gp": ("hartmann6", 20, (10, 20)),
    "tpe": ("ackley5", 40, (20, 40)),
}


# -- one run -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    problem: str
    method: str
    seed: int
    budget: int
    initial: int | None
    path: Path


def is_finished(record: dict[str, Any] | None, budget: int, initial: int | None) -> bool:
    """A saved run serves when it went at least as far, with the same initial points."""
    return (
        record is not None
        and len(record.get("values", ())) >= budget
        and record.get("initial_points") == initial
    )


def run_cell(cell: Cell) -> dict[str, Any]:
    """Run one (problem, method, seed) to its budget and save it; runs in a worker process."""
    problem = PROBLEMS[cell.problem]
    method = METHODS[cell.method]
    warm_up(problem)
    started = time.perf_counter()
    result = method.run(problem, cell.seed, cell.budget, cell.initial)
    wall = time.perf_counter() - started
    if len(result.values) != cell.budget:
        raise RuntimeError(f"{cell.method} ran {len(result.values)} trials, not {cell.budget}.")
    record = {
        "problem": cell.problem,
        "method": cell.method,
        "seed": cell.seed,
        "budget": cell.budget,
        "initial_points": cell.initial,
        "optimum": problem.optimum,
        "wall_s": round(wall, 4),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "values": result.values,
        "propose_s": [round(t, 7) for t in result.propose_s],
        "gap_s": [round(t, 7) for t in result.gap_s],
        "eval_s": [round(t, 7) for t in result.eval_s],
    }
    write_json(cell.path, record)
    return record


def run_cells(cells: Sequence[Cell], jobs: int) -> list[str]:
    """Run the cells (in a process pool when ``jobs > 1``); returns the failures' descriptions."""

    def describe(cell: Cell, record: dict[str, Any]) -> str:
        best = PROBLEMS[cell.problem].score(min(record["values"]))
        return f"best {best:.4g} in {record['wall_s']:.1f} s"

    return run_all(
        run_cell, cells, jobs, lambda c: f"{c.problem} {c.method} seed {c.seed}", describe
    )


def plan(
    raw: Path,
    problems: Iterable[str],
    methods: Iterable[str],
    seeds: int,
    budget: int,
    initial: int | None,
    force: bool,
) -> tuple[list[Cell], int]:
    """The cells still to run, and how many were already finished."""
    todo: list[Cell] = []
    finished = 0
    for problem in problems:
        for method in methods:
            for seed in range(seeds):
                path = cell_path(raw, problem, method, seed)
                if not force and is_finished(read_json(path), budget, initial):
                    finished += 1
                    continue
                todo.append(Cell(problem, method, seed, budget, initial, path))
    return todo, finished


# -- the command line ----------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Sample efficiency of hyperscout's samplers beside Optuna, Hyperopt, "
        "scikit-optimize and KerasTuner, on the same problems, budgets and seeds.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="problems: " + ", ".join(PROBLEMS) + "\nmethods:  " + ", ".join(METHODS),
    )
    parser.add_argument(
        "--problems",
        help="comma-separated problem names, or all (default: all; --quick: branin,mixed)",
    )
    parser.add_argument(
        "--methods", default="all", help="comma-separated method names, or all (default: all)"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        help="seeds 0..N-1 per (problem, method) (default 10; --quick and --timing: 2)",
    )
    parser.add_argument(
        "--budgets",
        help="trial budgets to report, comma-separated; runs go to the largest "
        "(default 25,50,100; --quick: 10,15)",
    )
    add_run_arguments(parser, NAME)
    parser.add_argument(
        "--initial-points",
        type=int,
        help="initial random or space-filling trials for every "
        "method (default: each method's own; --quick: 5)",
    )
    parser.add_argument(
        "--win-budget",
        type=int,
        default=50,
        help="budget of the hyperscout-vs-Optuna-GP win counts (default 50, at most the largest)",
    )
    parser.add_argument(
        "--timing",
        action="store_true",
        help="proposal time against trial count: GP methods "
        "on Hartmann-6 to 200 trials, TPE methods on Ackley-5 to 1,000",
    )
    parser.add_argument("--list", action="store_true", help="list problems and methods")
    args = parser.parse_args(argv)
    if args.problems is None:
        args.problems = "branin,mixed" if args.quick else "all"
    if args.seeds is None:
        args.seeds = 2 if args.quick or args.timing else 10
    if args.budgets is None:
        args.budgets = "10,15" if args.quick else "25,50,100"
    if args.results is None and args.timing:  # the sweeps keep their runs apart
        quick_out = args.out or quick_folder(NAME)
        args.results = quick_out / "raw-timing" if args.quick else results_folder(TIMING_NAME)
    resolve_folders(args, NAME)
    if args.initial_points is None and args.quick:
        args.initial_points = 5  # so that every model-based method fits a model in 15 trials
    try:
        args.budgets = sorted({int(b) for b in args.budgets.split(",")})
    except ValueError:
        parser.error(f"--budgets: expected integers separated by commas, got {args.budgets!r}")
    if min(args.budgets) < 1 or args.seeds < 1 or args.jobs < 1:
        parser.error("--budgets, --seeds and --jobs must be >= 1")
    return args


def list_everything() -> None:
    print("problems:")
    for p in PROBLEMS.values():
        print(f"  {p.name:18s} {p.title}")
    print("methods:")
    for m in METHODS.values():
        why = m.unavailable()
        print(f"  {m.name:14s} {m.label}" + (f"  [unavailable: {why}]" if why else ""))


def main_timing(args: argparse.Namespace, methods: Sequence[str], skipped: dict[str, str]) -> int:
    raw = args.results
    failures: list[str] = []
    sweeps: list[tuple[str, Results, tuple[int, ...]]] = []
    sweep_plan = QUICK_TIMING_SWEEPS if args.quick else TIMING_SWEEPS
    for family, (problem, budget, centres) in sweep_plan.items():
        chosen = [m for m in methods if METHODS[m].family == family]
        if not chosen:
            continue
        if not args.report_only:
            todo, finished = plan(
                raw, [problem], chosen, args.seeds, budget, args.initial_points, args.force
            )
            print(f"timing {family}: {len(todo)} runs to do, {finished} already saved", flush=True)
            failures += run_cells(todo, args.jobs)
        results = Results(raw, [problem], chosen, args.seeds)
        title = f"{family.upper()} methods on {PROBLEMS[problem].title}, {budget} trials"
        sweeps.append((title, results, centres))
    report = write_timing_report(args.out, sweeps, args.seeds, skipped)
    print(f"wrote {report} and {args.out / 'proposal_time.png'}")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        list_everything()
        return 0
    problems = split_names(args.problems, PROBLEMS, "problems")
    methods, skipped = available(split_names(args.methods, METHODS, "methods"), METHODS)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.timing:
        return main_timing(args, methods, skipped)
    raw = args.results
    budget = max(args.budgets)
    failures: list[str] = []
    if not args.report_only:
        todo, finished = plan(
            raw, problems, methods, args.seeds, budget, args.initial_points, args.force
        )
        print(f"{len(todo)} runs to do, {finished} already saved, in {raw}", flush=True)
        started = time.perf_counter()
        failures = run_cells(todo, args.jobs)
        print(f"runs took {time.perf_counter() - started:.0f} s", flush=True)
    results = Results(raw, problems, methods, args.seeds)
    win_budget = min(args.win_budget, budget)
    report = write_report(args.out, results, args.budgets, args.initial_points, win_budget, skipped)
    print(f"wrote {report} and {args.out / 'best_so_far.png'}")
    if failures:
        print(f"{len(failures)} run(s) failed:", *failures, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
