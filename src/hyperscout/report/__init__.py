"""What a study shows: tables, summaries, the budgets' agreement and CSV/JSON export.

The report reads trials and nothing else: its functions take trials (or a
:class:`~hyperscout.history.History`, which carries the objective that ranks them), an
:class:`~hyperscout.objective.Objective` and a search space, and return tables, text or files.
It never reads the tuner nor a storage's internals, so the tuner, the command line and a
notebook show a study alike, whether it is running, finished or read back from storage.

- :mod:`~hyperscout.report.tables`: tables that never cut a value (:class:`FittedTable`) of
  trials, budgets, search spaces and projects;
- :mod:`~hyperscout.report.summary`: the summaries printed after a search (the tuner's
  ``results_summary``, ``budget_summary`` and ``search_space_summary`` delegate here) and by
  ``hyperscout show``;
- :mod:`~hyperscout.report.budgets`: how well each budget ranked the configurations as a
  higher budget did (:func:`budget_agreement`);
- :mod:`~hyperscout.report.export`: trials as CSV or JSON (:func:`export_trials`);
- values as tables print them (:func:`format_value`, :func:`format_budget`) and user text
  made safe for a terminal (:func:`printable`).

- :mod:`~hyperscout.report.plots`: plotly figures of a study (:func:`plot_history`,
  :func:`plot_slices`, ... and :func:`all_figures`, every figure that fits a study);
- :mod:`~hyperscout.report.importance`: which parameters matter (:func:`parameter_importance`,
  PED-ANOVA).

- :mod:`~hyperscout.report.html`: the HTML report, one file that opens offline
  (:func:`write_report`).
- :mod:`~hyperscout.report.advice`: what the trials suggest changing (:func:`advise`: ranges
  to widen, parameters to fix, budgets that mislead);
- :mod:`~hyperscout.report.sensitivity`: one-factor-at-a-time sweeps read back
  (:func:`read_sensitivity`) and drawn (:func:`sensitivity_figure`).
- :mod:`~hyperscout.report.dashboard`: a live, read-only page of a study on 127.0.0.1
  (``hyperscout dashboard``; :func:`~hyperscout.report.dashboard.serve_dashboard`,
  :func:`~hyperscout.report.dashboard.dashboard_app`), with Starlette and uvicorn imported
  when it is served (the ``dashboard`` extra).
"""

from __future__ import annotations

from hyperscout.report._text import FULL_BUDGET, format_budget, format_value, printable
from hyperscout.report.advice import Advice, advise
from hyperscout.report.budgets import BudgetAgreement, budget_agreement
from hyperscout.report.export import FORMATS, export_trials, trial_record
from hyperscout.report.html import write_report
from hyperscout.report.importance import parameter_importance
from hyperscout.report.plots import (
    FIGURE_TITLES,
    all_figures,
    plot_contour,
    plot_history,
    plot_importance,
    plot_learning_curves,
    plot_parallel_coordinates,
    plot_slices,
    plot_timeline,
)
from hyperscout.report.sensitivity import Sensitivity, Sweep, read_sensitivity, sensitivity_figure
from hyperscout.report.study import StudyData, read_study, study_of
from hyperscout.report.summary import (
    budget_summary,
    results_summary,
    search_space_summary,
    study_heading,
    study_summary,
)
from hyperscout.report.tables import (
    FittedTable,
    budgets_table,
    projects_table,
    space_table,
    trials_table,
)

__all__ = [
    "StudyData",
    "Advice",
    "FIGURE_TITLES",
    "FORMATS",
    "FULL_BUDGET",
    "BudgetAgreement",
    "all_figures",
    "FittedTable",
    "Sensitivity",
    "Sweep",
    "advise",
    "budget_agreement",
    "budget_summary",
    "budgets_table",
    "export_trials",
    "format_budget",
    "format_value",
    "parameter_importance",
    "plot_contour",
    "plot_history",
    "plot_importance",
    "plot_learning_curves",
    "plot_parallel_coordinates",
    "plot_slices",
    "plot_timeline",
    "printable",
    "projects_table",
    "read_sensitivity",
    "read_study",
    "results_summary",
    "search_space_summary",
    "sensitivity_figure",
    "space_table",
    "study_heading",
    "study_of",
    "study_summary",
    "trial_record",
    "trials_table",
    "write_report",
]
