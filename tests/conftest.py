"""Fixtures shared by the real-process tests (tests/test_workers.py, tests/test_faults.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

# The conformance suites are plain asserts in the package: show their values on failure.
pytest.register_assert_rewrite("hyperscout.testing")

from hyperscout.storage import open_storage  # noqa: E402 - after the rewrite is registered

POSTGRES_URL = os.environ.get(
    "HYPERSCOUT_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def project() -> Iterator[str]:
    """A study name no other test uses (PostgreSQL's database is shared)."""
    name = f"workers_{uuid.uuid4().hex[:12]}"
    yield name
    if os.environ.get("HYPERSCOUT_KEEP_STUDIES"):
        return
    try:
        storage = open_storage(POSTGRES_URL)
    except Exception:
        return
    try:
        storage.delete_study(name)
    except Exception:
        pass
    finally:
        storage.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless chromium (tests/page_browser.py): skipped where none is installed, but not in CI."""
    from page_browser import launch

    yield from launch()


@pytest.fixture
def browser_page(browser: Any) -> Iterator[Any]:
    """A fresh page, with ``.log`` of its console errors, page errors and requests."""
    from page_browser import open_page

    yield from open_page(browser)
