"""One-factor-at-a-time sweeps around the best configuration: tuner.sensitivity()."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from click.testing import CliRunner

import hyperscout as hs
from hyperscout.cli import main
from hyperscout.report.plots._common import esc
from hyperscout.report.sensitivity import read_sensitivity, sensitivity_figure
from hyperscout.report.study import study_of
from hyperscout.tuner._sensitivity import sweep_values

OPTIMUM = {"x": 0.3, "lr": 1e-3, "units": 64, "act": "tanh", "bias": True}


def known_optimum(hp: hs.HyperParameters) -> float:
    x = hp.Float("x", -1.0, 1.0)
    lr = hp.Float("lr", 1e-5, 1e-1, sampling="log")
    units = hp.Int("units", 16, 256, step=16)
    act = hp.Choice("act", ["relu", "tanh", "<script>alert(1)</script>"])
    bias = hp.Boolean("bias")
    return (
        (x - 0.3) ** 2
        + (math.log10(lr) + 3.0) ** 2
        + ((units - 64) / 64) ** 2
        + (0.0 if act == "tanh" else 1.0)
        + (0.0 if bias else 0.5)
    )


def tuned(**kwargs: object) -> hs.Tuner:
    tuner = hs.RandomSearch(known_optimum, max_trials=8, seed=0, storage="memory", verbose=0)
    tuner.enqueue(OPTIMUM)  # the best configuration is the optimum
    tuner.search()
    return tuner


def test_each_sweep_is_best_at_the_best_configurations_value() -> None:
    tuner = tuned()
    result = tuner.sensitivity(points=5)
    assert result.center.values == OPTIMUM
    assert list(result.sweeps) == ["x", "lr", "units", "act", "bias"]
    for name, sweep in result.sweeps.items():
        assert sweep.best_value == OPTIMUM[name], name
        # Without the center's own trial, the best point is the grid's nearest to it.
        others = [
            (tuner.objective.loss(r), v)
            for v, r in zip(sweep.values, sweep.results, strict=True)
            if r is not None and v != OPTIMUM[name]
        ]
        nearest = min(others)[1]
        if name == "x":
            assert nearest == 0.5  # the grid -1, -0.5, 0, 0.5, 1: 0.5 is nearest 0.3
        if name == "lr":
            assert math.isclose(abs(math.log10(nearest) + 3.0), 1.0)  # 1e-4 or 1e-2
    assert sorted(result.sweeps["act"].values) == sorted(
        ["relu", "tanh", "<script>alert(1)</script>"]
    )
    assert result.sweeps["bias"].values == [False, True]


def test_sweep_points_respect_the_scale_ints_and_steps() -> None:
    result = tuned().sensitivity(points=5)
    lr = [v for v in result.sweeps["lr"].values if v != OPTIMUM["lr"]]
    assert [round(math.log10(v), 6) for v in lr] == [-5.0, -4.0, -2.0, -1.0]  # -3 is the center
    units = result.sweeps["units"].values
    assert all(isinstance(u, int) and u % 16 == 0 and 16 <= u <= 256 for u in units)
    assert units[0] == 16 and units[-1] == 256 and len(units) == 6  # 5 points and the center
    hp = hs.HyperParameters()
    hp.Int("small", 1, 3)
    assert sweep_values(hp.parameter("small"), 5) == [1, 2, 3]  # fewer values than points
    hp.Fixed("f", 7)
    assert sweep_values(hp.parameter("f"), 5) == []


def test_sweeps_are_trials_of_the_study_and_resume() -> None:
    tuner = tuned()
    before = len(tuner.trials)
    tuner.sensitivity(points=5, parameters=["x"])
    swept = [t for t in tuner.trials if "sensitivity" in t.attrs]
    assert len(swept) == 5 and {t.attrs["sensitivity"] for t in swept} == {"x"}
    assert all(t.state is hs.TrialState.COMPLETE for t in swept)
    tuner.sensitivity(points=5, parameters=["x"])  # again: nothing runs
    assert len(tuner.trials) == before + 5
    result = tuner.sensitivity(points=5)  # the others now; x's points are not run again
    added = tuner.trials[before + 5 :]
    assert {t.attrs["sensitivity"] for t in added} == {"lr", "units", "act", "bias"}
    assert len(result.sweeps["x"].values) == 6
    # read back from storage alone, as the report does
    stored = read_sensitivity(tuner.storage, tuner.project_name)
    assert stored is not None and stored.center.number == result.center.number
    assert stored.sweeps["units"].values == result.sweeps["units"].values


def test_a_sweep_trial_is_never_the_center_of_the_next_sweep() -> None:
    tuner = hs.RandomSearch(known_optimum, max_trials=6, seed=1, storage="memory", verbose=0)
    tuner.search()
    first = tuner.sensitivity(points=3)
    # the sweeps found better configurations than the search; the center stays the same
    assert tuner.get_best_trials()[0].number != first.center.number
    count = len(tuner.trials)
    assert tuner.sensitivity(points=3).center.number == first.center.number
    assert len(tuner.trials) == count


def test_sensitivity_needs_a_complete_trial_and_known_parameters() -> None:
    tuner = hs.RandomSearch(known_optimum, max_trials=3, seed=0, storage="memory", verbose=0)
    with pytest.raises(hs.InvalidArgumentError, match="run search\\(\\) first"):
        tuner.sensitivity()
    tuner.search()
    with pytest.raises(hs.InvalidArgumentError, match="parameters"):
        tuner.sensitivity(parameters=["nope"])
    with pytest.raises(hs.InvalidArgumentError, match="points"):
        tuner.sensitivity(points=1)


def test_the_figure_has_a_panel_per_parameter_with_names_escaped() -> None:
    def objective(hp: hs.HyperParameters) -> float:
        x = hp.Float("x\"<b>'", 1e-3, 1.0, sampling="log")
        act = hp.Choice("act", ["relu", "<script>alert(1)</script>"])
        return x + (act == "relu")

    tuner = hs.RandomSearch(objective, max_trials=4, seed=0, storage="memory", verbose=0)
    tuner.search()
    assert len(sensitivity_figure(tuner).data) == 0  # no sweep yet
    tuner.sensitivity(points=4)
    figure = sensitivity_figure(tuner)
    lines = [t for t in figure.data if t.mode == "lines+markers"]
    assert len(lines) == 2
    titles = [a.text for a in figure.layout.annotations]
    assert titles == [esc("x\"<b>'"), "act"] and "&lt;b&gt;" in titles[0]
    assert figure.layout.xaxis.type == "log" and figure.layout.xaxis2.type == "category"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in list(lines[1].x)
    assert "<script>" not in figure.to_json()


def test_sweeps_run_on_the_tuners_workers_and_budget() -> None:
    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        return (hp.Float("x", 0.0, 1.0) - 0.5) ** 2 + 1.0 / float(trial.budget or 1)

    tuner = hs.Hyperband(
        objective,
        max_epochs=9,
        seed=0,
        storage="memory",
        verbose=0,
        executor=hs.ThreadExecutor(n_workers=2),
    )
    tuner.search()
    result = tuner.sensitivity(points=5)
    assert result.center.budget == 9
    swept = [t for t in tuner.trials if "sensitivity" in t.attrs]
    assert len(swept) >= 4 and all(t.budget == 9 for t in swept)
    assert all(t.state is hs.TrialState.COMPLETE for t in swept)


OBJECTIVE_FILE = """
def objective(hp):
    x = hp.Float("x", -1.0, 1.0)
    act = hp.Choice("act", ["relu", "[red]tanh"])
    return (x - 0.3) ** 2 + (1.0 if act == "relu" else 0.0)
"""


def test_the_command_sweeps_a_study_made_by_hyperscout_run(tmp_path: Path) -> None:
    source = tmp_path / "train.py"
    source.write_text(OBJECTIVE_FILE, encoding="utf-8")
    runner = CliRunner()
    made = runner.invoke(
        main,
        [
            "run",
            f"{source}:objective",
            "--max-trials",
            "6",
            "--seed",
            "0",
            "--verbose",
            "0",
            "--directory",
            str(tmp_path / "runs"),
        ],
    )
    assert made.exit_code == 0, made.output
    project = tmp_path / "runs" / "objective"
    plot = tmp_path / "sensitivity.html"
    args = ["sensitivity", str(project), "--points", "3", "-o", str(plot)]
    result = runner.invoke(main, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Sensitivity around trial" in result.output and "[red]tanh" in result.output
    html = plot.read_text(encoding="utf-8")
    assert "Plotly.newPlot" in html or "plotly" in html.lower()
    data = study_of(str(project))
    swept = [t for t in data.trials if "sensitivity" in t.attrs]
    assert len(swept) in (4, 5)  # x: 3 points (one may be the center's value); act: the other
    again = runner.invoke(main, args[:4], terminal_width=200)
    assert again.exit_code == 0 and len(study_of(str(project)).trials) == len(data.trials)
    # The file moved: --function names it.
    moved = tmp_path / "moved.py"
    source.rename(moved)
    lost = runner.invoke(main, args[:4])
    assert lost.exit_code == 1 and "--function FILE.py:FUNCTION" in lost.output
    found = runner.invoke(main, [*args[:4], "--function", f"{moved}:objective", "--points", "4"])
    assert found.exit_code == 0, found.output


def test_the_command_refuses_a_study_not_made_by_hyperscout_run(tmp_path: Path) -> None:
    tuner = hs.RandomSearch(
        known_optimum, max_trials=3, seed=0, directory=tmp_path, project_name="p", verbose=0
    )
    tuner.search()
    tuner.close()
    result = CliRunner().invoke(main, ["sensitivity", str(tmp_path / "p")])
    assert result.exit_code == 1 and "tuner.sensitivity()" in result.output


def test_sweep_points_count_toward_max_trials_as_enqueued_trials_do() -> None:
    tuner = tuned()  # max_trials=8, all run
    tuner.sensitivity(points=3, parameters=["x", "bias"])
    count = len(tuner.trials)
    assert count > 8
    tuner.search()  # the study already holds more than max_trials trials: nothing runs
    assert len(tuner.trials) == count
    tuner.max_trials = count + 2
    tuner.search()
    new = tuner.trials[count:]
    assert len(new) == 2 and not any("sensitivity" in t.attrs for t in new)
    assert [t.slot for t in new] == [count, count + 1]


def test_the_plots_and_the_importance_leave_sweep_points_out() -> None:
    from hyperscout.report.plots._common import analysis_trials

    tuner = tuned()
    searched = {t.number for t in tuner.trials if t.state is hs.TrialState.COMPLETE}
    tuner.sensitivity(points=3)
    data = study_of(tuner)
    swept = {t.number for t in data.trials if "sensitivity" in t.attrs}
    assert swept  # the sweep ran
    compared, _, _ = analysis_trials(data)
    assert {t.number for t in compared} == searched
