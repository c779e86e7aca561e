"""Take the README's screenshot of the HTML report: ``python docs/report_screenshot.py``.

Runs ``hyperscout demo`` (seeded, quiet) in a temporary folder, opens the report it writes
beside its study in headless chromium (Debian's ``chromium``, or ``HYPERSCOUT_CHROMIUM``) and
saves the top of the page to ``docs/images/report.png`` (or the path given).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from hyperscout.demo import run_demo

OUTPUT = Path(__file__).parent / "images" / "report.png"


def main(output: Path = OUTPUT) -> Path:
    """Run the demo, screenshot its report to ``output``; return ``output``."""
    browser_path = os.environ.get("HYPERSCOUT_CHROMIUM") or shutil.which("chromium")
    if browser_path is None:
        sys.exit("No chromium: apt-get install -y chromium, or set HYPERSCOUT_CHROMIUM.")
    with tempfile.TemporaryDirectory() as folder:
        result = run_demo(directory=folder, seed=0, verbose=0)
        url = Path(result["report"]).resolve().as_uri()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=browser_path, headless=True, args=["--no-sandbox"]
            )
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 1800})
                page.goto(url, wait_until="load")
                page.wait_for_selector(".js-plotly-plot")
                page.wait_for_timeout(1000)  # let plotly finish its transitions
                output.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(output))
            finally:
                browser.close()
    return output


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT))
