"""The objectives of the parallel benchmark, at module level so that every executor pickles them.

Each one records which worker ran it (``pid`` and ``tid``, the process and the thread) and
when the objective itself began and ended (``began``, ``ended``), so the benchmark can follow
every worker's trials from storage alone and measure the time from one objective's start to
the next on the same worker (a trial's ``started_at`` is when the driver created it, before a
worker process may even exist). Their length comes from environment
variables set by the benchmark before any worker starts (inherited by every process):

- ``HS_BENCH_SECONDS``: how long a trial of :func:`sleep_trial` and :func:`cpu_trial` lasts;
- ``HS_BENCH_EPOCH_SECONDS``: how long an epoch of :func:`epochs_trial` lasts;
- ``HS_BENCH_LOOPS_PER_SECOND``: the loops of :func:`burn` per second, measured once by the
  benchmark so that every process burns the same number of loops.

This file imports only the standard library: ``hyperscout worker`` loads it by its path.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any


def _seconds(variable: str, default: float) -> float:
    return float(os.environ.get(variable, default))


def _who(began: float) -> dict[str, float]:
    """The worker that ran this trial (its process and thread), and when the objective began
    and ended (Unix time): metrics, so floats."""
    return {
        "pid": float(os.getpid()),
        "tid": float(threading.get_ident() % 2**48),
        "began": began,
        "ended": time.time(),
    }


def _draw(hp: Any) -> float:
    x = hp.Float("x", -5.0, 5.0)
    lr = hp.Float("lr", 1e-5, 1e-1, sampling="log")
    units = hp.Int("units", 16, 256)
    return float((x - 1.0) ** 2 + lr + units / 1000.0)


def sleep_trial(hp: Any) -> dict[str, float]:
    """A trial that waits ``HS_BENCH_SECONDS`` (as I/O or a GIL-releasing library does)."""
    began = time.time()
    loss = _draw(hp)
    time.sleep(_seconds("HS_BENCH_SECONDS", 0.5))
    return {"loss": loss, **_who(began)}


def cpu_trial(hp: Any) -> dict[str, float]:
    """A trial of pure Python for ``HS_BENCH_SECONDS`` of one core (it holds the GIL)."""
    began = time.time()
    loss = _draw(hp)
    burn(_seconds("HS_BENCH_SECONDS", 0.5))
    return {"loss": loss, **_who(began)}


def epochs_trial(hp: Any, trial: Any) -> dict[str, float]:
    """``trial.budget`` epochs of ``HS_BENCH_EPOCH_SECONDS`` each, reported one by one."""
    began = time.time()
    loss = _draw(hp)
    epoch = _seconds("HS_BENCH_EPOCH_SECONDS", 0.1)
    epochs = round(trial.budget) if trial.budget is not None else 1
    for step in range(1, epochs + 1):
        time.sleep(epoch)
        trial.report(step, loss=loss + 1.0 / step)
    return {"loss": loss + 1.0 / epochs, **_who(began)}


def optuna_sleep_trial(trial: Any) -> float:
    """:func:`sleep_trial` for Optuna: the same three parameters, the worker in user attrs."""
    began = time.time()
    x = trial.suggest_float("x", -5.0, 5.0)
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    units = trial.suggest_int("units", 16, 256)
    time.sleep(_seconds("HS_BENCH_SECONDS", 0.5))
    for name, value in _who(began).items():
        trial.set_user_attr(name, value)
    return float((x - 1.0) ** 2 + lr + units / 1000.0)


def burn(seconds: float) -> None:
    """Pure Python for about ``seconds`` of one core (holds the GIL)."""
    loops = int(seconds * loops_per_second())
    total = 0
    for i in range(loops):
        total += i * i
    if total < 0:  # never true; keeps the loop from being optimised away
        print(total)


_RATE: list[float] = []


def loops_per_second() -> float:
    """Loops of :func:`burn` per second: from ``HS_BENCH_LOOPS_PER_SECOND``, else measured."""
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
