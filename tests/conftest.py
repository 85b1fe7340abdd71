from __future__ import annotations

import os
import time
import types
from pathlib import Path

import pytest
from rest_framework.test import APIClient

import django_apikeys
from django_apikeys.conf import apikeys_settings


def pytest_configure(config: pytest.Config) -> None:
    """Under tox (``APIKEYS_TESTS_INSTALLED``) the suite must test the installed
    wheel, never the source tree next to it."""
    if os.environ.get("APIKEYS_TESTS_INSTALLED"):
        where = Path(django_apikeys.__file__).resolve()
        if "site-packages" not in where.parts:
            raise pytest.UsageError(f"testing {where}, not the installed django_apikeys wheel")


@pytest.fixture(autouse=True)
def _fresh_state(settings):
    """Each test starts with reloaded settings and an empty cache."""
    from django.core.cache import caches

    apikeys_settings.reload()
    for alias in settings.CACHES:
        caches[alias].clear()
    yield
    apikeys_settings.reload()


@pytest.fixture(autouse=True)
def _fresh_cache_state():
    """Each test starts with a reachable cache and an unread outbox mark in this
    process (both are per-process state in django_apikeys.cache)."""
    from django_apikeys import cache

    cache._cache_down_until[0] = float("-inf")
    cache._outbox_state[:] = ["", float("-inf"), ()]
    yield
    cache._cache_down_until[0] = float("-inf")


@pytest.fixture(autouse=True)
def _still_ratelimit_clock(monkeypatch):
    """django-ratelimit's windows follow the clock: a test that crossed a
    minute boundary half-way would see its counters reset. Its clock stands
    still during each test (tests that need time to pass patch it on)."""
    import django_ratelimit.core

    now = time.time()
    monkeypatch.setattr(django_ratelimit.core, "time", types.SimpleNamespace(time=lambda: now))


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def site_template(settings, tmp_path):
    """``site_template(name, text)``: a site's own ``django_apikeys/<name>``, found first."""
    (tmp_path / "django_apikeys").mkdir()
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]

    def write(name: str, text: str) -> None:
        (tmp_path / "django_apikeys" / name).write_text(text)

    return write
