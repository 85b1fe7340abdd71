"""Every counter of a request: rate-limit windows (minute, day, calendar
month; per key lineage and per organization), lifetime quotas and the usage
meter. With the app's Redis backend they are checked and counted in one
round trip (counted by a real redis-server, ``INFO commandstats``); with
any other cache through django-ratelimit, with the same keys, windows,
answers and headers. The throttle keeps DRF's contract, and the counting
holds on views with their own ``throttle_classes``."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
import time_machine
from django.core.cache import caches
from django.test import RequestFactory
from django_ratelimit.core import get_usage
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from django_apikeys import analytics, metering, services, throttling
from django_apikeys.cache_backends import Counter
from django_apikeys.models import APIKey, UsageRecord
from tests.factories import OrganizationFactory, PlanFactory, bearer, make_key
from tests.test_cache_backends import BACKEND, RedisServer, redis_server  # noqa: F401

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"
DJANGO_REDIS = "django.core.cache.backends.redis.RedisCache"
factory = APIRequestFactory()


def use_cache(settings: Any, server: RedisServer, backend: str = BACKEND) -> Any:
    server.client().flushall()
    settings.CACHES = {
        "default": {
            "BACKEND": backend,
            "LOCATION": server.url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
    return caches["default"]


@pytest.fixture
def redis_cache(settings, redis_server):  # noqa: F811
    yield use_cache(settings, redis_server)
    caches["default"].close()


def made(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    diff = {name: after[name] - before.get(name, 0) for name in after}
    return {name: n for name, n in diff.items() if n and name != "info"}


def fully_limited_key(**kwargs: Any) -> tuple[APIKey, str]:
    """A key with every window: per key and per organization, minute/day/month."""
    plan = PlanFactory(rate_limit_per_minute=1000, rate_limit_per_day=10_000)
    plan.rate_limit_per_month = 100_000
    plan.save()
    kwargs.setdefault("rate_limit_per_minute", 100)
    kwargs.setdefault("rate_limit_per_day", 1000)
    kwargs.setdefault("rate_limit_per_month", 10_000)
    return make_key(OrganizationFactory(plan=plan), **kwargs)


# --- one round trip ----------------------------------------------------------


def test_all_windows_and_the_meter_are_one_round_trip(
    redis_cache,
    redis_server,  # noqa: F811
    settings,
    api_client,
):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 0, "METERING": True}
    api_key, raw = fully_limited_key()
    assert len(throttling.limits_for(api_key)) == 6
    assert api_client.get(ME, **bearer(raw)).status_code == 200  # creates the counters
    before = redis_server.calls()
    response = api_client.get(ME, **bearer(raw))
    after = redis_server.calls()
    assert response.status_code == 200
    # One command from the client; Redis counts the script's own commands too
    # (6 windows and the meter: INCR; the meter's EXISTS): nothing else was sent.
    assert made(before, after) == {"evalsha": 1, "incr": 7, "exists": 1}
    assert response["X-RateLimit-Limit"] == "100" and response["X-RateLimit-Remaining"] == "98"
    assert analytics.outcome_series(api_key.organization, "24h", api_key)[-1].admitted == 2


def test_a_first_request_registers_its_meter_in_the_same_call(
    redis_cache,
    redis_server,  # noqa: F811
    settings,
    api_client,
):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 0}
    api_key, raw = fully_limited_key()
    before = redis_server.calls()
    assert api_client.get(ME, **bearer(raw)).status_code == 200
    calls = made(before, redis_server.calls())
    calls.pop("hello", None)  # a new connection's handshake
    assert calls.pop("evalsha") == 1
    assert set(calls) <= {"incr", "expire", "set", "exists"}, calls  # what the script runs
    metering.flush()
    assert api_key.usage_records.get().count == 1


@pytest.mark.parametrize(
    "local_entries,lookup",
    [
        (2000, {}),  # the in-process tier answers a warm key: one round trip in all
        (0, {"mget": 1}),  # without it, the shared cache's one MGET comes first
    ],
)
def test_with_the_lookup_cache_the_counters_are_one_round_trip(
    redis_cache,
    redis_server,  # noqa: F811
    settings,
    api_client,
    local_entries,
    lookup,
):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300, "KEY_CACHE_LOCAL_ENTRIES": local_entries}
    _api_key, raw = fully_limited_key()
    for _ in range(2):
        assert api_client.get(ME, **bearer(raw)).status_code == 200
    before = redis_server.calls()
    assert api_client.get(ME, **bearer(raw)).status_code == 200
    calls = made(before, redis_server.calls())
    # incr and exists run inside the one script (EVALSHA): Redis counts them, the
    # network does not carry them.
    assert calls == {**lookup, "evalsha": 1, "incr": 7, "exists": 1}


def test_the_single_call_counts_the_counters_django_ratelimit_reads(redis_cache, api_client):
    api_key, raw = make_key(rate_limit_per_minute=50, rate_limit_per_day=500)
    for _ in range(3):
        assert api_client.get(ME, **bearer(raw)).status_code == 200
    request = RequestFactory().get("/")
    for per, period in ((50, 60), (500, 24 * 60 * 60)):
        usage = get_usage(
            request,
            group="django_apikeys.key",
            key=lambda _group, _request: str(api_key.pk),
            rate=(per, period),
            increment=False,
        )
        assert usage is not None and usage["count"] == 3
        window = throttling.window_for(throttling.Limit("key", str(api_key.pk), per, period))
        assert abs(window.reset - usage["time_left"]) <= 1


@pytest.mark.parametrize("backend", [BACKEND, DJANGO_REDIS])
def test_both_paths_answer_the_same(settings, redis_server, api_client, backend):  # noqa: F811
    """The single call (the app's backend) and django-ratelimit (Django's):
    the same statuses, headers and 429 body."""
    use_cache(settings, redis_server, backend)
    org = OrganizationFactory(plan=PlanFactory(rate_limit_per_minute=10))
    _, raw = make_key(org, rate_limit_per_minute=3, rate_limit_per_day=5)
    responses = [api_client.get(ME, **bearer(raw)) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert {r["X-RateLimit-Limit"] for r in responses} == {"3"}
    refused = responses[-1]
    body = refused.json()
    assert (body["code"], body["type"]) == ("rate_limited", "RateLimitError")
    assert "3 requests per minute" in body["detail"]
    assert body["retry_after"] == int(refused["Retry-After"]) == int(refused["X-RateLimit-Reset"])
    # The refused request spent the minute window, not the day's (stopped at the first refusal).
    day = throttling.window_for(throttling.Limit("key", str(_.pk), 5, 24 * 60 * 60))
    assert caches["default"].get(day.counter.key) == 3
    caches["default"].close()


def test_limits_are_exact_under_concurrency(redis_cache):
    """Threads counting at once through the single call: exactly ``limit``
    admitted, and the meter ends at exactly the number admitted."""
    limit, workers, attempts = 37, 8, 12
    window = throttling.window_for(throttling.Limit("key", "concurrency", limit, 60))
    meter = metering.meter_for("org-concurrency", "key-concurrency")
    admitted: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(workers)

    def work() -> None:
        cache = caches["default"]
        barrier.wait(timeout=10)
        for _ in range(attempts):
            refused, _counts = cache.count([window.counter], meter)
            with lock:
                admitted.append(0 if refused else 1)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(admitted) == workers * attempts
    assert sum(admitted) == limit
    assert redis_cache.get(meter.counter) == limit
    assert redis_cache.get(window.counter.key) == workers * attempts  # refusals count too


def test_the_script_stops_at_the_first_refusing_window(redis_cache, redis_server):  # noqa: F811
    first, second = Counter("a", 1, 60), Counter("b", 5, 60)
    assert redis_cache.count([first, second]) == (0, [1, 1])
    assert redis_cache.count([first, second]) == (1, [2])
    assert redis_cache.get("b") == 1  # not spent by the refused request
    assert 55 < redis_server.client().ttl(redis_cache.make_key("a")) <= 60


@pytest.mark.parametrize("fail_open", [False, True])
def test_redis_stopped_fails_open_or_closed_as_before(
    redis_cache,
    redis_server,  # noqa: F811
    settings,
    api_client,
    fail_open,
):
    settings.RATELIMIT_FAIL_OPEN = fail_open
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 0}
    _, raw = fully_limited_key()
    _, quota_raw = make_key(remaining_uses=1, rate_limit_per_minute=100)
    assert api_client.get(ME, **bearer(raw)).status_code == 200
    redis_server.kill()
    try:
        response = api_client.get(ME, **bearer(raw))
        quota = [api_client.get(ME, **bearer(quota_raw)).status_code for _ in range(2)]
    finally:
        redis_server.start()
        throttling.cache._cache_down_until[0] = float("-inf")
    if fail_open:
        assert response.status_code == 200
        assert quota == [200, 429]  # the lifetime quota lives in the database
    else:
        assert response.status_code == 503
        body = response.json()
        assert (body["code"], body["retry_after"]) == ("rate_limit_unavailable", 10)
        assert response["Retry-After"] == "10"
        assert quota == [503, 503]


# --- calendar months -----------------------------------------------------------


@pytest.mark.parametrize(
    ("anchor", "now", "start", "end"),
    [
        (1, "2026-03-14 10:00", "2026-03-01", "2026-04-01"),
        (15, "2026-03-14 23:59:59", "2026-02-15", "2026-03-15"),
        (15, "2026-03-15 00:00", "2026-03-15", "2026-04-15"),
        (28, "2026-01-05 00:00", "2025-12-28", "2026-01-28"),
        (1, "2026-12-31 23:59:59", "2026-12-01", "2027-01-01"),
    ],
)
def test_month_window(settings, anchor, now, start, end):
    settings.APIKEYS = {"MONTHLY_QUOTA_ANCHOR_DAY": anchor}
    utc = datetime.timezone.utc
    moment = datetime.datetime.fromisoformat(now).replace(tzinfo=utc)
    got = throttling.month_window(moment)
    assert got == (
        datetime.datetime.fromisoformat(start).replace(tzinfo=utc),
        datetime.datetime.fromisoformat(end).replace(tzinfo=utc),
    )


@pytest.mark.parametrize("backend", ["locmem", BACKEND])
def test_monthly_limits_reset_on_the_anchor_day(
    settings,
    redis_server,  # noqa: F811
    api_client,
    backend,
):
    if backend == BACKEND:
        use_cache(settings, redis_server)
    settings.APIKEYS = {"MONTHLY_QUOTA_ANCHOR_DAY": 15}
    org = OrganizationFactory(plan=PlanFactory())
    org.plan.rate_limit_per_month = 3
    org.plan.save()
    _, first = make_key(org, rate_limit_per_month=2)
    _, second = make_key(org)
    with time_machine.travel(datetime.datetime(2026, 3, 14, 23, 59, 0, tzinfo=datetime.UTC)):
        assert [api_client.get(ME, **bearer(first)).status_code for _ in range(3)] == [
            200,
            200,
            429,
        ]
        refused = api_client.get(ME, **bearer(first))
        assert "2 requests per month" in refused.json()["detail"]
        assert 60 <= int(refused["Retry-After"]) <= 61
        # The organization's month: 2 spent by the first key, 1 left for the second.
        assert [api_client.get(ME, **bearer(second)).status_code for _ in range(2)] == [200, 429]
        assert "this organization" in api_client.get(ME, **bearer(second)).json()["detail"]
    with time_machine.travel(datetime.datetime(2026, 3, 15, 0, 0, 1, tzinfo=datetime.UTC)):
        assert api_client.get(ME, **bearer(first)).status_code == 200
        assert api_client.get(ME, **bearer(second)).status_code == 200
    if backend == BACKEND:
        caches["default"].close()


def test_a_bad_anchor_day_is_a_system_check_error(settings):
    from django_apikeys.checks import check_settings

    settings.APIKEYS = {"MONTHLY_QUOTA_ANCHOR_DAY": 31}
    assert [error.id for error in check_settings()] == ["django_apikeys.E001"]


# --- key lineage ---------------------------------------------------------------


def test_a_rolled_key_shares_its_limits_with_the_key_it_replaced(api_client):
    old, old_raw = make_key(rate_limit_per_minute=4)
    new, new_raw = services.roll_key(old, grace_period=datetime.timedelta(hours=1))
    assert new.lineage == old.pk and new.lineage_root_id == old.lineage_root_id == old.pk
    assert [api_client.get(ME, **bearer(old_raw)).status_code for _ in range(2)] == [200, 200]
    assert [api_client.get(ME, **bearer(new_raw)).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    assert api_client.get(ME, **bearer(old_raw)).status_code == 429
    newer, newer_raw = services.roll_key(new, grace_period=datetime.timedelta(hours=1))
    assert newer.lineage == old.pk  # the chain's first key, not the one it replaced
    assert api_client.get(ME, **bearer(newer_raw)).status_code == 429


def test_a_rolled_key_shares_its_lifetime_quota(api_client):
    old, old_raw = make_key(remaining_uses=10)
    new, new_raw = services.roll_key(old, grace_period=datetime.timedelta(hours=1))
    statuses = [api_client.get(ME, **bearer(raw)).status_code for raw in [old_raw, new_raw] * 6]
    assert statuses == [200] * 10 + [429, 429]
    assert set(
        APIKey.objects.filter(pk__in=[old.pk, new.pk]).values_list("remaining_uses", flat=True)
    ) == {0}


def test_the_migration_fills_the_lineage_of_rolled_chains():
    from importlib import import_module

    from django.apps import apps

    fill_lineage = import_module("django_apikeys.migrations.0009_counters").fill_lineage
    first, _ = make_key()
    second, _ = services.roll_key(first)
    third, _ = services.roll_key(second)
    APIKey.objects.update(lineage=None)
    fill_lineage(apps, None)
    assert dict(APIKey.objects.values_list("pk", "lineage")) == {
        first.pk: None,
        second.pk: first.pk,
        third.pk: first.pk,
    }


# --- DRF's throttle contract -----------------------------------------------------


def drf_request(api_key: APIKey) -> Request:
    request = Request(RequestFactory().get("/"))
    request.auth = api_key
    return request


def test_allow_request_returns_false_and_wait_answers():
    api_key, _ = make_key(rate_limit_per_minute=1)
    throttle = throttling.APIKeyRateThrottle()
    assert throttle.allow_request(drf_request(api_key), None) is True
    assert throttle.wait() is None
    assert throttle.allow_request(drf_request(api_key), None) is False
    assert 1 <= throttle.wait() <= 60


def test_a_spent_quota_returns_false_with_no_wait():
    api_key, _ = make_key(remaining_uses=1)
    throttle = throttling.APIKeyRateThrottle()
    assert throttle.allow_request(drf_request(api_key), None) is True
    assert throttle.allow_request(drf_request(api_key), None) is False
    assert throttle.wait() is None


def test_a_request_is_counted_once_whatever_the_number_of_throttles():
    api_key, _ = make_key(rate_limit_per_minute=2)
    request = drf_request(api_key)
    first, second = throttling.APIKeyRateThrottle(), throttling.APIKeyRateThrottle()
    assert first.allow_request(request, None) and second.allow_request(request, None)
    assert throttling.APIKeyRateThrottle().allow_request(drf_request(api_key), None) is True


def test_with_drfs_own_handler_the_429_is_drfs(settings, api_client):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "EXCEPTION_HANDLER": "rest_framework.views.exception_handler",
    }
    _, raw = make_key(rate_limit_per_minute=1)
    assert api_client.get(ME, **bearer(raw)).status_code == 200
    refused = api_client.get(ME, **bearer(raw))
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"]


class AlwaysAllow(BaseThrottle):
    def allow_request(self, request: Any, view: Any) -> bool:
        return True


class Refuses(BaseThrottle):
    def allow_request(self, request: Any, view: Any) -> bool:
        return False

    def wait(self) -> float:
        return 3600.0


class OwnThrottles(APIView):
    throttle_classes = [AlwaysAllow]

    def get(self, request: Any) -> Response:
        return Response({"ok": True})


def call(view: Any, raw: str) -> Any:
    response = view(factory.get("/x", **bearer(raw)))
    response.render()
    return response


@pytest.mark.parametrize("throttle_classes", [[AlwaysAllow], []])
def test_a_view_with_its_own_throttles_meters_and_spends_the_quota(throttle_classes):
    view = type("V", (OwnThrottles,), {"throttle_classes": throttle_classes}).as_view()
    api_key, raw = make_key(remaining_uses=10)
    responses = [call(view, raw) for _ in range(11)]
    assert [r.status_code for r in responses] == [200] * 10 + [429]
    assert responses[-1].data["code"] == "quota_exhausted"
    bucket = analytics.outcome_series(api_key.organization, "24h", api_key)[-1]
    assert bucket.admitted == 10
    assert OwnThrottles.throttle_classes == [AlwaysAllow]  # the class is left alone


def test_a_view_with_its_own_throttles_keeps_the_keys_limits():
    view = OwnThrottles.as_view()
    _, raw = make_key(rate_limit_per_minute=1)
    first, second = call(view, raw), call(view, raw)
    assert (first.status_code, second.status_code) == (200, 429)
    assert second.data["code"] == "rate_limited" and second["X-RateLimit-Limit"] == "1"


def test_the_longest_wait_wins_when_the_views_throttle_refuses_too():
    view = type("V", (OwnThrottles,), {"throttle_classes": [Refuses]}).as_view()
    _, raw = make_key(rate_limit_per_minute=1)
    call(view, raw)
    refused = call(view, raw)
    assert refused.data["code"] == "rate_limited" and refused["Retry-After"] == "3600"


def test_own_rate_parser_follows_django_ratelimits_grammar():
    assert throttling.parse_rate("5/h") == (5, 3600)
    assert throttling.parse_rate("100/10m") == (100, 600)
    assert throttling.parse_rate("3/") == (3, 1)
    assert throttling.parse_rate("7/2D") == (7, 2 * 24 * 3600)
    for bad in ("", "h/5", "0/m", "5/0m", None, 5):
        with pytest.raises(ValueError):
            throttling.parse_rate(bad)


# --- the usage page ---------------------------------------------------------------


def test_the_usage_pages_show_the_months_allowances(settings, api_client):
    from django.test import Client
    from django.urls import reverse

    from tests.factories import MembershipFactory, role

    settings.APIKEYS = {"MONTHLY_QUOTA_ANCHOR_DAY": 5}
    owner = MembershipFactory(role=role("Owner"))
    plan = PlanFactory()
    plan.rate_limit_per_month = 100
    plan.save()
    owner.organization.plan = plan
    owner.organization.save()
    api_key, raw = make_key(owner.organization, rate_limit_per_month=10)
    for _ in range(3):
        assert api_client.get(ME, **bearer(raw)).status_code == 200
    client = Client()
    client.force_login(owner.user)
    org = owner.organization.pk
    page = client.get(reverse("django_apikeys:usage", args=[org])).content.decode()
    assert "Organization, this month" in page and "3 of 100 requests, 97 left" in page
    assert "This key, this month" not in page
    key_page = client.get(reverse("django_apikeys:key_usage", args=[org, api_key.pk]))
    text = key_page.content.decode()
    assert "3 of 100 requests" in text and "3 of 10 requests, 7 left" in text
    start, _end = throttling.month_window()
    assert start.day == 5 and f'datetime="{start:%Y-%m-%d}' in text


def test_no_monthly_limit_no_monthly_line(api_client):
    organization = OrganizationFactory()
    assert throttling.monthly_usage(organization) == []


def test_a_flushed_counter_is_not_registered_twice(redis_cache, api_client):
    api_key, raw = make_key()
    assert api_client.get(ME, **bearer(raw)).status_code == 200
    assert metering.flush().requests == 1  # the counter is now 0, still registered
    assert api_client.get(ME, **bearer(raw)).status_code == 200
    meter = metering.meter_for(api_key.organization_id, api_key.pk)
    assert redis_cache.get(meter.org_index) == 1
    assert metering.flush().requests == 1
    assert api_key.usage_records.get().count == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_lineages_quota_is_exact_under_concurrency(redis_cache):
    """Threads spending the quota of a key and of its replacement at once,
    through the throttle (single call for the limits, then the quota): exactly
    the quota is admitted and metered."""
    from django.db import connection, connections

    from tests.needs import missing

    if connection.vendor != "postgresql":
        missing("needs real concurrent database connections (PostgreSQL)")
    quota, workers, attempts = 9, 6, 3
    old, _ = make_key(remaining_uses=quota, rate_limit_per_minute=1000)
    new, _ = services.roll_key(old, grace_period=datetime.timedelta(hours=1))
    keys = [
        APIKey.objects.select_related("organization__plan").get(pk=pk) for pk in (old.pk, new.pk)
    ]
    admitted: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(workers)

    def work(number: int) -> None:
        try:
            barrier.wait(timeout=10)
            for attempt in range(attempts):
                api_key = keys[(number + attempt) % 2]
                refusal = throttling.count_request(drf_request(api_key))
                with lock:
                    admitted.append(0 if refusal else 1)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(admitted) == workers * attempts and sum(admitted) == quota
    assert set(APIKey.objects.values_list("remaining_uses", flat=True)) == {0}
    metering.flush()
    records = UsageRecord.objects.filter(api_key__in=[old.pk, new.pk])
    assert sum(records.values_list("count", flat=True)) == quota
