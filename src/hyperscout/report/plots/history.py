"""The optimization history: each trial's value in trial order, and the best so far."""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hyperscout.history import budget_rank
from hyperscout.objective import Objective
from hyperscout.report.plots._common import (
    STATE_COLOURS,
    budget_label,
    esc,
    first_line,
    is_result,
    new_figure,
    objective_label,
    study_data,
    values_text,
)
from hyperscout.trial import Trial, TrialState

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["best_so_far", "plot_history"]


def best_so_far(trials: Sequence[Trial], objective: Objective) -> list[Trial | None]:
    """For each trial (in trial order), the best result among it and the trials before it.

    "Best" is :func:`~hyperscout.history.rank_configurations`' first: under budgets a result
    on a higher budget outranks any on a lower one, one result per configuration (its highest
    budget). So the line can step to a worse value when the first result on a higher budget
    arrives: it is what the tuner would have called its best at that moment.

    >>> from hyperscout.trial import Trial, TrialState
    >>> def t(n, x, b, v):
    ...     return Trial(n, {"x": x}, TrialState.COMPLETE, value=v, budget=b)
    >>> best = best_so_far([t(0, 1, 1, 0.2), t(1, 2, 1, 0.5), t(2, 2, 3, 0.4)],
    ...                    Objective("val_loss", "min"))
    >>> [b.number for b in best]
    [0, 0, 2]
    """
    # Each configuration keeps its latest result on its highest budget; a heap of
    # (-budget, loss, number) keys with stale entries skipped finds the best in O(n log n).
    current: dict[str, tuple[float, float, int]] = {}
    by_number: dict[int, Trial] = {}
    heap: list[tuple[float, float, int, str]] = []
    budgeted = any(t.budget is not None for t in trials if is_result(t))
    out: list[Trial | None] = []
    for trial in sorted(trials, key=lambda t: t.number):
        if is_result(trial):
            assert trial.value is not None
            key = trial.key if budgeted else str(trial.number)
            rank = (-budget_rank(trial.budget), objective.loss(trial.value), trial.number)
            held = current.get(key)
            if held is None or -rank[0] >= -held[0]:
                current[key] = rank
                by_number[trial.number] = trial
                heapq.heappush(heap, (*rank, key))
        while heap and current.get(heap[0][3]) != heap[0][:3]:
            heapq.heappop(heap)
        out.append(by_number[heap[0][2]] if heap else None)
    return out


def plot_history(study: Any) -> go.Figure:
    """Each trial's value against its number, and the best so far.

    Complete trials are drawn one trace per budget (``budget 3``, ``budget 9``, ... or
    ``complete`` without budgets), stopped (PRUNED) trials that reported a value as crosses,
    failed trials as marks on the axis' floor. The ``best so far`` line follows
    :func:`~hyperscout.history.rank_configurations` (see :func:`best_so_far`): under budgets
    a result on a higher budget outranks any on a lower one, so the line shows what the tuner
    called its best after each trial, not the lowest value seen on any budget.

    Args:
        study: anything :func:`~hyperscout.report.study_of` accepts, or a
            :class:`~hyperscout.report.StudyData`.

    >>> import hyperscout as hs
    >>> tuner = hs.RandomSearch(lambda hp: hp.Float("x", 0.0, 1.0), max_trials=4, seed=0,
    ...                         storage="memory", verbose=0)
    >>> tuner.search()
    >>> [trace.name for trace in plot_history(tuner).data]
    ['complete', 'best so far']
    """
    import plotly.graph_objects as go

    data = study_data(study)
    trials = sorted(data.trials, key=lambda t: t.number)
    figure = new_figure(f"Optimization history: {esc(data.name)}")
    results = [t for t in trials if is_result(t)]
    budgets = sorted({t.budget for t in results}, key=budget_rank)
    budgeted = budgets != [None] and bool(budgets)
    for budget in budgets:
        chosen = [t for t in results if t.budget == budget]
        figure.add_trace(_points(chosen, budget_label(budget) if budgeted else "complete"))
    pruned = [t for t in trials if t.state is TrialState.PRUNED and _finite(t.value)]
    if pruned:
        colour = STATE_COLOURS[TrialState.PRUNED]
        figure.add_trace(_points(pruned, "stopped (pruned)", {"symbol": "x", "color": colour}))
    best = best_so_far(trials, data.objective)
    if any(b is not None for b in best):
        figure.add_trace(
            go.Scatter(
                x=[t.number for t in trials],
                y=[None if b is None else b.value for b in best],
                mode="lines",
                line={"shape": "hv", "color": "#d62728"},
                name="best so far",
                text=[_hover(b) if b is not None else "" for b in best],
                hovertemplate="best so far: %{text}<extra></extra>",
            )
        )
    _mark_failures(figure, trials)
    figure.update_xaxes(title_text="trial")
    figure.update_layout(yaxis_title_text=objective_label(data))
    return figure


def _points(trials: Sequence[Trial], name: str, marker: dict[str, Any] | None = None) -> Any:
    """A scatter of the trials' values against their numbers."""
    import plotly.graph_objects as go

    return go.Scatter(
        x=[t.number for t in trials],
        y=[t.value for t in trials],
        mode="markers",
        name=name,
        marker=marker or {},
        text=[_hover(t) for t in trials],
        hovertemplate="%{text}<extra></extra>",
    )


def _mark_failures(figure: go.Figure, trials: Sequence[Trial]) -> None:
    """Failed trials as red ticks at the foot of the plot: they have no value to place."""
    import plotly.graph_objects as go

    failed = [t for t in trials if t.state is TrialState.FAILED]
    if not failed:
        return
    figure.add_trace(
        go.Scatter(
            x=[t.number for t in failed],
            y=[0.02] * len(failed),
            yaxis="y2",
            mode="markers",
            name="failed",
            marker={"symbol": "line-ns-open", "color": STATE_COLOURS[TrialState.FAILED], "size": 9},
            text=[f"trial {t.number} failed: {esc(first_line(t.error))}" for t in failed],
            hovertemplate="%{text}<extra></extra>",
        )
    )
    figure.update_layout(yaxis2={"overlaying": "y", "range": [0, 1], "visible": False})


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _hover(trial: Trial) -> str:
    budget = "" if trial.budget is None else f" · {budget_label(trial.budget)}"
    return f"trial {trial.number}{budget}: {trial.value:.6g}<br>{values_text(trial)}"
