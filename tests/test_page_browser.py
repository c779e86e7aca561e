"""The browser the page tests use works: it renders, logs errors and requests."""

from __future__ import annotations

from typing import Any


def test_the_browser_renders_a_page_and_logs_its_errors(browser_page: Any) -> None:
    browser_page.page.set_content(
        "<h1 id='t'>hyperscout</h1><script>console.error('boom')</script>"
    )
    assert browser_page.page.inner_text("#t") == "hyperscout"
    assert browser_page.log.console_errors == ["boom"]
