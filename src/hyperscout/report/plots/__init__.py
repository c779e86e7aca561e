"""Plots of a study, as plotly figures: for a notebook (``.show()``), the report and the dashboard.

Each function takes a study (anything :func:`~hyperscout.report.study_of` accepts: a tuner, a
Storage or database URL with a name, a project folder, or a
:class:`~hyperscout.report.StudyData`) and returns a ``plotly.graph_objects.Figure``; plotly is
imported when a figure is drawn, not with hyperscout. :func:`all_figures` returns every figure
that makes sense for a study, in reading order.

- :func:`plot_history`: each trial's value in trial order, the best so far;
- :func:`plot_importance`: the parameters' importance (PED-ANOVA);
- :func:`plot_slices`: each parameter's values against the objective;
- :func:`plot_contour`: the objective over two numeric parameters;
- :func:`plot_parallel_coordinates`: every trial across every parameter;
- :func:`plot_learning_curves`: intermediate reports, rungs, promotions, stopped trials;
- :func:`plot_timeline`: the trials on each worker, over time, failures marked.

All user text (study, parameter and metric names, categorical values, error messages) is
HTML-escaped in the figures, so ``<script>`` in a value shows as typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hyperscout.report.plots._common import analysis_trials, axes_of, study_data
from hyperscout.report.plots.curves import has_reports, plot_learning_curves
from hyperscout.report.plots.history import best_so_far, plot_history
from hyperscout.report.plots.params import (
    plot_contour,
    plot_importance,
    plot_parallel_coordinates,
    plot_slices,
)
from hyperscout.report.plots.timeline import has_timings, plot_timeline

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "FIGURE_TITLES",
    "all_figures",
    "best_so_far",
    "plot_contour",
    "plot_history",
    "plot_importance",
    "plot_learning_curves",
    "plot_parallel_coordinates",
    "plot_slices",
    "plot_timeline",
]

#: The keys :func:`all_figures` returns, in its order, with a heading for each.
FIGURE_TITLES = {
    "history": "Optimization history",
    "importance": "Parameter importance",
    "slices": "Slices",
    "contour": "Contour",
    "parallel_coordinates": "Parallel coordinates",
    "learning_curves": "Learning curves",
    "timeline": "Timeline",
    # Not drawn by all_figures: the report adds it when tuner.sensitivity() ran.
    "sensitivity": "Sensitivity: one parameter at a time around the best",
}


def all_figures(study: Any, *, seed: int = 0) -> list[tuple[str, go.Figure]]:
    """Every figure that makes sense for ``study``, as ``(key, figure)`` in reading order.

    The keys are those of :data:`FIGURE_TITLES` (stable: the HTML report and the dashboard
    use them as anchors). A figure is left out when it would show nothing: no history
    without trials, no importance, slices or parallel coordinates without a parameter that
    varies among complete trials (importance needs two and 4 trials), no contour with fewer
    than two numeric parameters or 3 trials, no learning curves without intermediate
    reports, no timeline without start times. The study is read once.

    >>> import hyperscout as hs
    >>> tuner = hs.RandomSearch(lambda hp: hp.Float("x", 0.0, 1.0) + hp.Float("y", 0.0, 1.0),
    ...                         max_trials=8, seed=0, storage="memory", verbose=0)
    >>> tuner.search()
    >>> [key for key, _ in all_figures(tuner)]
    ['history', 'importance', 'slices', 'contour', 'parallel_coordinates', 'timeline']
    """
    data = study_data(study)
    trials, _, _ = analysis_trials(data)
    axes = axes_of(data, trials, None)
    numeric = [a for a in axes if a.is_numeric]
    figures: list[tuple[str, go.Figure]] = []
    if data.trials:
        figures.append(("history", plot_history(data)))
    if len(axes) >= 2 and len(trials) >= 4:
        figures.append(("importance", plot_importance(data, seed=seed)))
    if axes and trials:
        figures.append(("slices", plot_slices(data)))
    if len(numeric) >= 2 and len(trials) >= 3:
        figures.append(("contour", plot_contour(data, seed=seed)))
    if axes and len(trials) >= 2:
        figures.append(("parallel_coordinates", plot_parallel_coordinates(data)))
    if has_reports(data):
        figures.append(("learning_curves", plot_learning_curves(data)))
    if has_timings(data):
        figures.append(("timeline", plot_timeline(data)))
    return figures
