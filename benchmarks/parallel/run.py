"""When do several worker processes pay off? Wall time of one study run several ways.

For each kind of trial (``sleep``: waits, as I/O or a GIL-releasing library does; ``cpu``: pure
Python that holds the GIL) and each trial length (5 ms and 0.5 s by default), the same
random search of ``--trials`` trials runs:

- ``1 process``: one tuner, trials one after the other (SQLite);
- ``ThreadExecutor(8)``: one tuner, eight trials at once in threads (SQLite);
- ``8 processes (SQLite)``: eight tuners in eight processes on one SQLite file;
- ``8 processes (PostgreSQL)``: the same on the PostgreSQL server (``--postgres URL``; skipped
  when unreachable).

Every run is checked: exactly ``--trials`` trials, all COMPLETE, no configuration twice. The
figures are wall time from the first process started to the last one ended (process start-up
included: that is what a user pays), and trials per second.

Run: ``python -m benchmarks.parallel.run [--trials-short 400] [--trials-long 48]
[--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test] [--out docs/benchmarks/parallel]``;
``--quick`` is a smoke run of a few seconds (sleeping trials of 5 ms, 2 processes, SQLite only,
into a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.harness.folders import REPO, docs_folder, quick_folder, write_json
from benchmarks.harness.machine import command_line, cpu_model

NAME = "parallel"
MODULE = "benchmarks.parallel.run"


def child_env() -> dict[str, str]:
    """The environment of a child process: this checkout's ``benchmarks`` importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def burn(seconds: float) -> None:
    """Pure Python for about ``seconds`` (holds the GIL), calibrated once per process."""
    loops = int(seconds * _loops_per_second())
    total = 0
    for i in range(loops):
        total += i * i
    if total < 0:  # never true; keeps the loop from being optimised away
        print(total)


_RATE: list[float] = []


def _loops_per_second() -> float:
    """Loops of :func:`burn` per second: measured once by the parent process, passed on."""
    if not _RATE and os.environ.get("HS_BENCH_LOOPS_PER_SECOND"):
        _RATE.append(float(os.environ["HS_BENCH_LOOPS_PER_SECOND"]))
    if not _RATE:
        n = 2_000_000
        started = time.perf_counter()
        total = 0
        for i in range(n):
            total += i * i
        _RATE.append(n / (time.perf_counter() - started))
    return _RATE[0]


def make_objective(kind: str, seconds: float) -> Any:
    def objective(hp: Any) -> float:
        x = hp.Float("x", -5.0, 5.0)
        lr = hp.Float("lr", 1e-5, 1e-1, sampling="log")
        units = hp.Int("units", 16, 256)
        if kind == "sleep":
            time.sleep(seconds)
        else:
            burn(seconds)
        return float((x - 1.0) ** 2 + lr + units / 1000.0)

    return objective


def tuner_for(kind: str, seconds: float, storage: str, project: str, trials: int, threads: int):
    import hyperscout as hs

    if kind == "cpu":
        _loops_per_second()  # calibrate before any trial runs, not while threads compete
    executor = hs.ThreadExecutor(threads) if threads > 1 else None
    return hs.RandomSearch(
        make_objective(kind, seconds),
        max_trials=trials,
        storage=storage,
        project_name=project,
        seed=0,
        verbose=0,
        executor=executor,
    )


def worker(args: argparse.Namespace) -> None:
    """One process of a multi-process run (called by this script with --worker)."""
    tuner = tuner_for(args.kind, args.seconds, args.storage, args.project, args.trials, 1)
    tuner.poll_interval = 0.05
    tuner.search()
    tuner.close()


def check(storage: str, project: str, trials: int) -> None:
    from hyperscout.storage import open_storage
    from hyperscout.trial import TrialState

    store = open_storage(storage)
    try:
        study = store.load_study(project)
        assert study is not None
        done = store.trials(study.id)
        store.delete_study(project)
    finally:
        store.close()
    assert len(done) == trials, f"{len(done)} trials for max_trials={trials}"
    assert all(t.state is TrialState.COMPLETE for t in done)
    assert len({t.key for t in done}) == trials, "a configuration ran twice"


def run_processes(kind: str, seconds: float, storage: str, trials: int, n: int) -> float:
    project = f"parallel_{uuid.uuid4().hex[:10]}"
    command = [sys.executable, "-m", MODULE, "--worker", "--kind", kind, "--seconds", str(seconds)]
    command += ["--storage", storage, "--project", project, "--trials", str(trials)]
    started = time.perf_counter()
    procs = [subprocess.Popen(command, env=child_env()) for _ in range(n)]
    codes = [p.wait() for p in procs]
    elapsed = time.perf_counter() - started
    assert codes == [0] * n, f"worker exit codes {codes}"
    check(storage, project, trials)
    return elapsed


def run_in_process(kind: str, seconds: float, storage: str, trials: int, threads: int) -> float:
    """One process; started as a subprocess too, so that start-up is paid as by the others."""
    project = f"parallel_{uuid.uuid4().hex[:10]}"
    code = (
        "from benchmarks.parallel import run; "
        f"t = run.tuner_for({kind!r}, {seconds!r}, {storage!r}, {project!r}, {trials!r}, "
        f"{threads!r}); t.search(); t.close()"
    )
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=child_env())
    elapsed = time.perf_counter() - started
    check(storage, project, trials)
    return elapsed


def postgres_reachable(url: str) -> bool:
    try:
        from hyperscout.storage import open_storage

        open_storage(url).close()
    except Exception as exc:
        print(f"PostgreSQL at {url} skipped: {exc}", file=sys.stderr)
        return False
    return True


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="sleep")
    parser.add_argument("--seconds", type=float, default=0.005)
    parser.add_argument("--storage", default="")
    parser.add_argument("--project", default="")
    parser.add_argument("--trials", type=int, default=0)
    parser.add_argument("--trials-short", type=int, help="trials of 5 ms (default 400)")
    parser.add_argument("--trials-long", type=int, help="trials of 0.5 s (default 48)")
    parser.add_argument("--kinds", help="sleep,cpu (default; --quick: sleep)")
    parser.add_argument("--processes", type=int, help="processes and threads (default 8)")
    parser.add_argument(
        "--postgres",
        help="a PostgreSQL URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test; "
        "--quick: none)",
    )
    parser.add_argument("--out", type=Path, help=f"default docs/benchmarks/{NAME}")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    args = parser.parse_args()
    quick = {"trials_short": 12, "trials_long": 0, "kinds": "sleep", "processes": 2}
    full = {
        "trials_short": 400,
        "trials_long": 48,
        "kinds": "sleep,cpu",
        "processes": 8,
        "postgres": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    }
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.out is None:
        args.out = quick_folder(NAME) if args.quick else docs_folder(NAME)
    return args


def main() -> None:
    args = parse_args()
    if args.worker:
        worker(args)
        return

    has_postgres = bool(args.postgres) and postgres_reachable(args.postgres)
    # Every process burns the same number of loops for a CPU trial of the same length.
    os.environ["HS_BENCH_LOOPS_PER_SECOND"] = str(_loops_per_second())
    n = args.processes
    lengths = [(s, t) for s, t in ((0.005, args.trials_short), (0.5, args.trials_long)) if t > 0]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds.split(","):
            for seconds, trials in lengths:
                for name in ("1 process", f"ThreadExecutor({n})", f"{n} processes"):
                    backends = ["sqlite"] + (["postgres"] if has_postgres else [])
                    for backend in backends:
                        url = (
                            f"sqlite:///{Path(tmp) / (uuid.uuid4().hex + '.db')}"
                            if backend == "sqlite"
                            else args.postgres
                        )
                        if name.endswith("processes"):
                            elapsed = run_processes(kind, seconds, url, trials, n)
                        else:
                            threads = n if name.startswith("Thread") else 1
                            elapsed = run_in_process(kind, seconds, url, trials, threads)
                        row = {
                            "kind": kind,
                            "trial_seconds": seconds,
                            "trials": trials,
                            "setup": name,
                            "storage": backend,
                            "wall_seconds": round(elapsed, 2),
                            "trials_per_second": round(trials / elapsed, 2),
                            "ideal_seconds_one_core": round(trials * seconds, 2),
                        }
                        rows.append(row)
                        print(json.dumps(row), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    machine = {
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
        "date": time.strftime("%Y-%m-%d"),
        "command": command_line(),
    }
    write_json(out / "results.json", {"machine": machine, "rows": rows}, indent=1)
    (out / "README.md").write_text(report(machine, rows))
    print(f"wrote {out / 'README.md'}")


def report(machine: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    lines = [
        "# Several processes on one study: when do they pay off?",
        "",
        f"Measured by `{machine.get('command', 'python -m benchmarks.parallel.run')}` on "
        f"{machine['cpus']} CPUs ({machine.get('cpu', machine['machine'])}, "
        f"{machine['system']}, Python {machine['python']}), "
        f"{machine['date']}. Wall time includes process start-up. A random search of the "
        "given number of trials; every run checked: exactly that many trials, all complete, "
        "no configuration twice.",
        "",
        "| trial | trials | setup | storage | wall (s) | trials/s | speedup over 1 process |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    base = {
        (r["kind"], r["trial_seconds"], r["storage"]): r["wall_seconds"]
        for r in rows
        if r["setup"] == "1 process"
    }
    for r in rows:
        one = base.get((r["kind"], r["trial_seconds"], r["storage"]))
        speedup = f"{one / r['wall_seconds']:.1f}x" if one else ""
        trial = f"{r['kind']} {r['trial_seconds'] * 1000:g} ms"
        lines.append(
            f"| {trial} | {r['trials']} | {r['setup']} | {r['storage']} | "
            f"{r['wall_seconds']} | {r['trials_per_second']} | {speedup} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
