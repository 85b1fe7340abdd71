from __future__ import annotations

import time
import types

import pytest
from rest_framework.test import APIClient

from django_apikeys.conf import apikeys_settings


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
