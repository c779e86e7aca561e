"""Tables of trials, budgets and search spaces that never cut a value.

Each column is as wide as its widest value and only headers wrap; a table that does not fit the
console even so (many parameters at 80 columns, a pipe, a narrow terminal) is printed as one
block of ``name  value`` lines per row instead (:class:`FittedTable`). Headers, cells and titles
are plain text: never read as rich markup (``[bold]`` stays as typed), control characters
escaped (:func:`~hyperscout.report.printable`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderResult
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from hyperscout._parameters import _Numeric
from hyperscout.history import History
from hyperscout.objective import Objective
from hyperscout.report._text import format_budget, format_value, printable
from hyperscout.report.budgets import BudgetAgreement
from hyperscout.space import Choice, Fixed, HyperParameters, Parameter
from hyperscout.trial import Trial, TrialState

__all__ = ["FittedTable", "budgets_table", "projects_table", "space_table", "trials_table"]

#: The width a column of a table keeps for the longest word of its header, at most.
HEADER_WIDTH = 10


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
    """Trials as ranked (see :func:`~hyperscout.history.rank_configurations`): rank, number,
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


#: The states a projects table counts, in its column order.
_PROJECT_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED, TrialState.RUNNING)


def projects_table(
    projects: Sequence[tuple[str, History | Exception]], *, title: str | None = None
) -> FittedTable:
    """One row per project: its trials by state, its best value and its objective.

    Args:
        projects: each project's name and its history, or the error that kept it from being
            read (its row says ``unreadable`` and why, so that it hides no other project).
        title: printed above the table.

    >>> from hyperscout.trial import Trial
    >>> history = History([Trial(0, {"x": 1}, TrialState.COMPLETE, value=0.25)],
    ...                   Objective("val_loss", "min"))
    >>> table = projects_table([("mnist", history), ("broken", OSError("disk"))])
    >>> table.rows
    [['mnist', '1', '1', '0', '0', '0', '0.25', 'val_loss (min)'], ['broken', '-', '-', '-', '-', '-', '-', 'unreadable: disk']]
    """  # noqa: E501
    table = FittedTable(
        ["project", "trials", "complete", "pruned", "failed", "running", "best", "objective"],
        title=title,
        justify=["left", "right", "right", "right", "right", "right", "right", "left"],
        wrap=[False] * 7 + [True],
    )
    for name, history in projects:
        if isinstance(history, Exception):
            table.add_row(name, "-", "-", "-", "-", "-", "-", f"unreadable: {history}")
            continue
        counts = history.counts()
        best = history.best(1)
        objective = history.objective
        table.add_row(
            name,
            str(len(history)),
            *(str(counts[state]) for state in _PROJECT_STATES),
            format_value(best[0].value) if best else "-",
            f"{objective.name} ({objective.direction})",
        )
    return table
