"""How much sooner than Bayesian optimisation: the lecture's "10-20x faster", measured.

The lecture our users learn from says of Hyperband: "It can be 10-20x faster than Bayesian
optimization." A speedup depends on the quality asked for, so this script measures it at
several: the losses full-budget BO (and full-budget random search) reach at 10, 25, 50 and
100 % of the total budget, their median curves over the seeds. For each method, the speedup at
a target is the budget the reference's median curve needs to reach it divided by the budget the
method's median curve needs (``never`` where the method's median never gets there). It reads
the records that ``run.py`` saved; it runs nothing.

    python -m benchmarks.multi_fidelity.speedup \\
        --results benchmarks/results/multi_fidelity_peers --tasks mlp-digits,torch-digits
    python -m benchmarks.multi_fidelity.speedup --max-epochs 81 \\
        --results benchmarks/results/multi_fidelity_81 --tasks mlp-digits,torch-digits

Markdown goes to standard output (or ``--out FILE``).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

from benchmarks.harness.markdown import md_table
from benchmarks.multi_fidelity.methods import METHODS
from benchmarks.multi_fidelity.report import Results, _first_reach, quantiles
from benchmarks.multi_fidelity.run import DEFAULT_MULTIPLIER, RECORD_VERSION
from benchmarks.multi_fidelity.tasks import MAX_EPOCHS

__all__ = ["FRACTIONS", "speedup_rows", "main"]

#: Where on the reference's budget the targets are read: its median best loss at these shares.
FRACTIONS = (0.1, 0.25, 0.5, 1.0)
REFERENCES = ("hs-bo", "hs-random")


def speedup_rows(
    results: Results, task: str, reference: str, methods: Sequence[str]
) -> list[list[str]] | None:
    """One row per method: its speedup over ``reference`` at each target of :data:`FRACTIONS`.

    None when the reference has no runs of ``task``.
    """
    if not results.has(task, reference):
        return None
    ref_curve = quantiles(results.curves(task, reference), (50,))[0]
    targets = []
    for fraction in FRACTIONS:
        index = max(round(fraction * results.total) - 1, 0)
        target = float(ref_curve[index])
        targets.append((target, _first_reach(ref_curve, target, results.grid)))
    rows = []
    for method in methods:
        if method == reference or not results.has(task, method):
            continue
        curve = quantiles(results.curves(task, method), (50,))[0]
        cells = [METHODS[method].label, str(len(results.records[task, method]))]
        for target, ref_budget in targets:
            if not math.isfinite(target):
                cells.append("-")
                continue
            reach = _first_reach(curve, target, results.grid)
            cells.append(f"{ref_budget / reach:.1f}x" if math.isfinite(reach) else "never")
        rows.append(cells)
    return rows


def target_row(results: Results, task: str, reference: str) -> list[str]:
    """The reference's targets: its median best loss at each fraction, and when it gets there."""
    ref_curve = quantiles(results.curves(task, reference), (50,))[0]
    cells = []
    for fraction in FRACTIONS:
        index = max(round(fraction * results.total) - 1, 0)
        target = float(ref_curve[index])
        reach = _first_reach(ref_curve, target, results.grid)
        cells.append(f"{target:.4g} (epoch {reach:.0f})" if math.isfinite(target) else "-")
    return cells


def report(results: Results, tasks: Sequence[str], methods: Sequence[str]) -> str:
    lines = []
    for task in tasks:
        for reference in REFERENCES:
            rows = speedup_rows(results, task, reference, methods)
            if rows is None:
                continue
            label = METHODS[reference].label
            lines.append(f"#### {task}, full budget {results.max_epochs} epochs: against {label}\n")
            header = ["method", "seeds"] + [f"to its {round(100 * f)} % loss" for f in FRACTIONS]
            targets = [f"**{label}** (target)", str(len(results.records[task, reference]))]
            lines.append(md_table(header, [targets + target_row(results, task, reference), *rows]))
            lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, required=True, help="the records' folder")
    parser.add_argument("--tasks", default="mlp-digits,torch-digits")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--max-epochs", type=int, default=MAX_EPOCHS)
    parser.add_argument("--out", type=Path, help="write the markdown here instead of stdout")
    args = parser.parse_args(argv)
    tasks = [t for t in args.tasks.split(",") if t]
    methods = [m for m in args.methods.split(",") if m]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(f"--methods: unknown {unknown}; known: {', '.join(METHODS)}")
    total = DEFAULT_MULTIPLIER * args.max_epochs
    results = Results(
        args.results, tasks, methods, args.seeds, total, RECORD_VERSION, args.max_epochs
    )
    text = report(results, tasks, methods)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
