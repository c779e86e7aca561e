"""Parallel trials: throughput against the number of workers, for each way of running them.

For an objective that sleeps ``--seconds`` (0.5 s; it waits, as I/O or a GIL-releasing library
does), a random search of ``--per-worker`` trials per worker (10) runs on 1, 2, 4, 8 and 16
workers with each setup of :mod:`benchmarks.parallel.setups`: hyperscout's ``ThreadExecutor``,
``ProcessExecutor``, ``DaskExecutor`` (a ``distributed.LocalCluster``) and ``RayExecutor``
(skipped, with the reason, when missing), N ``hyperscout worker`` commands on one SQLite file
and on PostgreSQL, and Optuna on the same PostgreSQL (``n_jobs`` threads, and N processes).
Then a CPU-bound objective (pure Python, ``--seconds`` of one core) with processes and threads
on the machine's cores, and Hyperband and ASHA (epochs of ``--epoch-seconds``) with N workers,
for the share of worker time spent idle.

Every run starts fresh processes and is checked (the trials the study asked for, all
COMPLETE, no configuration twice). Start-up (interpreter, pool or cluster, storage, first
trial) is reported apart from the steady state; see :mod:`benchmarks.parallel.analysis` for
each figure. Parallel efficiency = steady throughput / (N x the same setup's throughput on
one worker).

Run: ``python -m benchmarks.parallel.run`` (about 10 minutes; writes
``docs/benchmarks/parallel/README.md`` and ``results.json`` and the summary in
``docs/benchmarks.md``); ``--quick`` is a smoke run of a few seconds into a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.harness.folders import REPO, docs_folder, quick_folder, write_json
from benchmarks.harness.machine import command_line, machine, versions
from benchmarks.harness.markdown import md_table
from benchmarks.parallel import objectives, setups
from benchmarks.parallel.analysis import add_efficiency, measure

NAME = "parallel"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DOCS_PAGE = REPO / "docs" / "benchmarks.md"
MARK = "parallel:summary"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workers", help="numbers of workers (default 1,2,4,8,16)")
    parser.add_argument("--setups", help="comma-separated setups (default: all)")
    parser.add_argument("--per-worker", type=int, help="trials per worker (default 10)")
    parser.add_argument("--seconds", type=float, help="one trial's length (default 0.5)")
    parser.add_argument("--epoch-seconds", type=float, help="Hyperband/ASHA epoch (default 0.1)")
    parser.add_argument("--cpu-workers", help="workers of the CPU-bound runs (default 1,2,4)")
    parser.add_argument("--budget-workers", help="workers of Hyperband and ASHA (default 4,16)")
    parser.add_argument("--budget-setups", help="setups of Hyperband and ASHA (default: all)")
    parser.add_argument("--groups", help="sleep,cpu,hyperband,asha (default: all)")
    parser.add_argument("--postgres", help=f"a PostgreSQL URL (default {POSTGRES}; --quick: none)")
    parser.add_argument("--out", type=Path, help=f"default docs/benchmarks/{NAME}")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    args = parser.parse_args()
    quick = {
        "workers": "1,2",
        "setups": "ThreadExecutor,ProcessExecutor",
        "per_worker": 3,
        "seconds": 0.03,
        "epoch_seconds": 0.01,
        "cpu_workers": "1,2",
        "budget_workers": "2",
        "budget_setups": "ThreadExecutor",
        "groups": "sleep,asha",
        "postgres": "",
    }
    full = {
        "workers": "1,2,4,8,16",
        "setups": ",".join(setups.SETUPS),
        "per_worker": 10,
        "seconds": 0.5,
        "epoch_seconds": 0.1,
        "cpu_workers": "1,2,4",
        "budget_workers": "4,16",
        "budget_setups": f"ThreadExecutor,ProcessExecutor,{setups.WORKERS_POSTGRES}",
        "groups": "sleep,cpu,hyperband,asha",
        "postgres": POSTGRES,
    }
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.out is None:
        args.out = quick_folder(NAME) if args.quick else docs_folder(NAME)
    return args


def postgres_reachable(url: str) -> bool:
    try:
        from hyperscout.storage import open_storage

        open_storage(url).close()
    except Exception as exc:
        print(f"PostgreSQL at {url} skipped: {exc}", file=sys.stderr)
        return False
    return True


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def plan(args: argparse.Namespace) -> list[tuple[str, str, int]]:
    """(group, setup, workers) of every run, in order."""
    chosen = [s for s in args.setups.split(",") if s]
    runs: list[tuple[str, str, int]] = []
    groups = args.groups.split(",")
    if "sleep" in groups:
        runs += [("sleep", s, n) for s in chosen for n in ints(args.workers)]
    if "cpu" in groups:
        for setup in ("ProcessExecutor", "ThreadExecutor"):
            counts = ints(args.cpu_workers) if setup == "ProcessExecutor" else [1, 2]
            runs += [("cpu", setup, n) for n in counts if setup in chosen or args.quick]
    for group in ("hyperband", "asha"):
        if group not in groups:
            continue
        budgeted = [s for s in args.budget_setups.split(",") if s]
        if group == "hyperband":  # hyperscout worker has no option for iterations
            budgeted = [s for s in budgeted if s in setups.EXECUTORS]
        runs += [(group, s, n) for s in budgeted for n in ints(args.budget_workers)]
    return runs


def hyperband_iterations(trials: int) -> int:
    """Iterations of Hyperband(max_epochs=9, factor=3) that hold about ``trials`` trials."""
    per_iteration = 9 + 3 + 1 + 5 + 1 + 3  # brackets s=2, 1, 0
    return max(1, round(trials / per_iteration))


def main() -> None:
    args = parse_args()
    if args.child:
        spec = json.loads(args.child)
        if spec["setup"].startswith("Optuna"):
            setups.run_optuna_child(spec)
        else:
            setups.run_child(spec)
        return

    postgres = args.postgres if args.postgres and postgres_reachable(args.postgres) else ""
    env = {
        "HS_BENCH_SECONDS": str(args.seconds),
        "HS_BENCH_EPOCH_SECONDS": str(args.epoch_seconds),
        "HS_BENCH_LOOPS_PER_SECOND": str(objectives.loops_per_second()),
        "OMP_NUM_THREADS": "1",
    }
    load_before = os.getloadavg()
    started = time.time()
    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for group, setup, n in plan(args):
            reason = setups.skip_reason(setup, postgres)
            if reason is not None:
                skipped[setup] = reason
                continue
            uses_postgres = setup in setups.POSTGRES_SETUPS
            url = postgres if uses_postgres else f"sqlite:///{Path(tmp) / uuid.uuid4().hex}.db"
            trials = args.per_worker * n
            spec = {"group": group, "setup": setup, "workers": n, "storage": url}
            spec |= {"trials": trials, "iterations": hyperband_iterations(trials)}
            load = os.getloadavg()[0]
            records, launched, ended = setups.run(spec, env)
            seconds = args.seconds if group in ("sleep", "cpu") else None
            row = {"group": group, "setup": setup, "load_1min": round(load, 2)}
            row |= measure(records, n, launched, ended, seconds)
            rows.append(row)
            print(summary_line(row), flush=True)
    add_efficiency(rows)
    record = {
        "date": datetime.fromtimestamp(started, timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "minutes": round((time.time() - started) / 60, 1),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "machine": machine(),
        "versions": versions(["optuna", "dask", "distributed", "ray", "SQLAlchemy", "psycopg"]),
        "command": command_line(),
        "seconds": args.seconds,
        "epoch_seconds": args.epoch_seconds,
        "per_worker": args.per_worker,
        "skipped": skipped,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "results.json", record, indent=1)
    report = render(record)
    (args.out / "README.md").write_text(report)
    if not args.quick and args.out.resolve() == docs_folder(NAME).resolve():
        update_docs_page(record)
    print(report)


def summary_line(row: dict[str, Any]) -> str:
    eff = row.get("steady_trials_per_s")
    return (
        f"{row['group']:9} {row['setup']:32} N={row['workers']:2} trials={row['trials']:3} "
        f"wall={row['wall_s']:6.1f}s first={row['first_trial_s']:5.2f}s "
        f"busy={row['all_busy_s']:5.2f}s steady={eff or 0:6.2f}/s "
        f"overhead={row['overhead_ms'] or 0:7.1f}ms idle={row['idle_fraction'] or 0:.2f} "
        f"pairs={row['steady_pairs']} load={row['load_1min']}"
    )


# -- the report --------------------------------------------------------------------------------
def f(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def header(record: dict[str, Any]) -> str:
    m = record["machine"]
    v = record["versions"]
    load = record["load_before"]
    return (
        f"Measured by `{record['command']}` on {record['date']} ({record['minutes']} min); "
        f"machine: {m['CPU']}, {m['cores']} cores, {m['OS']}, Python {m['Python']}; load "
        f"average before the run {load[0]}, {load[1]}, {load[2]} (1, 5, 15 min), after "
        f"{record['load_after'][0]}; each row gives the 1-min load when it started. "
        f"Optuna {v['optuna']}, Dask {v['distributed']}, Ray {v['ray']}, "
        f"SQLAlchemy {v['SQLAlchemy']}, psycopg {v['psycopg']}."
    )


def throughput_table(rows: list[dict[str, Any]]) -> str:
    body = []
    for r in rows:
        body.append(
            [
                r["setup"],
                str(r["workers"]),
                str(r["trials"]),
                f(r["steady_trials_per_s"]),
                f(r["efficiency"]),
                f(r["overhead_ms"], 0),
                f(r["first_trial_s"]),
                f(r["all_busy_s"]),
                f(r["wall_s"], 1),
                f(r["end_to_end_trials_per_s"]),
                f(r["end_to_end_efficiency"]),
                str(r["steady_pairs"]),
                f(r["load_1min"], 1),
            ]
        )
    return md_table(
        [
            "setup",
            "N",
            "trials",
            "steady trials/s",
            "efficiency",
            "overhead ms/trial",
            "first trial s",
            "all busy s",
            "wall s",
            "end-to-end trials/s",
            "end-to-end efficiency",
            "pairs",
            "load",
        ],
        body,
    )


def budget_table(rows: list[dict[str, Any]]) -> str:
    body = [
        [
            r["group"],
            r["setup"],
            str(r["workers"]),
            str(r["trials"]),
            f(r["idle_fraction"]),
            f(r["idle_fraction_until_last_start"]),
            f(r["first_trial_s"]),
            f(r["wall_s"], 1),
            f(r["load_1min"], 1),
        ]
        for r in rows
    ]
    return md_table(
        [
            "strategy",
            "setup",
            "N",
            "trials",
            "idle fraction",
            "idle until the last start",
            "first trial s",
            "wall s",
            "load",
        ],
        body,
    )


def summary_table(rows: list[dict[str, Any]]) -> str:
    """One row per setup: steady trials/s and efficiency at each N."""
    sleep = [r for r in rows if r["group"] == "sleep"]
    counts = sorted({r["workers"] for r in sleep})
    names = list(dict.fromkeys(r["setup"] for r in sleep))
    body = []
    for name in names:
        cells = [name]
        for n in counts:
            match = [r for r in sleep if r["setup"] == name and r["workers"] == n]
            if not match:
                cells.append("-")
                continue
            r = match[0]
            eff = "" if n == 1 else f" ({f(r['efficiency'])})"
            cells.append(f"{f(r['steady_trials_per_s'], 1)}{eff}")
        at_max = [r for r in sleep if r["setup"] == name and r["workers"] == counts[-1]]
        cells.append(f(at_max[0]["overhead_ms"], 0) if at_max else "-")
        cells.append(f(at_max[0]["all_busy_s"], 1) if at_max else "-")
        body.append(cells)
    top = counts[-1] if counts else 0
    return md_table(
        ["setup", *(f"N={n}" for n in counts), f"overhead ms at N={top}", f"start-up s at N={top}"],
        body,
    )


def render(record: dict[str, Any]) -> str:
    rows = record["rows"]
    seconds = record["seconds"]
    parts = [
        "# Parallel trials: throughput against the number of workers",
        "",
        header(record),
        "",
        "Steady state and start-up are reported apart. *Steady trials/s*: N / the mean time "
        "from one trial's start to the next on the same worker, between the moment all N "
        "workers have started a trial and the last trial's start (start-up and the final "
        "drain left out). *Efficiency*: steady trials/s / (N x the same setup's on one "
        f"worker). *Overhead*: that mean time minus the objective's {seconds} s. *First "
        "trial* / *all busy*: seconds from launching the processes to the first trial's "
        "start / to every worker having started one (interpreters, pool or cluster, storage, "
        "study). *End to end*: trials / wall time, start-up and drain included. *Pairs*: "
        "how many start-to-start times the steady figure averages.",
        "",
        f"## Trials that sleep {seconds} s, {record['per_worker']} per worker",
        "",
        "Steady trials/s at each N (efficiency in brackets):",
        "",
        summary_table(rows),
        "",
        throughput_table([r for r in rows if r["group"] == "sleep"]),
        "",
    ]
    cpu = [r for r in rows if r["group"] == "cpu"]
    if cpu:
        parts += [
            f"## CPU-bound trials ({seconds} s of pure Python on one core)",
            "",
            f"On {record['machine']['cores']} cores: processes scale up to the cores, threads "
            "not at all (the GIL).",
            "",
            throughput_table(cpu),
            "",
        ]
    budgeted = [r for r in rows if r["group"] in ("hyperband", "asha")]
    if budgeted:
        parts += [
            f"## Hyperband and ASHA: idle workers (epochs of {record['epoch_seconds']} s, "
            f"max_epochs={setups.MAX_EPOCHS}, factor 3)",
            "",
            "*Idle fraction*: the share of N workers' time, from the moment all of them have "
            "started a trial (start-up left out) to the last trial's end, in which they ran no "
            "trial; *until the last start*: the same up to the last trial's start (the end of "
            "the study, when fewer trials than workers are left, left out too). Hyperband "
            "runs as many iterations of its brackets (max_epochs=9: 22 trials each) as make "
            "about 10 trials per worker (so with executors only: `hyperscout worker` has no "
            "option for iterations).",
            "",
            budget_table(budgeted),
            "",
        ]
    if record["skipped"]:
        parts += ["Skipped:", ""]
        parts += [f"- {name}: {reason}" for name, reason in record["skipped"].items()]
        parts.append("")
    return "\n".join(parts)


def update_docs_page(record: dict[str, Any]) -> None:
    """Rewrite the summary between the markers of docs/benchmarks.md."""
    page = DOCS_PAGE.read_text()
    begin, end = f"<!-- {MARK} -->", f"<!-- /{MARK} -->"
    if begin not in page:
        return
    text = f"{begin}\n{header(record)}\n\n{summary_table(record['rows'])}\n{end}"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    DOCS_PAGE.write_text(pattern.sub(lambda _: text, page))


if __name__ == "__main__":
    main()
