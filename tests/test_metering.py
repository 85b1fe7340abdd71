"""Metering: cache counters per organization/key/day, flushusage, daily_usage, chart."""

from __future__ import annotations

import datetime
import re
import threading
from io import StringIO

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection, connections
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext

from django_apikeys import metering
from django_apikeys.cache import get_cache
from django_apikeys.models import UsageRecord
from tests.factories import MembershipFactory, OrganizationFactory, make_key
from tests.needs import missing

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"
DAY = datetime.timedelta(days=1)


def send(client, raw, n):
    return [client.get(ME, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code for _ in range(n)]


def usage_today(organization, api_key=None):
    return metering.daily_usage(organization, api_key, days=1)[0][1]


def db_total(**filters):
    return sum(UsageRecord.objects.filter(**filters).values_list("count", flat=True))


def test_requests_are_counted_without_database_writes(api_client):
    api_key, raw = make_key()
    send(api_client, raw, 1)  # the first request may write last_used
    with CaptureQueriesContext(connection) as queries:
        assert send(api_client, raw, 5) == [200] * 5
    # On PostgreSQL the key lookup is the app's prepared SELECT (EXECUTE apikeys_lookup_…).
    reads = ("SELECT", "PREPARE apikeys_lookup_", "EXECUTE apikeys_lookup_")
    writes = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(reads)]
    assert writes == []
    assert UsageRecord.objects.count() == 0
    assert usage_today(api_key.organization) == 6
    assert usage_today(api_key.organization, api_key) == 6


def test_daily_usage_shape_and_per_key_split():
    org = OrganizationFactory()
    first, _ = make_key(org)
    second, _ = make_key(org)
    today = metering.today()
    for _ in range(3):
        metering.record(first)
    metering.record(second)
    metering.record(first, day=today - 2 * DAY)
    series = metering.daily_usage(org, days=30)
    assert len(series) == 30
    assert [day for day, _ in series] == [today - n * DAY for n in range(29, -1, -1)]
    counts = dict(series)
    assert counts[today] == 4
    assert counts[today - 2 * DAY] == 1
    assert sum(counts.values()) == 5
    assert dict(metering.daily_usage(org, first, days=3)) == {
        today - 2 * DAY: 1,
        today - DAY: 0,
        today: 3,
    }
    assert metering.daily_usage(org, second, days=1) == [(today, 1)]
    assert metering.daily_usage(OrganizationFactory(), days=2) == [(today - DAY, 0), (today, 0)]


def test_flush_moves_counters_and_is_idempotent():
    org = OrganizationFactory()
    api_key, _ = make_key(org)
    for _ in range(4):
        metering.record(api_key)
    before = metering.daily_usage(org, days=7)
    result = metering.flush()
    assert (result.counters, result.requests) == (1, 4)
    assert db_total(api_key=api_key) == 4
    assert metering.daily_usage(org, days=7) == before  # moved, not doubled
    again = metering.flush()
    assert (again.counters, again.requests) == (0, 0)
    assert db_total(api_key=api_key) == 4
    metering.record(api_key)
    metering.flush()
    record = UsageRecord.objects.get(api_key=api_key)
    assert (record.organization_id, record.date, record.count) == (org.pk, metering.today(), 5)


def test_flush_covers_every_key_organization_and_day():
    keys = [make_key(OrganizationFactory())[0] for _ in range(3)]
    yesterday = metering.today() - DAY
    for n, api_key in enumerate(keys, start=1):
        for _ in range(n):
            metering.record(api_key)
        metering.record(api_key, day=yesterday)
    assert metering.flush().requests == 1 + 2 + 3 + 3
    for n, api_key in enumerate(keys, start=1):
        assert db_total(api_key=api_key, date=metering.today()) == n
        assert db_total(api_key=api_key, date=yesterday) == 1


def test_overlapping_flushes_neither_lose_nor_double_count(monkeypatch):
    """Two flushes that read the same counter value: the invariant
    (database + counter = requests) holds, and the next flush settles it."""
    org = OrganizationFactory()
    api_key, _ = make_key(org)
    for _ in range(5):
        metering.record(api_key)
    cache = get_cache()
    stale = cache.get_many(list(metering._registered(cache, [metering.today()])))
    metering._flush(cache, 1)
    real_get_many = type(cache).get_many

    def stale_counters(self, keys, version=None):
        found = real_get_many(self, keys, version)
        return {key: stale.get(key, value) for key, value in found.items()}

    monkeypatch.setattr(type(cache), "get_many", stale_counters)
    metering._flush(cache, 1)  # reads the stale 5 again
    monkeypatch.undo()
    assert usage_today(org) == 5
    metering.record(api_key)
    metering.flush()
    assert db_total(api_key=api_key) == 6
    assert usage_today(org) == 6


def test_second_flush_is_locked_out():
    api_key, _ = make_key()
    metering.record(api_key)
    cache = get_cache()
    assert cache.add(metering.LOCK_KEY, "someone-else", 60)
    assert metering.flush().locked is True
    assert UsageRecord.objects.count() == 0
    cache.delete(metering.LOCK_KEY)
    assert metering.flush().requests == 1


def test_deleted_key_goes_to_the_keyless_row_and_deleted_org_is_dropped():
    org = OrganizationFactory()
    api_key, _ = make_key(org)
    gone_org_key, _ = make_key(OrganizationFactory())
    for _ in range(2):
        metering.record(api_key)
    metering.record(gone_org_key)
    api_key.delete()
    gone_org_key.organization.delete()
    assert metering.flush().requests == 3
    assert UsageRecord.objects.get(organization=org, api_key=None).count == 2
    assert UsageRecord.objects.count() == 1
    assert metering.flush().requests == 0


def test_refused_requests_are_not_metered(api_client):
    api_key, raw = make_key(rate_limit_per_minute=2)
    assert send(api_client, raw, 4) == [200, 200, 429, 429]
    assert usage_today(api_key.organization, api_key) == 2


def test_session_requests_are_not_metered(api_client):
    membership = MembershipFactory()
    api_client.force_login(membership.user)
    api_client.get(ME)
    assert usage_today(membership.organization) == 0


def test_metering_off(settings, api_client):
    settings.APIKEYS = {"METERING": False}
    api_key, raw = make_key()
    send(api_client, raw, 3)
    assert usage_today(api_key.organization) == 0


def test_metering_uses_the_configured_cache(settings):
    settings.CACHES = {
        **settings.CACHES,
        "usage": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "u"},
    }
    settings.APIKEYS = {"CACHE_ALIAS": "usage"}
    caches["usage"].clear()
    api_key, _ = make_key()
    metering.record(api_key)
    assert usage_today(api_key.organization) == 1
    caches["usage"].clear()
    assert usage_today(api_key.organization) == 0


def test_flushusage_command():
    api_key, _ = make_key()
    for _ in range(3):
        metering.record(api_key)
    out = StringIO()
    call_command("flushusage", stdout=out)
    assert out.getvalue().strip() == "Flushed 3 request(s) from 1 counter(s)."
    assert db_total(api_key=api_key) == 3
    get_cache().add(metering.LOCK_KEY, "other", 60)
    out = StringIO()
    call_command("flushusage", stdout=out)
    assert "Another flush is running" in out.getvalue()


def test_flushusage_rejects_bad_days():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="--days"):
        call_command("flushusage", "--days", "0")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_flushing_while_requests_are_counted():
    """Threads count and flush at once; the flushed total equals the requests."""
    if connection.vendor != "postgresql":
        missing("needs real concurrent database connections (PostgreSQL)")
    org = OrganizationFactory()
    keys = [make_key(org)[0] for _ in range(3)]
    counters, per_thread = 4, 150
    stop = threading.Event()

    def count(api_key) -> None:
        for _ in range(per_thread):
            metering.record(api_key)

    def flusher() -> None:
        try:
            while not stop.is_set():
                metering.flush(wait=True)
        finally:
            connections.close_all()

    flushers = [threading.Thread(target=flusher) for _ in range(2)]
    workers = [threading.Thread(target=count, args=(keys[n % 3],)) for n in range(counters)]
    for thread in flushers + workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)
    stop.set()
    for thread in flushers:
        thread.join(timeout=60)
    metering.flush(wait=True)
    assert db_total(organization=org) == counters * per_thread
    assert usage_today(org) == counters * per_thread


def test_usage_chart_template_scales_bars():
    today = datetime.date(2026, 3, 10)
    series = [(today - 2 * DAY, 5), (today - DAY, 0), (today, 20)]
    html = render_to_string(
        "django_apikeys/includes/usage_chart.html", {"series": series, "title": "Acme usage"}
    )
    assert "<svg" in html and "<script" not in html
    assert "Acme usage" in html
    bars = re.findall(r'<rect class="apikeys-usage-bar" x="(\d+)"[^>]*height="(\d+)"', html)
    assert bars == [("0", "25"), ("12", "0"), ("24", "100")]
    assert "2026-03-10: 20 requests" in html
    assert "peak: 20" in html


def test_usage_chart_template_renders_real_usage_and_empty_series():
    api_key, _ = make_key()
    metering.record(api_key)
    series = metering.daily_usage(api_key.organization, days=7)
    html = render_to_string(
        "django_apikeys/includes/usage_chart.html", {"series": series, "title": "t"}
    )
    assert html.count('class="apikeys-usage-bar"') == 7
    assert 'height="100"' in html
    empty = render_to_string(
        "django_apikeys/includes/usage_chart.html", {"series": [], "title": "t"}
    )
    assert "<svg" not in empty
    assert "No requests in this period." in empty
