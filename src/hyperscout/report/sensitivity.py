"""One-factor-at-a-time sweeps read back from storage, and their plot.

``Tuner.sensitivity()`` (and ``hyperscout sensitivity D/P``) runs, around the best
configuration, one sweep per parameter: the parameter over its range, the others held at the
best configuration's values. Each point is a trial of the study, marked in its attrs (see
:mod:`hyperscout.tuner._sensitivity`). This module reads them from any study
(:func:`read_sensitivity`) and draws objective against each parameter
(:func:`sensitivity_figure`); like all of the report, it never reads the tuner.

>>> import hyperscout as hs
>>> def objective(hp):
...     return (hp.Float("x", 0.0, 1.0) - 0.5) ** 2 + (hp.Choice("act", ["a", "b"]) == "b")
>>> tuner = hs.RandomSearch(objective, max_trials=5, seed=0, storage="memory", verbose=0)
>>> tuner.search()
>>> result = tuner.sensitivity(points=5)
>>> [round(x, 2) for x in result.sweeps["x"].values]  # 5 points and the best trial's x
[0.0, 0.25, 0.45, 0.5, 0.75, 1.0]
>>> result.sweeps["x"].best_value, result.sweeps["act"].best_value
(0.5, 'a')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hyperscout.objective import Objective
from hyperscout.report.study import StudyData, study_of
from hyperscout.trial import Bookkeeping, Trial, TrialState, config_key

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "CENTER_ATTR",
    "SENSITIVITY_ATTR",
    "VALUE_ATTR",
    "Sensitivity",
    "Sweep",
    "read_sensitivity",
    "sensitivity_figure",
]

#: The attr of a sweep's trial that names the parameter swept.
SENSITIVITY_ATTR = Bookkeeping.SENSITIVITY
#: The attr that holds the number of the trial whose configuration the sweep holds.
CENTER_ATTR = "sensitivity_center"
#: The attr that holds the value given to the swept parameter.
VALUE_ATTR = "sensitivity_value"


@dataclass(frozen=True)
class Sweep:
    """One parameter's sweep: its values in order, with the trial and result of each.

    Attributes:
        parameter: the parameter swept.
        values: the values tried, numbers ascending (categories in the space's order), the
            center's value among them.
        trials: the trial of each value (the center's own trial for its value).
        results: each trial's objective value; None where it failed or has not finished.
        center_value: the best configuration's value, held in the other sweeps.
        objective: the study's objective (its direction decides :attr:`best_value`).
    """

    parameter: str
    values: list[Any]
    trials: list[Trial]
    results: list[float | None]
    center_value: Any
    objective: Objective

    @property
    def best_value(self) -> Any:
        """The value with the best result (None when no point has a result)."""
        scored = [(self.objective.loss(r), i) for i, r in enumerate(self.results) if r is not None]
        return self.values[min(scored)[1]] if scored else None

    @property
    def spread(self) -> float | None:
        """The best result minus the worst, in absolute value: how much the parameter moves
        the objective when the others are held (None with fewer than two results)."""
        known = [r for r in self.results if r is not None]
        return max(known) - min(known) if len(known) >= 2 else None


@dataclass(frozen=True)
class Sensitivity:
    """The sweeps around one configuration.

    Attributes:
        center: the trial of the configuration held (the best when the sweeps ran).
        sweeps: one :class:`Sweep` per parameter swept, in the space's order.
    """

    center: Trial
    sweeps: Mapping[str, Sweep]


def read_sensitivity(source: Any, project_name: str | None = None) -> Sensitivity | None:
    """The latest sweeps of a study (around the latest center swept), or None without any.

    Args:
        source, project_name: the study, as :func:`~hyperscout.report.study_of` takes it.
    """
    data = study_of(source, project_name)
    swept = [t for t in data.trials if SENSITIVITY_ATTR in t.attrs and CENTER_ATTR in t.attrs]
    if not swept:
        return None
    number = max(int(t.attrs[CENTER_ATTR]) for t in swept)
    by_number = {t.number: t for t in data.trials}
    if number not in by_number:
        return None
    center = by_number[number]
    points: dict[str, dict[str, tuple[Any, Trial]]] = {}
    for trial in swept:  # in order: a point run again counts with its last attempt
        if int(trial.attrs[CENTER_ATTR]) == number:
            value = trial.attrs.get(VALUE_ATTR)
            name = str(trial.attrs[SENSITIVITY_ATTR])
            points.setdefault(name, {})[config_key({"v": value})] = (value, trial)
    order = [n for n in data.space.names if n in points] + sorted(
        n for n in points if n not in data.space
    )
    sweeps = {name: _sweep(data, name, center, points[name]) for name in order}
    return Sensitivity(center, sweeps)


def _sweep(
    data: StudyData, name: str, center: Trial, points: dict[str, tuple[Any, Trial]]
) -> Sweep:
    held = center.values.get(name)
    points = {config_key({"v": held}): (held, center), **points}
    pairs = list(points.values())
    if name in data.space and not data.space.parameter(name).is_categorical:
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v, _ in pairs):
            pairs.sort(key=lambda pair: float(pair[0]))
    elif name in data.space:
        order = {config_key({"v": v}): i for i, v in enumerate(data.space.parameter(name).grid())}
        pairs.sort(key=lambda pair: order.get(config_key({"v": pair[0]}), len(order)))
    results = [_result(trial) for _, trial in pairs]
    return Sweep(name, [v for v, _ in pairs], [t for _, t in pairs], results, held, data.objective)


def _result(trial: Trial) -> float | None:
    value = trial.value
    if trial.state is TrialState.COMPLETE and value is not None and math.isfinite(value):
        return float(value)
    return None


def sensitivity_figure(
    source: Any, project_name: str | None = None, *, parameters: Sequence[str] | None = None
) -> go.Figure:
    """Objective against each parameter swept, one panel a parameter, the center marked.

    Log-scaled parameters get a log axis, categories a categorical one; failed points are
    left out of the line. A study without sweeps gives an empty figure that says so.

    Args:
        source, project_name: the study, as :func:`~hyperscout.report.study_of` takes it.
        parameters: the panels to draw (default: every parameter swept).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from hyperscout.report.plots._common import esc, objective_label

    data = study_of(source, project_name)
    result = read_sensitivity(data)
    if result is None:
        figure = go.Figure()
        figure.update_layout(
            title={"text": "Sensitivity: no sweep in this study yet"}, template="plotly_white"
        )
        return figure
    names = [n for n in result.sweeps if parameters is None or n in parameters]
    cols = min(3, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    figure = make_subplots(rows=rows, cols=cols, subplot_titles=[esc(n) for n in names])
    for i, name in enumerate(names):
        sweep = result.sweeps[name]
        row, col = i // cols + 1, i % cols + 1
        _draw_sweep(figure, data, sweep, row, col)
    figure.update_layout(
        title={
            "text": f"Sensitivity around trial {result.center.number}: one parameter at a "
            f"time, the others held at its values"
        },
        template="plotly_white",
        showlegend=False,
        height=max(320, 280 * rows),
    )
    figure.update_yaxes(title_text=objective_label(data), col=1)
    return figure


def _draw_sweep(figure: go.Figure, data: StudyData, sweep: Sweep, row: int, col: int) -> None:
    import plotly.graph_objects as go

    from hyperscout.report.plots._common import esc

    param = data.space.parameter(sweep.parameter) if sweep.parameter in data.space else None
    categorical = param is None or param.is_categorical
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in sweep.values)
    categorical = categorical or not numeric
    xs = [esc(v) if categorical else v for v in sweep.values]
    ys = [r for r in sweep.results]
    hover = [f"{esc(sweep.parameter)}={esc(v)}" for v in sweep.values]
    figure.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines+markers",
            hovertext=hover,
            connectgaps=False,
            name=esc(sweep.parameter),
        ),
        row=row,
        col=col,
    )
    center_x = esc(sweep.center_value) if categorical else sweep.center_value
    center_y = next(
        (r for v, r in zip(sweep.values, sweep.results, strict=True) if v == sweep.center_value),
        None,
    )
    figure.add_trace(
        go.Scatter(
            x=[center_x],
            y=[center_y],
            mode="markers",
            name="best configuration",
            marker={"size": 12, "symbol": "star", "color": "#d62728"},
        ),
        row=row,
        col=col,
    )
    if categorical:
        figure.update_xaxes(type="category", row=row, col=col)
    elif getattr(param, "sampling", "linear") == "log":
        figure.update_xaxes(type="log", row=row, col=col)
