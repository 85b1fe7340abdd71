"""Redis unreachable for real (a RedisCache on a port nobody listens on, so
every cache call is refused by the kernel): the API says why, the dashboard
keeps working. The same against a killed and a stopped Redis server runs in
``test_redis_faults.py``."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from django_apikeys.models import APIKey
from tests.factories import MembershipFactory, PlanFactory, make_key, role
from tests.live.conftest import _free_port

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300}


@pytest.mark.parametrize(("fail_open", "status"), [(False, 503), (True, 200)])
def test_limited_keys_get_a_documented_answer(redis_down, settings, api_client, fail_open, status):
    settings.RATELIMIT_FAIL_OPEN = fail_open
    plan = PlanFactory(rate_limit_per_minute=6000)
    limited, raw = make_key()
    limited.organization.plan = plan
    limited.organization.save()
    _free, free_raw = make_key()
    for _ in range(3):
        response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == status, response.content
        assert api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {free_raw}").status_code == 200
    if status == 503:
        body = response.json()
        assert body["code"] == "rate_limit_unavailable" and body["type"] == "RateLimitError"
        assert body["retry_after"] == 10 and response["Retry-After"] == "10"
        assert "6000" not in body["detail"]  # not the misleading "Rate limit exceeded"


def test_dashboard_revokes_and_shows_usage_without_redis(redis_down):
    owner = MembershipFactory(role=role("Owner"))
    api_key, _raw = make_key(owner.organization)
    client = Client(raise_request_exception=False)
    client.force_login(owner.user)
    org = owner.organization.pk
    revoke = client.post(reverse("django_apikeys:key_revoke", args=[org, api_key.pk]), {})
    usage = client.get(reverse("django_apikeys:usage", args=[org]))
    keys_page = client.get(reverse("django_apikeys:key_list", args=[org]))
    assert (revoke.status_code, usage.status_code, keys_page.status_code) == (302, 200, 200)
    assert APIKey.objects.get(pk=api_key.pk).status == "revoked"
