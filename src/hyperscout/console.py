"""What a search shows in the terminal: a progress bar while it runs, tables afterwards.

Tables never cut a value: each column is as wide as its widest value and only headers wrap;
a table that does not fit the console even so (many parameters at 80 columns, a pipe, a
narrow terminal) is printed as one block of ``name  value`` lines per row instead
(:class:`FittedTable`).

User text (parameter names, choices, metric and project names) is printed as text: never read
as rich markup (``[bold]`` stays as typed), and its control characters, such as the escape
sequences that recolour a terminal, are shown escaped (:func:`printable`).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderResult
from rich.padding import Padding
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from hyperscout._parameters import _Numeric
from hyperscout.budgets import BudgetAgreement, budget_rank
from hyperscout.objective import Objective
from hyperscout.space import Choice, Fixed, HyperParameters, Parameter
from hyperscout.trial import Trial, TrialState

__all__ = [
    "FittedTable",
    "SearchProgress",
    "budgets_table",
    "format_budget",
    "format_value",
    "printable",
    "space_table",
    "trials_table",
]

#: What a table shows as the budget of a trial that had the full budget (``budget=None``).
FULL_BUDGET = "full"
#: The width a column of a table keeps for the longest word of its header, at most.
HEADER_WIDTH = 10


def printable(text: str) -> str:
    r"""``text`` with its control characters written as escapes, safe to print on a terminal.

    An escape sequence in a choice or a name (``"\x1b[31mred"``) would otherwise recolour,
    move or clear the user's terminal; it is shown as ``\x1b[31mred`` instead.

    >>> printable("\x1b[31mred"), printable("data/[train]")
    ('\\x1b[31mred', 'data/[train]')
    """
    if text.isprintable():
        return text
    return "".join(
        _escaped(char) if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") else char
        for char in text
    )


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def format_value(value: Any) -> str:
    """A short text for a value in a table (control characters escaped, see :func:`printable`)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.3e}"
        return f"{value:.4g}"
    return printable(str(value))


def format_budget(budget: float | None) -> str:
    """A trial's budget for a table: the number, or ``"full"`` for ``None``.

    >>> format_budget(9.0), format_budget(None)
    ('9', 'full')
    """
    return FULL_BUDGET if budget is None else format_value(budget)


class FittedTable:
    """A table that never cuts a value, whatever the console's width.

    Each column is at least as wide as its widest cell (its longest word, in a column of
    text that may wrap between words); headers wrap (rich, left to itself, shortens cells with
    an ellipsis, ``8.211e-05`` becoming ``8.211…``, and squeezes columns to nothing). When the
    columns do not fit even so, every row is printed as a block instead: a heading made of
    its first cells, then one ``header  value`` line per other column. Headers, cells and the
    title are plain text (never rich markup; control characters escaped, see :func:`printable`).

    Args:
        headers: the column headers.
        title: printed above the table or the blocks.
        justify: each column's alignment in table form (default: left).
        wrap: for each column, True when its cells are text that may wrap between words
            (default: False, a cell is never broken).
        heading: a block's heading from its row's cells (default: the first cell).
        heading_columns: the leading columns the heading shows (left out of the block's lines).

    >>> import io
    >>> table = FittedTable(["name", "value"])
    >>> table.add_row("learning_rate", "8.211e-05")
    >>> out = io.StringIO()
    >>> Console(file=out, width=20).print(table)
    >>> print(out.getvalue().strip())
    learning_rate
      value  8.211e-05
    """

    def __init__(
        self,
        headers: Sequence[str],
        *,
        title: str | None = None,
        justify: Sequence[JustifyMethod] | None = None,
        wrap: Sequence[bool] | None = None,
        heading: Callable[[Sequence[str]], str] | None = None,
        heading_columns: int = 1,
    ) -> None:
        self.headers = [printable(header) for header in headers]
        self.title = None if title is None else printable(title)
        self.justify: list[JustifyMethod] = list(justify or ["left"] * len(self.headers))
        self.wrap = list(wrap or [False] * len(self.headers))
        self.heading = heading or (lambda cells: cells[0])
        self.heading_columns = heading_columns
        self.rows: list[list[str]] = []

    def add_row(self, *cells: str) -> None:
        """Add a row of cell texts, one per header.

        Raises:
            ValueError: the row has not one cell per header.
        """
        if len(cells) != len(self.headers):
            raise ValueError(
                f"FittedTable.add_row(): expected {len(self.headers)} cells, one per header, "
                f"got {len(cells)}."
            )
        self.rows.append([printable(cell) for cell in cells])

    def column_widths(self, width: int) -> list[int] | None:
        """The columns' widths in a table ``width`` cells wide, or None when it cannot fit.

        A column needs its widest cell (longest word where it wraps), and room for its
        header's longest word up to :data:`HEADER_WIDTH` cells (a longer word folds); the room
        left widens the columns whose cells or headers would otherwise wrap, one cell at a
        time each in turn.
        """
        columns = range(len(self.headers))
        need = [
            max(
                [
                    min(HEADER_WIDTH, _need(self.headers[i], True)),
                    *(_need(row[i], self.wrap[i]) for row in self.rows),
                ]
            )
            for i in columns
        ]
        # Every column has one cell of padding each side and a border on its right, and the
        # table one border on its left.
        spare = width - (sum(need) + 3 * len(need) + 1)
        if spare < 0:
            return None
        widths = list(need)
        # First room for whole header words, then for whole headers and cells.
        whole_words = [max(n, _need(h, True)) for n, h in zip(need, self.headers, strict=True)]
        whole = [
            max([w, cell_len(self.headers[i]), *(cell_len(row[i]) for row in self.rows)])
            for i, w in enumerate(whole_words)
        ]
        for wanted in (whole_words, whole):
            while spare > 0 and widths != wanted:
                for i, goal in enumerate(wanted):
                    if spare > 0 and widths[i] < goal:
                        widths[i] += 1
                        spare -= 1
        return widths

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        widths = self.column_widths(options.max_width)
        if widths is not None:
            yield self._table(widths)
            return
        if self.title:
            yield Text(self.title, style="bold")
        yield from self._blocks(options.max_width)

    def _table(self, widths: list[int]) -> Table:
        title = None if self.title is None else Text(self.title)
        table = Table(title=title, header_style="bold")
        for header, justify, width in zip(self.headers, self.justify, widths, strict=True):
            table.add_column(Text(header), justify=justify, width=width, overflow="fold")
        for row in self.rows:
            table.add_row(*(Text(cell) for cell in row))
        return table

    def _blocks(self, width: int) -> RenderResult:
        first = self.heading_columns
        names = self.headers[first:]
        cells = [row[first:] for row in self.rows]
        wraps = self.wrap[first:]
        value_need = max(
            [1, *(_need(c, w) for row in cells for c, w in zip(row, wraps, strict=True))]
        )
        value_wanted = max([1, *(cell_len(c) for row in cells for c in row)])
        name_width = max([1, *(cell_len(n) for n in names)])
        indent, gap = 2, 2
        # Values keep the width they need first; names wrap when both do not fit.
        name_width = max(1, min(name_width, width - indent - gap - value_need))
        value_width = max(1, min(value_wanted, width - indent - gap - name_width))
        for row, values in zip(self.rows, cells, strict=True):
            yield Text(self.heading(row), style="bold", overflow="fold")
            grid = Table.grid(padding=(0, gap, 0, 0))
            grid.add_column(width=name_width, overflow="fold")
            grid.add_column(width=value_width, overflow="fold")
            for name, value in zip(names, values, strict=True):
                grid.add_row(Text(name), Text(value))
            yield Padding(grid, (0, 0, 0, indent), expand=False)


def _need(cell: str, wrap: bool) -> int:
    """The width a cell needs: all of it, or its longest word when it may wrap."""
    if wrap:
        return max([1, *(cell_len(word) for word in cell.split())])
    return cell_len(cell)


def trials_table(
    trials: Sequence[Trial], objective: Objective, *, title: str | None = None
) -> FittedTable:
    """Trials as ranked (see :func:`~hyperscout.budgets.rank_configurations`): rank, number,
    objective value, budget (``full`` for ``None``), state, then one column per parameter."""
    names: list[str] = []
    for trial in trials:
        for name in trial.values:
            if name not in names:
                names.append(name)
    justify: list[JustifyMethod] = ["right"] * (5 + len(names))
    justify[4] = "left"  # the state
    table = FittedTable(
        ["#", "trial", f"{objective.name} ({objective.direction})", "budget", "state", *names],
        title=title,
        justify=justify,
        heading=lambda cells: f"#{cells[0]}  trial {cells[1]}",
        heading_columns=2,
    )
    for rank, trial in enumerate(trials, start=1):
        table.add_row(
            str(rank),
            str(trial.number),
            format_value(trial.value),
            format_budget(trial.budget),
            trial.state.name,
            *(format_value(trial.values.get(name)) for name in names),
        )
    return table


def budgets_table(rows: Sequence[BudgetAgreement], *, title: str | None = None) -> FittedTable:
    """A table of how each budget ranked the configurations that a higher one also ran."""
    table = FittedTable(
        ["budget", "against budget", "configurations", "rank correlation"],
        title=title,
        justify=["right"] * 4,
        heading=lambda cells: f"budget {cells[0]}",
    )
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


def space_table(space: HyperParameters) -> FittedTable:
    """A table of the search space: name, type, range, default, condition."""
    table = FittedTable(
        ["name", "type", "values", "default", "condition"],
        title=f"Search space ({len(space)} parameters)",
        wrap=[False, False, True, False, True],
    )
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

    The best so far follows :func:`~hyperscout.budgets.rank_configurations`: a result on a
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
