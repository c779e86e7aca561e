"""The trial timeline: what ran on which worker, and when."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hyperscout.report.plots._common import (
    STATE_COLOURS,
    esc,
    first_line,
    new_figure,
    study_data,
)
from hyperscout.trial import Bookkeeping, Trial, TrialState

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["has_timings", "plot_timeline", "worker_name"]


def worker_name(trial: Trial) -> str:
    """The worker that ran ``trial`` as ``host/pid`` (``unknown worker`` when not recorded)."""
    worker = trial.attrs.get(Bookkeeping.WORKER)
    if isinstance(worker, Mapping) and (worker.get("host") or worker.get("pid")):
        return f"{worker.get('host', '?')}/{worker.get('pid', '?')}"
    return "unknown worker"


def has_timings(study: Any) -> bool:
    """True when some trial has a start time."""
    return any(t.started_at is not None for t in study_data(study).trials)


def _utc(stamp: float) -> str:
    return dt.datetime.fromtimestamp(stamp, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def plot_timeline(study: Any) -> go.Figure:
    """One row per worker (``host/pid``), a bar per trial from its start to its end (UTC).

    One trace per state (``COMPLETE``, ``PRUNED``, ``FAILED``, ``RUNNING``): failed trials are
    red, with their error's first line in the hover text; a running trial's bar reaches its
    last heartbeat, or now. Trials without a start time are left out.

    Args:
        study: anything :func:`~hyperscout.report.study_of` accepts.
    """
    import plotly.graph_objects as go

    data = study_data(study)
    figure = new_figure(f"Timeline: {esc(data.name)}")
    timed = [t for t in data.trials if t.started_at is not None]
    now = time.time()
    workers = sorted({worker_name(t) for t in timed})
    for state in TrialState:
        chosen = [t for t in timed if t.state is state]
        if not chosen:
            continue
        starts = [float(t.started_at or 0.0) for t in chosen]
        ends = [_end(t, now) for t in chosen]
        figure.add_trace(
            go.Bar(
                base=[_utc(s) for s in starts],
                x=[max(e - s, 0.0) * 1000.0 for s, e in zip(starts, ends, strict=True)],
                y=[esc(worker_name(t)) for t in chosen],
                orientation="h",
                name=state.value,
                marker={"color": STATE_COLOURS[state], "line": {"color": "white", "width": 0.5}},
                text=[_hover(t, s, e) for t, s, e in zip(chosen, starts, ends, strict=True)],
                textposition="none",
                hovertemplate="%{text}<extra></extra>",
            )
        )
    figure.update_layout(barmode="overlay", height=max(300, 120 + 40 * len(workers)))
    figure.update_xaxes(type="date", title_text="time (UTC)")
    figure.update_yaxes(
        type="category",
        categoryorder="array",
        categoryarray=[esc(w) for w in workers],
        title_text="worker",
    )
    return figure


def _end(trial: Trial, now: float) -> float:
    if trial.finished_at is not None:
        return trial.finished_at
    if trial.heartbeat_at is not None:
        return trial.heartbeat_at
    return now


def _hover(trial: Trial, start: float, end: float) -> str:
    text = f"trial {trial.number} · {trial.state.value} · {end - start:.3g} s"
    if trial.value is not None:
        text += f"<br>value {trial.value:.6g}"
    if trial.state is TrialState.FAILED:
        text += f"<br>{esc(first_line(trial.error))}"
    return text
