"""Real-browser tests: Playwright driving Debian's Chromium against a live server.

Never downloads a browser: it launches ``/usr/bin/chromium`` (override with
``APIKEYS_CHROMIUM``). Tests are marked ``browser``; when the executable is
missing they are skipped, or fail under ``make test`` and CI
(:mod:`tests.needs`). Screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.needs import missing

# The sync Playwright API keeps an event loop in this thread; the test's own
# ORM calls (factories, assertions) are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("APIKEYS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

from tests.browser.fixtures import reference_roles, roles_each_test  # noqa: E402,F401


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} not installed (apt-get install chromium)")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Django keeps connections per context (asgiref.Local) and code inside
    # sync_playwright() runs in another context than code outside it: close
    # each context's connections before switching, or one stays open and
    # PostgreSQL refuses to drop the test database at the end.
    connections.close_all()
    with sync_playwright() as playwright:
        yield playwright
        connections.close_all()


@pytest.fixture(scope="session")
def browser(playwright: Any, live_server: Any) -> Iterator[Any]:
    # Close the browser before the live server stops: its keep-alive
    # connections end, and the server's threads close their DB connections.
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def api(playwright: Any, live_server: Any) -> Iterator[Any]:
    """An HTTP client for the example API, without the browser's cookies."""
    context = playwright.request.new_context(base_url=live_server.url)
    yield context
    context.dispose()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 800}, locale="en-US"
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page: Any) -> Any:
    """``screenshot("name")``: a full-page PNG in test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, target: Any = None) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        (target or page).screenshot(path=str(path), full_page=True)
        return path

    return take
