"""What hyperscout itself costs: the time ``import hyperscout`` takes, and the overhead per trial.

Import time: ``python -X importtime -c "import <module>"`` in fresh processes (one warm-up run
first, discarded, so that every measured run reads the files from the page cache), for
``hyperscout`` and, side by side in the same run, ``optuna`` when it is installed. The figure is
the median over ``--import-repeats`` runs of the module's cumulative import time as the
interpreter reports it (interpreter start-up excluded); the heaviest packages it pulled in are
listed by their own (self) time.

Overhead per trial: 1,000 trials of an objective that does nothing. hyperscout (RandomSearch)
with MemoryStorage and with SQLite, side by side with Optuna's RandomSampler on its in-memory
storage and on SQLite (and, given ``--postgres URL``, both on that PostgreSQL database). The
figure is wall time of the whole search divided by the number of trials, the median of
``--repeats`` runs, next to the CPU time this process spent per trial (the database server's
own is not in it); the objective draws four parameters (a float, a log float, an int and a
choice) and returns at once, so what is measured is sampling, bookkeeping and storage. The
runs are interleaved (one search of each tuner and storage, then the next repeat), so that a
machine whose load changes during the run weighs on all of them alike. On PostgreSQL the
server's floor is measured in the same rounds, with psycopg alone: a round trip (``SELECT 1``)
and a commit that waits for the disk (``BEGIN; INSERT; COMMIT`` sent at once). Optuna comes
with the ``bench`` extra: ``pip install -e '.[bench]'``.

Run from the repository root::

    python -m benchmarks.overhead                       # both, into docs/benchmarks/overhead/
    python -m benchmarks.overhead --only import         # import time only (seconds)
    python -m benchmarks.overhead --repeats 5 --markdown
    python -m benchmarks.overhead --quick               # smoke run, into a temporary folder
    python -m benchmarks.overhead --only trials --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    python -m benchmarks.overhead --only trials --trials 300 --storages postgresql --postgres URL

The report goes to ``--out`` (default ``docs/benchmarks/overhead/``: ``report.md`` and
``results.json``, with the machine: CPU model and cores). A full run also rewrites the import
time table of ``docs/benchmarks.md`` between its ``overhead:import-time`` markers.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.harness.folders import DOCS, docs_folder, quick_folder, relative, write_json
from benchmarks.harness.machine import command_line, machine
from benchmarks.harness.markdown import md_table

NAME = "overhead"
IMPORTED = ("hyperscout", "optuna")
DOCS_PAGE = DOCS.parent / "benchmarks.md"
MARKERS = ("<!-- overhead:import-time -->", "<!-- /overhead:import-time -->")
# "import time:       405 |    4363165 |       hyperscout.samplers"
_IMPORTTIME_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


# -- import time ---------------------------------------------------------------------------------
def parse_importtime(stderr: str, module: str) -> dict[str, Any]:
    """The cumulative import time of ``module`` (seconds) and each top-level package's self time.

    ``-X importtime`` prints one line per module: its own time, its cumulative time and its name
    indented by nesting depth; ``module`` itself is the line at depth 1 named ``module``.
    """
    cumulative: float | None = None
    packages: dict[str, float] = {}
    for line in stderr.splitlines():
        match = _IMPORTTIME_LINE.match(line)
        if match is None:
            continue
        self_us, cumulative_us, indent, name = match.groups()
        top = name.split(".")[0]
        packages[top] = packages.get(top, 0.0) + int(self_us) / 1e6
        if name == module and len(indent) == 1:
            cumulative = int(cumulative_us) / 1e6
    if cumulative is None:
        raise RuntimeError(f"python -X importtime printed no line for {module!r}:\n{stderr}")
    return {"seconds": cumulative, "packages": packages}


def import_once(module: str) -> dict[str, Any]:
    """One fresh interpreter that imports ``module``; its ``-X importtime`` figures."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    if done.returncode != 0:
        raise ImportError(f"import {module} failed: {done.stderr.strip().splitlines()[-1]}")
    return parse_importtime(done.stderr, module)


def where(module: str) -> str:
    """The file a fresh interpreter imports ``module`` from: relative to the repository, or to
    its ``site-packages`` (no machine's absolute path in a report)."""
    code = f"import {module}; print({module}.__file__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        return "?"
    shown = relative(Path(done.stdout.strip()))
    _, found, tail = shown.partition("site-packages")
    return f"site-packages{tail}" if found else shown


def measure_import(module: str, repeats: int) -> dict[str, Any] | None:
    """Median, min and max over ``repeats`` fresh processes; None when ``module`` is missing."""
    try:
        import_once(module)  # warm-up: the files into the page cache, byte code compiled
    except ImportError as exc:
        print(f"skipping import {module}: {exc}", flush=True)
        return None
    runs = [import_once(module) for _ in range(repeats)]
    seconds = [r["seconds"] for r in runs]
    median_run = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    heaviest = sorted(median_run["packages"].items(), key=lambda kv: -kv[1])
    return {
        "module": module,
        "version": metadata.version(module),
        "file": where(module),
        "repeats": repeats,
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "max_s": max(seconds),
        "runs_s": seconds,
        "heaviest": [[name, round(s, 4)] for name, s in heaviest[:6]],
    }


def import_table(rows: Sequence[dict[str, Any]]) -> str:
    def heavy(row: dict[str, Any]) -> str:
        return ", ".join(f"{name} {s * 1e3:.0f}" for name, s in row["heaviest"])

    return md_table(
        ["import", "version", "median s", "min s", "max s", "heaviest packages (own time, ms)"],
        [
            [
                f"`import {r['module']}`",
                r["version"],
                f"{r['median_s']:.3f}",
                f"{r['min_s']:.3f}",
                f"{r['max_s']:.3f}",
                heavy(r),
            ]
            for r in rows
        ],
    )


# -- overhead per trial --------------------------------------------------------------------------
def _study_name() -> str:
    """A fresh study name: a database server keeps every run's study until it is deleted."""
    return f"overhead-{os.getpid()}-{time.time_ns()}"


def hyperscout_run(storage: str, trials: int, directory: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one search of ``trials`` trials."""
    import hyperscout as hs

    def objective(hp: hs.HyperParameters) -> float:
        x = hp.Float("x", -5.0, 5.0)
        lr = hp.Float("lr", 1e-5, 1e-1, sampling="log")
        units = hp.Int("units", 16, 256)
        act = hp.Choice("activation", ["relu", "tanh", "gelu"])
        return float(x + lr + units + len(act))

    started, cpu = time.perf_counter(), time.process_time()
    tuner = hs.RandomSearch(
        objective,
        max_trials=trials,
        seed=0,
        verbose=0,
        directory=directory,
        project_name=_study_name() if storage.startswith("postgresql") else "overhead",
        storage=None if storage == "sqlite" else storage,
    )
    tuner.search()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert len(tuner.trials) == trials
    if storage.startswith("postgresql"):
        tuner.storage.delete_study(tuner.project_name)
    tuner.storage.close()
    return elapsed, cpu


def optuna_run(storage: str, trials: int, directory: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one search of ``trials`` trials."""
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)

    def objective(trial: Any) -> float:
        x = trial.suggest_float("x", -5.0, 5.0)
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        units = trial.suggest_int("units", 16, 256)
        act = trial.suggest_categorical("activation", ["relu", "tanh", "gelu"])
        return float(x + lr + units + len(act))

    url = {"memory": None, "sqlite": f"sqlite:///{directory / 'optuna.db'}"}.get(storage, storage)
    name = _study_name()
    started, cpu = time.perf_counter(), time.process_time()
    study = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=0), storage=url, study_name=name
    )
    study.optimize(objective, n_trials=trials)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert len(study.trials) == trials
    if url is not None and url.startswith("postgresql"):
        optuna.delete_study(study_name=name, storage=url)
    return elapsed, cpu


def postgres_floor(url: str, samples: int = 300) -> dict[str, float]:
    """What the server costs whoever uses it, in ms (medians of ``samples``), with psycopg alone.

    ``round_trip``: ``SELECT 1``; ``durable_commit``: ``BEGIN; INSERT; COMMIT`` sent at once (one
    round trip), its COMMIT waiting for the disk; ``async_commit``: the same with ``SET LOCAL
    synchronous_commit = off``, whose COMMIT does not wait.
    """
    import psycopg
    import sqlalchemy as sa

    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    # A table of its own, not a temporary one: a temporary table writes no log, and its COMMIT
    # would not wait for the disk.
    table = f"hs_floor_{os.getpid()}_{time.time_ns()}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (x integer)")
        try:
            return _floor(conn, table, samples)
        finally:
            conn.execute(f"DROP TABLE {table}")


def _floor(conn: Any, table: str, samples: int) -> dict[str, float]:
    """:func:`postgres_floor` on a connection in autocommit mode, inserting into ``table``."""

    def median_ms(*statements: str) -> float:
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            with conn.pipeline():
                for statement in statements:
                    conn.execute(statement.encode())
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    insert = f"INSERT INTO {table} VALUES (1)"
    return {
        "round_trip": median_ms("SELECT 1"),
        "durable_commit": median_ms("BEGIN", insert, "COMMIT"),
        "async_commit": median_ms("BEGIN", "SET LOCAL synchronous_commit = off", insert, "COMMIT"),
    }


RUNNERS: dict[str, Callable[[str, int, Path], tuple[float, float]]] = {
    "hyperscout RandomSearch": hyperscout_run,
    "Optuna RandomSampler": optuna_run,
}


STORAGES = ("memory", "sqlite", "postgresql")


def measure_trials(
    trials: int,
    repeats: int,
    postgres: str | None = None,
    storages: Sequence[str] = STORAGES,
) -> tuple[list[dict[str, Any]], dict[str, float] | None]:
    """Milliseconds per trial of each tuner and storage (the median of ``repeats`` searches),
    and the PostgreSQL server's floor (:func:`postgres_floor`, medians over the repeats).

    ``postgres``: a PostgreSQL URL; both tuners then also run on that server, side by side.
    The searches are interleaved: each repeat runs every tuner on every storage once.
    """
    urls = {"memory": "memory", "sqlite": "sqlite", "postgresql": postgres}
    chosen = [s for s in storages if urls.get(s)]
    runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
    floors: list[dict[str, float]] = []
    missing: set[str] = set()
    for repeat in range(repeats):
        for name, runner in RUNNERS.items():
            for storage in chosen:
                if name in missing:
                    continue
                with tempfile.TemporaryDirectory() as tmp:
                    try:
                        runs.setdefault((name, storage), []).append(
                            runner(urls[storage] or "", trials, Path(tmp))
                        )
                    except ImportError as exc:
                        print(f"skipping {name}: {exc}")
                        missing.add(name)
        if postgres and "postgresql" in chosen:
            floors.append(postgres_floor(postgres))
        print(f"round {repeat + 1} of {repeats} done, load average {_load()}", flush=True)
    rows = []
    for (name, storage), times in runs.items():
        if name in missing:
            continue
        row = {
            "tuner": name,
            "storage": storage,
            "ms_per_trial": statistics.median(t for t, _ in times) / trials * 1000,
            "cpu_ms_per_trial": statistics.median(c for _, c in times) / trials * 1000,
            "runs_ms_per_trial": [t / trials * 1000 for t, _ in times],
        }
        rows.append(row)
        print(
            f"{name:26s} {storage:10s} {row['ms_per_trial']:8.3f} ms/trial "
            f"(CPU {row['cpu_ms_per_trial']:.3f})",
            flush=True,
        )
    floor = None
    if floors:
        floor = {key: statistics.median(f[key] for f in floors) for key in floors[0]}
        print("PostgreSQL floor (ms): " + ", ".join(f"{k} {v:.3f}" for k, v in floor.items()))
    return rows, floor


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "?"


def trial_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| tuner | storage | ms per trial | CPU ms per trial |",
        "| --- | --- | ---: | ---: |",
    ]
    lines += [
        f"| {r['tuner']} | {r['storage']} | {r['ms_per_trial']:.3f} | {r['cpu_ms_per_trial']:.3f} |"
        for r in rows
    ]
    return "\n".join(lines)


def floor_line(floor: dict[str, float]) -> str:
    return (
        f"PostgreSQL server, with psycopg alone (medians, ms): a round trip "
        f"{floor['round_trip']:.3f}, a commit that waits for the disk "
        f"{floor['durable_commit']:.3f}, one that does not {floor['async_commit']:.3f}."
    )


# -- the report ----------------------------------------------------------------------------------
def machine_line() -> str:
    """CPU model, cores, Python, OS, and how busy the machine was (a busy one times slower)."""
    m = machine()
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return f"{m['CPU']}, {m['cores']} cores{load}, Python {m['Python']}, {m['OS']}"


def import_section(rows: Sequence[dict[str, Any]], repeats: int) -> str:
    return "\n".join(
        [
            f"Measured by `{command_line()}` on {time.strftime('%Y-%m-%d')}; machine: "
            f'{machine_line()}. `python -X importtime -c "import ..."` in {repeats} fresh '
            "processes after one warm-up, median of the module's cumulative import time "
            "(interpreter start-up excluded).",
            "",
            import_table(rows),
        ]
    )


def write_report(out: Path, results: dict[str, Any]) -> Path:
    lines = ["# What hyperscout itself costs", ""]
    if results["import"] is not None:
        lines += ["## Import time", "", results["import_section"], ""]
        lines += [f"- `{r['module']}` from `{r['file']}`" for r in results["import"]]
        lines.append("")
    if results["trials"] is not None:
        lines += [
            "## Overhead per trial",
            "",
            f"Machine: {machine_line()}. {results['n_trials']} trials, median of "
            f"{results['repeats']} runs.",
            "",
            trial_table(results["trials"]),
            "",
        ]
        if results.get("postgres_floor"):
            lines += [floor_line(results["postgres_floor"]), ""]
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", results, indent=1)
    report = out / "report.md"
    report.write_text("\n".join(lines))
    return report


def update_docs(page: Path, section: str) -> bool:
    """Rewrite the import-time table between the markers of ``page``; False if it has none."""
    text = page.read_text()
    start, end = MARKERS
    if start not in text or end not in text:
        return False
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    page.write_text(f"{head}{start}\n{section}\n{end}{tail}")
    return True


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, help="trials a search (default 1000; --quick: 50)")
    parser.add_argument("--repeats", type=int, help="searches a figure (default 3; --quick: 1)")
    parser.add_argument(
        "--import-repeats", type=int, help="fresh processes an import (default 7; --quick: 3)"
    )
    parser.add_argument("--only", choices=["import", "trials"], help="measure one of the two")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also measure both tuners on this PostgreSQL database "
        "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)",
    )
    parser.add_argument(
        "--storages",
        default=",".join(STORAGES),
        help="comma-separated storages to run the trials on (default: all; postgresql only "
        "with --postgres)",
    )
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    parser.add_argument(
        "--out", type=Path, help=f"report folder (default {relative(docs_folder(NAME))})"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run of a few seconds, into a temp folder"
    )
    args = parser.parse_args(argv)
    quick = {"trials": 50, "repeats": 1, "import_repeats": 3}
    full = {"trials": 1000, "repeats": 3, "import_repeats": 7}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if min(args.trials, args.repeats, args.import_repeats) < 1:
        parser.error("--trials, --repeats and --import-repeats must be >= 1")
    args.storages = [s.strip() for s in args.storages.split(",") if s.strip()]
    unknown = sorted(set(args.storages) - set(STORAGES))
    if unknown or not args.storages:
        parser.error(f"--storages takes {', '.join(STORAGES)}; got {', '.join(unknown) or 'none'}")
    if args.out is None:
        args.out = quick_folder(NAME) if args.quick else docs_folder(NAME)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    results: dict[str, Any] = {
        "machine": machine(),
        "command": command_line(),
        "date": time.strftime("%Y-%m-%d"),
        "import": None,
        "trials": None,
        "n_trials": args.trials,
        "repeats": args.repeats,
    }
    if args.only != "trials":
        found = [measure_import(m, args.import_repeats) for m in IMPORTED]
        results["import"] = [r for r in found if r is not None]
        results["import_section"] = import_section(results["import"], args.import_repeats)
        for r in results["import"]:
            print(f"import {r['module']:12s} {r['median_s']:.3f} s (median)", flush=True)
    if args.only != "import":
        results["trials"], results["postgres_floor"] = measure_trials(
            args.trials, args.repeats, args.postgres, args.storages
        )
    report = write_report(args.out, results)
    print(f"wrote {report}")
    if args.markdown:
        print(f"\n{report.read_text()}")
    to_docs = args.out.resolve() == docs_folder(NAME).resolve()
    if (
        results["import"] is not None
        and to_docs
        and update_docs(DOCS_PAGE, results["import_section"])
    ):
        print(f"updated the import time table of {relative(DOCS_PAGE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
