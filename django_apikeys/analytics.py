"""Usage analytics: admitted requests and refusals per bucket, per key.

Reads what :mod:`django_apikeys.metering` counts: the flushed rows
(``UsageRecord`` per day for admitted requests, ``UsageOutcome`` per hour for
every outcome) plus the counters still in the cache, so the numbers are exact
whether or not ``flushusage`` ran. The dashboard's usage pages, their CSV
export and your own reports call :func:`outcome_series` and :func:`top_keys`.

Periods (:data:`PERIODS`): ``24h`` in hourly buckets, ``7d``, ``30d`` and
``90d`` in daily buckets (UTC), the current bucket last.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from . import metering
from .abstract import ADMITTED, AbstractAPIKey
from .exceptions import (
    AUTHENTICATION_ERROR,
    FORBIDDEN_ERROR,
    NOT_ENTITLED_ERROR,
    RATE_LIMIT_ERROR,
    refusal_family,
)
from .models import APIKey, Organization, UsageOutcome, UsageRecord

__all__ = [
    "DEFAULT_PERIOD",
    "FAMILIES",
    "PERIODS",
    "Bucket",
    "KeyUsage",
    "Period",
    "outcome_series",
    "top_keys",
]

OTHER = "other"
#: The series of the stacked chart, in stacking order: ``(family, label)``.
FAMILIES: tuple[tuple[str, Any], ...] = (
    (ADMITTED, _("Admitted")),
    (AUTHENTICATION_ERROR, _("Authentication")),
    (FORBIDDEN_ERROR, _("Forbidden")),
    (NOT_ENTITLED_ERROR, _("Not entitled")),
    (RATE_LIMIT_ERROR, _("Rate limit")),
    (OTHER, _("Other refusals")),
)
_FAMILY_NAMES = {name for name, _label in FAMILIES}


@dataclass(frozen=True)
class Period:
    """A period of the usage pages: ``buckets`` hours or days, the current one last."""

    name: str
    label: Any
    buckets: int
    hourly: bool


#: The periods of the usage pages by name, shortest first.
PERIODS: dict[str, Period] = {
    "24h": Period("24h", _("Last 24 hours"), 24, True),
    "7d": Period("7d", _("Last 7 days"), 7, False),
    "30d": Period("30d", _("Last 30 days"), 30, False),
    "90d": Period("90d", _("Last 90 days"), 90, False),
}
DEFAULT_PERIOD = "30d"


def family_of(outcome: str) -> str:
    """The chart series of an outcome: ``"admitted"``, a refusal ``type`` or ``"other"``."""
    if outcome == ADMITTED:
        return ADMITTED
    family = refusal_family(outcome)
    return family if family in _FAMILY_NAMES else OTHER


@dataclass
class Bucket:
    """One hour or day: admitted requests and refusals by code."""

    start: datetime.datetime | datetime.date
    admitted: int = 0
    refusals: dict[str, int] = field(default_factory=dict)

    @property
    def refused(self) -> int:
        return sum(self.refusals.values())

    @property
    def total(self) -> int:
        return self.admitted + self.refused

    @property
    def families(self) -> dict[str, int]:
        """Requests per chart series (every family, zeros included)."""
        result = dict.fromkeys((name for name, _label in FAMILIES), 0)
        result[ADMITTED] = self.admitted
        for code, count in self.refusals.items():
            result[family_of(code)] += count
        return result


@dataclass
class KeyUsage:
    """A row of the "top keys" table."""

    api_key: APIKey | None
    requests: int = 0
    refusals: int = 0
    last_refusal_code: str = ""
    last_refusal_at: datetime.datetime | None = None

    @property
    def total(self) -> int:
        return self.requests + self.refusals


def _utc(value: datetime.datetime) -> datetime.datetime:
    if settings.USE_TZ and value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value


def _window(period: Period) -> tuple[datetime.datetime, list[Any]]:
    """The first hour of ``period`` and its bucket starts (hours or dates)."""
    now = metering.current_hour()
    if period.hourly:
        first = now - datetime.timedelta(hours=period.buckets - 1)
        return first, [first + datetime.timedelta(hours=n) for n in range(period.buckets)]
    end = metering.today()
    days = [end - datetime.timedelta(days=n) for n in range(period.buckets - 1, -1, -1)]
    return _utc(datetime.datetime.combine(days[0], datetime.time())), days


def _bucket_of(hour: datetime.datetime, period: Period) -> Any:
    return hour if period.hourly else hour.date()


def _outcome_rows(organization: Any, first: datetime.datetime, api_key: Any) -> Any:
    org_id = getattr(organization, "pk", organization)
    rows = UsageOutcome.objects.filter(organization_id=org_id, hour__gte=first)
    if api_key is not None:
        rows = rows.filter(api_key_id=api_key.pk)
    return rows.order_by()


def outcome_series(
    organization: Organization | Any,
    period: Period | str = DEFAULT_PERIOD,
    api_key: AbstractAPIKey | None = None,
) -> list[Bucket]:
    """Admitted requests and refusals by code per bucket of ``period``, oldest first.

    Every bucket is present (zeros included). Narrowed to one key with
    ``api_key``. Daily admitted counts come from ``UsageRecord`` (so days
    flushed before outcomes were counted are there too), everything else
    from ``UsageOutcome``; both plus the unflushed cache counters.
    """
    period = PERIODS[period] if isinstance(period, str) else period
    first, starts = _window(period)
    buckets = {start: Bucket(start) for start in starts}
    rows = _outcome_rows(organization, first, api_key)
    if not period.hourly:
        rows = rows.exclude(outcome=ADMITTED)
        org_id = getattr(organization, "pk", organization)
        records = UsageRecord.objects.filter(organization_id=org_id, date__gte=starts[0])
        if api_key is not None:
            records = records.filter(api_key_id=api_key.pk)
        for day, total in (
            records.order_by().values("date").annotate(n=Sum("count")).values_list("date", "n")
        ):
            if day in buckets:
                buckets[day].admitted += int(total or 0)
    for hour, outcome, total in (
        rows.values("hour", "outcome").annotate(n=Sum("count")).values_list("hour", "outcome", "n")
    ):
        _add(buckets.get(_bucket_of(hour, period)), outcome, int(total or 0))
    key_id = None if api_key is None else str(api_key.pk)
    for item in metering.pending_outcomes(organization, first):
        if key_id is None or item.key_id == key_id:
            _add(buckets.get(_bucket_of(item.hour, period)), item.outcome, item.count)
    return [buckets[start] for start in starts]


def _add(bucket: Bucket | None, outcome: str, count: int) -> None:
    if bucket is None or not count:
        return
    if outcome == ADMITTED:
        bucket.admitted += count
    else:
        bucket.refusals[outcome] = bucket.refusals.get(outcome, 0) + count


def top_keys(
    organization: Organization | Any, period: Period | str = DEFAULT_PERIOD, limit: int = 10
) -> list[KeyUsage]:
    """The keys with the most requests (admitted + refused) in ``period``, busiest first.

    Requests without a key (OAuth access tokens, refusals of unknown keys
    named by the organization header) are one row with ``api_key=None``.
    ``last_refusal_code`` is the code of the latest refusal in the period.
    """
    period = PERIODS[period] if isinstance(period, str) else period
    first, starts = _window(period)
    usage: dict[str | None, KeyUsage] = defaultdict(lambda: KeyUsage(None))
    last: dict[str | None, tuple[datetime.datetime, int, str]] = {}

    def add(key_id: Any, outcome: str, count: int, hour: datetime.datetime | None) -> None:
        row = usage[None if key_id is None else str(key_id)]
        if outcome == ADMITTED:
            row.requests += count
            return
        row.refusals += count
        if hour is not None:
            seen = last.get(row_key := None if key_id is None else str(key_id))
            if seen is None or (hour, count) > seen[:2]:
                last[row_key] = (hour, count, outcome)

    rows = _outcome_rows(organization, first, None)
    if not period.hourly:
        rows = rows.exclude(outcome=ADMITTED)
        org_id = getattr(organization, "pk", organization)
        records = UsageRecord.objects.filter(organization_id=org_id, date__gte=starts[0])
        for key_id, total in (
            records.order_by()
            .values("api_key")
            .annotate(n=Sum("count"))
            .values_list("api_key", "n")
        ):
            add(key_id, ADMITTED, int(total or 0), None)
    for key_id, hour, outcome, total in (
        rows.values("api_key", "hour", "outcome")
        .annotate(n=Sum("count"))
        .values_list("api_key", "hour", "outcome", "n")
    ):
        add(key_id, outcome, int(total or 0), hour)
    for item in metering.pending_outcomes(organization, first):
        add(item.key_id, item.outcome, item.count, item.hour)
    keys = APIKey.objects.in_bulk([pk for pk in usage if pk is not None])
    result = []
    for pk, row in usage.items():
        if pk is not None:
            row.api_key = keys.get(_as_pk(pk))
            if row.api_key is None:  # a key of your own key model: no row to show
                continue
        if pk in last:
            row.last_refusal_at, _count, row.last_refusal_code = last[pk]
        if row.total:
            result.append(row)
    result.sort(key=lambda row: (-row.total, -row.refusals))
    return result[:limit]


def _as_pk(value: str) -> Any:
    field_ = APIKey._meta.pk
    return field_.to_python(value) if field_ is not None else value
