"""What one run of the parallel benchmark measured, from its trials' start and end times.

A run is launched at ``launched`` (Unix time, before the first process starts) and ends at
``ended`` (the last process exited). Every trial has its start and end (from storage) and the
worker that ran it (process and thread, recorded by the objective). From those:

- **start-up**: from launch to the first trial's start (Python, the pool or cluster, the
  storage, the study), and to the moment every worker has started a trial ("all busy");
- **steady state**: between "all busy" and the last trial's start (after it, the study only
  drains), the time from one trial's start to the next on the same worker, averaged over
  every such pair: the wall time a worker spends per trial, the objective's time plus the
  coordination's. Throughput = workers / that time; the coordination overhead per trial =
  that time - the objective's own time. Start-up and the drain at the end are left out, so
  the figure is what a long search gets per trial;
- **end to end**: trials / (ended - launched), start-up and drain included;
- **idle fraction** (for budgeted strategies, whose trials differ in length): the share of the
  workers' time, from "all busy" (start-up left out) to the last trial's end, in which they ran
  no trial; and the same until the last trial's start (the end's drain left out too).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import defaultdict
from collections.abc import Sequence
from typing import Any


@dataclasses.dataclass(frozen=True)
class Record:
    """One trial: its start and end (Unix time), its worker, and its budget."""

    start: float
    end: float
    worker: str
    budget: float | None = None


def steady_cycle(records: Sequence[Record], n: int) -> tuple[float | None, int, float, float]:
    """Mean time from a trial's start to the next on the same worker in the steady window.

    Returns (the mean, how many pairs it averages, the window's start, its end). The window
    runs from the moment ``n`` workers have started a trial to the last trial's start; when
    fewer than ``n`` workers ever ran a trial it starts at the last one's first trial.
    """
    first: dict[str, float] = {}
    for r in sorted(records, key=lambda r: r.start):
        first.setdefault(r.worker, r.start)
    firsts = sorted(first.values())
    window_start = firsts[min(n, len(firsts)) - 1]
    window_end = max(r.start for r in records)
    starts: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if window_start <= r.start <= window_end:
            starts[r.worker].append(r.start)
    gaps = []
    for times in starts.values():
        times.sort()
        gaps += [b - a for a, b in itertools.pairwise(times)]
    if not gaps:
        return None, 0, window_start, window_end
    return sum(gaps) / len(gaps), len(gaps), window_start, window_end


def busy_fraction(records: Sequence[Record], n: int, start: float, end: float) -> float | None:
    """The share of ``n`` workers' time in ``[start, end]`` spent running trials."""
    if end <= start:
        return None
    busy = sum(max(0.0, min(r.end, end) - max(r.start, start)) for r in records)
    return busy / (n * (end - start))


def measure(
    records: Sequence[Record], n: int, launched: float, ended: float, trial_seconds: float | None
) -> dict[str, Any]:
    """The figures of one run (see the module's docstring); times in seconds."""
    first_start = min(r.start for r in records)
    last_start = max(r.start for r in records)
    last_end = max(r.end for r in records)
    cycle, pairs, window_start, window_end = steady_cycle(records, n)
    workers = len({r.worker for r in records})
    row: dict[str, Any] = {
        "workers": n,
        "workers_seen": workers,
        "trials": len(records),
        "wall_s": ended - launched,
        "first_trial_s": first_start - launched,
        "all_busy_s": window_start - launched,
        "steady_window_s": window_end - window_start,
        "steady_pairs": pairs,
        "cycle_s": cycle,
        "steady_trials_per_s": None if cycle is None else n / cycle,
        "end_to_end_trials_per_s": len(records) / (ended - launched),
        "overhead_ms": None
        if cycle is None or trial_seconds is None
        else (cycle - trial_seconds) * 1e3,
    }
    busy_all = busy_fraction(records, n, window_start, last_end)
    busy_running = busy_fraction(records, n, window_start, last_start)
    row["idle_fraction"] = None if busy_all is None else 1.0 - busy_all
    row["idle_fraction_until_last_start"] = None if busy_running is None else 1.0 - busy_running
    return row


def add_efficiency(rows: list[dict[str, Any]]) -> None:
    """Parallel efficiency of each row: throughput / (N x one worker's, same setup)."""
    one: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        if row["workers"] == 1:
            one[(row["group"], row["setup"])] = row
    for row in rows:
        base = one.get((row["group"], row["setup"]))
        for key, out in (
            ("steady_trials_per_s", "efficiency"),
            ("end_to_end_trials_per_s", "end_to_end_efficiency"),
        ):
            if base is None or not base.get(key) or row.get(key) is None:
                row[out] = None
            else:
                row[out] = row[key] / (row["workers"] * base[key])
