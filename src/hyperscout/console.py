"""What a search shows in the terminal: a progress bar while it runs, tables afterwards."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from hyperscout._parameters import _Numeric
from hyperscout.budgets import BudgetAgreement
from hyperscout.objective import Objective
from hyperscout.space import Choice, Fixed, HyperParameters, Parameter
from hyperscout.trial import Trial, TrialState

__all__ = ["SearchProgress", "budgets_table", "format_value", "space_table", "trials_table"]


def format_value(value: Any) -> str:
    """A short text for a value in a table."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.3e}"
        return f"{value:.4g}"
    return str(value)


def trials_table(
    trials: Sequence[Trial], objective: Objective, *, title: str | None = None
) -> Table:
    """A table of trials: number, state, objective value, then one column per parameter."""
    names: list[str] = []
    for trial in trials:
        for name in trial.values:
            if name not in names:
                names.append(name)
    table = Table(title=title, header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("trial", justify="right")
    table.add_column(f"{objective.name} ({objective.direction})", justify="right", no_wrap=True)
    table.add_column("state", no_wrap=True)
    for name in names:
        table.add_column(name, justify="right", min_width=6)
    for rank, trial in enumerate(trials, start=1):
        table.add_row(
            str(rank),
            str(trial.number),
            format_value(trial.value),
            trial.state.name,
            *(format_value(trial.values.get(name)) for name in names),
        )
    return table


def budgets_table(rows: Sequence[BudgetAgreement], *, title: str | None = None) -> Table:
    """A table of how each budget ranked the configurations that a higher one also ran."""
    table = Table(title=title, header_style="bold")
    table.add_column("budget", justify="right")
    table.add_column("against budget", justify="right")
    table.add_column("configurations", justify="right")
    table.add_column("rank correlation", justify="right")
    for row in rows:
        table.add_row(
            format_value(row.budget),
            format_value(row.higher),
            str(row.n_configs),
            "-" if row.spearman is None else f"{row.spearman:.2f}",
        )
    return table


def _describe(param: Parameter) -> str:
    if isinstance(param, _Numeric):
        text = f"{param.min_value} .. {param.max_value}"
        if param.step is not None:
            text += f", step {param.step}"
        if param.sampling != "linear":
            text += f", {param.sampling}"
        return text
    if isinstance(param, Choice):
        return ", ".join(map(str, param.values)) + ("" if param.ordered else " (unordered)")
    if isinstance(param, Fixed):
        return f"= {param.value!r}"
    return "False, True"


def space_table(space: HyperParameters) -> Table:
    """A table of the search space: name, type, range, default, condition."""
    table = Table(title=f"Search space ({len(space)} parameters)", header_style="bold")
    for column in ("name", "type", "values", "default", "condition"):
        table.add_column(column)
    for param in space.space:
        condition = " and ".join(f"{c.parent} in {list(c.values)}" for c in param.conditions)
        table.add_row(
            param.name, param.kind, _describe(param), format_value(param.default), condition or "-"
        )
    return table


class SearchProgress:
    """A rich progress bar: trials done, best so far, elapsed. Silent when ``enabled`` is False.

    On a terminal it draws a live bar; with ``per_trial`` it also prints a line per finished
    trial (the only output off a terminal, e.g. in a log file).
    """

    def __init__(
        self,
        objective: Objective,
        *,
        total: int | None,
        enabled: bool,
        per_trial: bool = False,
        console: Console | None = None,
    ) -> None:
        self.objective = objective
        self.console = console or Console(stderr=True)
        self.enabled = enabled
        self.live = enabled and self.console.is_terminal
        self.per_trial = enabled and per_trial
        self._best: float | None = None
        self._progress: Progress | None = None
        self._task: Any = None
        self._total = total

    def __enter__(self) -> SearchProgress:
        if self.live:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("trials  best {task.fields[best]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=False,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("search", total=self._total, best="-")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)
            self._progress = None

    def start(self, done: int, best: float | None) -> None:
        """Show the trials already finished (a resumed search)."""
        self._best = best
        if self._progress is not None:
            self._progress.update(self._task, completed=done, best=format_value(best))

    def advance(self, trial: Trial) -> None:
        """Count a finished trial."""
        if (
            trial.state is TrialState.COMPLETE
            and trial.value is not None
            and math.isfinite(trial.value)
            and (self._best is None or self.objective.is_better(trial.value, self._best))
        ):
            self._best = trial.value
        if self._progress is not None:
            self._progress.update(self._task, advance=1, best=format_value(self._best))
        if self.per_trial:
            self.console.print(
                f"trial {trial.number}: {trial.state.name} "
                f"{self.objective.name}={format_value(trial.value)} "
                f"best={format_value(self._best)} {dict(trial.values)}"
            )
