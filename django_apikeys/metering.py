"""Usage accounting: lifetime quotas and request metering.

Metering counts the **outcome** of every API request that carried a
credential, per organization, key and hour (UTC), **without a database write
per request**: admitted requests (:func:`record`, called by the throttle) and
refusals by code (:func:`record_refusal`, called once per refused request by
:func:`django_apikeys.refusals.count`) each increment a counter in the cache named by
``APIKEYS["CACHE_ALIAS"]``; :func:`flush` (the ``flushusage`` management
command, run from cron or a scheduler) moves the counters into
:class:`~django_apikeys.models.UsageRecord` rows (admitted requests per day,
what quotas, the management API and :func:`daily_usage` read) and
:class:`~django_apikeys.models.UsageOutcome` rows (every outcome per hour,
what :mod:`django_apikeys.analytics` and the usage pages read).

The invariant that makes flushing safe under concurrency: for every
(organization, key, hour, outcome), *database count + cache counter* equals
the number of requests. A flush moves an amount ``n`` by decrementing the
counter by ``n`` (atomic in the cache) inside the transaction that adds ``n``
to the rows, so requests counted meanwhile stay in the counter, and even two
overlapping flushes cannot lose or double-count (a lock makes that rare
anyway). The readers add both sides, so they are exact before any flush. A
process killed between the cache decrement and the commit loses that one
batch; this is the only window.

Counters are found through two levels of index per hour: the organizations
that counted in that hour, and each organization's counters. Registering is
done once per counter by the process whose ``add`` created it, so the cost
per request stays one cache increment (see ``docs/rate-limits.rst``).
Counters live ``COUNTER_TIMEOUT`` (8 days): flush at least daily.
"""

from __future__ import annotations

import datetime
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from .abstract import ADMITTED, AbstractAPIKey
from .cache import cache_failed, cache_unavailable, get_cache
from .cache_backends import Meter, RedisCache
from .conf import apikeys_settings
from .models import APIKey, Organization, UsageOutcome, UsageRecord

if TYPE_CHECKING:
    from django.core.cache.backends.base import BaseCache

__all__ = [
    "ADMITTED",
    "COUNTER_TIMEOUT",
    "FlushResult",
    "Pending",
    "consume_quota",
    "daily_usage",
    "flush",
    "current_hour",
    "meter_for",
    "pending_counts",
    "pending_outcomes",
    "record",
    "record_refusal",
    "today",
]

logger = logging.getLogger("django_apikeys")

PREFIX = "apikeys:usage:"
COUNTER_TIMEOUT = 8 * 24 * 60 * 60
#: How many days back :func:`flush` looks for counters by default.
FLUSH_DAYS = 7
LOCK_KEY = PREFIX + "flush-lock"
LOCK_TIMEOUT = 300
_NO_KEY = "-"


# --- quotas ------------------------------------------------------------------


def consume_quota(api_key: AbstractAPIKey) -> bool:
    """Spend one use of ``api_key``'s lifetime quota; ``False`` if none is left.

    One conditional ``UPDATE ... SET remaining_uses = remaining_uses - 1
    WHERE remaining_uses > 0``: concurrent requests in any process can never
    spend more than the quota. The quota belongs to the key's lineage (the
    key and the keys it was rolled from or into): the UPDATE spends one use
    on every key of the lineage that has uses left, so they stay equal and a
    key rolled with a grace period cannot double the quota. Keys without a
    quota (``remaining_uses`` is ``None``) are not written and always pass.
    """
    if api_key.remaining_uses is None:
        return True
    root = api_key.lineage_root_id
    updated = (
        type(api_key)
        ._default_manager.filter(Q(pk=root) | Q(lineage=root), remaining_uses__gt=0)
        .update(remaining_uses=F("remaining_uses") - 1)
    )
    if updated and api_key.remaining_uses > 0:
        # The instance may come from the key-lookup cache: keep it indicative only.
        api_key.remaining_uses -= 1
    return bool(updated)


# --- counting ----------------------------------------------------------------


def today() -> datetime.date:
    """The metering day: the UTC date (the local date when ``USE_TZ`` is off)."""
    return timezone.now().date()


def current_hour() -> datetime.datetime:
    """The metering hour: now (UTC when ``USE_TZ``), truncated to the hour."""
    return timezone.now().replace(minute=0, second=0, microsecond=0)


def _hour_bucket(hour: datetime.datetime) -> str:
    return f"{hour:%Y%m%d%H}"


def _bucket_hour(bucket: str) -> datetime.datetime:
    hour = datetime.datetime.strptime(bucket, "%Y%m%d%H")
    return hour.replace(tzinfo=datetime.timezone.utc) if settings.USE_TZ else hour


def _counter_key(bucket: str, org_id: Any, key_id: Any, code: str | None = None) -> str:
    """The counter of one (bucket, organization, key[, refusal code]).

    ``bucket`` is an hour (``YYYYMMDDHH``); counters written before outcomes
    were counted use a day (``YYYYMMDD``) and are still flushed.
    """
    key = f"{PREFIX}c:{bucket}:{org_id or _NO_KEY}:{key_id or _NO_KEY}"
    return f"{key}:{code}" if code else key


def _index_key(bucket: str) -> str:
    """How many slots ``bucket`` has: organizations (hours), counters (legacy days)."""
    return f"{PREFIX}n:{bucket}"


def _slot_key(bucket: str, number: int) -> str:
    return f"{PREFIX}s:{bucket}:{number}"


def _org_index_key(bucket: str, org: str) -> str:
    """How many counters organization ``org`` has in hour ``bucket``."""
    return f"{PREFIX}o:{bucket}:{org}"


def _org_slot_key(bucket: str, org: str, number: int) -> str:
    return f"{PREFIX}os:{bucket}:{org}:{number}"


def _incr(cache: BaseCache, key: str, delta: int = 1) -> int | None:
    """``cache.incr``, or ``None`` when the key does not exist."""
    try:
        return int(cache.incr(key, delta))
    except ValueError:
        return None


def _next_slot(cache: BaseCache, index: str) -> tuple[int, bool]:
    """Number a new slot of ``index``: ``(number, whether this call created the index)``."""
    number = _incr(cache, index)
    if number is not None:
        return number, False
    if cache.add(index, 1, COUNTER_TIMEOUT):
        return 1, True
    return _incr(cache, index) or 0, False


def _hour_of(day: datetime.date | None) -> datetime.datetime:
    hour = current_hour()
    return hour if day is None else hour.replace(year=day.year, month=day.month, day=day.day)


def record(api_key: AbstractAPIKey, day: datetime.date | None = None) -> None:
    """Count one admitted request by ``api_key`` (no database access).

    Usually one cache increment, the same as before outcomes were counted.
    The first request of a key in an hour also registers the counter in that
    organization's index for the hour (a numbered slot), and the first
    counter of an organization in an hour registers the organization in the
    hour's index: that is how :func:`flush` finds it. Only the process whose
    ``add`` created a counter (an index) registers it, so each has exactly
    one slot. ``day`` (tests, back-filling) counts in the current hour of
    that day.
    """
    if not apikeys_settings.METERING or cache_unavailable():
        return
    try:
        _count(_hour_bucket(_hour_of(day)), api_key.organization_id, api_key.pk)
    except Exception:  # metering must never fail a request (e.g. Redis unreachable)
        cache_failed()
        logger.warning("Could not meter a request of key %s.", api_key.pk, exc_info=True)


def record_refusal(code: str, organization_id: Any = None, key_id: Any = None) -> None:
    """Count one refused request with ``code`` (no database access).

    Attributed to ``key_id`` and ``organization_id`` when known; a refusal
    without an organization (an ``invalid_key`` without the organization
    header) is counted globally. Usually one cache increment; never raises.
    """
    if not apikeys_settings.METERING or cache_unavailable():
        return
    try:
        _count(_hour_bucket(current_hour()), organization_id, key_id, code)
    except Exception:  # metering must never fail a request (e.g. Redis unreachable)
        cache_failed()
        logger.warning("Could not count a refusal (%s).", code, exc_info=True)


def meter_for(org_id: Any, key_id: Any, code: str | None = None) -> Meter:
    """The counter of one request of ``key_id`` in ``org_id`` this hour and
    where a new counter registers: what :meth:`RedisCache.count
    <django_apikeys.cache_backends.RedisCache.count>` counts in its single
    call, with the same keys and values as the step-by-step path below."""
    bucket = _hour_bucket(current_hour())
    org = str(org_id or _NO_KEY)
    member = f"{key_id or _NO_KEY}:{code}" if code else f"{key_id or _NO_KEY}"
    return Meter(
        counter=_counter_key(bucket, org_id, key_id, code),
        org_index=_org_index_key(bucket, org),
        org_slot_prefix=_org_slot_key(bucket, org, 0)[:-1],
        org_slot_value=member,
        hour_index=_index_key(bucket),
        hour_slot_prefix=_slot_key(bucket, 0)[:-1],
        hour_slot_value=org,
        timeout=COUNTER_TIMEOUT,
    )


def _count(bucket: str, org_id: Any, key_id: Any, code: str | None = None) -> None:
    cache = get_cache()
    if (
        isinstance(cache, RedisCache)
        and bucket == _hour_bucket(current_hour())
        and cache.can_meter_for(cache)
    ):
        cache.count([], meter_for(org_id, key_id, code))  # one round trip, even the first
        return
    key = _counter_key(bucket, org_id, key_id, code)
    if _incr(cache, key) is not None:
        return
    if cache.add(key, 1, COUNTER_TIMEOUT):
        org = str(org_id or _NO_KEY)
        number, first = _next_slot(cache, _org_index_key(bucket, org))
        member = f"{key_id or _NO_KEY}:{code}" if code else f"{key_id or _NO_KEY}"
        cache.set(_org_slot_key(bucket, org, number), member, COUNTER_TIMEOUT)
        if first:  # the organization's first counter of the hour
            number, _ = _next_slot(cache, _index_key(bucket))
            cache.set(_slot_key(bucket, number), org, COUNTER_TIMEOUT)
    elif _incr(cache, key) is None:  # pragma: no cover - expired within microseconds
        logger.warning("Usage counter %s vanished while counting.", key)


@dataclass(frozen=True)
class _Counter:
    bucket: str
    org_id: str
    key_id: str
    code: str | None = None

    @property
    def hourly(self) -> bool:
        return len(self.bucket) == 10

    @property
    def day(self) -> datetime.date:
        return datetime.datetime.strptime(self.bucket[:8], "%Y%m%d").date()

    @property
    def outcome(self) -> str:
        return self.code or ADMITTED


def _hours(start: datetime.datetime, end: datetime.datetime) -> list[datetime.datetime]:
    count = int((end - start).total_seconds() // 3600) + 1
    return [start + datetime.timedelta(hours=n) for n in range(max(count, 0))]


def _counter_hours(start: datetime.datetime, end: datetime.datetime) -> list[datetime.datetime]:
    """The hours of ``start``..``end`` that can still have counters (they expire)."""
    oldest = current_hour() - datetime.timedelta(seconds=COUNTER_TIMEOUT)
    return [hour for hour in _hours(max(start, oldest), end)]


def _org_counters(cache: BaseCache, bucket_orgs: Iterable[tuple[str, str]]) -> dict[str, _Counter]:
    """The registered counters of these (hour bucket, organization) pairs."""
    pairs = list(bucket_orgs)
    if not pairs:
        return {}
    indexes = cache.get_many([_org_index_key(bucket, org) for bucket, org in pairs])
    slots = [
        (bucket, org, _org_slot_key(bucket, org, number))
        for bucket, org in pairs
        for number in range(1, int(indexes.get(_org_index_key(bucket, org)) or 0) + 1)
    ]
    if not slots:
        return {}
    members = cache.get_many([slot for _bucket, _org, slot in slots])
    counters: dict[str, _Counter] = {}
    for bucket, org, slot in slots:
        member = members.get(slot)
        if member is None:
            continue
        key_id, _, code = str(member).partition(":")
        counter = _Counter(bucket, org, key_id, code or None)
        counters[_counter_key(bucket, org, key_id, code or None)] = counter
    return counters


def _registered(cache: BaseCache, days: Iterable[datetime.date]) -> dict[str, _Counter]:
    """Every registered counter of ``days``: ``{counter_key: _Counter}`` (hourly
    counters, and the daily ones written before outcomes were counted)."""
    days = list(days)
    buckets = [f"{day:%Y%m%d}{hour:02d}" for day in days for hour in range(24)]
    buckets += [f"{day:%Y%m%d}" for day in days]  # legacy daily counters
    indexes = cache.get_many([_index_key(bucket) for bucket in buckets])
    slot_keys = {
        _slot_key(bucket, number): bucket
        for bucket in buckets
        for number in range(1, int(indexes.get(_index_key(bucket)) or 0) + 1)
    }
    counters: dict[str, _Counter] = {}
    if not slot_keys:
        return counters
    pairs = []
    for slot, value in cache.get_many(list(slot_keys)).items():
        bucket = slot_keys[slot]
        if len(bucket) == 8:  # legacy: the slot names the counter
            org_id, _, key_id = str(value).partition(":")
            counters[_counter_key(bucket, org_id, key_id)] = _Counter(bucket, org_id, key_id)
        else:
            pairs.append((bucket, str(value)))
    counters.update(_org_counters(cache, pairs))
    return counters


def _days(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    return [start + datetime.timedelta(days=n) for n in range((end - start).days + 1)]


@dataclass(frozen=True)
class Pending:
    """A not-yet-flushed count: ``count`` requests of ``key_id`` (``None``:
    no key) in ``hour`` with ``outcome`` (``"admitted"`` or a refusal code)."""

    hour: datetime.datetime
    key_id: str | None
    outcome: str
    count: int


def pending_outcomes(
    organization: Organization | Any,
    start: datetime.datetime,
    end: datetime.datetime | None = None,
) -> list[Pending]:
    """Requests counted in the cache but not yet flushed, per hour, key and outcome.

    ``organization`` is an instance or a primary key (``None``: the refusals
    counted globally). Three cache round trips, sized by what the
    organization did (its own index per hour). An unreachable cache gives
    ``[]``: pages show the flushed counts rather than fail.
    """
    org = str(getattr(organization, "pk", organization) or _NO_KEY)
    end = end or current_hour()
    hours = _counter_hours(start, end)
    if not hours or cache_unavailable():
        return []
    try:
        cache = get_cache()
        counters = _org_counters(cache, [(_hour_bucket(hour), org) for hour in hours])
        values = cache.get_many(list(counters)) if counters else {}
    except Exception:  # Redis down: show the flushed counts rather than fail the page
        cache_failed()
        logger.warning("Cache unavailable; usage shows flushed counts only.", exc_info=True)
        return []
    return [
        Pending(
            _bucket_hour(counter.bucket),
            None if counter.key_id == _NO_KEY else counter.key_id,
            counter.outcome,
            int(values[key]),
        )
        for key, counter in counters.items()
        if int(values.get(key) or 0)
    ]


def pending_counts(
    organization: Organization | Any,
    api_key: AbstractAPIKey | None = None,
    days: Iterable[datetime.date] | None = None,
) -> dict[datetime.date, int]:
    """Admitted requests counted in the cache but not yet flushed, per day.

    ``organization`` is an instance or a primary key. Without ``api_key``
    every key of the organization counts (revoked and rolled ones too).
    Counters written by a version before outcomes were counted (daily) are
    not read here: they appear after the next ``flushusage``.
    """
    end = today()
    if days is None:
        days = _days(end - datetime.timedelta(days=FLUSH_DAYS), end)
    days = sorted(set(days))
    if not days:
        return {}
    start = datetime.datetime.combine(days[0], datetime.time())
    last = datetime.datetime.combine(days[-1], datetime.time(23))
    if settings.USE_TZ:
        start, last = (
            start.replace(tzinfo=datetime.timezone.utc),
            last.replace(tzinfo=datetime.timezone.utc),
        )
    wanted = set(days)
    key_id = None if api_key is None else str(api_key.pk)
    result: dict[datetime.date, int] = {}
    for item in pending_outcomes(organization, start, min(last, current_hour())):
        day = item.hour.date()
        if item.outcome != ADMITTED or day not in wanted:
            continue
        if key_id is not None and item.key_id != key_id:
            continue
        result[day] = result.get(day, 0) + item.count
    return result


def daily_usage(
    organization: Organization | Any, api_key: AbstractAPIKey | None = None, days: int = 30
) -> list[tuple[datetime.date, int]]:
    """Requests per day for the last ``days`` days (today included), oldest first.

    One ``(date, count)`` per day, zeros included; counts are flushed
    ``UsageRecord`` rows plus the not-yet-flushed cache counters, so the
    result is exact whether or not ``flushusage`` ran. Narrowed to one key
    with ``api_key``. Admitted requests only (refusals too:
    :func:`~django_apikeys.analytics.outcome_series`).
    """
    days = max(int(days), 1)
    end = today()
    start = end - datetime.timedelta(days=days - 1)
    org_id = getattr(organization, "pk", organization)
    records = UsageRecord.objects.filter(organization_id=org_id, date__gte=start, date__lte=end)
    if api_key is not None:
        records = records.filter(api_key_id=api_key.pk)
    totals = dict(
        records.order_by().values("date").annotate(total=Sum("count")).values_list("date", "total")
    )
    pending = pending_counts(org_id, api_key, _days(start, end))
    return [(day, int(totals.get(day) or 0) + pending.get(day, 0)) for day in _days(start, end)]


# --- flushing ----------------------------------------------------------------


@dataclass
class FlushResult:
    """What :func:`flush` did: rows written, requests moved, or ``locked``."""

    counters: int = 0
    requests: int = 0
    locked: bool = False


def _add_count(model: type[UsageRecord] | type[UsageOutcome], amount: int, **fields: Any) -> None:
    """Add ``amount`` to the row of ``model`` with ``fields`` (``None`` matches
    NULL), creating it if there is none."""
    rows = model._default_manager.filter(**fields)
    if rows.update(count=F("count") + amount):
        return
    try:
        with transaction.atomic():
            model._default_manager.create(count=amount, **fields)
    except IntegrityError:  # another flusher created the row a moment ago
        rows.update(count=F("count") + amount)


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def flush(days: int = FLUSH_DAYS, *, wait: bool = False) -> FlushResult:
    """Move the cache counters of the last ``days`` days into the database.

    Admitted requests go to ``UsageRecord`` (per day) and ``UsageOutcome``
    (per hour, outcome ``"admitted"``), refusals to ``UsageOutcome`` (per
    hour and code), each counter in one transaction.
    Safe to run at any time, from any number of processes, while requests
    are being counted (see the module docstring). A cache lock lets one
    flush run at a time: a second one returns ``FlushResult(locked=True)``
    unless ``wait`` is true, in which case it waits for the lock (up to
    ``LOCK_TIMEOUT`` seconds). Counters of deleted organizations are dropped;
    those of deleted keys go to the organization's key-less row, and so do
    those of keys of your own key model (``UsageRecord.api_key`` references
    :class:`~django_apikeys.models.APIKey`): their organization's totals are
    exact, their per-key history ends at the flush.
    """
    cache = get_cache()
    token = uuid.uuid4().hex
    deadline = timezone.now() + datetime.timedelta(seconds=LOCK_TIMEOUT)
    while not cache.add(LOCK_KEY, token, LOCK_TIMEOUT):
        if not wait or timezone.now() >= deadline:
            return FlushResult(locked=True)
        time.sleep(0.05)
    try:
        return _flush(cache, days)
    finally:
        if cache.get(LOCK_KEY) == token:
            cache.delete(LOCK_KEY)


def _move(counter: _Counter, org_id: Any, key_id: Any, amount: int) -> None:
    """Add ``amount`` to the rows of ``counter`` (inside the caller's transaction)."""
    if counter.code is None and org_id is not None:
        _add_count(
            UsageRecord, amount, organization_id=org_id, api_key_id=key_id, date=counter.day
        )
    if counter.hourly:
        _add_count(
            UsageOutcome,
            amount,
            organization_id=org_id,
            api_key_id=key_id or None,
            hour=_bucket_hour(counter.bucket),
            outcome=counter.outcome,
        )


def _flush(cache: BaseCache, days: int) -> FlushResult:
    end = today()
    registered = _registered(cache, _days(end - datetime.timedelta(days=max(days, 1) - 1), end))
    values = cache.get_many(list(registered)) if registered else {}
    moves = {key: int(value) for key, value in values.items() if int(value)}
    result = FlushResult()
    if not moves:
        return result
    org_ids = {_as_uuid(registered[key].org_id) for key in moves}
    key_ids = {_as_uuid(registered[key].key_id) for key in moves}
    live_orgs = {
        str(pk)
        for pk in Organization.objects.filter(pk__in=org_ids - {None}).values_list("pk", flat=True)
    }
    live_keys = {
        str(pk)
        for pk in APIKey.objects.filter(pk__in=key_ids - {None}).values_list("pk", flat=True)
    }
    for key, amount in moves.items():
        counter = registered[key]
        decremented = False
        try:
            with transaction.atomic():
                if counter.org_id in live_orgs:
                    key_id = counter.key_id if counter.key_id in live_keys else None
                    _move(counter, counter.org_id, key_id, amount)
                elif counter.code:  # a refusal without a (live) organization: global
                    _move(counter, None, None, amount)
                # Inside the transaction: if the counter is gone the row is not written.
                if _incr(cache, key, -amount) is None:
                    raise _CounterGone
                decremented = True
        except _CounterGone:
            continue
        except DatabaseError:
            logger.exception("Could not flush usage counter %s; it stays in the cache.", key)
            if decremented:  # the commit failed after the decrement: put it back
                _incr(cache, key, amount)
            continue
        result.counters += 1
        result.requests += amount
    return result


class _CounterGone(Exception):
    pass
