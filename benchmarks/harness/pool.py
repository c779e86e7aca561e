"""Run many independent benchmark runs, one after the other or in a pool of processes."""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

Cell = TypeVar("Cell")
Record = dict[str, Any]


def run_all(
    run: Callable[[Cell], Record],
    cells: Sequence[Cell],
    jobs: int,
    label: Callable[[Cell], str],
    describe: Callable[[Cell, Record], str],
) -> list[str]:
    """Run every cell (in ``jobs`` processes when more than one); returns the failures.

    ``run`` must be a module-level function (it is pickled for the pool). ``label`` names a
    cell, ``describe`` says in a few words what a finished one found; both are printed, with
    the traceback of each failure.
    """
    failures: list[str] = []
    total = len(cells)

    def done(i: int, cell: Cell, record: Record | None, error: str | None) -> None:
        head = f"[{i}/{total}] {label(cell)}"
        if error is not None:
            failures.append(f"{label(cell)}: {error}")
            print(f"{head}: FAILED\n{error}", flush=True)
            return
        assert record is not None
        print(f"{head}: {describe(cell, record)}", flush=True)

    if jobs <= 1:
        for i, cell in enumerate(cells, 1):
            try:
                done(i, cell, run(cell), None)
            except Exception:
                done(i, cell, None, traceback.format_exc())
        return failures
    # spawn: a clean interpreter per worker, safe beside torch's threads.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures: dict[Future[Record], Cell] = {pool.submit(run, c): c for c in cells}
        for i, future in enumerate(as_completed(futures), 1):
            try:
                done(i, futures[future], future.result(), None)
            except Exception as exc:
                done(i, futures[future], None, "".join(traceback.format_exception(exc)))
    return failures
