"""Learning curves: what each trial reported along the way, with the budget ladder visible."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperscout.report.plots._common import STATE_COLOURS, budget_label, esc, new_figure, study_data
from hyperscout.report.study import StudyData
from hyperscout.trial import Trial, TrialState

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["has_reports", "plot_learning_curves", "reported_metric"]

_PALETTE = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")


def has_reports(study: Any) -> bool:
    """True when some trial reported intermediate values (``trial.report``)."""
    return any(t.intermediate for t in study_data(study).trials)


def reported_metric(data: StudyData, metric: str | None = None) -> str | None:
    """The metric the curves show: ``metric``, else the objective when reported, else the
    first metric reported."""
    if metric is not None:
        return metric
    names: dict[str, None] = {}
    for trial in data.trials:
        for report in trial.intermediate.values():
            names.update(dict.fromkeys(report))
    if data.objective.name in names:
        return data.objective.name
    return next(iter(names), None)


def _curve(trial: Trial, metric: str) -> list[tuple[int, float]]:
    points = []
    for step, report in sorted(trial.intermediate.items(), key=lambda kv: int(kv[0])):
        value = report.get(metric)
        if isinstance(value, (int, float)) and math.isfinite(value):
            points.append((int(step), float(value)))
    return points


def _group(trial: Trial, single_bracket: bool) -> tuple[int, int, str]:
    """The trace a trial's curve belongs to: its bracket and rung when it has them."""
    rung = trial.attrs.get("rung")
    bracket = trial.attrs.get("bracket")
    if rung is None:
        return (0, 0, "trials")
    budget = f" ({budget_label(trial.budget)})" if trial.budget is not None else ""
    if bracket is None or single_bracket:
        return (0, int(rung), f"rung {int(rung)}{budget}")
    return (int(bracket), int(rung), f"bracket {int(bracket)} · rung {int(rung)}{budget}")


def plot_learning_curves(study: Any, metric: str | None = None) -> go.Figure:
    """Each trial's reports (``trial.report(step, ...)``) against the step.

    Under successive halving, Hyperband and ASHA the curves are grouped by rung (and
    bracket, when there are several), one trace each (``bracket 1 · rung 0 (budget 3)``),
    and a dotted vertical line marks where each budget ends (the last step reported on it).
    A promoted trial (``promoted_from``) is linked to the trial it continues by a dashed
    segment (the ``promotions`` trace); a stopped (PRUNED) trial ends with a cross
    (``stopped``), a failed one with a red cross (``failed``).

    Args:
        study: anything :func:`~hyperscout.report.study_of` accepts.
        metric: the reported metric to show (default: the objective, when reported).
    """
    import plotly.graph_objects as go

    data = study_data(study)
    name = reported_metric(data, metric)
    figure = new_figure(f"Learning curves: {esc(data.name)}")
    if name is None:
        return figure
    curves = {t.number: _curve(t, name) for t in data.trials}
    drawn = [t for t in sorted(data.trials, key=lambda t: t.number) if curves[t.number]]
    single_bracket = len({t.attrs.get("bracket") for t in drawn}) <= 1
    groups: dict[tuple[int, int, str], list[Trial]] = {}
    for trial in drawn:
        groups.setdefault(_group(trial, single_bracket), []).append(trial)
    for key, members in sorted(groups.items()):
        # NumPy arrays, NaN between trials (a gap): plotly checks lists element by element,
        # which took seconds for the 20,000 points of a 2,000-trial study.
        xs, ys, numbers = [], [], []
        for trial in members:
            points = curves[trial.number]
            xs += [p[0] for p in points] + [math.nan]
            ys += [p[1] for p in points] + [math.nan]
            numbers += [trial.number] * len(points) + [math.nan]
        figure.add_trace(
            go.Scatter(
                x=np.array(xs),
                y=np.array(ys),
                customdata=np.array(numbers),
                mode="lines+markers",
                name=key[2],
                line={"color": _PALETTE[key[1] % len(_PALETTE)], "width": 1},
                marker={"size": 4},
                opacity=0.8,
                hovertemplate="trial %{customdata} · step %{x}: %{y:.6g}<extra>"
                + key[2]
                + "</extra>",
            )
        )
    _add_promotions(figure, drawn, curves)
    for state, label in ((TrialState.PRUNED, "stopped"), (TrialState.FAILED, "failed")):
        _add_ends(figure, [t for t in drawn if t.state is state], curves, label, state)
    _mark_rungs(figure, drawn, curves)
    figure.update_xaxes(title_text="step")
    figure.update_yaxes(title_text=esc(name))
    return figure


def _add_promotions(
    figure: go.Figure, trials: Sequence[Trial], curves: dict[int, list[tuple[int, float]]]
) -> None:
    import plotly.graph_objects as go

    xs: list[float | None] = []
    ys: list[float | None] = []
    text: list[str] = []
    for trial in trials:
        parent = trial.promoted_from
        if parent is None or not curves.get(parent):
            continue
        (x0, y0), (x1, y1) = curves[parent][-1], curves[trial.number][0]
        xs += [x0, x1, None]
        ys += [y0, y1, None]
        label = f"trial {parent} promoted to trial {trial.number}"
        text += [label, label, ""]
    if xs:
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name="promotions",
                line={"dash": "dash", "color": "#444", "width": 1},
                text=text,
                hovertemplate="%{text}<extra></extra>",
            )
        )


def _add_ends(
    figure: go.Figure,
    trials: Sequence[Trial],
    curves: dict[int, list[tuple[int, float]]],
    label: str,
    state: TrialState,
) -> None:
    import plotly.graph_objects as go

    if not trials:
        return
    ends = [curves[t.number][-1] for t in trials]
    figure.add_trace(
        go.Scatter(
            x=[e[0] for e in ends],
            y=[e[1] for e in ends],
            mode="markers",
            name=label,
            marker={"symbol": "x", "size": 9, "color": STATE_COLOURS[state]},
            text=[
                f"trial {t.number} {label} at step {e[0]}"
                for t, e in zip(trials, ends, strict=True)
            ],
            hovertemplate="%{text}<extra></extra>",
        )
    )


def _mark_rungs(
    figure: go.Figure, trials: Sequence[Trial], curves: dict[int, list[tuple[int, float]]]
) -> None:
    """A dotted vertical line where each rung ends: the last step reported on its budget."""
    ends: dict[float, int] = {}
    for trial in trials:
        if "rung" in trial.attrs and trial.budget is not None:
            last = curves[trial.number][-1][0]
            ends[float(trial.budget)] = max(ends.get(float(trial.budget), last), last)
    for budget, step in sorted(ends.items()):
        figure.add_vline(
            x=step,
            line={"dash": "dot", "color": "#999", "width": 1},
            annotation={"text": budget_label(budget), "font": {"size": 10, "color": "#777"}},
            annotation_position="top",
        )
