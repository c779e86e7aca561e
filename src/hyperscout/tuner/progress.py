"""What a search shows in the terminal while it runs: a progress bar, a line per trial.

The tables printed afterwards live in :mod:`hyperscout.report`.
"""

from __future__ import annotations

import math
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
from rich.text import Text

from hyperscout.history import budget_rank
from hyperscout.objective import Objective
from hyperscout.report import format_budget, format_value, printable
from hyperscout.trial import Trial, TrialState

__all__ = ["SearchProgress"]


class SearchProgress:
    """A rich progress bar: trials done, best so far, elapsed. Silent when ``enabled`` is False.

    On a terminal it draws a live bar; with ``per_trial`` it also prints a line per finished
    trial (the only output off a terminal, e.g. in a log file).

    The best so far follows :func:`~hyperscout.history.rank_configurations`: a result on a
    higher budget replaces one on a lower budget, whatever their values; on the same budget
    the better value wins. (The best a resumed search starts with has no known budget: it is
    compared by value until a result replaces it.)
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
        self._best_budget: float | None = None  # as budget_rank(); None: unknown
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
        self._best_budget = None
        if self._progress is not None:
            self._progress.update(self._task, completed=done, best=format_value(best))

    def advance(self, trial: Trial) -> None:
        """Count a finished trial."""
        if self._is_new_best(trial):
            self._best, self._best_budget = trial.value, budget_rank(trial.budget)
        if self._progress is not None:
            self._progress.update(self._task, advance=1, best=format_value(self._best))
        if self.per_trial:
            budget = "" if trial.budget is None else f" budget={format_budget(trial.budget)}"
            line = (
                f"trial {trial.number}: {trial.state.name} "
                f"{self.objective.name}={format_value(trial.value)}{budget} "
                f"best={format_value(self._best)} {dict(trial.values)}"
            )
            self.console.print(Text(printable(line)))

    def _is_new_best(self, trial: Trial) -> bool:
        if trial.state is not TrialState.COMPLETE or trial.value is None:
            return False
        if not math.isfinite(trial.value):
            return False
        if self._best is None:
            return True
        budget = budget_rank(trial.budget)
        if self._best_budget is not None and budget != self._best_budget:
            return budget > self._best_budget
        return self.objective.is_better(trial.value, self._best)
