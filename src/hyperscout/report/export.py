"""A study's trials as CSV or JSON, for a spreadsheet, pandas or another program.

Each trial has its budget (an empty cell in CSV, ``null`` in JSON: the full budget, as in a
search without early stopping) and its rank: 1 for the best configuration, as every "best" of
hyperscout ranks them (:func:`~hyperscout.history.rank_configurations`: each configuration once,
on the highest budget it completed), empty for a trial that is not its configuration's result
(a lower budget, pruned, failed). Times are Unix seconds.

>>> import io
>>> from hyperscout.objective import Objective
>>> from hyperscout.trial import Trial, TrialState
>>> trials = [Trial(0, {"lr": 0.1}, TrialState.COMPLETE, value=0.5),
...           Trial(1, {"lr": 0.01}, TrialState.COMPLETE, value=0.25)]
>>> out = io.StringIO()
>>> export_trials(trials, Objective("val_loss", "min"), out)
2
>>> print(out.getvalue().splitlines()[2])
1,"COMPLETE","",0.25,1,"","","",0.01,""
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from hyperscout._validation import check_choice
from hyperscout.history import rank_configurations
from hyperscout.objective import Objective
from hyperscout.space import HyperParameters
from hyperscout.trial import Trial

__all__ = ["FORMATS", "export_trials", "trial_record"]

#: The formats :func:`export_trials` writes.
FORMATS = ("csv", "json")

#: The first columns of a CSV export; then ``param_<name>``, ``metric_<name>`` and ``error``.
CSV_FIELDS = (
    "number",
    "state",
    "budget",
    "value",
    "rank",
    "started_at",
    "finished_at",
    "duration",
)

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def export_trials(
    trials: Iterable[Trial],
    objective: Objective,
    stream: TextIO,
    *,
    format: str = "csv",
    space: HyperParameters | None = None,
    best: bool = False,
) -> int:
    """Write ``trials`` to ``stream`` as CSV or JSON; return how many were written.

    Args:
        trials: the trials of a study, in order.
        objective: ranks them (the ``rank`` column).
        stream: a text stream to write to (open files with ``newline=""`` for CSV on Windows).
        format: ``"csv"``: one row per trial, ``param_`` and ``metric_`` columns (the
            parameters of ``space`` first, in its order, then any others by first use).
            ``"json"``: every field of every trial, as a list of objects.
        space: the study's search space, which orders the parameter columns.
        best: only the ranked configurations, best first (the rows of ``hyperscout show``).

    Raises:
        InvalidArgumentError: ``format`` is not one of :data:`FORMATS`.
    """
    check_choice("export_trials", "format", format, FORMATS)
    trials = list(trials)
    ranked = rank_configurations(trials, objective)
    ranks = {trial.number: rank for rank, trial in enumerate(ranked, start=1)}
    rows = ranked if best else trials
    if format == "json":
        records = [trial_record(trial, ranks.get(trial.number)) for trial in rows]
        stream.write(json.dumps(records, indent=2) + "\n")
    else:
        _write_csv(stream, rows, ranks, [] if space is None else list(space.names))
    return len(rows)


def trial_record(trial: Trial, rank: int | None = None) -> dict[str, Any]:
    """Every field of ``trial`` as JSON-ready values (an entry of a JSON export).

    >>> from hyperscout.trial import Trial, TrialState
    >>> record = trial_record(Trial(3, {"lr": 0.1}, TrialState.PRUNED, budget=3), None)
    >>> record["number"], record["state"], record["budget"], record["rank"]
    (3, 'PRUNED', 3, None)
    """
    return {
        "number": trial.number,
        "state": trial.state.name,
        "value": trial.value,
        "rank": rank,
        "values": dict(trial.values),
        "metrics": dict(trial.metrics),
        "intermediate": {str(step): dict(m) for step, m in trial.intermediate.items()},
        "budget": trial.budget,
        "started_at": trial.started_at,
        "finished_at": trial.finished_at,
        "duration": trial.duration,
        "error": trial.error,
        "attrs": dict(trial.attrs),
    }


def _write_csv(
    stream: TextIO, trials: Sequence[Trial], ranks: dict[int, int], params: list[str]
) -> None:
    metrics: list[str] = []
    for trial in trials:
        params += [name for name in trial.values if name not in params]
        metrics += [name for name in trial.metrics if name not in metrics]
    # Text is quoted, so a carriage return inside a cell (which the "\n" line ending does not
    # make the writer quote) stays in its cell.
    writer = csv.writer(stream, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(
        [*CSV_FIELDS, *(f"param_{p}" for p in params), *(f"metric_{m}" for m in metrics), "error"]
    )
    for trial in trials:
        row: list[Any] = [
            trial.number,
            trial.state.name,
            trial.budget,
            trial.value,
            ranks.get(trial.number),
            trial.started_at,
            trial.finished_at,
            trial.duration,
        ]
        row += [trial.values.get(p) for p in params]
        row += [trial.metrics.get(m) for m in metrics]
        row.append(trial.error)
        writer.writerow([_csv_cell(cell) for cell in row])


def _csv_cell(value: Any) -> Any:
    """A value for a CSV cell: numbers as numbers, and text a spreadsheet would run as a
    formula (``=HYPERLINK(...)``, ``@SUM(...)``) prefixed with ``'``, as OWASP advises.

    >>> _csv_cell(-0.5), _csv_cell("=1+1"), _csv_cell("-1"), _csv_cell("relu"), _csv_cell(None)
    (-0.5, "'=1+1", '-1', 'relu', '')
    """
    if value is None:
        return ""
    is_formula = isinstance(value, str) and value.startswith(_FORMULA_STARTS)
    if is_formula and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value
