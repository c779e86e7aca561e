"""The HTML report: what it holds, its escaping, and the files it will and will not replace."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest
from click.testing import CliRunner

import hyperscout as hs
from hyperscout.cli import main
from hyperscout.report._html_template import MARKER
from hyperscout.report.advice import Advice
from hyperscout.report.html import is_report, render_report, script_json, write_report
from hyperscout.report.study import StudyData, study_of
from hyperscout.trial import Trial, TrialState

HOSTILE_VALUE = "<script>alert(1)</script>"
HOSTILE_NAME = "x\"'<b>&"


def _objective(hp: hs.HyperParameters) -> float:
    x = hp.Float(HOSTILE_NAME, 0.0, 1.0)
    kind = hp.Choice("kind", [HOSTILE_VALUE, "plain"])
    if x > 0.6:
        raise ValueError("</pre><img src=x onerror=alert(2)>")
    return (x - 0.3) ** 2 + (0.5 if kind == "plain" else 0.0)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real study on disk: hostile names and values, failed trials."""
    folder = tmp_path_factory.mktemp("runs")
    tuner = hs.RandomSearch(
        _objective, max_trials=12, seed=1, directory=folder, project_name="hostile", verbose=0
    )
    try:
        tuner.search()
    finally:
        tuner.close()
    return folder / "hostile"


@pytest.fixture(scope="module")
def study(project: Path) -> StudyData:
    return study_of(project)


def _figure() -> tuple[str, go.Figure]:
    """A figure of hostile text, under a hostile key."""
    figure = go.Figure(go.Scatter(x=[1, 2], y=[3, 4], name=HOSTILE_VALUE))
    figure.update_layout(title=f"{HOSTILE_NAME} </script><script>alert(3)</script>")
    return f"<i>{HOSTILE_VALUE}", figure


ADVICE = [Advice("edge", HOSTILE_NAME, f"The best values of {HOSTILE_NAME} sit at 1.0: widen it.")]


def _page(study: StudyData, **options: Any) -> str:
    """The report with a hostile figure and advice beside the study's own figures."""
    from hyperscout.report.plots import all_figures

    options.setdefault("figures", [*all_figures(study), _figure()])
    options.setdefault("advice", ADVICE)
    return render_report(study, **options)


def _outside_scripts(page: str) -> str:
    """The page without the bodies of its script elements (plotly.js, figures, renderer)."""
    return re.sub(r"<script[^>]*>.*?</script>", "<script></script>", page, flags=re.S)


def test_study_text_is_escaped_everywhere(study: StudyData) -> None:
    page = _page(study)
    outside = _outside_scripts(page)
    # Raw, the hostile strings appear nowhere; escaped, they appear where they are shown.
    assert HOSTILE_VALUE not in page
    assert "<img" not in page and "<b>" not in page
    assert html.escape(HOSTILE_VALUE) in outside  # a value of the best table
    assert html.escape(HOSTILE_NAME) in outside  # a column, the space, the advice
    assert html.escape("</pre><img src=x onerror=alert(2)>") in outside  # a failure
    # Exactly the page's own scripts: plotly.js, one per figure, the renderer.
    figures = page.count('class="hs-figure"')
    assert figures >= 5 and page.count("</script>") == 2 + figures


def test_a_figures_json_cannot_close_its_script(study: StudyData) -> None:
    page = _page(study, figures=[_figure()])
    (spec,) = re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', page, re.S)
    assert not set("<>&") & set(spec)
    figure = json.loads(spec)  # \u003c ... read back as the characters
    assert figure["data"][0]["name"] == HOSTILE_VALUE
    assert "</script><script>alert(3)" in figure["layout"]["title"]["text"]
    assert script_json('"a</script>&"') == '"a\\u003c/script\\u003e\\u0026"'


def test_the_page_holds_plotly_once_and_fetches_nothing(study: StudyData) -> None:
    import plotly

    page = _page(study, figures=[_figure(), _figure()])
    assert page.startswith("<!DOCTYPE html>\n" + MARKER)
    assert page.count(f"plotly.js v{_plotlyjs_version()}") == 1
    assert page.count('class="hs-figure"') == 2
    assert plotly.__version__ in page  # the provenance names it
    assert not re.search(r"<[^>]*\b(src|href)\s*=", _outside_scripts(page))  # no tag loads
    assert "default-src 'none'" in page  # and its Content-Security-Policy forbids fetching


def _plotlyjs_version() -> str:
    from plotly.offline import get_plotlyjs_version

    return str(get_plotlyjs_version())


def test_the_page_holds_the_best_the_space_the_strategy_and_the_provenance(
    study: StudyData,
) -> None:
    page = _page(study)
    best = study.history.best(1)[0]
    body = page[page.index("<body>") :]
    table = body[body.index('id="best"') : body.index('id="figures"')]
    first_row = table.split("<tr>")[3]  # after the caption's table header row
    assert f'<td class="num">{best.number}</td>' in first_row
    assert "RandomSampler" in body and "FIFOScheduler" in body
    provenance = study.provenance
    assert f"<dd>{provenance['seed']}</dd>" in body
    assert f"<dd>{html.escape(str(provenance['host']))}</dd>" in body
    started = min(t.started_at for t in study.trials if t.started_at is not None)
    assert re.search(r"first trial started</dt><dd>\d{4}-\d\d-\d\dT", body)
    assert started > 0
    assert "0.0 .. 1.0" in body  # the space
    assert "The best values of" in body  # the advice
    failed = sum(t.state is TrialState.FAILED for t in study.trials)
    assert failed and f"Failed trials ({failed})" in body


def test_an_empty_study_has_a_page_too() -> None:
    empty = StudyData("empty", [], hs.Objective("loss", "min"), hs.HyperParameters())
    page = render_report(empty, figures=[], advice=[])
    assert "No complete trial yet." in page and "Unknown: the study was made before" in page
    assert "Nothing to advise" in page


def test_write_report_replaces_a_report_and_refuses_any_other_file(
    study: StudyData, tmp_path: Path
) -> None:
    target = tmp_path / "report.html"
    assert write_report(study, target, figures=[], advice=[]) == target
    assert is_report(target)
    assert target.stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0600
    before = target.read_text(encoding="utf-8")
    write_report(study, target, figures=[_figure()], advice=[])  # its own: replaced
    assert target.read_text(encoding="utf-8") != before

    mine = tmp_path / "notes.html"
    mine.write_text("<p>my notes</p>", encoding="utf-8")
    with pytest.raises(hs.InvalidArgumentError, match="never overwrites a file it did not"):
        write_report(study, mine, figures=[], advice=[])
    assert mine.read_text(encoding="utf-8") == "<p>my notes</p>"
    with pytest.raises(hs.InvalidArgumentError, match="that is a folder"):
        write_report(study, tmp_path, figures=[], advice=[])
    with pytest.raises(hs.InvalidArgumentError, match="does not exist"):
        write_report(study, tmp_path / "missing" / "r.html", figures=[], advice=[])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.html", "report.html"]


def test_a_report_of_trials_with_budgets_says_so() -> None:
    trials = [
        Trial(0, {"x": 1}, TrialState.COMPLETE, value=0.5, budget=1.0),
        Trial(1, {"x": 1}, TrialState.COMPLETE, value=0.3, budget=3.0),
    ]
    data = StudyData("b", trials, hs.Objective("loss", "min"), hs.HyperParameters())
    page = render_report(data, figures=[], advice=[])
    assert "each on the highest budget it completed" in page


def test_the_command_writes_the_report_in_the_project_or_where_told(
    project: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    default = project / "report.html"
    result = runner.invoke(main, ["report", str(project)])
    assert result.exit_code == 0, result.output
    assert is_report(default) and str(default) in result.output

    elsewhere = tmp_path / "r.html"
    result = runner.invoke(main, ["report", str(project), "-o", str(elsewhere)])
    assert result.exit_code == 0, result.output
    assert is_report(elsewhere)

    theirs = tmp_path / "theirs.html"
    theirs.write_text("keep me", encoding="utf-8")
    result = runner.invoke(main, ["report", str(project), "-o", str(theirs)])
    assert result.exit_code == 1
    assert "never overwrites" in result.output and theirs.read_text() == "keep me"

    result = runner.invoke(main, ["report", str(tmp_path / "nothing")])
    assert result.exit_code == 1 and "no project at" in result.output


def test_tuner_report_writes_its_study(tmp_path: Path) -> None:
    tuner = hs.RandomSearch(
        lambda hp: hp.Float("x", 0.0, 1.0), max_trials=4, seed=0, storage="memory", verbose=0
    )
    tuner.search()
    path = tuner.report(tmp_path / "r.html")
    assert is_report(path)
    best = tuner.get_best_trials(1)[0]
    assert f'<td class="num">{best.number}</td>' in path.read_text(encoding="utf-8")


def test_the_demo_keeps_a_report_html_it_did_not_write(tmp_path: Path) -> None:
    from hyperscout.demo.run import _write_report

    tuner = hs.RandomSearch(
        lambda hp: hp.Float("x", 0.0, 1.0), max_trials=2, seed=0, storage="memory", verbose=0
    )
    tuner.search()
    assert _write_report(tuner, tmp_path) == tmp_path / "report.html"
    assert _write_report(tuner, tmp_path) == tmp_path / "report.html"  # its own: replaced
    (tmp_path / "report.html").write_text("theirs", encoding="utf-8")
    assert _write_report(tuner, tmp_path) == tmp_path / "report-1.html"
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == "theirs"


def test_a_study_with_sensitivity_sweeps_shows_them() -> None:
    def bowl(hp: hs.HyperParameters) -> float:
        return (hp.Float("x", -1.0, 1.0) - 0.2) ** 2 + hp.Choice("c", [0.0, 1.0])

    tuner = hs.RandomSearch(bowl, max_trials=6, seed=0, storage="memory", verbose=0)
    tuner.search()
    without = render_report(study_of(tuner))
    tuner.sensitivity(points=3)
    with_sweeps = render_report(study_of(tuner))
    assert 'id="figure-sensitivity"' not in without
    assert 'id="figure-sensitivity"' in with_sweeps
