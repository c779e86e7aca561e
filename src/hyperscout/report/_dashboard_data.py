"""What the dashboard's page receives: the study read again, its summary, its trial table
and its figures as JSON-ready values, rebuilt only when the study changed.

Every text here is the user's text as it is (control characters escaped by
:func:`~hyperscout.report.printable`); the page shows it with ``textContent``, never as HTML.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from hyperscout.report._text import format_budget, format_value, printable
from hyperscout.report.study import StudyData, read_study, study_of
from hyperscout.storage import Project, Storage, open_storage
from hyperscout.trial import Trial, TrialState

__all__ = ["Snapshots", "StudyReader"]

# The longest error text a table cell shows (the whole text is its tooltip).
_ERROR_CELL = 120


class StudyReader:
    """Reads the study again on every call; owns the storage it opened (a folder or URL)."""

    def __init__(self, source: Any, project_name: str | None) -> None:
        first = study_of(source, project_name)  # checks the source, with study_of's errors
        self.name = first.name
        self._fixed = first if isinstance(source, StudyData) else None
        self._source, self._project_name = source, project_name
        self._storage: Storage | None = None
        if isinstance(source, str) and "://" in source:
            self._storage = open_storage(source)
        elif isinstance(source, (str, os.PathLike)):
            self._storage = open_storage(Project(Path(source)).url)
        self._lock = threading.Lock()

    def read(self) -> StudyData:
        if self._fixed is not None:
            return self._fixed
        with self._lock:  # one read at a time on the storage's connection
            if self._storage is not None:
                return read_study(self._storage, self.name)
            return study_of(self._source, self._project_name)

    def close(self) -> None:
        if self._storage is not None:
            self._storage.close()


def _fingerprint(study: StudyData) -> str:
    """Changes whenever a trial starts, reports, finishes or the space grows."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(repr(sorted(study.space.to_dict().items())).encode())
    for t in study.trials:
        digest.update(
            repr(
                (t.number, t.state.name, t.value, t.budget, t.finished_at, len(t.intermediate))
            ).encode()
        )
    return digest.hexdigest()


def _summary(study: StudyData) -> dict[str, Any]:
    objective = study.objective
    best = study.history.best(1)
    counts = study.history.counts()
    return {
        "name": printable(study.name),
        "objective": printable(f"{objective.name} ({objective.direction})"),
        "trials": len(study.trials),
        "counts": {state.name: counts[state] for state in TrialState},
        "best": None if not best else f"{format_value(best[0].value)} (trial {best[0].number})",
    }


def _parameter_names(study: StudyData) -> list[str]:
    names = list(study.space.names)
    for trial in study.trials:
        names.extend(name for name in trial.values if name not in names)
    return names


def _table(study: StudyData) -> dict[str, Any]:
    """The trials, newest first, as the text of each cell (formatted as the terminal shows)."""
    params = _parameter_names(study)
    objective = study.objective
    columns = [
        "trial",
        "state",
        f"{objective.name} ({objective.direction})",
        "budget",
        "duration (s)",
        *params,
        "error",
    ]
    rows = []
    for trial in sorted(study.trials, key=lambda t: t.number, reverse=True):
        error = printable(trial.error or "")
        rows.append(
            {
                "number": trial.number,
                "state": trial.state.name,
                "error": error,
                "cells": [
                    str(trial.number),
                    trial.state.name,
                    format_value(trial.value),
                    format_budget(trial.budget),
                    format_value(trial.duration),
                    *(_param_cell(trial, name) for name in params),
                    _first_line(error),
                ],
            }
        )
    text = [1, *range(5, 5 + len(params) + 1)]
    return {
        "columns": [printable(c) for c in columns],
        "rows": rows,
        "text_columns": text,
        "error_column": len(columns) - 1,
    }


def _param_cell(trial: Trial, name: str) -> str:
    # An inactive conditional parameter has no value in the trial: an empty cell, not "-".
    return format_value(trial.values[name]) if name in trial.values else ""


def _first_line(error: str) -> str:
    lines = [line for line in error.splitlines() if line.strip()]
    line = lines[-1] if lines else ""
    return line if len(line) <= _ERROR_CELL else line[: _ERROR_CELL - 1] + "\u2026"


def _figures(study: StudyData) -> list[tuple[str, Any]]:
    """The report's figures as ``(key, figure)``, the sensitivity sweeps' too when
    ``tuner.sensitivity()`` ran; the key stays the same from one update to the next, so the
    page redraws each figure in place."""
    from hyperscout.report.plots import all_figures
    from hyperscout.report.sensitivity import read_sensitivity, sensitivity_figure

    figures = list(all_figures(study))
    if read_sensitivity(study) is not None:
        figures.append(("sensitivity", sensitivity_figure(study)))
    return figures


class Snapshots:
    """The study as the page wants it, rebuilt only when it changed.

    The table is always current. Figures cost more: after the first, they are redrawn in a
    background thread (the answer carries the last ones meanwhile), at most every few times
    their last drawing took and never more than once a second, so a fast search or a large
    study does not hold the table back nor keep the server drawing.
    """

    def __init__(self, reader: StudyReader) -> None:
        self._reader = reader
        self._lock = threading.Lock()
        self._figures: tuple[str, list[dict[str, Any]]] | None = None  # (version, figures)
        self._drawing = False
        self._drawn_at = 0.0
        self._draw_seconds = 0.0

    def payload(self, since: str, figures_since: str) -> dict[str, Any]:
        study = self._reader.read()
        version = _fingerprint(study)
        figures_version, figures = self._current_figures(study, version)
        body: dict[str, Any] = {"version": version, "figures_version": figures_version}
        if since != version:
            body["study"] = _summary(study)
            body["table"] = _table(study)
        if figures_since != figures_version:
            body["figures"] = figures
        return body

    def _current_figures(self, study: StudyData, version: str) -> tuple[str, list[Any]]:
        with self._lock:
            current = self._figures
            wait = max(1.0, 3 * self._draw_seconds)
            due = time.monotonic() - self._drawn_at >= wait
            redraw = current is not None and current[0] != version and due
            if redraw and not self._drawing:
                self._drawing = True
                thread = threading.Thread(target=self._draw, args=(study, version), daemon=True)
                thread.start()
        if current is None:  # the first answer waits for its figures
            self._draw(study, version)
            with self._lock:
                assert self._figures is not None
                return self._figures
        return current

    def _draw(self, study: StudyData, version: str) -> None:
        start = time.monotonic()
        figures = _built_figures(study)
        with self._lock:
            self._figures = (version, figures)
            self._drawing = False
            self._drawn_at = time.monotonic()
            self._draw_seconds = self._drawn_at - start


def _built_figures(study: StudyData) -> list[dict[str, Any]]:
    """The figures as JSON-ready values; figures that cannot be drawn say why in their place,
    and the summary and the table are shown still."""
    try:
        return [
            {"name": name, "figure": json.loads(figure.to_json())}
            for name, figure in _figures(study)
        ]
    except Exception as exc:
        return [{"name": "error", "error": printable(f"{type(exc).__name__}: {exc}")}]
