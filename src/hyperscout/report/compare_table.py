"""The comparison's table: per strategy, the final best, the budget to reach a target, time.

Read from the runs of :mod:`hyperscout.report.compare` (see there for what a trial costs and
which values count as the best so far).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console, JustifyMethod

from hyperscout._validation import check_choice
from hyperscout.report.compare import ComparisonData, Run, quantile, spread
from hyperscout.report.tables import FittedTable

__all__ = ["ComparisonTable", "StrategyRow", "comparison_table", "default_target"]


@dataclass(frozen=True)
class StrategyRow:
    """One strategy's line of the comparison's table (medians over its seeds).

    Attributes:
        strategy: the strategy's name.
        runs: the seeds it ran with.
        trials: the median number of finished trials of a run.
        budget: the median budget spent by a run.
        best: the median final best (None: no run has a full-budget result).
        best_low, best_high: the spread of the final best (the band of the figure).
        to_target: the median budget spent until a run's best reached the target (None: not
            reached by half the runs).
        reached: the runs whose best reached the target.
        wall_seconds: the median wall time of a run (:attr:`Run.wall_seconds`).
    """

    strategy: str
    runs: int
    trials: float
    budget: float
    best: float | None
    best_low: float | None
    best_high: float | None
    to_target: float | None
    reached: int
    wall_seconds: float


@dataclass(frozen=True)
class ComparisonTable:
    """The comparison's table: a :class:`StrategyRow` per strategy, and the target they chase.

    ``target`` is the quality whose budget ``to_target`` counts: given, or by default the
    median over the strategies of their median final best (:func:`default_target`). Print
    it, or read :attr:`rows`.
    """

    rows: Sequence[StrategyRow]
    target: float | None
    objective: Any
    band: str
    x: str

    def fitted(self) -> FittedTable:
        """The table for a rich console (:class:`~hyperscout.report.FittedTable`)."""
        unit = "trials" if self.x == "trials" else "budget"
        spread = "IQR" if self.band == "iqr" else "min-max"
        target = "-" if self.target is None else f"{self.target:.4g}"
        table = FittedTable(
            [
                "strategy",
                "runs",
                "trials",
                "budget spent",
                f"final best {self.objective.name} (median)",
                f"spread ({spread})",
                f"{unit} to reach {target}",
                "reached",
                "wall time (s)",
            ],
            title=f"{self.objective.name} ({self.objective.direction}): medians over seeds",
            justify=_JUSTIFY,
        )
        for row in self.rows:
            table.add_row(*_cells(row))
        return table

    def __str__(self) -> str:
        out = io.StringIO()
        Console(file=out, width=160, color_system=None).print(self.fitted())
        return out.getvalue().rstrip()


_RIGHT: JustifyMethod = "right"
_JUSTIFY: list[JustifyMethod] = ["left", *([_RIGHT] * 8)]


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _cells(row: StrategyRow) -> list[str]:
    spread = "-" if row.best_low is None else f"{row.best_low:.4g} to {_number(row.best_high)}"
    return [
        row.strategy,
        str(row.runs),
        f"{row.trials:g}",
        f"{row.budget:g}",
        _number(row.best),
        spread,
        "not reached" if row.to_target is None else f"{row.to_target:g}",
        f"{row.reached}/{row.runs}",
        f"{row.wall_seconds:.3g}",
    ]


def _reached_at(run: Run, target: float, x: str) -> float | None:
    direction = run.study.objective.direction
    xs, best = run.curve(x)
    for point, value in zip(xs, best, strict=True):
        if value is not None and (value <= target if direction == "min" else value >= target):
            return point
    return None


def _median(values: Sequence[float]) -> float:
    return spread(values, "range")[1]


def _final_bests(runs: Sequence[Run], x: str) -> list[float]:
    finals = (run.curve(x)[1] for run in runs)
    return [best[-1] for best in finals if best and best[-1] is not None]


def default_target(finals: Iterable[Sequence[float]]) -> float | None:
    """The median over the strategies of their median final best (None: no result).

    Half the strategies reach it in most runs, so the column says how fast the better ones
    get there; the worst strategy's median would be no bar when one strategy fails badly
    (a grid spending its trials in one corner of the space).

    >>> default_target([[1.0, 2.0, 3.0], [5.0], [9.0, 7.0]])
    5.0
    """
    medians = [_median(values) for values in finals if values]
    return _median(medians) if medians else None


def comparison_table(
    data: ComparisonData, *, target: float | None = None, x: str = "auto", band: str = "iqr"
) -> ComparisonTable:
    """Per strategy: final best (median and spread), budget to reach ``target``, wall time.

    Args:
        target: the quality to reach; None: :func:`default_target`.
        x: how ``to_target`` counts: ``"trials"``, ``"budget"`` or ``"auto"`` (as the figure).
        band: the spread of the final best: ``"iqr"`` or ``"range"``.
    """
    check_choice("comparison_table", "x", x, ("auto", "trials", "budget"))
    check_choice("comparison_table", "band", band, ("iqr", "range"))
    if x == "auto":
        x = "budget" if data.budgeted else "trials"
    objective = data.objective
    finals = {s: _final_bests(data.of(s), x) for s in data.strategies}
    if target is None:
        target = default_target(finals.values())
    rows = []
    for strategy in data.strategies:
        runs = data.of(strategy)
        final = spread(finals[strategy], band) if finals[strategy] else (None, None, None)
        hits = [_reached_at(run, target, x) if target is not None else None for run in runs]
        # A run that never reached the target counts as never: None when most did not.
        ranked = sorted(math.inf if hit is None else hit for hit in hits)
        to_target = quantile(ranked, 0.5) if ranked else math.inf
        rows.append(
            StrategyRow(
                strategy=strategy,
                runs=len(runs),
                trials=_median([float(len(run.trials)) for run in runs]),
                budget=_median([run.budget_spent for run in runs]),
                best=final[1],
                best_low=final[0],
                best_high=final[2],
                to_target=to_target if math.isfinite(to_target) else None,
                reached=sum(hit is not None for hit in hits),
                wall_seconds=_median([run.wall_seconds for run in runs]),
            )
        )
    return ComparisonTable(rows, target, objective, band, x)
