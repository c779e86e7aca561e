"""Multi-fidelity tuning with N simulated workers: best-so-far against simulated wall-clock.

Every method (``simulate.SIM_METHODS``) tunes every task (``tasks.py``) with ``N`` workers
(default 1, 4 and 16) in the event-driven simulator of ``simulate.py``: one epoch takes one
unit of simulated time, ``N`` trials train at once, a promoted configuration continues its
lower rung's model. hyperscout's tuners run through ``ask()`` / ``tell()`` with ``N`` trials
open; Optuna's through its own ask and tell.

The horizon: every run may spend ``--total-budget`` full trainings of compute (40 x
``--max-epochs`` epochs) spread over its ``N`` workers, so the simulated wall-clock is
``total / N``, but at least ``--min-horizon`` full trainings (default 10) so that the first
checkpoint (10 % of the horizon) can hold a full-budget model even with 16 workers. So
``N = 1`` runs 1,080 time units at the default 27 epochs, ``N = 4`` and ``N = 16`` both 270
(16 workers then spend 4,320 epochs).

The report (``--out``, default ``docs/benchmarks/multi_fidelity_parallel/report.md``) gives,
for each ``N``, the mean rank of every method's best full-budget score at 10, 30 and 100 %
of the horizon (ranked per task and seed, ties shared, averaged over tasks and seeds), the
median score per task at those checkpoints, and the share of worker time spent idle.

Run from the repository root::

    python -m benchmarks.multi_fidelity.parallel_sim --quick        # smoke run, seconds
    python -m benchmarks.multi_fidelity.parallel_sim --tasks synth-rho0.9,synth-rho0.5
    python -m benchmarks.multi_fidelity.parallel_sim --tasks mlp-digits --seeds 5 --jobs 2
    python -m benchmarks.multi_fidelity.parallel_sim --report-only   # redraw from saved runs
"""

# ruff: noqa: E402 (the thread variables are set before NumPy is first imported)
from __future__ import annotations

from benchmarks.harness.machine import single_thread

single_thread()

import argparse
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness.cli import add_run_arguments, available, resolve_folders, split_names
from benchmarks.harness.folders import read_json, write_json
from benchmarks.harness.machine import command_line, machine, versions
from benchmarks.harness.markdown import fmt, md_table
from benchmarks.harness.pool import run_all
from benchmarks.multi_fidelity.simulate import SIM_METHODS, add_peers, simulate
from benchmarks.multi_fidelity.tasks import MAX_EPOCHS, MIN_MAX_EPOCHS, get_task

NAME = "multi_fidelity_parallel"
DEFAULT_TASKS = ("synth-rho0.9", "synth-rho0.5", "mlp-digits", "torch-digits")
QUICK_TASKS = ("synth-rho0.9",)
DEFAULT_WORKERS = (1, 4, 16)
CHECKPOINTS = (0.1, 0.3, 1.0)
DEFAULT_MULTIPLIER = 40
DEFAULT_MIN_HORIZON = 10
RECORD_VERSION = 1
PACKAGES = ("hyperscout", "optuna", "dehb", "smac", "torch", "scikit-learn", "numpy", "scipy")


def horizon(total_budget: int, max_epochs: int, workers: int, min_horizon: int) -> float:
    """Simulated wall-clock of a run: the compute spread over the workers, with a floor."""
    return max(total_budget * max_epochs / workers, float(min_horizon * max_epochs))


@dataclass(frozen=True)
class Cell:
    task: str
    method: str
    workers: int
    seed: int
    horizon: float
    max_epochs: int
    path: Path


def cell_file(raw: Path, task: str, method: str, workers: int, seed: int) -> Path:
    return raw / task / method / f"w{workers}" / f"seed{seed}.json"


def run_cell(cell: Cell) -> dict[str, Any]:
    """One simulated run, saved as JSON (in a worker process when ``--jobs`` > 1)."""
    add_peers()
    task = get_task(cell.task, cell.max_epochs)
    method = SIM_METHODS[cell.method]
    task.warm_up()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hs-mfsim-") as folder:
        proposer = method.factory(task, cell.seed, cell.workers, Path(folder))
        result = simulate(
            task, proposer, workers=cell.workers, horizon=cell.horizon, seed=cell.seed
        )
    record = {
        "version": RECORD_VERSION,
        "task": cell.task,
        "method": cell.method,
        "workers": cell.workers,
        "seed": cell.seed,
        "horizon": cell.horizon,
        "max_epochs": cell.max_epochs,
        "end": result.end,
        "busy": result.busy,
        "epochs": result.epochs,
        "idle_fraction": result.idle_fraction,
        "trials": result.trials,
        "full_budget_models": result.full_budget_models,
        "done": result.done,
        "propose_s": round(result.propose_seconds, 3),
        "wall_s": round(time.perf_counter() - started, 3),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "trace": [list(p) for p in result.trace],
    }
    write_json(cell.path, record)
    return record


def is_current(record: dict[str, Any] | None, cell: Cell) -> bool:
    return (
        record is not None
        and record.get("version") == RECORD_VERSION
        and record.get("horizon") == cell.horizon
        and record.get("max_epochs") == cell.max_epochs
    )


# -- the report ------------------------------------------------------------------------------------
def best_at(trace: Sequence[Sequence[float]], t: float) -> float:
    best = math.inf
    for when, score in trace:
        if when > t + 1e-9:
            break
        best = score
    return best


def ranks(scores: Sequence[float]) -> list[float]:
    """Ranks from 1 (lowest score), ties sharing their mean rank; inf ranks last."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    out = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def load(
    raw: Path, tasks: Sequence[str], methods: Sequence[str], workers: Sequence[int], seeds: int
) -> dict[tuple[str, str, int], list[dict[str, Any]]]:
    found: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for task in tasks:
        for method in methods:
            for n in workers:
                records = [read_json(cell_file(raw, task, method, n, s)) for s in range(seeds)]
                found[task, method, n] = [
                    r for r in records if r is not None and r.get("version") == RECORD_VERSION
                ]
    return found


def write_report(
    out: Path,
    records: dict[tuple[str, str, int], list[dict[str, Any]]],
    tasks: Sequence[str],
    methods: Sequence[str],
    workers: Sequence[int],
    seeds: int,
    settings: dict[str, Any],
    skipped: dict[str, str],
) -> Path:
    lines = [
        "# Multi-fidelity with N simulated workers",
        "",
        "Written by `benchmarks/multi_fidelity/parallel_sim.py` "
        "(the simulator: `benchmarks/multi_fidelity/simulate.py`).",
        "",
        f"Command: `{command_line()}`",
        "",
        "One epoch = one unit of simulated time; N workers train at once; a promoted "
        "configuration continues its lower rung's model. Horizon per run: "
        f"{settings['total_budget']} full trainings of {settings['max_epochs']} epochs of "
        f"compute spread over the N workers, at least {settings['min_horizon']} full trainings "
        "of wall-clock. Scores: best full-budget validation loss (regret on synthetic tasks). "
        "Ranks are per task and seed over the methods in the table (1 = best; ties, including "
        '"no full-budget model yet", share their mean rank), then averaged.',
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()),
        "",
        "Packages: " + ", ".join(f"{k} {v}" for k, v in versions(PACKAGES).items()),
        "",
    ]
    if skipped:
        lines += ["Skipped: " + "; ".join(f"{k} ({v})" for k, v in skipped.items()), ""]
    labels = {m: SIM_METHODS[m].label if m in SIM_METHODS else m for m in methods}
    summary: dict[str, Any] = {}
    head = len(lines)
    for n in workers:
        # ranks[method][checkpoint] over (task, seed) with every method present
        sums: dict[str, list[list[float]]] = {m: [[] for _ in CHECKPOINTS] for m in methods}
        counted = 0
        for task in tasks:
            for seed in range(seeds):
                row = {}
                for m in methods:
                    rec = next((r for r in records[task, m, n] if r["seed"] == seed), None)
                    if rec is not None:
                        row[m] = rec
                if len(row) != len(methods):
                    continue
                counted += 1
                for c, frac in enumerate(CHECKPOINTS):
                    scores = [best_at(row[m]["trace"], frac * row[m]["horizon"]) for m in methods]
                    for m, r in zip(methods, ranks(scores), strict=True):
                        sums[m][c].append(r)
        h = horizon(settings["total_budget"], settings["max_epochs"], n, settings["min_horizon"])
        lines += [
            f"## N = {n} workers (horizon {h:g} time units; {counted} task-seed pairs ranked)",
            "",
        ]
        table: list[tuple[float, list[str]]] = []
        summary[str(n)] = {}
        for m in methods:
            means = [float(np.mean(v)) if v else math.nan for v in sums[m]]
            idle = [r["idle_fraction"] for t in tasks for r in records[t, m, n]]
            prop = [r["propose_s"] / max(r["trials"], 1) for t in tasks for r in records[t, m, n]]
            overall = float(np.mean(means)) if counted else math.nan
            summary[str(n)][m] = {
                "ranks": means,
                "mean_rank": overall,
                "idle_fraction": float(np.mean(idle)) if idle else None,
                "pairs": counted,
            }
            table.append(
                (
                    overall if math.isfinite(overall) else math.inf,
                    [
                        labels[m],
                        *[fmt(x, 3) for x in means],
                        fmt(overall, 3),
                        f"{100 * float(np.mean(idle)):.1f} %" if idle else "-",
                        f"{1000 * float(np.mean(prop)):.1f}" if prop else "-",
                    ],
                )
            )
        table.sort(key=lambda r: r[0])
        lines += [
            md_table(
                [
                    "method",
                    "rank @10%",
                    "@30%",
                    "@100%",
                    "mean",
                    "idle workers",
                    "ms per trial (ask+tell, real)",
                ],
                [row for _, row in table],
            ),
            "",
        ]
        for task in tasks:
            rows = []
            for m in methods:
                recs = records[task, m, n]
                if not recs:
                    continue
                cells = []
                for frac in CHECKPOINTS:
                    vals = np.array([best_at(r["trace"], frac * r["horizon"]) for r in recs])
                    med = float(np.median(vals))
                    cells.append("none yet" if not math.isfinite(med) else fmt(med, 3))
                rows.append([labels[m], *cells, str(len(recs))])
            lines += [
                f"{task}, N = {n}: median best score",
                "",
                md_table(["method", "@10%", "@30%", "@100%", "seeds"], rows),
                "",
            ]
    lines[head:head] = overview(summary, methods, workers, labels)
    out.mkdir(parents=True, exist_ok=True)
    report = out / "report.md"
    report.write_text("\n".join(lines))
    write_json(out / "summary.json", summary, indent=1)
    return report


def overview(
    summary: dict[str, Any], methods: Sequence[str], workers: Sequence[int], labels: dict[str, str]
) -> list[str]:
    """One table of every N: mean rank at each checkpoint, and the idle share of workers."""
    header = ["method"]
    for n in workers:
        pairs = next(iter(summary[str(n)].values()), {}).get("pairs", 0)
        header += [f"N={n} ({pairs}) @10%", "@30%", "@100%", "idle"]
    rows = []
    for m in methods:
        row = [labels[m]]
        for n in workers:
            cell = summary[str(n)][m]
            idle = cell["idle_fraction"]
            row += [fmt(x, 2) for x in cell["ranks"]]
            row.append("-" if idle is None else f"{100 * idle:.1f} %")
        rows.append(row)
    return [
        "## Mean rank by number of workers",
        "",
        "Mean rank of the best full-budget score at 10, 30 and 100 % of the horizon (1 = "
        "best; in brackets the task-seed pairs ranked), and the share of worker time idle.",
        "",
        md_table(header, rows),
        "",
    ]


# -- the command line ------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    add_peers()
    parser = argparse.ArgumentParser(
        description="Multi-fidelity tuners with N simulated workers (simulated wall-clock).",
        epilog="methods: " + ", ".join(SIM_METHODS),
    )
    parser.add_argument("--tasks", help=f"comma-separated (default {','.join(DEFAULT_TASKS)})")
    parser.add_argument("--methods", default="all", help="comma-separated, or all")
    parser.add_argument(
        "--workers", default=",".join(map(str, DEFAULT_WORKERS)), help="e.g. 1,4,16"
    )
    parser.add_argument("--seeds", type=int, help="seeds 0..N-1 (default 10; --quick: 1)")
    parser.add_argument("--max-epochs", type=int, default=MAX_EPOCHS)
    parser.add_argument(
        "--total-budget",
        type=int,
        help=f"compute per run in full trainings (default {DEFAULT_MULTIPLIER}; --quick: 8)",
    )
    parser.add_argument(
        "--min-horizon",
        type=int,
        default=DEFAULT_MIN_HORIZON,
        help="the shortest simulated wall-clock, in full trainings "
        f"(default {DEFAULT_MIN_HORIZON})",
    )
    add_run_arguments(parser, NAME)
    args = parser.parse_args(argv)
    if args.tasks is None:
        args.tasks = ",".join(QUICK_TASKS if args.quick else DEFAULT_TASKS)
    if args.seeds is None:
        args.seeds = 1 if args.quick else 10
    if args.total_budget is None:
        args.total_budget = 8 if args.quick else DEFAULT_MULTIPLIER
    if args.quick and args.max_epochs == MAX_EPOCHS:
        args.max_epochs = 9
    if args.quick and args.min_horizon == DEFAULT_MIN_HORIZON:
        args.min_horizon = 2
    try:
        args.workers = [int(w) for w in args.workers.split(",") if w.strip()]
    except ValueError:
        parser.error(f"--workers: expected comma-separated integers, got {args.workers!r}")
    if args.seeds < 1 or args.jobs < 1 or args.total_budget < 1 or min(args.workers) < 1:
        parser.error("--seeds, --jobs, --total-budget and --workers must be >= 1")
    if args.max_epochs < MIN_MAX_EPOCHS:
        parser.error(f"--max-epochs must be >= {MIN_MAX_EPOCHS}, got {args.max_epochs}")
    resolve_folders(args, NAME)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    for t in tasks:
        try:
            get_task(t, args.max_epochs)
        except ValueError as exc:
            raise SystemExit(str(exc)) from None
    methods, skipped = available(split_names(args.methods, SIM_METHODS, "methods"), SIM_METHODS)
    raw: Path = args.results
    failures: list[str] = []
    if not args.report_only:
        todo = []
        for seed in range(args.seeds):
            for n in args.workers:
                h = horizon(args.total_budget, args.max_epochs, n, args.min_horizon)
                for task in tasks:
                    for m in methods:
                        cell = Cell(
                            task, m, n, seed, h, args.max_epochs, cell_file(raw, task, m, n, seed)
                        )
                        if args.force or not is_current(read_json(cell.path), cell):
                            todo.append(cell)
        print(f"{len(todo)} simulated runs to do, into {raw}", flush=True)
        failures = run_all(
            run_cell,
            todo,
            args.jobs,
            lambda c: f"{c.task} {c.method} N={c.workers} seed {c.seed}",
            lambda c, r: (
                f"best {fmt(best_at(r['trace'], r['horizon']), 4)}, idle "
                f"{100 * r['idle_fraction']:.1f} %, {r['trials']} trials in {r['wall_s']:.1f} s"
            ),
        )
    records = load(raw, tasks, methods, args.workers, args.seeds)
    settings = {
        "total_budget": args.total_budget,
        "max_epochs": args.max_epochs,
        "min_horizon": args.min_horizon,
    }
    report = write_report(
        args.out, records, tasks, methods, args.workers, args.seeds, settings, skipped
    )
    print(f"wrote {report}")
    if failures:
        print(f"{len(failures)} run(s) failed:", *failures, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
