"""Lifetime quotas (seed 003's test tier): a fixed number of calls, ever."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from django_apikeys import metering
from django_apikeys.models import APIKey
from tests.factories import OrganizationFactory, make_key
from tests.needs import missing

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"
TEST_TIER = {
    "SEPARATOR": "-",
    "KEY_TYPES": {
        "live": {"prefix": "sk-live"},
        "test": {"prefix": "sk-test", "read_only": True, "lifetime_quota": 3},
    },
}


def get(client, raw, path=ME):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_quota_from_key_type_then_quota_exhausted(settings, api_client):
    settings.APIKEYS = TEST_TIER
    api_key, raw = make_key(key_type="test")
    assert api_key.remaining_uses == 3
    assert [get(api_client, raw).status_code for _ in range(3)] == [200, 200, 200]
    refused = get(api_client, raw)
    assert refused.status_code == 429
    assert refused.json()["code"] == "quota_exhausted"
    assert refused.json()["type"] == "RateLimitError"
    assert "Retry-After" not in refused  # a lifetime quota never resets
    api_key.refresh_from_db()
    assert api_key.remaining_uses == 0
    assert get(api_client, raw).status_code == 429


def test_keys_without_quota_are_never_written(settings, api_client):
    settings.APIKEYS = TEST_TIER
    api_key, raw = make_key(key_type="live")
    assert api_key.remaining_uses is None
    get(api_client, raw)  # first request may write last_used
    with CaptureQueriesContext(connection) as queries:
        assert get(api_client, raw).status_code == 200
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert not [sql for sql in updates if "remaining_uses" in sql]


def test_explicit_remaining_uses(api_client):
    _, raw = make_key(remaining_uses=1)
    assert [get(api_client, raw).status_code for _ in range(2)] == [200, 429]


def test_read_only_refusal_does_not_spend_quota(settings, api_client):
    settings.APIKEYS = TEST_TIER
    api_key, raw = make_key(key_type="test")
    response = api_client.post(
        "/api/v1/clients", {"name": "x"}, HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.json()["code"] == "read_only_key"
    api_key.refresh_from_db()
    assert api_key.remaining_uses == 3


def test_rate_limited_request_does_not_spend_quota(api_client):
    api_key, raw = make_key(remaining_uses=5, rate_limit_per_minute=1)
    assert [get(api_client, raw).status_code for _ in range(2)] == [200, 429]
    assert get(api_client, raw).json()["code"] == "rate_limited"
    api_key.refresh_from_db()
    assert api_key.remaining_uses == 4


def test_quota_with_key_lookup_cache(settings, api_client):
    """The cached key's remaining_uses is stale; the conditional UPDATE is not."""
    settings.APIKEYS = {**TEST_TIER, "KEY_CACHE_TIMEOUT": 300}
    api_key, raw = make_key(key_type="test")
    assert [get(api_client, raw).status_code for _ in range(4)] == [200, 200, 200, 429]
    api_key.refresh_from_db()
    assert api_key.remaining_uses == 0


def test_consume_quota_unit():
    api_key, _ = make_key(remaining_uses=2)
    assert metering.consume_quota(api_key) is True
    assert metering.consume_quota(api_key) is True
    assert metering.consume_quota(api_key) is False
    assert APIKey.objects.get(pk=api_key.pk).remaining_uses == 0
    unlimited, _ = make_key()
    assert metering.consume_quota(unlimited) is True


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_exceed_the_quota():
    if connection.vendor != "postgresql":
        missing("needs real concurrent database connections (PostgreSQL)")
    quota, workers, attempts = 7, 8, 4
    api_key, _ = make_key(OrganizationFactory(), remaining_uses=quota)
    granted: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(workers)

    def spend() -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(attempts):
                ok = metering.consume_quota(APIKey.objects.get(pk=api_key.pk))
                with lock:
                    granted.append(ok)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=spend) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(granted) == workers * attempts
    assert granted.count(True) == quota
    assert APIKey.objects.get(pk=api_key.pk).remaining_uses == 0
