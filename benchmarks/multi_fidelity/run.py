"""Multi-fidelity: hyperscout's early-stopping family beside Optuna and KerasTuner, in epochs.

Every method tunes every task (``mf_tasks.py``) from the same seeds with the same total
budget of epochs: full-budget ``RandomSearch`` and ``BayesianOptimization``,
``SuccessiveHalving``, ``Hyperband``, ASHA and ``BOHB`` from hyperscout, Optuna's TPE with its
``HyperbandPruner`` and KerasTuner's Hyperband (``mf_methods.py`` says how each is run). The
budget is epochs actually trained: a configuration promoted to a higher rung restores its
checkpoint and trains only the epochs it lacks. The report (``mf_report.py``) gives, per task,
anytime curves of the best full-budget validation loss against the epochs spent (median and
quartiles over seeds), the best loss at 10, 25, 50 and 100% of the budget, the Hyperband
paper's speedup against full-budget BayesianOptimization, and pass/fail lines for the targets.

Install the peers in a virtualenv of their own (see ``sample_efficiency.py``); run from the
repository root with that virtualenv's python::

    python benchmarks/multi_fidelity.py --quick            # smoke run: 2 seeds, 8 x 27 epochs
    python benchmarks/multi_fidelity.py --jobs 2           # all: 10 seeds, 40 x 27 epochs
    python benchmarks/multi_fidelity.py --tasks mlp-digits,synth-rho0.7 --methods hs-hyperband,hs-bo
    python benchmarks/multi_fidelity.py --max-epochs 81    # four halvings, in multi_fidelity_81/
    python benchmarks/multi_fidelity.py --report-only      # redraw the report from saved runs
    python benchmarks/multi_fidelity.py --list             # the tasks and the methods

Tasks: ``mlp-digits`` (scikit-learn ``MLPClassifier``, ``partial_fit``), ``torch-digits`` (a
PyTorch MLP), ``synth-rho<r>`` for any correlation ``0 < r <= 1`` between the budget-1 and
full-budget losses (default ``synth-rho0.9`` and ``synth-rho0.5``).

``--max-epochs N`` (default 27: three halvings with factor 3; the Hyperband paper's 81 has
four) is every task's full budget: the budget of a full-budget trial, the top rung of every
method (hyperscout's presets, Optuna's ``HyperbandPruner(max_resource=N)``, KerasTuner's
``max_epochs``), the synthetic task's fidelity schedule, and the unit of ``--total-budget``
(full trainings of N epochs).

Results go to ``--out`` (default ``docs/benchmarks/multi_fidelity/``, or
``docs/benchmarks/multi_fidelity_<N>/`` when ``--max-epochs`` is not 27): one JSON file per
(task, method, seed) under ``raw/`` (a rerun skips the runs already there with the same total
budget and max epochs; ``--force`` runs them again; a run into a folder holding records of
another max epochs stops before it starts, so one folder never mixes two), ``report.md``
(summarised in ``docs/benchmarks.md``) (image links relative to the report), and
``anytime_<task>.png``. Every process runs
single-threaded (``OMP_NUM_THREADS=1`` and friends unless already set; torch one thread), so
``--jobs 2`` does not oversubscribe two cores.
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
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from efficiency_report import REPO
from mf_methods import METHODS
from mf_report import Results, cell_path, load_record, write_report
from mf_tasks import (
    DEFAULT_TASKS,
    MAX_EPOCHS,
    MIN_MAX_EPOCHS,
    BudgetExhausted,
    BudgetMeter,
    get_task,
)

DEFAULT_OUT = REPO / "docs" / "benchmarks" / "multi_fidelity"
QUICK_OUT = Path(tempfile.gettempdir()) / "hyperscout-multi-fidelity-quick"
DEFAULT_MULTIPLIER = 40  # 40 x 27 = 1,080 epochs: three Hyperband iterations (357 each)
QUICK_MULTIPLIER = 8
# Bump when a task or a method changes what a run measures: saved runs of another version
# are run again.
RECORD_VERSION = 1


# -- one run ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    task: str
    method: str
    seed: int
    total: int
    path: Path
    max_epochs: int = MAX_EPOCHS


def default_out(max_epochs: int, quick: bool) -> Path:
    """The results folder: runs of another full budget than 27 epochs go to a folder of their
    own (``multi_fidelity_81``), so that they never meet the default runs."""
    if max_epochs == MAX_EPOCHS:
        return QUICK_OUT if quick else DEFAULT_OUT
    base = QUICK_OUT if quick else DEFAULT_OUT
    return base.with_name(f"{base.name}_{max_epochs}")


def is_current(record: dict[str, Any] | None, total: int, max_epochs: int = MAX_EPOCHS) -> bool:
    """A saved run serves when it has this budget, this full budget (``max_epochs``) and this
    version of the benchmark."""
    return (
        record is not None
        and record.get("total_budget") == total
        and record.get("max_epochs") == max_epochs
        and record.get("version") == RECORD_VERSION
    )


def other_max_epochs(raw: Path, max_epochs: int) -> dict[int, int]:
    """How many saved records under ``raw`` have each full budget other than ``max_epochs``."""
    found: dict[int, int] = {}
    for path in sorted(raw.glob("*/*/seed*.json")):
        record = load_record(path)
        if record is None or record.get("max_epochs") == max_epochs:
            continue
        other = record.get("max_epochs")
        key = other if isinstance(other, int) else -1
        found[key] = found.get(key, 0) + 1
    return found


def run_cell(cell: Cell) -> dict[str, Any]:
    """Run one (task, method, seed) until its budget is spent and save it (in a worker)."""
    task = get_task(cell.task, cell.max_epochs)
    method = METHODS[cell.method]
    task.warm_up()
    meter = BudgetMeter(cell.total, task.max_epochs)
    with tempfile.TemporaryDirectory(prefix="hs-mf-") as folder:
        started = time.perf_counter()
        try:
            method.run(task, cell.seed, meter, Path(folder))
            stopped_by = "strategy"  # it ran out of work before the budget
        except BudgetExhausted:
            stopped_by = "budget"
        wall = time.perf_counter() - started
    record = {
        "version": RECORD_VERSION,
        "task": cell.task,
        "method": cell.method,
        "seed": cell.seed,
        "total_budget": cell.total,
        "max_epochs": task.max_epochs,
        "spent": meter.spent,
        "stopped_by": stopped_by,
        "models": meter.models,
        "continued": meter.continued,
        "completed": meter.completed,
        "wall_s": round(wall, 3),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "events": [list(e) for e in meter.events],
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
        label = f"[{i}/{total}] {cell.task} {cell.method} seed {cell.seed}"
        if error is not None:
            failures.append(f"{cell.task} {cell.method} seed {cell.seed}: {error}")
            print(f"{label}: FAILED\n{error}", flush=True)
            return
        assert record is not None
        task = get_task(cell.task, cell.max_epochs)
        full = [e[1] for e in record["events"] if e[1] is not None]
        best = f"{task.score(min(full)):.4g}" if full else "none"
        print(
            f"{label}: best {best} after {record['spent']} epochs "
            f"({record['stopped_by']}) in {record['wall_s']:.1f} s",
            flush=True,
        )

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
    tasks: Sequence[str],
    methods: Sequence[str],
    seeds: int,
    total: int,
    force: bool,
    max_epochs: int = MAX_EPOCHS,
) -> tuple[list[Cell], int]:
    """The cells still to run, and how many were already finished."""
    todo: list[Cell] = []
    finished = 0
    for seed in range(seeds):  # seed-major: an interrupted run has every method on seed 0
        for task in tasks:
            for method in methods:
                path = cell_path(raw, task, method, seed)
                record = load_record(path)
                if not force and is_current(record, total, max_epochs):
                    finished += 1
                    continue
                todo.append(Cell(task, method, seed, total, path, max_epochs))
    return todo, finished


# -- the command line ------------------------------------------------------------------------------
def split_names(text: str, known: Sequence[str]) -> list[str]:
    if text == "all":
        return list(known)
    return [n.strip() for n in text.split(",") if n.strip()]


def check_tasks(names: Sequence[str], max_epochs: int = MAX_EPOCHS) -> None:
    for name in names:
        try:
            get_task(name, max_epochs)
        except ValueError as exc:
            raise SystemExit(str(exc)) from None


def available(methods: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The methods that import here, and why each other one was skipped (printed)."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise SystemExit(f"Unknown methods: {', '.join(unknown)}. Known: {', '.join(METHODS)}.")
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
        description="Multi-fidelity tuning at equal total budgets of epochs: hyperscout's "
        "successive halving, Hyperband, ASHA and BOHB against full-budget random search and "
        "BayesianOptimization, Optuna TPE + HyperbandPruner and KerasTuner Hyperband.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="tasks:   "
        + ", ".join(DEFAULT_TASKS)
        + " (synth-rho<r>: any 0 < r <= 1)\nmethods: "
        + ", ".join(METHODS),
    )
    parser.add_argument(
        "--tasks",
        default="all",
        help=f"comma-separated task names, or all (default: {','.join(DEFAULT_TASKS)})",
    )
    parser.add_argument(
        "--methods", default="all", help="comma-separated method names, or all (default: all)"
    )
    parser.add_argument(
        "--seeds", type=int, help="seeds 0..N-1 per (task, method) (default 10; --quick: 2)"
    )
    parser.add_argument(
        "--max-epochs",
        type=int,
        default=MAX_EPOCHS,
        help=f"every task's full budget in epochs, the methods' top rung (default {MAX_EPOCHS}: "
        "three halvings with factor 3; 81: four)",
    )
    parser.add_argument(
        "--total-budget",
        type=int,
        help="each run's budget in full-budget trainings of --max-epochs epochs (default "
        f"{DEFAULT_MULTIPLIER}, i.e. {DEFAULT_MULTIPLIER * MAX_EPOCHS} epochs at "
        f"{MAX_EPOCHS}; --quick: {QUICK_MULTIPLIER})",
    )
    parser.add_argument("--jobs", type=int, default=1, help="runs at once, in processes")
    parser.add_argument(
        "--out",
        type=Path,
        help=f"results folder (default {DEFAULT_OUT.relative_to(REPO)}, or "
        f"{DEFAULT_OUT.relative_to(REPO)}_<N> with --max-epochs N other than {MAX_EPOCHS}; "
        f"--quick: {QUICK_OUT}, or {QUICK_OUT}_<N>)",
    )
    parser.add_argument("--force", action="store_true", help="rerun runs already saved")
    parser.add_argument("--report-only", action="store_true", help="run nothing; redraw")
    parser.add_argument("--quick", action="store_true", help="a smoke run of every method")
    parser.add_argument("--list", action="store_true", help="list tasks and methods")
    args = parser.parse_args(argv)
    if args.seeds is None:
        args.seeds = 2 if args.quick else 10
    if args.total_budget is None:
        args.total_budget = QUICK_MULTIPLIER if args.quick else DEFAULT_MULTIPLIER
    if args.seeds < 1 or args.jobs < 1 or args.total_budget < 1:
        parser.error("--seeds, --jobs and --total-budget must be >= 1")
    if args.max_epochs < MIN_MAX_EPOCHS:
        parser.error(f"--max-epochs must be >= {MIN_MAX_EPOCHS}, got {args.max_epochs}")
    if args.out is None:
        args.out = default_out(args.max_epochs, args.quick)
    return args


def list_everything() -> None:
    print("tasks:")
    for name in DEFAULT_TASKS:
        print(f"  {name:16s} {get_task(name).title}")
    print("  synth-rho<r>     the synthetic task with any correlation 0 < r <= 1")
    print("methods:")
    for m in METHODS.values():
        why = m.unavailable()
        print(f"  {m.name:16s} {m.label}" + (f"  [unavailable: {why}]" if why else ""))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        list_everything()
        return 0
    tasks = split_names(args.tasks, DEFAULT_TASKS)
    check_tasks(tasks, args.max_epochs)
    methods, skipped = available(split_names(args.methods, list(METHODS)))
    max_epochs = args.max_epochs
    total = args.total_budget * max_epochs
    raw = args.out / "raw"
    if not args.report_only:
        others = other_max_epochs(raw, max_epochs)
        if others:
            found = ", ".join(f"{n} with max_epochs {e}" for e, n in sorted(others.items()))
            raise SystemExit(
                f"{raw} holds records of another full budget ({found}); this run has "
                f"--max-epochs {max_epochs}. Give another --out (or leave --out out: its "
                "default depends on --max-epochs) so that one folder never mixes the two."
            )
    args.out.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    wall = None
    if not args.report_only:
        todo, finished = plan(raw, tasks, methods, args.seeds, total, args.force, max_epochs)
        print(
            f"{len(todo)} runs to do, {finished} already saved, {total} epochs each "
            f"({args.total_budget} x {max_epochs}), in {args.out}",
            flush=True,
        )
        started = time.perf_counter()
        failures = run_cells(todo, args.jobs)
        wall = time.perf_counter() - started
        print(f"runs took {wall:.0f} s", flush=True)
    results = Results(raw, tasks, methods, args.seeds, total, RECORD_VERSION, max_epochs)
    report = write_report(args.out, results, skipped, wall)
    print(f"wrote {report} and the anytime_<task>.png figures beside it")
    if failures:
        print(f"{len(failures)} run(s) failed:", *failures, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
