"""Take the README's screenshot of the dashboard: ``python docs/dashboard_screenshot.py``.

Runs a seeded Bayesian search on a synthetic objective in a temporary folder (40 trials, one
failed, one left running), serves its dashboard on a free port of 127.0.0.1, opens it in
headless chromium (Debian's ``chromium``, or ``HYPERSCOUT_CHROMIUM``) and saves the page to
``docs/images/dashboard.png`` (or the path given).
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

import hyperscout as hs
from hyperscout.report.dashboard import DashboardServer

OUTPUT = Path(__file__).parent / "images" / "dashboard.png"


def make_study(directory: Path) -> Path:
    """A study of 40 trials (the 7th fails) and one still running; its folder."""
    tuner = hs.BayesianOptimization(
        objective="val_loss",
        max_trials=41,
        directory=directory,
        project_name="mlp_digits",
        seed=0,
        verbose=0,
    )
    for number in range(41):
        hp, trial = tuner.ask()
        lr = hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        units = hp.Int("units", 16, 256, step=16)
        activation = hp.Choice("activation", ["relu", "tanh", "gelu"])
        dropout = hp.Float("dropout", 0.0, 0.5)
        if number == 40:
            break  # left running: the dashboard shows it as RUNNING
        if number == 6:
            tuner.tell(trial, state=hs.TrialState.FAILED, error="RuntimeError: loss is NaN")
            continue
        loss = (
            (math.log10(lr) + 2.3) ** 2 * 0.08
            + 12.0 / units
            + 0.05 * dropout
            + {"relu": 0.0, "tanh": 0.03, "gelu": 0.01}[activation]
            + 0.08
        )
        tuner.tell(trial, {"val_loss": loss})
    return directory / "mlp_digits"


def main(output: Path = OUTPUT) -> Path:
    """Serve a study's dashboard and screenshot it to ``output``; return ``output``."""
    browser_path = os.environ.get("HYPERSCOUT_CHROMIUM") or shutil.which("chromium")
    if browser_path is None:
        sys.exit("No chromium: apt-get install -y chromium, or set HYPERSCOUT_CHROMIUM.")
    with tempfile.TemporaryDirectory() as folder:
        project = make_study(Path(folder))
        with DashboardServer(project) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=browser_path,
                headless=True,
                args=["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"],
            )
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1500})
                page.goto(server.url)
                page.wait_for_selector("#figures .js-plotly-plot .main-svg")
                page.wait_for_selector("#trials tbody tr")
                page.wait_for_timeout(1500)  # let plotly finish its transitions
                output.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(output), full_page=True)
            finally:
                browser.close()
    return output


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT))
