"""Multi-fidelity: hyperscout's early-stopping family beside Optuna and KerasTuner, in epochs.

Every method tunes every task (``tasks.py``) from the same seeds with the same total
budget of epochs: full-budget ``RandomSearch`` and ``BayesianOptimization``,
``SuccessiveHalving``, ``Hyperband``, ASHA and ``BOHB`` from hyperscout, Optuna's TPE with its
``HyperbandPruner`` and KerasTuner's Hyperband (``methods.py`` says how each is run). The
budget is epochs actually trained: a configuration promoted to a higher rung restores its
checkpoint and trains only the epochs it lacks. The report (``report.py``) gives, per task,
anytime curves of the best full-budget validation loss against the epochs spent (median and
quartiles over seeds), the best loss at 10, 25, 50 and 100% of the budget, the Hyperband
paper's speedup against full-budget BayesianOptimization, and pass/fail lines for the targets.

Install the peers in a virtualenv of their own (see ``benchmarks/sample_efficiency/run.py``);
run from the repository root with that virtualenv's python::

    python -m benchmarks.multi_fidelity.run --quick            # smoke run: 2 seeds, 8 x 27 epochs
    python -m benchmarks.multi_fidelity.run --tasks mf2 --jobs 2   # the mf2 functions only
    python -m benchmarks.multi_fidelity.run --jobs 2           # all: 10 seeds, 40 x 27 epochs
    python -m benchmarks.multi_fidelity.run --tasks mlp-digits,synth-rho0.7 \
        --methods hs-hyperband,hs-bo
    python -m benchmarks.multi_fidelity.run --max-epochs 81    # four halvings: multi_fidelity_81/
    python -m benchmarks.multi_fidelity.run --report-only      # redraw the report from saved runs
    python -m benchmarks.multi_fidelity.run --list             # the tasks and the methods

Tasks: ``mlp-digits`` (scikit-learn ``MLPClassifier``, ``partial_fit``), ``torch-digits`` (a
PyTorch MLP), ``synth-rho<r>`` for any correlation ``0 < r <= 1`` between the budget-1 and
full-budget losses (default ``synth-rho0.9`` and ``synth-rho0.5``), and the ``mf2`` package's
multi-fidelity functions (``mf2-hartmann6``, ``mf2-borehole``, ``mf2-park91a``, ``mf2-currin``,
the adjustable ``mf2-hartmann3-a<a>`` and ``mf2-branin-a<a>``, ...; ``tasks.py`` says how the
budget maps to fidelity). ``--tasks all`` runs all of them (the mf2 ones when ``mf2`` is
installed), ``--tasks mf2`` the mf2 ones, ``--tasks default`` the first four.

Peers: Optuna TPE with ``HyperbandPruner`` and with ``SuccessiveHalvingPruner``, KerasTuner's
Hyperband, DEHB and SMAC3's multi-fidelity facade (``peers.py``: their ask/tell forms).

``--max-epochs N`` (default 27: three halvings with factor 3; the Hyperband paper's 81 has
four) is every task's full budget: the budget of a full-budget trial, the top rung of every
method (hyperscout's presets, Optuna's ``HyperbandPruner(max_resource=N)``, KerasTuner's
``max_epochs``), the synthetic task's fidelity schedule, and the unit of ``--total-budget``
(full trainings of N epochs).

Raw runs go to ``--results`` (default ``benchmarks/results/multi_fidelity/``, or
``benchmarks/results/multi_fidelity_<N>/`` when ``--max-epochs`` is not 27; git-ignored): one
JSON file per (task, method, seed) (a rerun skips the runs already there with the same total
budget and max epochs; ``--force`` runs them again; a run into a folder holding records of
another max epochs stops before it starts, so one folder never mixes two). The report goes to
``--out`` (default ``docs/benchmarks/multi_fidelity/``, or ``multi_fidelity_<N>/``):
``report.md`` (summarised in ``docs/benchmarks.md``; image links relative to the report) and
``anytime_<task>.png``. ``--quick`` writes both into a temporary folder. Every process runs
single-threaded (``OMP_NUM_THREADS=1`` and friends unless already set; torch one thread), so
``--jobs 2`` does not oversubscribe two cores.
"""

# ruff: noqa: E402 (the thread variables are set before NumPy is first imported)
from __future__ import annotations

from benchmarks.harness.machine import single_thread

single_thread()  # before NumPy, SciPy and torch start their thread pools

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.harness.cli import add_run_arguments, available, resolve_folders, split_names
from benchmarks.harness.folders import cell_path, read_json, write_json
from benchmarks.harness.pool import run_all
from benchmarks.multi_fidelity.methods import METHODS
from benchmarks.multi_fidelity.report import Results, write_report
from benchmarks.multi_fidelity.tasks import (
    DEFAULT_TASKS,
    MAX_EPOCHS,
    MF2_TASKS,
    MIN_MAX_EPOCHS,
    BudgetExhausted,
    BudgetMeter,
    get_task,
)

NAME = "multi_fidelity"
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


def folder_name(max_epochs: int) -> str:
    """The benchmark's folder name: runs of another full budget than 27 epochs go to folders of
    their own (``multi_fidelity_81``), so that they never meet the default runs."""
    return NAME if max_epochs == MAX_EPOCHS else f"{NAME}_{max_epochs}"


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
        record = read_json(path)
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
    write_json(cell.path, record)
    return record


def run_cells(cells: Sequence[Cell], jobs: int) -> list[str]:
    """Run the cells (in a process pool when ``jobs > 1``); returns the failures' descriptions."""

    def describe(cell: Cell, record: dict[str, Any]) -> str:
        task = get_task(cell.task, cell.max_epochs)
        full = [e[1] for e in record["events"] if e[1] is not None]
        best = f"{task.score(min(full)):.4g}" if full else "none"
        return (
            f"best {best} after {record['spent']} epochs "
            f"({record['stopped_by']}) in {record['wall_s']:.1f} s"
        )

    return run_all(run_cell, cells, jobs, lambda c: f"{c.task} {c.method} seed {c.seed}", describe)


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
                record = read_json(path)
                if not force and is_current(record, total, max_epochs):
                    finished += 1
                    continue
                todo.append(Cell(task, method, seed, total, path, max_epochs))
    return todo, finished


# -- the command line ------------------------------------------------------------------------------
def mf2_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("mf2") is not None


def split_tasks(text: str) -> list[str]:
    """Comma-separated task names; ``all``, ``default`` and ``mf2`` stand for groups."""
    groups = {
        "default": list(DEFAULT_TASKS),
        "mf2": list(MF2_TASKS),
        "all": list(DEFAULT_TASKS) + (list(MF2_TASKS) if mf2_installed() else []),
    }
    names: list[str] = []
    for name in (n.strip() for n in text.split(",") if n.strip()):
        names += [t for t in groups.get(name, [name]) if t not in names]
    return names


def check_tasks(names: Sequence[str], max_epochs: int = MAX_EPOCHS) -> None:
    for name in names:
        try:
            get_task(name, max_epochs)
        except ValueError as exc:
            raise SystemExit(str(exc)) from None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Multi-fidelity tuning at equal total budgets of epochs: hyperscout's "
        "successive halving, Hyperband, ASHA and BOHB against full-budget random search and "
        "BayesianOptimization, Optuna TPE + HyperbandPruner and KerasTuner Hyperband.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="tasks:   "
        + ", ".join(DEFAULT_TASKS)
        + " (synth-rho<r>: any 0 < r <= 1), "
        + ", ".join(MF2_TASKS)
        + " (mf2-<function>-a<a>: any a)\nmethods: "
        + ", ".join(METHODS),
    )
    parser.add_argument(
        "--tasks",
        default="all",
        help="comma-separated task names or groups: default ("
        + ",".join(DEFAULT_TASKS)
        + "), mf2 ("
        + ",".join(MF2_TASKS)
        + "), all (both; default)",
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
    add_run_arguments(parser, NAME)
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
    resolve_folders(args, folder_name(args.max_epochs))
    return args


def list_everything() -> None:
    print("tasks:")
    for name in DEFAULT_TASKS:
        print(f"  {name:20s} {get_task(name).title}")
    print(f"  {'synth-rho<r>':20s} the synthetic task with any correlation 0 < r <= 1")
    for name in MF2_TASKS:
        title = get_task(name).title if mf2_installed() else "[unavailable: mf2 not installed]"
        print(f"  {name:20s} {title}")
    print("methods:")
    for m in METHODS.values():
        why = m.unavailable()
        print(f"  {m.name:16s} {m.label}" + (f"  [unavailable: {why}]" if why else ""))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        list_everything()
        return 0
    # Any synth-rho<r> is a task: names are checked by building them, not against a list.
    tasks = split_tasks(args.tasks)
    check_tasks(tasks, args.max_epochs)
    methods, skipped = available(split_names(args.methods, METHODS, "methods"), METHODS)
    max_epochs = args.max_epochs
    total = args.total_budget * max_epochs
    raw = args.results
    if not args.report_only:
        others = other_max_epochs(raw, max_epochs)
        if others:
            found = ", ".join(f"{n} with max_epochs {e}" for e, n in sorted(others.items()))
            raise SystemExit(
                f"{raw} holds records of another full budget ({found}); this run has "
                f"--max-epochs {max_epochs}. Give another --results (or leave --results out: its "
                "default depends on --max-epochs) so that one folder never mixes the two."
            )
    args.out.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    wall = None
    if not args.report_only:
        todo, finished = plan(raw, tasks, methods, args.seeds, total, args.force, max_epochs)
        print(
            f"{len(todo)} runs to do, {finished} already saved, {total} epochs each "
            f"({args.total_budget} x {max_epochs}), in {raw}",
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
