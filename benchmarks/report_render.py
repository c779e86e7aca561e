"""How long the report of a large study takes: every figure, then the whole HTML file.

The issue asks that the report of a 2,000-trial study renders in under 5 s. This builds a
study of ``--trials`` trials like a Hyperband search's (budgets 1, 3, 9 and 27 with brackets,
rungs and promotions, a report per step, a log-scaled and a conditional parameter, a
categorical one, two workers, a few stopped and failed trials), in memory so that what is
timed is the drawing, not a database, and measures, each the median of ``--repeats`` runs:

- ``all_figures``: :func:`hyperscout.report.all_figures` (the figures as plotly objects,
  the parameter importance included);
- ``to_json``: every figure serialised as the page embeds it;
- ``write_report``: :func:`hyperscout.report.html.write_report`, the whole file (figures,
  advice, tables, plotly.js), when that module is there.

Run from the repository root::

    python -m benchmarks.report_render                 # 2,000 trials, 3 repeats
    python -m benchmarks.report_render --quick         # 200 trials, 1 repeat (smoke run)
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import hyperscout as hs
from hyperscout import report
from hyperscout.report import StudyData
from hyperscout.trial import Trial, TrialState

BUDGETS = (1, 3, 9, 27)


def space() -> hs.HyperParameters:
    hp = hs.HyperParameters()
    hp.Float("lr", 1e-5, 1e-1, sampling="log")
    hp.Choice("activation", ["relu", "tanh", "gelu"])
    hp.Int("layers", 1, 3)
    with hp.conditional_scope("layers", [2, 3]):
        hp.Int("units_1", 16, 256, sampling="log")
    hp.Float("dropout", 0.0, 0.5)
    hp.Int("batch", 16, 256, sampling="log")
    return hp


def loss_of(values: dict[str, Any], epoch: int) -> float:
    shape = (math.log10(values["lr"]) + 3.0) ** 2 + 0.3 * values["dropout"]
    shape += 0.2 * (values["activation"] == "tanh")
    return float(shape) + 1.0 / (epoch + 1)


def study(n_trials: int, seed: int = 0) -> StudyData:
    """``n_trials`` trials of a Hyperband-like search (see the module docstring)."""
    hp, rng = space(), np.random.default_rng(seed)
    trials: list[Trial] = []
    clock = 1_700_000_000.0
    while len(trials) < n_trials:
        bracket = len(trials) % 4
        rung_sizes = [3 ** (bracket - i) for i in range(bracket + 1)]
        configs = [
            hp.active_values({p.name: p.sample(rng) for p in hp.space})
            for _ in range(rung_sizes[0])
        ]
        parents: list[int | None] = [None] * len(configs)
        for rung, size in enumerate(rung_sizes):
            budget = BUDGETS[3 - bracket + rung]
            previous = BUDGETS[3 - bracket + rung - 1] if rung else 0
            made = []
            for values, parent in list(zip(configs, parents, strict=True))[:size]:
                number = len(trials)
                reports = {e: {"val_loss": loss_of(values, e)} for e in range(previous, budget)}
                state = TrialState.COMPLETE
                if rng.random() < 0.02:
                    state = TrialState.FAILED
                elif rng.random() < 0.05:
                    state = TrialState.PRUNED
                value = None if state is TrialState.FAILED else reports[budget - 1]["val_loss"]
                attrs: dict[str, Any] = {
                    "bracket": bracket,
                    "rung": rung,
                    "worker": {"host": "node", "pid": number % 2},
                }
                if parent is not None:
                    attrs["promoted_from"] = parent
                start, clock = clock, clock + 0.05 * (budget - previous)
                trials.append(
                    Trial(
                        number,
                        values,
                        state,
                        value=value,
                        budget=budget,
                        intermediate=reports,
                        attrs=attrs,
                        started_at=start,
                        finished_at=clock,
                        error="RuntimeError: nan" if value is None else None,
                    )
                )
                made.append((value if value is not None else math.inf, number, values))
            made.sort(key=lambda m: m[0])
            configs = [m[2] for m in made]
            parents = [m[1] for m in made]
            if len(trials) >= n_trials:
                break
    return StudyData("benchmark", trials[:n_trials], hs.Objective("val_loss", "min"), hp)


def median_seconds(action: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="200 trials, 1 repeat")
    args = parser.parse_args(argv)
    n, repeats = (200, 1) if args.quick else (args.trials, args.repeats)
    data = study(n)
    import plotly.io as pio

    report.all_figures(data)  # warm-up: plotly's imports and validators
    rows = [("all_figures", median_seconds(lambda: report.all_figures(data), repeats))]
    figures = report.all_figures(data)
    rows.append(("to_json", median_seconds(lambda: [pio.to_json(f) for _, f in figures], repeats)))
    if importlib.util.find_spec("hyperscout.report.html") is not None:
        from hyperscout.report.html import write_report

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "report.html"
            rows.append(("write_report", median_seconds(lambda: write_report(data, path), repeats)))
            size = path.stat().st_size
        rows.append(("report size (MB)", size / 1e6))
    print(
        f"{n} trials ({sum(t.state is TrialState.COMPLETE for t in data.trials)} complete), "
        f"median of {repeats}:"
    )
    print(f"figures: {', '.join(key for key, _ in figures)}")
    for name, seconds in rows:
        print(f"  {name:<18} {seconds:8.3f}" + ("" if "MB" in name else " s"))


if __name__ == "__main__":
    main()
