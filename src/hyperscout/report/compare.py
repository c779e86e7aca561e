"""A comparison of strategies, read from storage: best-so-far curves and their spread.

:func:`hyperscout.compare` runs each strategy with several seeds, each run its own study, and
marks every study with ``meta["compare"]`` (the comparison's name, the strategy, the seed, the
full budget). This module reads those studies back, from storage alone, and draws them:

- the *cost* of a trial is its budget (``trial.budget``; a trial without one, of a strategy
  without budgets, costs the full budget; with no full budget at all, each trial costs 1), so
  the *budget spent* after a trial is the sum of the budgets of the trials so far. A promoted
  trial counts its whole budget, even when the objective continues it from a checkpoint: the
  count is what the trials would cost trained from scratch.
- the *best so far* after a trial is the best value among the complete trials so far *at the
  full budget*: a value measured on fewer epochs is not what the configuration gives trained
  in full. So a budgeted strategy's curve starts at its first full-budget trial.
- across seeds, at each point, the median of the runs that have a value, and the
  inter-quartile range (``band="iqr"``) or the whole range (``band="range"``) around it.

The table (final best, budget to reach a target, wall time) is
:mod:`hyperscout.report.compare_table`'s.

>>> from hyperscout.report.compare import best_so_far
>>> best_so_far([3.0, None, 1.0, 2.0], "min")
[3.0, 3.0, 1.0, 1.0]
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperscout._validation import check_choice, fail
from hyperscout.report.study import StudyData, read_study
from hyperscout.storage import Project, Storage, find_projects, open_storage
from hyperscout.trial import TrialState

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "META_KEY",
    "ComparisonData",
    "Run",
    "best_so_far",
    "comparison_figure",
    "quantile",
    "read_comparison",
    "save_figure",
    "spread",
    "strategy_curve",
]

#: The key of a study's meta that marks it as a run of a comparison.
META_KEY = "compare"


def best_so_far(values: Sequence[float | None], direction: str) -> list[float | None]:
    """The best of ``values`` up to each position (None: no value yet, or a skipped one)."""
    best: float | None = None
    out: list[float | None] = []
    for value in values:
        if value is not None and (
            best is None or (value < best if direction == "min" else value > best)
        ):
            best = value
        out.append(best)
    return out


@dataclass(frozen=True)
class Run:
    """One strategy run with one seed: a study of the comparison.

    Attributes:
        strategy: the strategy's name in the registry (``"bayes"``, ``"hyperband"`` ...).
        seed: the run's seed.
        study: the study's trials, read from storage.
        max_budget: the full budget of a trial (None: the comparison has no budgets).
    """

    strategy: str
    seed: int
    study: StudyData
    max_budget: float | None

    @property
    def trials(self) -> list[Any]:
        """The finished trials, in order (running ones are not counted yet)."""
        return [t for t in self.study.trials if t.is_finished]

    def cost(self, budget: float | None) -> float:
        """What a trial of ``budget`` costs (see the module's docstring)."""
        if budget is not None:
            return float(budget)
        return float(self.max_budget) if self.max_budget is not None else 1.0

    def curve(self, x: str = "trials") -> tuple[list[float], list[float | None]]:
        """``(xs, best)``: trials (1, 2, ...) or budget spent, and the best so far at each."""
        spent, xs, values = 0.0, [], []
        for number, trial in enumerate(self.trials, start=1):
            spent += self.cost(trial.budget)
            xs.append(float(number) if x == "trials" else spent)
            full = trial.budget is None or (
                self.max_budget is not None and trial.budget >= self.max_budget
            )
            ok = trial.state is TrialState.COMPLETE and trial.value is not None and full
            values.append(float(trial.value) if ok and trial.value is not None else None)
        return xs, best_so_far(values, self.study.objective.direction)

    @property
    def budget_spent(self) -> float:
        """The sum of the costs of the run's trials."""
        return sum(self.cost(t.budget) for t in self.trials)

    @property
    def wall_seconds(self) -> float:
        """The run's wall time as :func:`hyperscout.compare` kept it (making the tuner, the
        strategy's proposals and the trials; resumes add up), or without it the trials'
        durations summed."""
        kept = self.study.meta.get(META_KEY, {}).get("seconds")
        if isinstance(kept, (int, float)) and not isinstance(kept, bool):
            return float(kept)
        return sum(t.duration or 0.0 for t in self.trials)


@dataclass(frozen=True)
class ComparisonData:
    """The runs of one comparison, read at one moment, ordered by strategy then seed."""

    name: str
    runs: Sequence[Run]

    @property
    def strategies(self) -> list[str]:
        """The strategies compared, in the order they were asked for."""
        seen: list[str] = []
        for run in self.runs:
            if run.strategy not in seen:
                seen.append(run.strategy)
        return seen

    @property
    def objective(self) -> Any:
        """The objective of the runs (the first run's; they share it)."""
        return self.runs[0].study.objective

    @property
    def budgeted(self) -> bool:
        """True when the runs have a full budget (some strategy budgets its trials)."""
        return any(run.max_budget is not None for run in self.runs)

    def of(self, strategy: str) -> list[Run]:
        """The runs of one strategy."""
        return [run for run in self.runs if run.strategy == strategy]


def read_comparison(source: Any, project_name: str | None = None) -> ComparisonData:
    """The runs of a comparison, from its folder or from a storage.

    Args:
        source: the comparison's folder (``directory/project_name``, which holds one project
            folder per run); or a :class:`~hyperscout.storage.Storage` or a database URL,
            with ``project_name``, the comparison's name.
        project_name: the comparison's name (for a folder: the folder's name by default).

    Raises:
        InvalidArgumentError: ``source`` holds no run of the comparison.
    """
    if isinstance(source, Storage):
        name = _need_name(project_name, "a Storage")
        studies = _studies_in(source, name)
    elif isinstance(source, str) and "://" in source:
        name = _need_name(project_name, "a database URL")
        storage = open_storage(source)
        try:
            studies = _studies_in(storage, name)
        finally:
            storage.close()
    elif isinstance(source, (str, os.PathLike)):
        name = project_name or Path(source).name
        studies = [_read_project(project) for project in find_projects(source)]
    else:
        fail("read_comparison", "source", source, "a comparison's folder, a Storage or a URL")
    runs = [_as_run(study) for study in studies if _marked(study, name)]
    if not runs:
        fail("read_comparison", "source", _shown(source), f"the runs of comparison {name!r}")
    order = {s: i for i, s in enumerate(_strategy_order(runs))}
    runs.sort(key=lambda run: (order[run.strategy], run.seed))
    return ComparisonData(name, runs)


def _need_name(project_name: str | None, what: str) -> str:
    if project_name is None:
        fail("read_comparison", "project_name", None, f"the comparison's name with {what}")
    return project_name


def _shown(source: Any) -> Any:
    return os.fspath(source) if isinstance(source, os.PathLike) else source


def _studies_in(storage: Storage, name: str) -> list[StudyData]:
    return [
        read_study(storage, info.name)
        for info in storage.list_studies()
        if (info.meta.get(META_KEY) or {}).get("name") == name
    ]


def _read_project(project: Project) -> StudyData:
    storage = open_storage(project.url)
    try:
        return read_study(storage, project.name)
    finally:
        storage.close()


def _marked(study: StudyData, name: str) -> bool:
    mark = study.meta.get(META_KEY)
    return isinstance(mark, dict) and mark.get("name") == name


def _as_run(study: StudyData) -> Run:
    mark = study.meta[META_KEY]
    budget = mark.get("max_budget")
    return Run(str(mark["strategy"]), int(mark["seed"]), study, budget)


def _strategy_order(runs: Sequence[Run]) -> list[str]:
    """The strategies in the order the comparison asked for them (kept in the mark)."""
    asked: list[str] = []
    for run in runs:
        for name in run.study.meta[META_KEY].get("strategies", [run.strategy]):
            if name not in asked:
                asked.append(str(name))
        if run.strategy not in asked:
            asked.append(run.strategy)
    return asked


# -- the spread over seeds ---------------------------------------------------------------------
def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile, linear between the order statistics (numpy's default)."""
    position = (len(sorted_values) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    fraction = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


def spread(values: Sequence[float], band: str) -> tuple[float, float, float]:
    """``(low, median, high)``: quartiles or extremes of ``values``."""
    ordered = sorted(values)
    q = 0.25 if band == "iqr" else 0.0
    return quantile(ordered, q), quantile(ordered, 0.5), quantile(ordered, 1 - q)


def _value_at(xs: Sequence[float], best: Sequence[float | None], x: float) -> float | None:
    """A run's best so far at ``x`` (its last point at or before ``x``)."""
    found: float | None = None
    for point, value in zip(xs, best, strict=True):
        if point > x:
            break
        found = value
    return found


def strategy_curve(
    runs: Sequence[Run], x: str, band: str
) -> tuple[list[float], list[float], list[float], list[float]]:
    """``(xs, low, median, high)`` over the runs at every x one of them reached."""
    curves = [run.curve(x) for run in runs]
    points = sorted({point for xs, _ in curves for point in xs})
    out: tuple[list[float], list[float], list[float], list[float]] = ([], [], [], [])
    for point in points:
        values = [_value_at(xs, best, point) for xs, best in curves]
        present = [v for v in values if v is not None]
        if not present:
            continue
        low, middle, high = spread(present, band)
        for column, value in zip(out, (point, low, middle, high), strict=True):
            column.append(value)
    return out


# -- the figure --------------------------------------------------------------------------------
_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]


def _band_colour(colour: str) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},0.18)"


def comparison_figure(data: ComparisonData, *, x: str = "auto", band: str = "iqr") -> go.Figure:
    """Best so far against trials or budget spent: each run, and each strategy's spread.

    Per strategy: one thin line per seed (trace ``meta``: ``{"strategy", "seed", "kind":
    "run"}``), the band (``kind`` ``"band"``, two traces) and the median line (``kind``
    ``"median"``, the one in the legend).

    Args:
        x: ``"trials"``, ``"budget"`` (budget spent, see the module's docstring) or
            ``"auto"``: the budget when the comparison has budgets, else trials.
        band: ``"iqr"`` (the inter-quartile range) or ``"range"`` (min to max).
    """
    import plotly.graph_objects as go

    check_choice("comparison_figure", "x", x, ("auto", "trials", "budget"))
    check_choice("comparison_figure", "band", band, ("iqr", "range"))
    if x == "auto":
        x = "budget" if data.budgeted else "trials"
    figure = go.Figure()
    for index, strategy in enumerate(data.strategies):
        colour = _COLOURS[index % len(_COLOURS)]
        runs = data.of(strategy)
        for run in runs:
            xs, best = run.curve(x)
            figure.add_trace(
                go.Scatter(
                    x=xs,
                    y=best,
                    mode="lines",
                    name=f"{strategy} (seed {run.seed})",
                    legendgroup=strategy,
                    showlegend=False,
                    opacity=0.35,
                    line={"color": colour, "width": 1, "shape": "hv"},
                    meta={"strategy": strategy, "seed": run.seed, "kind": "run"},
                )
            )
        _addspread(figure, go, strategy, strategy_curve(runs, x, band), colour, band)
    objective = data.objective
    figure.update_layout(
        title=html.escape(f"Best {objective.name} so far ({objective.direction}), {data.name}"),
        xaxis_title="budget spent (sum of trial budgets)" if x == "budget" else "trials",
        yaxis_title=html.escape(f"best {objective.name}"),
        template="plotly_white",
        hovermode="x unified",
    )
    return figure


def _addspread(
    figure: go.Figure,
    go: Any,
    strategy: str,
    curve: tuple[list[float], list[float], list[float], list[float]],
    colour: str,
    band: str,
) -> None:
    xs, low, middle, high = curve
    spread = "inter-quartile range" if band == "iqr" else "min to max"
    for kind, ys, fill in (("band", low, None), ("band", high, "tonexty")):
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name=f"{strategy} ({spread})",
                legendgroup=strategy,
                showlegend=False,
                line={"width": 0, "shape": "hv", "color": colour},
                fill=fill,
                fillcolor=_band_colour(colour),
                hoverinfo="skip",
                meta={"strategy": strategy, "kind": kind},
            )
        )
    figure.add_trace(
        go.Scatter(
            x=xs,
            y=middle,
            mode="lines",
            name=strategy,
            legendgroup=strategy,
            line={"color": colour, "width": 2.5, "shape": "hv"},
            meta={"strategy": strategy, "kind": "median"},
        )
    )


def save_figure(figure: go.Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``figure`` to ``path``: ``.html`` with plotly's JavaScript inside (opens offline),
    or ``.png``/``.svg``/``.pdf`` when kaleido is installed.

    Raises:
        InvalidArgumentError: another suffix, or an image without kaleido.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix in (".html", ".htm"):
        figure.write_html(target, include_plotlyjs=True, full_html=True)
        return target
    if suffix not in (".png", ".svg", ".pdf"):
        fail("save_figure", "path", os.fspath(path), "a file ending in .html, .png, .svg or .pdf")
    try:
        import kaleido  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        fail("save_figure", "path", os.fspath(path), "an .html file (images need kaleido)")
    figure.write_image(target)
    return target
