"""The dashboard in a real browser (headless chromium): a running search, shown live.

A background thread keeps a search going through ask/tell on a project folder (each trial
runs a little while); the dashboard serves that folder from another thread, as
``hyperscout dashboard`` would. The page must load with no console error and no request to
another host, show the trials already there, show a trial within a few seconds after it
finishes without a reload, and show hostile names and values as text.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import hyperscout as hs
from hyperscout.report.dashboard import DashboardServer

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

SCRIPT = "<script>alert(1)</script>"
QUOTED = '<b>"it\'s"</b> & <i>'
ERROR = "<img src=x onerror=alert(2)>"
#: How long each trial of the running search takes.
TRIAL_SECONDS = 0.4
#: How soon after a trial finishes the page must show it (it polls every 1.5 s).
SHOWN_WITHIN = 5.0


def run_trial(tuner: hs.Tuner, *, fail: bool = False) -> int:
    """One trial through ask/tell: define the space, work a little, tell; its number."""
    hp, trial = tuner.ask()
    x = hp.Float("x", 1e-3, 1.0, sampling="log")
    choice = hp.Choice(QUOTED, [SCRIPT, "plain"])
    time.sleep(TRIAL_SECONDS)
    if fail:
        tuner.tell(trial, state=hs.TrialState.FAILED, error=f"ValueError: {ERROR}")
    else:
        tuner.tell(trial, {"loss": x**2 + (choice == "plain")})
    return int(trial.number)


@dataclass
class RunningSearch:
    """A search that a background thread keeps adding trials to, until stopped."""

    folder: Path
    finished: dict[int, float] = field(default_factory=dict)  # number -> when told
    stop_event: threading.Event = field(default_factory=threading.Event)
    error: list[BaseException] = field(default_factory=list)

    def run(self, tuner: hs.Tuner) -> None:
        try:
            while not self.stop_event.is_set():
                number = run_trial(tuner)
                self.finished[number] = time.monotonic()
        except BaseException as exc:  # surfaced by the test
            self.error.append(exc)


def new_tuner(directory: Path) -> hs.Tuner:
    return hs.RandomSearch(
        objective="loss",
        max_trials=10_000,
        directory=directory,
        project_name="p",
        seed=0,
        verbose=0,
    )


@pytest.fixture
def running_search(tmp_path: Path) -> Iterator[RunningSearch]:
    tuner = new_tuner(tmp_path)
    run_trial(tuner, fail=True)
    for _ in range(3):
        run_trial(tuner)
    search = RunningSearch(tmp_path / "p")
    thread = threading.Thread(target=search.run, args=(tuner,), daemon=True)
    thread.start()
    try:
        yield search
    finally:
        search.stop_event.set()
        thread.join(10)
    assert not search.error, search.error


@pytest.fixture
def dashboard(running_search: RunningSearch) -> Iterator[DashboardServer]:
    with DashboardServer(running_search.folder) as server:
        yield server


def row_numbers(page: Any) -> list[int]:
    return [
        int(n)
        for n in page.eval_on_selector_all("#trials tbody tr", "r => r.map(x => x.dataset.number)")
    ]


def test_page_shows_the_running_search_live(
    browser_page: Any, dashboard: DashboardServer, running_search: RunningSearch
) -> None:
    page, log = browser_page.page, browser_page.log
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(dashboard.url)
    page.wait_for_selector("#trials tbody tr")
    first = row_numbers(page)
    assert {0, 1, 2, 3} <= set(first)  # the trials already there
    page.wait_for_selector("#figures .js-plotly-plot .main-svg")
    page.evaluate("window.notReloaded = true")

    # A trial that finishes after the page loaded appears within seconds, without a reload.
    loaded = time.monotonic()
    while not any(when > loaded for when in running_search.finished.values()):
        assert not running_search.error and time.monotonic() < loaded + 10, "no new trial"
        time.sleep(0.05)
    number, finished = min(
        (n, when) for n, when in running_search.finished.items() if when > loaded
    )
    page.wait_for_selector(
        f'#trials tbody tr[data-number="{number}"].state-COMPLETE',
        timeout=SHOWN_WITHIN * 1000,
    )
    assert time.monotonic() - finished < SHOWN_WITHIN
    assert page.evaluate("window.notReloaded") is True
    trials_card = page.text_content('[data-card="trials"] .value')
    assert trials_card is not None and int(trials_card) > len(first) - 1

    assert not log.console_errors and not log.page_errors, (log.console_errors, log.page_errors)
    origin = urlsplit(dashboard.url).netloc
    assert {urlsplit(url).netloc for url in log.requests} == {origin}, log.requests
    assert not dialogs


def test_hostile_names_values_and_errors_are_shown_as_text(
    browser_page: Any, dashboard: DashboardServer
) -> None:
    page, log = browser_page.page, browser_page.log
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(dashboard.url)
    page.wait_for_selector('#trials tbody tr[data-number="0"]')
    page.wait_for_selector("#figures .js-plotly-plot .main-svg")
    headers = page.eval_on_selector_all(
        "#trials thead th", "cells => cells.map(c => c.textContent)"
    )
    assert QUOTED in headers
    cells = page.eval_on_selector_all("#trials tbody td", "cells => cells.map(c => c.textContent)")
    assert SCRIPT in cells
    failed = page.locator('#trials tbody tr[data-number="0"] td.error')
    assert failed.text_content() == f"ValueError: {ERROR}"
    assert failed.get_attribute("title") == f"ValueError: {ERROR}"
    # Nothing of the user's text became an element: the page's own two scripts only, no
    # image, no bold or italic element outside plotly's drawings.
    assert page.locator("script").count() == 2
    assert page.locator("img").count() == 0
    assert page.locator("body > :not(#figures) b, main > :not(#figures) i").count() == 0
    assert not dialogs
    assert not log.console_errors and not log.page_errors, (log.console_errors, log.page_errors)
