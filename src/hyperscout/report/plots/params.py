"""The parameters against the objective: slices, parallel coordinates, a contour, importance.

They compare the trials of :func:`~hyperscout.report.plots._common.analysis_trials` (under
budgets, one budget's), and show a conditional parameter only where it was active: a trial that
did not read a parameter has no point in its slice or contour.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperscout._validation import check
from hyperscout.report.plots._common import (
    Axis,
    analysis_trials,
    axes_of,
    budget_label,
    check_params,
    esc,
    new_figure,
    objective_label,
    study_data,
    values_text,
)
from hyperscout.report.study import StudyData
from hyperscout.trial import Trial

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["plot_contour", "plot_importance", "plot_parallel_coordinates", "plot_slices"]

# The position of "inactive" below a numeric axis of the parallel coordinates, as a fraction
# of the axis' span.
_INACTIVE_GAP = 0.12
_COLUMNS = 3


def _subtitle(data: StudyData, budget: float | None, budgeted: bool) -> str:
    return f"{esc(data.name)}" + (f" ({budget_label(budget)})" if budgeted else "")


def plot_slices(study: Any, params: Sequence[str] | None = None) -> go.Figure:
    """One subplot per parameter: its value against the objective, one point per trial.

    A log-scaled parameter gets a log axis, a categorical one (unordered choices, booleans)
    a category axis in the space's order; a trial that did not read a parameter has no point
    in its subplot. Points are coloured by trial number (later trials darker).

    Args:
        study: anything :func:`~hyperscout.report.study_of` accepts.
        params: the parameters to show, in order (default: every one that varies).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    data = study_data(study)
    trials, budget, budgeted = analysis_trials(data)
    axes = axes_of(data, trials, params, owner="plot_slices")
    columns = min(_COLUMNS, max(1, len(axes)))
    rows = max(1, math.ceil(len(axes) / columns))
    figure = make_subplots(rows=rows, cols=columns, shared_yaxes=True, horizontal_spacing=0.04)
    figure.update_layout(
        title={"text": f"Slices: {_subtitle(data, budget, budgeted)}"},
        template="plotly_white",
        height=max(360, 300 * rows),
        showlegend=False,
    )
    numbers = [t.number for t in trials]
    for i, axis in enumerate(axes):
        row, col = divmod(i, columns)
        active = [t for t in trials if axis.name in t.values]
        figure.add_trace(
            go.Scatter(
                x=[axis.position(t.values[axis.name]) for t in active],
                y=[t.value for t in active],
                mode="markers",
                name=axis.title,
                marker={
                    "color": [t.number for t in active],
                    "colorscale": [[0.0, "#9ecae1"], [1.0, "#08306b"]],
                    "cmin": min(numbers, default=0),
                    "cmax": max(numbers, default=1),
                    "line": {"width": 0.5, "color": "#444"},
                },
                text=[f"trial {t.number}: {t.value:.6g}<br>{values_text(t)}" for t in active],
                hovertemplate="%{text}<extra></extra>",
            ),
            row=row + 1,
            col=col + 1,
        )
        _set_axis(figure, axis, row + 1, col + 1)
    figure.update_yaxes(title_text=objective_label(data), col=1)
    return figure


def _set_axis(figure: go.Figure, axis: Axis, row: int, col: int) -> None:
    if axis.kind == "category":
        figure.update_xaxes(
            type="category",
            categoryorder="array",
            categoryarray=list(axis.categories),
            title_text=axis.title,
            row=row,
            col=col,
        )
    else:
        figure.update_xaxes(type=axis.kind, title_text=axis.title, row=row, col=col)


def plot_parallel_coordinates(study: Any, params: Sequence[str] | None = None) -> go.Figure:
    """One line per trial through an axis per parameter, and the objective's axis last.

    Lines are coloured by the objective. A log-scaled parameter's axis shows its values on a
    log scale (the axis carries log10 of the value, labelled with the values), a categorical
    one its categories. Plotly's parallel coordinates draw every line through every axis
    (a missing value would be drawn as 0), so a trial that did not read a conditional
    parameter meets its axis at a separate ``inactive`` tick below the range, never at a
    made-up value.

    Args:
        study: anything :func:`~hyperscout.report.study_of` accepts.
        params: the parameters to show, in order (default: every one that varies).
    """
    import plotly.graph_objects as go

    data = study_data(study)
    trials, budget, budgeted = analysis_trials(data)
    axes = axes_of(data, trials, params, owner="plot_parallel_coordinates")
    figure = new_figure(f"Parallel coordinates: {_subtitle(data, budget, budgeted)}")
    dimensions = [_dimension(axis, trials) for axis in axes]
    values = [t.value for t in trials]
    dimensions.append({"label": objective_label(data), "values": values})
    colours = "Viridis_r" if data.objective.direction == "min" else "Viridis"
    figure.add_trace(
        go.Parcoords(
            dimensions=dimensions,
            line={"color": values, "colorscale": colours, "showscale": True},
        )
    )
    return figure


def _dimension(axis: Axis, trials: Sequence[Trial]) -> dict[str, Any]:
    raw = [t.values.get(axis.name) if axis.name in t.values else None for t in trials]
    inactive = any(v is None for v in raw)
    if axis.kind == "category":
        # Plotly writes parallel coordinates' tick texts as plain text (never as markup), so
        # they take the values as they are; escaped, "<" would show as "&lt;".
        labels = [str(v) for v in axis.values] + (["inactive"] if inactive else [])
        index = {label: i for i, label in enumerate(axis.categories)}
        codes = [len(axis.categories) if v is None else index.get(esc(v), 0) for v in raw]
        return {
            "label": axis.title,
            "values": codes,
            "tickvals": list(range(len(labels))),
            "ticktext": labels,
            "range": [-0.5, len(labels) - 0.5],
        }
    log = axis.kind == "log"
    numbers = [float(v) for v in raw if v is not None]
    shown = [math.log10(v) if log else v for v in numbers]
    lo, hi = (min(shown), max(shown)) if shown else (0.0, 1.0)
    span = (hi - lo) or 1.0
    floor = lo - _INACTIVE_GAP * span
    positions = [floor if v is None else (math.log10(float(v)) if log else float(v)) for v in raw]
    ticks = list(np.linspace(lo, hi, 5))
    text = [f"{(10**t if log else t):.3g}" for t in ticks]
    if inactive:
        ticks, text = [floor, *ticks], ["inactive", *text]
    return {
        "label": axis.title + (" (log)" if log else ""),
        "values": positions,
        "tickvals": ticks,
        "ticktext": text,
        "range": [floor if inactive else lo, hi],
    }


def plot_importance(study: Any, *, seed: int = 0) -> go.Figure:
    """The parameters' importance (:func:`~hyperscout.report.parameter_importance`) as bars.

    The most important parameter is at the top; the title names the method (PED-ANOVA).
    """
    import plotly.graph_objects as go

    from hyperscout.report.importance import parameter_importance

    data = study_data(study)
    importance = parameter_importance(data, seed=seed)
    names = list(importance)[::-1]
    figure = new_figure(f"Parameter importance (PED-ANOVA): {esc(data.name)}")
    figure.add_trace(
        go.Bar(
            x=[importance[n] for n in names],
            y=[esc(n) for n in names],
            orientation="h",
            name="importance",
            text=[f"{importance[n]:.1%}" for n in names],
            textposition="auto",
        )
    )
    figure.update_xaxes(title_text="share of importance", range=[0, 1], tickformat=".0%")
    figure.update_yaxes(type="category")
    return figure


def plot_contour(study: Any, params: Sequence[str] | None = None, *, seed: int = 0) -> go.Figure:
    """The objective over two numeric parameters, smoothed from the trials, with the trials.

    The surface is a Gaussian kernel (Nadaraya-Watson) average of the trials' values on a
    40 x 40 grid in the parameters' unit scale (log axes where log-scaled); it shows where
    the trials went well, not a model's prediction far from them. Only trials that read both
    parameters count; a categorical parameter gets a category axis and no surface.

    Args:
        study: anything :func:`~hyperscout.report.study_of` accepts.
        params: two parameter names (default: the two most important numeric parameters by
            :func:`~hyperscout.report.parameter_importance`; none when there are fewer than
            two: the figure is then empty).
        seed: passed to the importance.
    """
    import plotly.graph_objects as go

    data = study_data(study)
    trials, budget, budgeted = analysis_trials(data)
    if params is not None:
        check_params(data, params, "plot_contour")
        check("plot_contour", "params", params, len(params) == 2, "two parameter names")
    names = list(params) if params is not None else _two_numeric(data, trials, seed)
    figure = new_figure(f"Contour: {_subtitle(data, budget, budgeted)}")
    if len(names) != 2:
        return figure
    axes = axes_of(data, trials, names, owner="plot_contour")
    both = [t for t in trials if all(a.name in t.values for a in axes)]
    if len(both) >= 3 and all(a.is_numeric for a in axes):
        xs, ys, zs = _smoothed(axes, both)
        figure.add_trace(
            go.Contour(
                x=xs,
                y=ys,
                z=zs,
                colorscale="Viridis_r" if data.objective.direction == "min" else "Viridis",
                colorbar={"title": {"text": objective_label(data)}},
                name="smoothed objective",
                hovertemplate="%{z:.4g}<extra></extra>",
                contours={"coloring": "heatmap"},
            )
        )
    figure.add_trace(
        go.Scatter(
            x=[axes[0].position(t.values[axes[0].name]) for t in both],
            y=[axes[1].position(t.values[axes[1].name]) for t in both],
            mode="markers",
            name="trials",
            marker={"color": "white", "line": {"color": "black", "width": 1}, "size": 7},
            text=[f"trial {t.number}: {t.value:.6g}<br>{values_text(t)}" for t in both],
            hovertemplate="%{text}<extra></extra>",
        )
    )
    for axis, update in zip(axes, (figure.update_xaxes, figure.update_yaxes), strict=True):
        kind = "category" if axis.kind == "category" else axis.kind
        update(type=kind, title_text=axis.title)
    return figure


def _two_numeric(data: StudyData, trials: Sequence[Trial], seed: int) -> list[str]:
    from hyperscout.report.importance import parameter_importance

    numeric = {a.name for a in axes_of(data, trials, None) if a.is_numeric}
    ranked = [n for n in parameter_importance(data, seed=seed) if n in numeric]
    return ranked[:2] if len(ranked) >= 2 else []


def _smoothed(
    axes: Sequence[Axis], trials: Sequence[Trial]
) -> tuple[list[float], list[float], list[list[float]]]:
    """A kernel average of the values on a 40 x 40 grid, in each axis' own scale."""
    grids, units = [], []
    for axis in axes:
        raw = np.array([float(t.values[axis.name]) for t in trials])
        scaled = np.log10(raw) if axis.kind == "log" else raw
        lo, hi = float(scaled.min()), float(scaled.max())
        span = (hi - lo) or 1.0
        units.append((scaled - lo) / span)
        line = np.linspace(lo, hi, 40)
        grids.append(list(10**line) if axis.kind == "log" else list(line))
    u = np.linspace(0.0, 1.0, 40)
    values = np.array([float(t.value or 0.0) for t in trials])
    bandwidth = max(0.05, 0.9 * len(trials) ** (-1 / 6) * 0.3)
    dx = (u[None, :, None] - units[0][None, None, :]) ** 2
    dy = (u[:, None, None] - units[1][None, None, :]) ** 2
    weights = np.exp(-0.5 * (dx + dy) / bandwidth**2) + 1e-300
    z = (weights * values).sum(axis=2) / weights.sum(axis=2)
    return grids[0], grids[1], z.tolist()
