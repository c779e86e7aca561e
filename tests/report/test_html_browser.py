"""The HTML report in a real browser: it opens offline, draws its figures, runs no study text.

The study is a real search whose space holds a hostile categorical value and a parameter
named with quotes and angle brackets; the page is opened from file:// in headless chromium
(the ``browser_page`` fixture, tests/page_browser.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import hyperscout as hs

HOSTILE_VALUE = "<script>alert(1)</script>"
HOSTILE_NAME = "x\"'<b>&"


def _objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
    x = hp.Float(HOSTILE_NAME, 0.0, 1.0)
    choice = hp.Choice("kind", [HOSTILE_VALUE, "plain"])
    if x > 0.8:
        raise ValueError("<img src=x onerror=alert(2)> is not a number")
    loss = (x - 0.3) ** 2 + (0.5 if choice == "plain" else 0.0)
    for epoch in range(1, int(trial.budget or 9) + 1):
        trial.report(epoch, loss=loss + 1.0 / epoch)
    return loss + 1.0 / int(trial.budget or 9)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of a Hyperband search (learning curves, rungs) with failures."""
    folder = tmp_path_factory.mktemp("report")
    tuner = hs.Hyperband(
        _objective,
        objective="loss",
        max_epochs=9,
        seed=3,
        directory=folder,
        project_name="hostile",
        max_consecutive_failed_trials=20,
        verbose=0,
    )
    try:
        tuner.search()
        return tuner.report(folder / "report.html")
    finally:
        tuner.close()


def test_the_report_opens_offline_draws_its_figures_and_runs_no_study_text(
    report_file: Path, browser_page: Any
) -> None:
    page, log = browser_page.page, browser_page.log
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    url = report_file.resolve().as_uri()
    page.goto(url, wait_until="load")
    page.wait_for_selector(".js-plotly-plot", timeout=20_000)

    assert log.console_errors == []
    assert log.page_errors == []
    assert log.requests == [url]  # the file itself, nothing else
    assert dialogs == []  # no alert() ran
    drawn = page.locator(".js-plotly-plot").count()
    assert drawn == page.locator("script.hs-figure").count() >= 6
    assert page.locator("#figure-learning_curves + .figure.js-plotly-plot").count() == 1
    assert page.locator("header h1").inner_text() == "hostile"
    best = page.locator("#best table").inner_text()
    assert HOSTILE_VALUE in best and HOSTILE_NAME in best  # shown as text
    assert page.locator("#best table script, #best table b").count() == 0
    failures = page.locator("#failures").inner_text()
    assert "<img src=x onerror=alert(2)>" in failures
    assert page.locator("#failures img").count() == 0
