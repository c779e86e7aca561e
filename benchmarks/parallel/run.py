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

Run: ``python benchmarks/parallel/run.py [--trials-short 400] [--trials-long 48]
[--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test] [--out docs/benchmarks/parallel]``
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

HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]


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
    command = [sys.executable, str(HERE), "--worker", "--kind", kind, "--seconds", str(seconds)]
    command += ["--storage", storage, "--project", project, "--trials", str(trials)]
    started = time.perf_counter()
    procs = [subprocess.Popen(command) for _ in range(n)]
    codes = [p.wait() for p in procs]
    elapsed = time.perf_counter() - started
    assert codes == [0] * n, f"worker exit codes {codes}"
    check(storage, project, trials)
    return elapsed


def run_in_process(kind: str, seconds: float, storage: str, trials: int, threads: int) -> float:
    """One process; started as a subprocess too, so that start-up is paid as by the others."""
    project = f"parallel_{uuid.uuid4().hex[:10]}"
    code = (
        f"import sys; sys.path.insert(0, {str(HERE.parent)!r}); import run; "
        f"t = run.tuner_for({kind!r}, {seconds!r}, {storage!r}, {project!r}, {trials!r}, "
        f"{threads!r}); t.search(); t.close()"
    )
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="sleep")
    parser.add_argument("--seconds", type=float, default=0.005)
    parser.add_argument("--storage", default="")
    parser.add_argument("--project", default="")
    parser.add_argument("--trials", type=int, default=0)
    parser.add_argument("--trials-short", type=int, default=400)
    parser.add_argument("--trials-long", type=int, default=48)
    parser.add_argument("--kinds", default="sleep,cpu")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "parallel"))
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    has_postgres = postgres_reachable(args.postgres)
    # Every process burns the same number of loops for a CPU trial of the same length.
    os.environ["HS_BENCH_LOOPS_PER_SECOND"] = str(_loops_per_second())
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds.split(","):
            for seconds, trials in ((0.005, args.trials_short), (0.5, args.trials_long)):
                for name in ("1 process", "ThreadExecutor(8)", "8 processes"):
                    backends = ["sqlite"] + (["postgres"] if has_postgres else [])
                    for backend in backends:
                        url = (
                            f"sqlite:///{Path(tmp) / (uuid.uuid4().hex + '.db')}"
                            if backend == "sqlite"
                            else args.postgres
                        )
                        if name == "8 processes":
                            elapsed = run_processes(kind, seconds, url, trials, 8)
                        else:
                            threads = 8 if name.startswith("Thread") else 1
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
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
        "date": time.strftime("%Y-%m-%d"),
    }
    (out / "results.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=1))
    (out / "README.md").write_text(report(machine, rows))
    print(f"wrote {out / 'README.md'}")


def report(machine: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    lines = [
        "# Several processes on one study: when do they pay off?",
        "",
        "Measured by `python benchmarks/parallel/run.py` on "
        f"{machine['cpus']} CPUs ({machine['system']}, Python {machine['python']}), "
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
