"""A real browser for page tests: Debian's chromium, driven headless by Playwright.

Tests take the ``browser_page`` fixture (tests/conftest.py). Where no chromium or no
Playwright is installed they skip with the reason, except under ``CI=true``, where a missing
browser is a failure (.ci/run installs it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

#: Where Debian puts chromium; HYPERSCOUT_CHROMIUM overrides it.
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    """The browser binary to drive, or None when none is installed."""
    explicit = os.environ.get("HYPERSCOUT_CHROMIUM")
    if explicit:
        return explicit
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def unavailable(reason: str) -> None:
    """Skip with ``reason``; under CI=true, fail instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run; .ci/run installs chromium)")
    pytest.skip(reason)


@dataclass
class PageLog:
    """What a page did: console errors, page errors and every request's URL."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@dataclass
class BrowserPage:
    """A fresh page of the shared browser, with the log of what it did."""

    page: Any
    log: PageLog


def open_page(browser: Any) -> Iterator[BrowserPage]:
    """A new page whose console errors, page errors and requests are logged."""
    context = browser.new_context()
    page = context.new_page()
    log = PageLog()
    page.on(
        "console", lambda msg: log.console_errors.append(msg.text) if msg.type == "error" else None
    )
    page.on("pageerror", lambda exc: log.page_errors.append(str(exc)))
    page.on("request", lambda request: log.requests.append(request.url))
    try:
        yield BrowserPage(page, log)
    finally:
        context.close()


def launch() -> Iterator[Any]:
    """The headless browser for a test session (skipped, or failed under CI, if missing)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is not installed (pip install playwright)")
    path = chromium_path()
    if path is None:
        unavailable("no chromium is installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()
