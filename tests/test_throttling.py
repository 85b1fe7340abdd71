"""APIKeyRateThrottle: per-key and per-organization limits on django-ratelimit."""

from __future__ import annotations

from unittest import mock

import pytest
from django.test import RequestFactory
from django_ratelimit.core import get_usage

from django_apikeys import throttling
from tests.factories import MembershipFactory, OrganizationFactory, PlanFactory, make_key

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


def get(client, raw, path=ME, **extra):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {raw}", **extra)


def statuses(client, raw, n, path=ME):
    return [get(client, raw, path).status_code for _ in range(n)]


@pytest.mark.parametrize(
    ("own", "type_default", "global_default", "expected"),
    [
        (5, 7, 9, 5),  # the key's own value wins
        (0, 7, 9, 7),  # 0 = the key type's default
        (0, 0, 9, 9),  # then the global default
        (0, 0, 0, 0),  # 0 everywhere = unlimited
        (3, 0, 0, 3),
    ],
)
def test_effective_key_limits(settings, own, type_default, global_default, expected):
    settings.APIKEYS = {
        "KEY_TYPES": {
            "server": {
                "prefix": "sk",
                "rate_limit_per_minute": type_default,
                "rate_limit_per_day": type_default * 10,
            }
        },
        "DEFAULT_RATE_LIMIT_PER_MINUTE": global_default,
        "DEFAULT_RATE_LIMIT_PER_DAY": global_default * 10,
    }
    api_key, _ = make_key(rate_limit_per_minute=own, rate_limit_per_day=own * 10)
    assert throttling.effective_key_limits(api_key) == (expected, expected * 10)


def test_publishable_keys_have_their_own_defaults():
    api_key, _ = make_key(key_type="publishable")
    assert throttling.effective_key_limits(api_key) == (60, 10_000)
    server_key, _ = make_key(key_type="server")
    assert throttling.effective_key_limits(server_key) == (0, 0)


def test_per_minute_limit_admits_exactly_the_limit_then_429(api_client):
    _, raw = make_key(rate_limit_per_minute=3)
    responses = [get(api_client, raw) for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert [r["X-RateLimit-Remaining"] for r in responses[:3]] == ["2", "1", "0"]
    assert all(r["X-RateLimit-Limit"] == "3" for r in responses)
    refused = responses[3]
    body = refused.json()
    assert body["code"] == "rate_limited"
    assert body["type"] == "RateLimitError"
    assert "3 requests per minute" in body["detail"]
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= 60
    assert body["retry_after"] == retry_after
    assert refused["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(refused["X-RateLimit-Reset"]) <= 60


def test_per_day_limit(api_client):
    _, raw = make_key(rate_limit_per_day=2)
    responses = [get(api_client, raw) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert "per day" in responses[2].json()["detail"]
    assert 1 <= int(responses[2]["Retry-After"]) <= 24 * 60 * 60


def test_tightest_limit_is_reported(api_client):
    _, raw = make_key(rate_limit_per_minute=10, rate_limit_per_day=4)
    response = get(api_client, raw)
    assert response["X-RateLimit-Limit"] == "4"
    assert response["X-RateLimit-Remaining"] == "3"
    assert 0 <= int(response["X-RateLimit-Reset"]) <= 24 * 60 * 60


def test_global_default_applies_when_key_and_type_say_zero(settings, api_client):
    settings.APIKEYS = {"DEFAULT_RATE_LIMIT_PER_MINUTE": 2}
    _, raw = make_key()
    assert statuses(api_client, raw, 3) == [200, 200, 429]


def test_key_type_default_applies(settings, api_client):
    settings.APIKEYS = {
        "KEY_TYPES": {"server": {"prefix": "sk", "rate_limit_per_minute": 2}},
        "DEFAULT_RATE_LIMIT_PER_MINUTE": 100,
    }
    _, raw = make_key()
    assert statuses(api_client, raw, 3) == [200, 200, 429]


def test_limits_are_per_key(api_client):
    org = OrganizationFactory()
    _, first = make_key(org, rate_limit_per_minute=1)
    _, second = make_key(org, rate_limit_per_minute=1)
    assert statuses(api_client, first, 2) == [200, 429]
    assert statuses(api_client, second, 2) == [200, 429]


def test_organization_limit_from_plan_is_shared_by_its_keys(api_client):
    org = OrganizationFactory(plan=PlanFactory(rate_limit_per_minute=3))
    _, first = make_key(org)
    _, second = make_key(org)
    _, other_org_key = make_key(OrganizationFactory(plan=org.plan))
    assert statuses(api_client, first, 2) == [200, 200]
    assert statuses(api_client, second, 2) == [200, 429]
    refused = get(api_client, first)
    assert refused.status_code == 429
    assert "this organization" in refused.json()["detail"]
    assert statuses(api_client, other_org_key, 3) == [200, 200, 200]


def test_organization_day_limit(api_client):
    org = OrganizationFactory(plan=PlanFactory(rate_limit_per_day=1))
    _, raw = make_key(org)
    assert statuses(api_client, raw, 2) == [200, 429]


def test_unlimited_key_gets_no_rate_limit_headers(api_client):
    _, raw = make_key()
    responses = [get(api_client, raw) for _ in range(20)]
    assert {r.status_code for r in responses} == {200}
    assert "X-RateLimit-Limit" not in responses[-1]


def test_session_users_are_not_limited(settings, api_client):
    settings.APIKEYS = {"DEFAULT_RATE_LIMIT_PER_MINUTE": 1}
    membership = MembershipFactory()
    api_client.force_login(membership.user)
    assert [api_client.get(ME).status_code for _ in range(3)] == [200, 200, 200]


def test_window_resets(api_client):
    _, raw = make_key(rate_limit_per_minute=1)
    assert statuses(api_client, raw, 2) == [200, 429]
    import time as real_time

    later = real_time.time() + 61
    with mock.patch("django_ratelimit.core.time.time", return_value=later):
        assert statuses(api_client, raw, 2) == [200, 429]


def test_counters_are_django_ratelimits(api_client):
    """The counting is django-ratelimit's: its own get_usage sees our requests."""
    api_key, raw = make_key(rate_limit_per_minute=5)
    statuses(api_client, raw, 3)
    usage = get_usage(
        RequestFactory().get("/"),
        group="django_apikeys.key",
        key=lambda group, request: str(api_key.pk),
        rate=(5, 60),
    )
    assert usage["count"] == 3
    assert usage["should_limit"] is False


def test_ratelimit_use_cache_selects_the_cache(settings, api_client):
    from django.core.cache import caches

    settings.CACHES = {
        **settings.CACHES,
        "limits": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rl"},
    }
    settings.RATELIMIT_USE_CACHE = "limits"
    caches["limits"].clear()
    _, raw = make_key(rate_limit_per_minute=2)
    assert statuses(api_client, raw, 3) == [200, 200, 429]
    caches["limits"].clear()  # forgetting the counters there admits again
    assert statuses(api_client, raw, 1) == [200]


def test_ratelimit_enable_false_disables_limits(settings, api_client):
    settings.RATELIMIT_ENABLE = False
    _, raw = make_key(rate_limit_per_minute=1)
    assert statuses(api_client, raw, 3) == [200, 200, 200]


def test_minute_refusal_does_not_spend_the_day_allowance(api_client):
    _, raw = make_key(rate_limit_per_minute=1, rate_limit_per_day=3)
    assert statuses(api_client, raw, 4) == [200, 429, 429, 429]
    import time as real_time

    later = real_time.time() + 61
    with mock.patch("django_ratelimit.core.time.time", return_value=later):
        response = get(api_client, raw)
    assert response.status_code == 200
    assert response["X-RateLimit-Limit"] == "1"  # minute window: 0 left, day: 1 left
    assert response["X-RateLimit-Remaining"] == "0"


def test_headers_without_middleware(settings, api_client):
    """The 429 carries its headers from the exception handler alone."""
    middleware = "django_apikeys.middleware.RateLimitHeadersMiddleware"
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != middleware]
    _, raw = make_key(rate_limit_per_minute=1)
    assert "X-RateLimit-Limit" not in get(api_client, raw)
    refused = get(api_client, raw)
    assert refused.status_code == 429
    assert refused["X-RateLimit-Limit"] == "1"
    assert "Retry-After" in refused


def test_failing_cache_refuses_unless_fail_open(settings, api_client):
    _, raw = make_key(rate_limit_per_minute=5)
    no_count = mock.patch.multiple(
        "django.core.cache.backends.locmem.LocMemCache",
        add=mock.Mock(return_value=False),
        incr=mock.Mock(side_effect=ValueError),
    )
    with no_count:
        assert get(api_client, raw).status_code == 429
        settings.RATELIMIT_FAIL_OPEN = True
        assert get(api_client, raw).status_code == 200


def _count_cache_operations(action):
    """Django cache calls made by ``action`` (each is one Redis round trip, ``incr`` two)."""
    from collections import Counter

    from django.core.cache.backends.locmem import LocMemCache

    calls: Counter[str] = Counter()
    wrappers = {}
    for name in ("get", "add", "set", "incr", "get_many", "set_many", "delete", "delete_many"):
        original = getattr(LocMemCache, name)

        def wrapper(self, *args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(self, *args, **kwargs)

        wrappers[name] = wrapper
    with mock.patch.multiple(LocMemCache, **wrappers):
        action()
    return dict(calls)


@pytest.mark.parametrize(
    ("apikeys", "limits", "expected"),
    [
        ({"METERING": False}, {}, {}),
        ({}, {}, {"incr": 1}),  # metering only
        ({}, {"rate_limit_per_minute": 100}, {"add": 1, "incr": 2}),
        (
            {},
            {"rate_limit_per_minute": 100, "rate_limit_per_day": 1000},
            {"add": 2, "incr": 3},
        ),
    ],
)
def test_cache_operations_per_request(settings, api_client, apikeys, limits, expected):
    """The hot-path budget: django-ratelimit's add + incr per limit, one incr to meter."""
    settings.APIKEYS = apikeys
    _, raw = make_key(**limits)
    get(api_client, raw)  # first request of the day registers the counter
    assert _count_cache_operations(lambda: get(api_client, raw)) == expected


def test_w001_follows_ratelimit_use_cache(settings):
    from django.core.checks import run_checks

    settings.DEBUG = False
    settings.APIKEYS = {"DEFAULT_RATE_LIMIT_PER_MINUTE": 10}
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    settings.RATELIMIT_USE_CACHE = "default"
    assert "django_apikeys.W001" not in {m.id for m in run_checks()}
    settings.RATELIMIT_USE_CACHE = "local"
    warnings = [m for m in run_checks() if m.id == "django_apikeys.W001"]
    assert len(warnings) == 1
    assert "'local'" in warnings[0].msg and "RedisCache" in warnings[0].hint


@pytest.mark.parametrize(("fail_open", "status"), [(False, 503), (True, 200)])
def test_unreachable_cache_is_never_a_500(settings, api_client, fail_open, status):
    """A cache that raises (Redis down): limits follow RATELIMIT_FAIL_OPEN, metering
    is skipped, the request never ends in a 500."""
    settings.RATELIMIT_FAIL_OPEN = fail_open
    _, limited = make_key(rate_limit_per_minute=5)
    _, unlimited = make_key()
    down = mock.patch.multiple(
        "django.core.cache.backends.locmem.LocMemCache",
        add=mock.Mock(side_effect=ConnectionError("cache down")),
        incr=mock.Mock(side_effect=ConnectionError("cache down")),
    )
    with down:
        assert get(api_client, limited).status_code == status
        assert get(api_client, unlimited).status_code == 200  # metering skipped, not fatal
