"""Sample efficiency: hyperscout's samplers beside Optuna, Hyperopt, scikit-optimize, KerasTuner.

Every method minimises every problem (``problems.py``) from the same seeds with the same budget
of trials. The report gives, per problem, the simple regret (best value found minus the known
optimum; for the real tuning tasks, the best 3-fold cross-validation error) at each budget; the
mean rank of each method across problems; hyperscout's default ``BayesianOptimization`` against
Optuna's ``GPSampler`` seed by seed; and the time each method spends proposing a trial, apart
from the objective (``methods.py`` says how each method is timed).

Install the peers in a virtualenv of their own, so that the project's stays clean::

    python3 -m venv /work/benchvenv
    /work/benchvenv/bin/pip install -e '.[bench]'

Run (from the repository root, with that virtualenv's python)::

    python benchmarks/sample_efficiency.py --quick        # smoke run: 2 problems, 15 trials
    python benchmarks/sample_efficiency.py                # all: 10 seeds, budgets 25,50,100
    python benchmarks/sample_efficiency.py --problems branin,mixed --methods hs-gp,optuna-gp
    python benchmarks/sample_efficiency.py --timing       # proposal time against trial count
    python benchmarks/sample_efficiency.py --report-only  # redraw the report from saved runs
    python benchmarks/sample_efficiency.py --list         # the problems and the methods

Each run goes to the largest budget once; the best so far is read at every smaller budget.
Results go to ``--out`` (default ``docs/benchmarks/sample_efficiency/``): one JSON file per
(problem, method, seed) under ``raw/`` (a rerun skips the runs already there; ``--force`` runs
them again), ``report.md`` (summarised in ``docs/benchmarks.md``; its image links are
relative to the report), and ``best_so_far.png``. ``--timing`` writes ``timing.md`` and
``proposal_time.png`` beside them, from runs under ``timing/raw/``.

A method whose library does not import (hyperscout's GP and TPE samplers or its
``BayesianOptimization`` preset while they are being written) is skipped with a note. Every
process runs single-threaded (``OMP_NUM_THREADS=1`` and friends unless already set), so that
proposal times compare like for like and ``--jobs 2`` does not oversubscribe two cores.

How long: the whole default run (9 problems x 9 methods x 10 seeds x 100 trials) takes about
10 hours on one core of a 2-core AMD EPYC, about 5 with ``--jobs 2``; KerasTuner (about 3.5 min
a run) and scikit-optimize (about 2 min a run) take most of it, hyperscout GP about 2.5 s a run
plus the objective. ``--methods`` without those two takes about 1.5 hours.

The modules beside this script: ``problems.py`` (the problems and each tuner's space
adapters), ``methods.py`` (one timed runner per method), ``efficiency_report.py`` (the
markdown report and the figures).
"""

from __future__ import annotations

import os

# Before NumPy, SciPy and torch start their thread pools.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("KERAS_BACKEND", "torch")

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from efficiency_report import (
    REPO,
    Results,
    cell_path,
    load_record,
    write_report,
    write_timing_report,
)
from methods import METHODS, warm_up
from problems import PROBLEMS

DEFAULT_OUT = REPO / "docs" / "benchmarks" / "sample_efficiency"
QUICK_OUT = Path(tempfile.gettempdir()) / "hyperscout-sample-efficiency-quick"
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
    cell.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = cell.path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(cell.path)  # a run killed mid-write leaves no half file behind
    return record


def run_cells(cells: Sequence[Cell], jobs: int) -> list[str]:
    """Run the cells (in a process pool when ``jobs > 1``); returns the failures' descriptions."""
    failures: list[str] = []
    total = len(cells)

    def done(i: int, cell: Cell, record: dict[str, Any] | None, error: str | None) -> None:
        label = f"[{i}/{total}] {cell.problem} {cell.method} seed {cell.seed}"
        if error is not None:
            failures.append(f"{cell.problem} {cell.method} seed {cell.seed}: {error}")
            print(f"{label}: FAILED\n{error}", flush=True)
            return
        assert record is not None
        best = PROBLEMS[cell.problem].score(min(record["values"]))
        print(f"{label}: best {best:.4g} in {record['wall_s']:.1f} s", flush=True)

    if jobs <= 1:
        for i, cell in enumerate(cells, 1):
            try:
                done(i, cell, run_cell(cell), None)
            except Exception:
                done(i, cell, None, traceback.format_exc())
        return failures
    # spawn: a clean interpreter per worker, safe beside torch's threads.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures: dict[Future[dict[str, Any]], Cell] = {pool.submit(run_cell, c): c for c in cells}
        for i, future in enumerate(as_completed(futures), 1):
            try:
                done(i, futures[future], future.result(), None)
            except Exception as exc:
                done(i, futures[future], None, "".join(traceback.format_exception(exc)))
    return failures


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
                if not force and is_finished(load_record(path), budget, initial):
                    finished += 1
                    continue
                todo.append(Cell(problem, method, seed, budget, initial, path))
    return todo, finished


# -- the command line ----------------------------------------------------------------------------
def split_names(text: str, known: dict[str, Any], kind: str) -> list[str]:
    if text == "all":
        return list(known)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"Unknown {kind}: {', '.join(unknown)}. Known: {', '.join(known)}.")
    return names


def available(methods: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The methods that import here, and why each other one was skipped (printed)."""
    keep, skipped = [], {}
    for name in methods:
        why = METHODS[name].unavailable()
        if why is None:
            keep.append(name)
        else:
            skipped[name] = why
            print(f"note: skipping {name} ({METHODS[name].label}): {why}", flush=True)
    return keep, skipped


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
    parser.add_argument(
        "--jobs", type=int, default=1, help="runs at once, in processes (default 1)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help=f"results folder (default {DEFAULT_OUT.relative_to(REPO)}; --quick: {QUICK_OUT})",
    )
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
    parser.add_argument("--force", action="store_true", help="rerun runs already saved")
    parser.add_argument("--report-only", action="store_true", help="run nothing; redraw")
    parser.add_argument("--quick", action="store_true", help="a smoke run of every adapter")
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
    if args.out is None:
        args.out = QUICK_OUT if args.quick else DEFAULT_OUT
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
    raw = args.out / "timing" / "raw"
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
    methods, skipped = available(split_names(args.methods, METHODS, "methods"))
    args.out.mkdir(parents=True, exist_ok=True)
    if args.timing:
        return main_timing(args, methods, skipped)
    raw = args.out / "raw"
    budget = max(args.budgets)
    failures: list[str] = []
    if not args.report_only:
        todo, finished = plan(
            raw, problems, methods, args.seeds, budget, args.initial_points, args.force
        )
        print(f"{len(todo)} runs to do, {finished} already saved, in {args.out}", flush=True)
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
