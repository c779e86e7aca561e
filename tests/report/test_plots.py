"""The plots: each returns a figure with the expected traces for a known study."""

from __future__ import annotations

import json
import math
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import pytest

import hyperscout as hs
from hyperscout import report
from hyperscout.exceptions import InvalidArgumentError
from hyperscout.report import StudyData
from hyperscout.trial import Trial, TrialState

LOSS = hs.Objective("val_loss", "min")
T0 = 1_700_000_000.0


def trial(number: int, values: dict[str, Any], value: float | None, **kwargs: Any) -> Trial:
    state = kwargs.pop("state", TrialState.COMPLETE if value is not None else TrialState.FAILED)
    start = T0 + 10 * number
    kwargs.setdefault("started_at", start)
    kwargs.setdefault("finished_at", start + 5)
    return Trial(number, values, state, value=value, **kwargs)


def mixed_space() -> hs.HyperParameters:
    space = hs.HyperParameters()
    space.Float("lr", 1e-4, 1e-1, sampling="log")
    space.Choice("act", ["relu", "tanh", "<script>alert(1)</script>"])
    space.Int("layers", 1, 2)
    with space.conditional_scope("layers", [2]):
        space.Int("units_1", 8, 64)
    space.Float("dropout", 0.0, 0.5)
    return space


def mixed_study() -> StudyData:
    """Eight trials: six complete (units_1 read by three), one pruned, one failed."""
    acts = ["relu", "tanh", "<script>alert(1)</script>"]
    trials = []
    for n in range(6):
        values: dict[str, Any] = {
            "lr": 10 ** (-4 + 0.5 * n),
            "act": acts[n % 3],
            "layers": 1 + n % 2,
            "dropout": 0.1 * (n % 5),
        }
        if values["layers"] == 2:
            values["units_1"] = 8 + 8 * n
        trials.append(trial(n, values, 1.0 - 0.1 * n + 0.05 * (n % 2)))
    trials.append(
        trial(
            6,
            {"lr": 1e-3, "act": "relu", "layers": 1, "dropout": 0.2},
            0.95,
            state=TrialState.PRUNED,
        )
    )
    trials.append(
        trial(
            7,
            {"lr": 1e-3, "act": "relu", "layers": 1, "dropout": 0.3},
            None,
            error="ValueError: <b>boom</b>\ntraceback ...",
        )
    )
    return StudyData("mixed", trials, LOSS, mixed_space())


def names(figure: go.Figure) -> list[str]:
    return [trace.name for trace in figure.data]


def drawn(values: Any) -> list[Any]:
    """A trace's coordinates without the gaps (None or NaN) between trials."""
    return [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]


# -- history -----------------------------------------------------------------------------
def test_history_has_the_values_the_stopped_and_failed_trials_and_the_best_so_far() -> None:
    figure = report.plot_history(mixed_study())

    assert isinstance(figure, go.Figure)
    assert names(figure) == ["complete", "stopped (pruned)", "best so far", "failed"]
    complete, pruned, best, failed = figure.data
    assert list(complete.x) == [0, 1, 2, 3, 4, 5]
    assert list(pruned.x) == [6] and list(failed.x) == [7]
    assert failed.yaxis == "y2"  # no value: drawn at the foot, not at a made-up value
    # Values 1.0, 0.95, 0.8, 0.75, 0.6, 0.55: each better than the last.
    assert [round(v, 6) for v in best.y] == [1.0, 0.95, 0.8, 0.75, 0.6, 0.55, 0.55, 0.55]
    assert "&lt;b&gt;boom&lt;/b&gt;" in failed.text[0]
    assert figure.layout.yaxis.title.text == "val_loss (min)"
    assert figure.layout.yaxis2.visible is False


def test_history_under_budgets_ranks_the_best_as_rank_configurations_does() -> None:
    space = hs.HyperParameters()
    space.Float("x", 0.0, 1.0)
    trials = [
        trial(0, {"x": 0.1}, 0.2, budget=1),
        trial(1, {"x": 0.2}, 0.5, budget=1),
        trial(2, {"x": 0.2}, 0.4, budget=3, attrs={"promoted_from": 1}),
        trial(3, {"x": 0.3}, 0.1, budget=1),
    ]
    figure = report.plot_history(StudyData("b", trials, LOSS, space))

    assert names(figure) == ["budget 1", "budget 3", "best so far"]
    best = figure.data[-1]
    # The 3-epoch result outranks every 1-epoch one, even a lower value (trial 3's 0.1).
    assert list(best.y) == [0.2, 0.2, 0.4, 0.4]
    assert [b.number for b in report.plots.best_so_far(trials, LOSS)] == [0, 0, 2, 2]


def test_best_so_far_follows_the_direction() -> None:
    trials = [trial(n, {"x": n}, v) for n, v in enumerate([0.5, 0.4, 0.9, 0.7])]
    best = report.plots.best_so_far(trials, hs.Objective("acc", "max"))
    assert [b.value for b in best if b is not None] == [0.5, 0.5, 0.9, 0.9]


# -- slices ------------------------------------------------------------------------------
def test_slices_have_one_subplot_per_parameter_with_log_and_category_axes() -> None:
    figure = report.plot_slices(mixed_study())

    assert names(figure) == ["lr", "act", "layers", "units_1", "dropout"]
    layout = figure.layout
    assert layout.xaxis.type == "log"  # lr
    assert layout.xaxis2.type == "category"
    assert list(layout.xaxis2.categoryarray) == [
        "relu",
        "tanh",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ]
    assert layout.xaxis5.type == "linear"
    lr, _, _, units, _ = figure.data
    assert len(lr.x) == 6  # the complete trials; pruned and failed ones are no result
    assert list(units.x) == [16, 32, 48]  # only the trials that read it (layers == 2)
    assert "<script>" not in json.dumps(figure.to_plotly_json(), default=str)


def test_slices_take_the_parameters_asked_for_and_refuse_unknown_ones() -> None:
    figure = report.plot_slices(mixed_study(), params=["dropout"])
    assert names(figure) == ["dropout"]
    with pytest.raises(InvalidArgumentError, match=r"plot_slices\(params=...\): expected a list"):
        report.plot_slices(mixed_study(), params=["dropuot"])
    with pytest.raises(InvalidArgumentError, match=r"plot_parallel_coordinates\(params=...\)"):
        report.plot_parallel_coordinates(mixed_study(), params="lr")
    with pytest.raises(InvalidArgumentError, match=r"plot_contour\(params=...\): expected two"):
        report.plot_contour(mixed_study(), params=["lr"])


# -- parallel coordinates ----------------------------------------------------------------
def test_parallel_coordinates_have_an_axis_per_parameter_and_the_objective() -> None:
    figure = report.plot_parallel_coordinates(mixed_study())

    (parcoords,) = figure.data
    assert isinstance(parcoords, go.Parcoords)
    dims = {d.label: d for d in parcoords.dimensions}
    assert list(dims) == ["lr (log)", "act", "layers", "units_1", "dropout", "val_loss (min)"]
    assert len(dims["val_loss (min)"].values) == 6
    # lr is drawn as log10: 1e-4 at -4.
    assert math.isclose(dims["lr (log)"].values[0], -4.0)
    # Plotly writes these tick texts as plain text: the values as they are.
    assert list(dims["act"].ticktext) == ["relu", "tanh", "<script>alert(1)</script>"]
    # Trials that did not read units_1 meet its axis at "inactive", below its range.
    units = dims["units_1"]
    assert units.ticktext[0] == "inactive"
    floor = units.tickvals[0]
    assert [v == floor for v in units.values] == [True, False, True, False, True, False]
    assert floor < min(v for v in units.values if v != floor)


# -- contour -----------------------------------------------------------------------------
def test_contour_defaults_to_the_two_most_important_numeric_parameters() -> None:
    space = hs.HyperParameters()
    space.Float("lr", 1e-5, 1e-1, sampling="log")
    space.Float("wd", 0.0, 1.0)
    space.Float("noise", 0.0, 1.0)
    space.Choice("act", ["relu", "tanh"])
    import numpy as np

    rng = np.random.default_rng(0)
    trials = []
    for n in range(80):
        values = {p.name: p.sample(rng) for p in space.space}
        value = (math.log10(values["lr"]) + 3) ** 2 + 4 * values["wd"] + 0.0 * values["noise"]
        trials.append(trial(n, values, value))
    study = StudyData("c", trials, LOSS, space)

    figure = report.plot_contour(study)

    assert [type(t).__name__ for t in figure.data] == ["Contour", "Scatter"]
    assert {figure.layout.xaxis.title.text, figure.layout.yaxis.title.text} == {"lr", "wd"}
    axis = figure.layout.xaxis if figure.layout.xaxis.title.text == "lr" else figure.layout.yaxis
    assert axis.type == "log"
    assert len(figure.data[1].x) == 80
    chosen = report.plot_contour(study, params=["noise", "wd"])
    assert chosen.layout.xaxis.title.text == "noise"


def test_contour_of_a_conditional_pair_keeps_the_trials_that_read_both() -> None:
    figure = report.plot_contour(mixed_study(), params=["lr", "units_1"])
    assert len(figure.data[-1].x) == 3


# -- learning curves ---------------------------------------------------------------------
def hyperband_study() -> StudyData:
    """Bracket 1: three trials on budget 1 (one stopped), the best promoted to budget 3."""
    space = hs.HyperParameters()
    space.Float("x", 0.0, 1.0)

    def run(n: int, x: float, steps: range, budget: int, **kwargs: Any) -> Trial:
        reports = {s: {"val_loss": x + 1.0 / (s + 1)} for s in steps}
        last = reports[steps[-1]]["val_loss"]
        return trial(n, {"x": x}, last, intermediate=reports, budget=budget, **kwargs)

    trials = [
        run(0, 0.1, range(1), 1, attrs={"bracket": 1, "rung": 0}),
        run(1, 0.5, range(1), 1, attrs={"bracket": 1, "rung": 0}, state=TrialState.PRUNED),
        run(2, 0.9, range(1), 1, attrs={"bracket": 1, "rung": 0}),
        run(3, 0.1, range(1, 3), 3, attrs={"bracket": 1, "rung": 1, "promoted_from": 0}),
        run(4, 0.3, range(3), 3, attrs={"bracket": 0, "rung": 0}),
    ]
    return StudyData("hb", trials, LOSS, space)


def test_learning_curves_show_rungs_promotions_and_stopped_trials() -> None:
    figure = report.plot_learning_curves(hyperband_study())

    assert names(figure) == [
        "bracket 0 · rung 0 (budget 3)",
        "bracket 1 · rung 0 (budget 1)",
        "bracket 1 · rung 1 (budget 3)",
        "promotions",
        "stopped",
    ]
    rung0 = figure.data[1]
    assert drawn(rung0.x) == [0, 0, 0]
    assert drawn(rung0.customdata) == [0, 1, 2]  # the trials, named in the hover text
    promotions = figure.data[3]
    # From trial 0's last report (step 0) to trial 3's first (step 1).
    assert list(promotions.x) == [0, 1, None]
    assert math.isclose(promotions.y[0], 1.1) and math.isclose(promotions.y[1], 0.6)
    stopped = figure.data[4]
    assert list(stopped.x) == [0] and "trial 1" in stopped.text[0]
    # Where budget 1 and budget 3 end: the last step reported on each.
    assert sorted(shape.x0 for shape in figure.layout.shapes) == [0, 2]
    assert sorted(a.text for a in figure.layout.annotations) == ["budget 1", "budget 3"]


def test_learning_curves_without_rungs_are_one_trace_and_take_a_metric() -> None:
    space = hs.HyperParameters()
    space.Float("x", 0.0, 1.0)
    trials = [
        trial(0, {"x": 0.1}, 0.3, intermediate={0: {"val_loss": 0.5, "acc": 0.6}}),
        trial(1, {"x": 0.2}, 0.4, intermediate={0: {"val_loss": 0.6}, 1: {"val_loss": 0.4}}),
    ]
    study = StudyData("plain", trials, LOSS, space)

    assert names(report.plot_learning_curves(study)) == ["trials"]
    acc = report.plot_learning_curves(study, metric="acc").data[0]
    assert drawn(acc.y) == [0.6]


# -- timeline and importance -------------------------------------------------------------
def test_timeline_has_a_row_per_worker_and_marks_failures() -> None:
    study = mixed_study()
    workers = [{"host": "a", "pid": 1}, {"host": "b", "pid": 2}]
    trials = [
        Trial(**{**t.__dict__, "attrs": {"worker": workers[t.number % 2]}}) for t in study.trials
    ]
    figure = report.plot_timeline(StudyData("t", trials, LOSS, study.space))

    assert names(figure) == ["COMPLETE", "PRUNED", "FAILED"]
    assert list(figure.layout.yaxis.categoryarray) == ["a/1", "b/2"]
    complete, _, failed = figure.data
    assert list(complete.x) == [5000.0] * 6  # milliseconds from start to end
    assert list(failed.y) == ["b/2"]
    assert "ValueError: &lt;b&gt;boom&lt;/b&gt;" in failed.text[0]
    assert figure.layout.xaxis.type == "date"


def test_importance_is_one_bar_most_important_on_top() -> None:
    figure = report.plot_importance(mixed_study())
    (bar,) = figure.data
    assert bar.orientation == "h"
    importance = report.parameter_importance(mixed_study())
    assert list(bar.y) == list(importance)[::-1]
    assert "PED-ANOVA" in figure.layout.title.text


# -- all_figures, escaping, a real search ---------------------------------------------------
def test_all_figures_leaves_out_what_would_show_nothing() -> None:
    assert [k for k, _ in report.all_figures(mixed_study())] == [
        "history",
        "importance",
        "slices",
        "contour",
        "parallel_coordinates",
        "timeline",
    ]
    one_numeric = hyperband_study()
    assert [k for k, _ in report.all_figures(one_numeric)] == [
        "history",
        "slices",
        "parallel_coordinates",
        "learning_curves",
        "timeline",
    ]
    empty = StudyData("empty", [], LOSS, hs.HyperParameters())
    assert report.all_figures(empty) == []
    assert list(report.FIGURE_TITLES)[:2] == ["history", "importance"]


def test_hostile_names_and_values_are_escaped_in_every_figure() -> None:
    name = "we\"ird'<name>"
    space = hs.HyperParameters()
    space.Float(name, 0.0, 1.0)
    space.Choice("c", ["<script>alert(1)</script>", "ok"])
    trials = [
        trial(
            n,
            {name: 0.1 * n, "c": ["<script>alert(1)</script>", "ok"][n % 2]},
            0.1 * n,
            intermediate={0: {"val_loss": 0.1 * n}},
            attrs={"worker": {"host": "<h>", "pid": 1}},
        )
        for n in range(6)
    ]
    study = StudyData("<study>", trials, hs.Objective("<m>", "min"), space)

    figures = report.all_figures(study)

    assert [k for k, _ in figures] == [
        "history",
        "importance",
        "slices",
        "parallel_coordinates",
        "learning_curves",
        "timeline",
    ]
    for key, figure in figures:
        page = pio.to_html(figure, include_plotlyjs=False, full_html=False)
        assert "<script>alert" not in page and "<name>" not in page, key
        if key == "parallel_coordinates":  # tick texts are plain text there (see above)
            (parcoords,) = figure.data
            assert parcoords.dimensions[0].label == "we\"ird'&lt;name&gt;"
            figure = go.Figure(figure.to_plotly_json()).update_traces(
                dimensions=[{**d, "ticktext": []} for d in parcoords.to_plotly_json()["dimensions"]]
            )
        # Everywhere else plotly reads tags in text: user text reaches it escaped.
        text = json.dumps(figure.to_plotly_json(), default=str)
        assert "<script>" not in text and "<name>" not in text and "<h>" not in text, key
        assert "<study>" not in text and "<m>" not in text, key


def test_a_real_hyperband_search_draws_its_rungs(tmp_path: Any) -> None:
    def objective(hp: hs.HyperParameters, run: Any) -> float:
        x = hp.Float("x", 0.0, 1.0)
        loss = 1.0
        for epoch in range(run.previous_budget or 0, run.budget):
            loss = (x - 0.3) ** 2 + 1.0 / (epoch + 1)
            run.report(epoch, val_loss=loss)
        return loss

    tuner = hs.Hyperband(
        objective, objective="val_loss", max_epochs=9, seed=0, directory=tmp_path, verbose=0
    )
    tuner.search()

    figure = report.plot_learning_curves(tuner)
    traces = names(figure)
    assert any("rung 1" in n for n in traces) and "promotions" in traces
    keys = [k for k, _ in report.all_figures(tmp_path / "untitled_project")]
    assert "learning_curves" in keys and "history" in keys


@pytest.mark.parametrize("plot", [report.plot_history, report.plot_slices, report.plot_timeline])
def test_a_study_without_trials_draws_an_empty_figure(plot: Any) -> None:
    figure = plot(StudyData("empty", [], LOSS, hs.HyperParameters()))
    assert isinstance(figure, go.Figure) and len(figure.data) == 0
