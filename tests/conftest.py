from __future__ import annotations

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


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()
