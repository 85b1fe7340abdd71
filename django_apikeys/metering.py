"""Usage accounting: lifetime quotas and request metering.

Metering counts admitted API-key requests per organization, key and day
(UTC) **without a database write per request**: each request increments a
counter in the cache named by ``APIKEYS["CACHE_ALIAS"]``; :func:`flush` (the
``flushusage`` management command, run from cron or a scheduler) moves the
counters into :class:`~django_apikeys.models.UsageRecord` rows.

The invariant that makes flushing safe under concurrency: for every
(organization, key, day), *database count + cache counter* equals the number
of requests. A flush moves an amount ``n`` by decrementing the counter by
``n`` (atomic in the cache) inside the transaction that adds ``n`` to the
row, so requests counted meanwhile stay in the counter, and even two
overlapping flushes cannot lose or double-count (a lock makes that rare
anyway). :func:`daily_usage` reads both sides, so it is exact before any
flush. A process killed between the cache decrement and the commit loses
that one batch; this is the only window.

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

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from .abstract import AbstractAPIKey
from .cache import cache_failed, cache_unavailable, get_cache
from .conf import apikeys_settings
from .models import APIKey, Organization, UsageRecord, key_models

if TYPE_CHECKING:
    from django.core.cache.backends.base import BaseCache

__all__ = [
    "COUNTER_TIMEOUT",
    "FlushResult",
    "consume_quota",
    "daily_usage",
    "flush",
    "pending_counts",
    "record",
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
    spend more than the quota. Keys without a quota (``remaining_uses`` is
    ``None``) are not written and always pass.
    """
    if api_key.remaining_uses is None:
        return True
    updated = (
        type(api_key)
        ._default_manager.filter(pk=api_key.pk, remaining_uses__gt=0)
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


def _counter_key(day: datetime.date, org_id: Any, key_id: Any) -> str:
    return f"{PREFIX}c:{day:%Y%m%d}:{org_id}:{key_id or _NO_KEY}"


def _index_key(day: datetime.date) -> str:
    return f"{PREFIX}n:{day:%Y%m%d}"


def _slot_key(day: datetime.date, number: int) -> str:
    return f"{PREFIX}s:{day:%Y%m%d}:{number}"


def _incr(cache: BaseCache, key: str, delta: int = 1) -> int | None:
    """``cache.incr``, or ``None`` when the key does not exist."""
    try:
        return int(cache.incr(key, delta))
    except ValueError:
        return None


def record(api_key: AbstractAPIKey, day: datetime.date | None = None) -> None:
    """Count one request by ``api_key`` (no database access).

    Usually one cache increment. The first request of a key on a day also
    registers the counter in that day's index (a numbered slot), which is how
    :func:`flush` finds it; only the process whose ``add`` created the
    counter registers it, so each counter has exactly one slot.
    """
    if not apikeys_settings.METERING or cache_unavailable():
        return
    try:
        _record(api_key, day or today())
    except Exception:  # metering must never fail a request (e.g. Redis unreachable)
        cache_failed()
        logger.warning("Could not meter a request of key %s.", api_key.pk, exc_info=True)


def _record(api_key: AbstractAPIKey, day: datetime.date) -> None:
    cache = get_cache()
    key = _counter_key(day, api_key.organization_id, api_key.pk)
    if _incr(cache, key) is not None:
        return
    if cache.add(key, 1, COUNTER_TIMEOUT):
        index = _index_key(day)
        number = _incr(cache, index)
        if number is None:
            number = 1 if cache.add(index, 1, COUNTER_TIMEOUT) else _incr(cache, index)
        cache.set(
            _slot_key(day, number or 0),
            f"{api_key.organization_id}:{api_key.pk or _NO_KEY}",
            COUNTER_TIMEOUT,
        )
    elif _incr(cache, key) is None:  # pragma: no cover - expired within microseconds
        logger.warning("Usage counter %s vanished while counting.", key)


def _registered(cache: BaseCache, days: Iterable[datetime.date]) -> dict[str, tuple[Any, ...]]:
    """Every registered counter of ``days``: ``{counter_key: (day, org_id, key_id)}``."""
    days = list(days)
    indexes = cache.get_many([_index_key(day) for day in days])
    slot_keys = [
        _slot_key(day, number)
        for day in days
        for number in range(1, int(indexes.get(_index_key(day)) or 0) + 1)
    ]
    counters: dict[str, tuple[Any, ...]] = {}
    if not slot_keys:
        return counters
    for slot, value in cache.get_many(slot_keys).items():
        day = datetime.datetime.strptime(slot.split(":")[3], "%Y%m%d").date()
        org_id, _, key_id = str(value).partition(":")
        counters[_counter_key(day, org_id, key_id)] = (day, org_id, key_id)
    return counters


def _days(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    return [start + datetime.timedelta(days=n) for n in range((end - start).days + 1)]


def pending_counts(
    organization: Organization | Any,
    api_key: AbstractAPIKey | None = None,
    days: Iterable[datetime.date] | None = None,
) -> dict[datetime.date, int]:
    """Requests counted in the cache but not yet flushed, per day.

    ``organization`` is an instance or a primary key. Without ``api_key``
    every key of the organization counts (revoked and rolled ones too).
    """
    org_id = getattr(organization, "pk", organization)
    end = today()
    if days is None:
        days = _days(end - datetime.timedelta(days=FLUSH_DAYS), end)
    # Counters expire after COUNTER_TIMEOUT: older days cannot have any.
    oldest = end - datetime.timedelta(seconds=COUNTER_TIMEOUT)
    days = [day for day in days if oldest <= day <= end]
    if api_key is not None:
        key_ids: list[Any] = [api_key.pk]
    else:
        key_ids = [
            pk
            for model in key_models()
            for pk in model._default_manager.filter(organization_id=org_id).values_list(
                "pk", flat=True
            )
        ]
        key_ids.append(None)  # requests without a key (OAuth access tokens)
    if not days or not key_ids:
        return {}
    wanted = {_counter_key(day, org_id, key_id): day for day in days for key_id in key_ids}
    result: dict[datetime.date, int] = {}
    if cache_unavailable():
        return result
    try:
        counted = get_cache().get_many(list(wanted))
    except Exception:  # Redis down: show the flushed counts rather than fail the page
        cache_failed()
        logger.warning("Cache unavailable; usage shows flushed counts only.", exc_info=True)
        return result
    for key, value in counted.items():
        day = wanted[key]
        result[day] = result.get(day, 0) + int(value)
    return result


def daily_usage(
    organization: Organization | Any, api_key: AbstractAPIKey | None = None, days: int = 30
) -> list[tuple[datetime.date, int]]:
    """Requests per day for the last ``days`` days (today included), oldest first.

    One ``(date, count)`` per day, zeros included; counts are flushed
    ``UsageRecord`` rows plus the not-yet-flushed cache counters, so the
    result is exact whether or not ``flushusage`` ran. Narrowed to one key
    with ``api_key``. This is what the dashboard's usage chart shows.
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


def _add_to_record(day: datetime.date, org_id: Any, key_id: Any, amount: int) -> None:
    records = UsageRecord.objects.filter(organization_id=org_id, date=day)
    records = records.filter(api_key_id=key_id) if key_id else records.filter(api_key=None)
    if records.update(count=F("count") + amount):
        return
    try:
        with transaction.atomic():
            UsageRecord.objects.create(
                organization_id=org_id, api_key_id=key_id, date=day, count=amount
            )
    except IntegrityError:  # another flusher created the row a moment ago
        records.update(count=F("count") + amount)


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def flush(days: int = FLUSH_DAYS, *, wait: bool = False) -> FlushResult:
    """Move the cache counters of the last ``days`` days into ``UsageRecord`` rows.

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


def _flush(cache: BaseCache, days: int) -> FlushResult:
    end = today()
    registered = _registered(cache, _days(end - datetime.timedelta(days=max(days, 1) - 1), end))
    values = cache.get_many(list(registered))
    moves = {key: int(value) for key, value in values.items() if int(value)}
    result = FlushResult()
    if not moves:
        return result
    org_ids = {_as_uuid(registered[key][1]) for key in moves}
    key_ids = {_as_uuid(registered[key][2]) for key in moves}
    live_orgs = {
        str(pk)
        for pk in Organization.objects.filter(pk__in=org_ids - {None}).values_list("pk", flat=True)
    }
    live_keys = {
        str(pk)
        for pk in APIKey.objects.filter(pk__in=key_ids - {None}).values_list("pk", flat=True)
    }
    for key, amount in moves.items():
        day, org_id, key_id = registered[key]
        decremented = False
        try:
            with transaction.atomic():
                if org_id in live_orgs:
                    _add_to_record(day, org_id, key_id if key_id in live_keys else None, amount)
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
