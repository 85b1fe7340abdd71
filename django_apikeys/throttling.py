"""The last step of the pipeline (``docs/architecture.rst``): rate limits,
lifetime quotas and metering.

``APIKeyRateThrottle`` is a DRF throttle on django-ratelimit's rate grammar
and window alignment, counting in the cache named by
``settings.RATELIMIT_USE_CACHE`` (default ``"default"``): a shared cache such
as Redis makes the limits hold across processes and machines; the embedded
LocMemCache counts per process (system check ``django_apikeys.W001`` warns
about that).

For a request authenticated by an API key, in this order:

1. **Per-key limits**, per minute, per day and per calendar month
   (:func:`month_window`). The effective limit is the key's own
   ``rate_limit_per_*`` if > 0, else its key type's, else
   ``APIKEYS["DEFAULT_RATE_LIMIT_PER_*"]``; 0 everywhere means unlimited.
   A key's limits belong to its lineage (the key and the keys it was rolled
   from): a key rolled with a grace period shares one set of counters with
   its replacement.
2. **Per-organization limits** from the organization's plan (0 = unlimited).
3. **Lifetime quota**: keys with ``remaining_uses`` (set from the key type's
   ``lifetime_quota``) spend one use of their lineage with a conditional
   UPDATE (:func:`django_apikeys.metering.consume_quota`).
4. **Metering**: one counter per organization, key and hour
   (:mod:`django_apikeys.metering`).

**One round trip.** When the rate-limit cache is the app's Redis backend
(:class:`django_apikeys.cache_backends.RedisCache`) and metering counts on
the same Redis, every window and the meter are checked and counted in a
single call (a server-side script), with the same cache keys, windows and
expiries as django-ratelimit's: the two paths count the same counters. Keys
with a lifetime quota are metered in a second call, after the quota (it
lives in the database, so a Redis restart never gives uses back). With any
other cache backend each window is counted by
:func:`django_ratelimit.core.get_usage`, as before.

**DRF's contract.** ``allow_request`` returns ``False`` and ``wait()`` gives
the seconds to wait (``None`` for a spent lifetime quota); the refusal
(:class:`~django_apikeys.exceptions.RateLimited` or
:class:`~django_apikeys.exceptions.QuotaExhausted`, with its
``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` headers) is kept on the
request, and the app's exception handler answers DRF's ``Throttled`` with it
(429 ``rate_limited`` / ``quota_exhausted``). The counting cannot be skipped
by a view's own ``throttle_classes``: :func:`require_counting`, called by
the authentication classes when they accept a credential of this app, adds
the throttle to that request's throttles when the view does not list it;
DRF still runs it after the permission checks, so a refused request spends
neither limits nor quota. Counting happens once per request.

Requests not authenticated by an API key or another
:class:`~django_apikeys.credentials.Credential` (OAuth access tokens:
limited per app and per organization, metered per organization) pass through
unlimited and unmetered (session users).

When the cache cannot be reached (refused, timed out), django-ratelimit's
``RATELIMIT_FAIL_OPEN`` setting decides: true, the request passes unlimited
(and unmetered); false (the default), it is answered 503
``rate_limit_unavailable`` with ``Retry-After`` — never a 429 that blames the
client (an error, not a throttling decision: ``allow_request`` raises it).
After a failure a process leaves the cache alone for
``cache.CACHE_RETRY_INTERVAL`` seconds, so a hung Redis costs one socket
timeout per process per interval, not one per request.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from django_ratelimit.core import get_usage
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from . import cache, exceptions, metering
from .abstract import AbstractAPIKey
from .cache_backends import Counter, RedisCache
from .conf import apikeys_settings
from .credentials import Credential
from .middleware import HEADERS_ATTR
from .models import APIKey

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .models import Organization

__all__ = [
    "HEADERS_ATTR",
    "MONTH",
    "APIKeyRateThrottle",
    "Limit",
    "MonthlyAllowance",
    "Window",
    "effective_key_limits",
    "effective_monthly_limit",
    "limits_for",
    "anchor_day",
    "month_window",
    "monthly_usage",
    "organization_limits",
    "parse_rate",
    "require_counting",
    "window_for",
]

logger = logging.getLogger("django_apikeys")

MINUTE = 60
DAY = 24 * 60 * 60
#: The period of a monthly limit: a calendar month from
#: ``APIKEYS["MONTHLY_QUOTA_ANCHOR_DAY"]`` (:func:`month_window`), not a
#: number of seconds.
MONTH = -1
#: ``Retry-After`` of a 503 ``rate_limit_unavailable``: a little longer than a
#: process leaves a failed cache alone (cache.CACHE_RETRY_INTERVAL).
RETRY_AFTER_UNAVAILABLE = 10
#: django-ratelimit keeps a window's counter this many seconds past its end
#: (its ``EXPIRATION_FUDGE``); the single-call path does the same.
EXPIRATION_FUDGE = 5
#: Set on the Django request once its counters were counted: the outcome
#: (``None``: admitted), so that a second throttle instance counts nothing.
COUNTED_ATTR = "_apikeys_counted"

_SCOPE_LABELS = {
    "key": _("this API key"),
    "client": _("this client application"),
    "organization": _("this organization"),
}
_PERIOD_LABELS = {MINUTE: _("minute"), DAY: _("day"), MONTH: _("month")}


@dataclass(frozen=True)
class Limit:
    """One limit to enforce: ``limit`` requests per ``period`` seconds (or per
    :data:`MONTH`) for ``value``."""

    scope: str  # "key", "client" (a Credential such as an OAuth app) or "organization"
    value: str  # what is counted: the key's lineage, the client's or the organization's id
    limit: int
    period: int

    @property
    def group(self) -> str:
        return f"django_apikeys.{self.scope}"


def _first_positive(*values: int) -> int:
    for value in values:
        if value and value > 0:
            return int(value)
    return 0


def effective_key_limits(api_key: AbstractAPIKey) -> tuple[int, int]:
    """``(per_minute, per_day)`` for ``api_key``: key > key type > global default; 0 = none."""
    kt = apikeys_settings.key_type(api_key.key_type)
    conf = apikeys_settings
    return (
        _first_positive(
            api_key.rate_limit_per_minute,
            kt.rate_limit_per_minute if kt else 0,
            conf.DEFAULT_RATE_LIMIT_PER_MINUTE,
        ),
        _first_positive(
            api_key.rate_limit_per_day,
            kt.rate_limit_per_day if kt else 0,
            conf.DEFAULT_RATE_LIMIT_PER_DAY,
        ),
    )


def effective_monthly_limit(api_key: AbstractAPIKey | Credential) -> int:
    """Requests per calendar month for ``api_key``: key > key type > global default; 0 = none."""
    kt = apikeys_settings.key_type(api_key.key_type)
    return _first_positive(
        getattr(api_key, "rate_limit_per_month", 0),
        kt.rate_limit_per_month if kt else 0,
        apikeys_settings.DEFAULT_RATE_LIMIT_PER_MONTH,
    )


def organization_limits(organization: Organization) -> tuple[int, int]:
    """``(per_minute, per_day)`` from the organization's plan; ``(0, 0)`` without a plan."""
    plan = organization.plan
    if plan is None:
        return 0, 0
    return int(plan.rate_limit_per_minute or 0), int(plan.rate_limit_per_day or 0)


def organization_monthly_limit(organization: Organization) -> int:
    """Requests per calendar month from the organization's plan; 0 = unlimited."""
    plan = organization.plan
    return 0 if plan is None else int(getattr(plan, "rate_limit_per_month", 0) or 0)


def limits_for(api_key: AbstractAPIKey | Credential) -> list[Limit]:
    """The limits that apply to a request with ``api_key``, shortest window first.

    Order matters: a request refused by the per-minute limit does not spend
    the per-day or per-month allowance. A key is counted by its lineage (the
    first key of its roll chain). A
    :class:`~django_apikeys.credentials.Credential` is counted by its
    ``rate_limit_key`` (an OAuth app: per app) with its own limits, else the
    global defaults.
    """
    scope = "key"
    if isinstance(api_key, Credential):
        conf = apikeys_settings
        scope, key_id = "client", api_key.rate_limit_key
        key_minute = _first_positive(
            api_key.rate_limit_per_minute, conf.DEFAULT_RATE_LIMIT_PER_MINUTE
        )
        key_day = _first_positive(api_key.rate_limit_per_day, conf.DEFAULT_RATE_LIMIT_PER_DAY)
        key_month = _first_positive(
            getattr(api_key, "rate_limit_per_month", 0), conf.DEFAULT_RATE_LIMIT_PER_MONTH
        )
    else:
        key_minute, key_day = effective_key_limits(api_key)
        key_month = effective_monthly_limit(api_key)
        key_id = str(api_key.lineage_root_id)
    org_minute, org_day = organization_limits(api_key.organization)
    org_id = str(api_key.organization_id)
    candidates = [
        Limit(scope, key_id, key_minute, MINUTE),
        Limit("organization", org_id, org_minute, MINUTE),
        Limit(scope, key_id, key_day, DAY),
        Limit("organization", org_id, org_day, DAY),
        Limit(scope, key_id, key_month, MONTH),
        Limit("organization", org_id, organization_monthly_limit(api_key.organization), MONTH),
    ]
    return [limit for limit in candidates if limit.limit > 0]


# --- rates and windows -----------------------------------------------------------

#: django-ratelimit's rate grammar: ``count/[multiplier]unit``, unit one of
#: s, m, h, d (any case; none means seconds), e.g. ``5/h``, ``100/10m``.
_RATE = re.compile(r"(\d+)/(\d*)([smhdSMHD])?")
_UNITS = {"s": 1, "m": MINUTE, "h": 60 * MINUTE, "d": DAY}


def parse_rate(rate: object) -> tuple[int, int]:
    """``(count, seconds)`` of a django-ratelimit rate string such as ``"5/h"``.

    Accepts what django-ratelimit accepts (its pattern matches at the start
    of the string: ``"5/h"``, ``"100/10m"``, ``"3/"`` = per second); raises
    ``ValueError`` for anything else, and for a count or period below 1.
    """
    match = _RATE.match(rate) if isinstance(rate, str) else None
    if match is None:
        raise ValueError(f"{rate!r} is not a rate such as '5/h'.")
    count, multiplier, unit = match.groups()
    seconds = _UNITS[(unit or "s").lower()] * (int(multiplier) if multiplier else 1)
    if int(count) < 1 or seconds < 1:
        raise ValueError(f"{rate!r} is not a rate such as '5/h'.")
    return int(count), seconds


def anchor_day() -> int:
    """``APIKEYS["MONTHLY_QUOTA_ANCHOR_DAY"]``: the day (1-28) monthly windows start.

    Raises ``ImproperlyConfigured`` for anything else (system check E001).
    """
    day = apikeys_settings.MONTHLY_QUOTA_ANCHOR_DAY
    if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 28:
        raise ImproperlyConfigured(
            f"MONTHLY_QUOTA_ANCHOR_DAY must be a day of the month from 1 to 28, not {day!r}."
        )
    return day


def month_window(
    now: datetime.datetime | None = None,
) -> tuple[datetime.datetime, datetime.datetime]:
    """``(start, end)`` of the calendar month ``now`` falls in, in UTC.

    Months start on ``APIKEYS["MONTHLY_QUOTA_ANCHOR_DAY"]`` (1-28) at
    midnight UTC: with 15, the month of 2 March is 15 February - 15 March.
    """
    now = (now or timezone.now()).astimezone(datetime.timezone.utc)
    anchor = anchor_day()
    year, month = now.year, now.month
    if now.day < anchor:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    start = datetime.datetime(year, month, anchor, tzinfo=datetime.timezone.utc)
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return start, datetime.datetime(year, month, anchor, tzinfo=datetime.timezone.utc)


@dataclass(frozen=True)
class Window:
    """The current window of a :class:`Limit`: its counter and when it resets."""

    limit: Limit
    counter: Counter
    reset: int  # seconds until the window ends (``time_left`` in django-ratelimit)


class _RateConf(NamedTuple):
    """django-ratelimit's settings, read once per request: a setting a site
    leaves unset costs an ``AttributeError`` inside Django on every read."""

    prefix: str
    hasher: Callable[[bytes], Any]
    cache_alias: str


def _rate_conf() -> _RateConf:
    algorithm = getattr(settings, "RATELIMIT_HASH_ALGORITHM", hashlib.sha256)
    return _RateConf(
        getattr(settings, "RATELIMIT_CACHE_PREFIX", "rl:"),
        import_string(algorithm) if isinstance(algorithm, str) else algorithm,
        getattr(settings, "RATELIMIT_USE_CACHE", "default"),
    )


def window_for(limit: Limit, now: float | None = None, conf: _RateConf | None = None) -> Window:
    """The counter a request counts in for ``limit``, as django-ratelimit names it.

    A window of ``period`` seconds ends ``crc32(value) % period`` seconds
    past a multiple of ``period`` (django-ratelimit's jitter: the windows of
    different keys do not all end together) and its cache key is
    django-ratelimit's ``RATELIMIT_CACHE_PREFIX`` + hash of group, rate,
    value and window, so :func:`django_ratelimit.core.get_usage` with
    ``rate=(limit, period)`` and a key giving ``value`` reads the same
    counter (``tests/test_counters.py`` checks it). A :data:`MONTH` window is
    the calendar month (:func:`month_window`).
    """
    ts = int(time.time() if now is None else now)
    conf = conf or _rate_conf()
    prefix = conf.prefix
    if limit.period == MONTH:
        start, month_end = month_window(datetime.datetime.fromtimestamp(ts, datetime.timezone.utc))
        reset = int(month_end.timestamp()) - ts
        key = f"{prefix}month:{limit.group}:{limit.value}:{start:%Y%m%d}"
        return Window(limit, Counter(key, limit.limit, reset + EXPIRATION_FUDGE), reset)
    period = limit.period
    if period == 1:
        end = ts
    else:
        end = ts - (ts % period) + (zlib.crc32(limit.value.encode("utf-8")) % period)
        if end < ts:
            end += period
    # django-ratelimit's key parts: group, "N/Ps", value, window, methods ("" for ALL).
    parts = f"{limit.group}{limit.limit}/{period}s{limit.value}{end}"
    key = prefix + str(conf.hasher(parts.encode("utf-8")).hexdigest())
    return Window(limit, Counter(key, limit.limit, period + EXPIRATION_FUDGE), end - ts)


@dataclass(frozen=True)
class MonthlyAllowance:
    """A monthly limit and how much of the current month is spent (the usage page)."""

    scope: str  # "key" or "organization"
    limit: int
    used: int | None  # None: the cache cannot be read right now
    start: datetime.datetime
    end: datetime.datetime

    @property
    def remaining(self) -> int | None:
        return None if self.used is None else max(self.limit - self.used, 0)


def monthly_usage(
    organization: Organization, api_key: AbstractAPIKey | None = None
) -> list[MonthlyAllowance]:
    """The monthly limits of ``organization`` (its plan) and of ``api_key``
    (its lineage), with the requests counted this month: one cache read, no
    counting. Empty when no monthly limit applies."""
    limits = [
        Limit(
            "organization", str(organization.pk), organization_monthly_limit(organization), MONTH
        )
    ]
    if api_key is not None:
        limits.append(
            Limit("key", str(api_key.lineage_root_id), effective_monthly_limit(api_key), MONTH)
        )
    windows = [window_for(limit) for limit in limits if limit.limit > 0]
    if not windows:
        return []
    counts: dict[str, Any] | None = None
    if not cache.cache_unavailable():
        try:
            rate_cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
            counts = rate_cache.get_many([window.counter.key for window in windows])
        except Exception:  # Redis down: the page shows the limits without the counts
            cache.cache_failed()
            logger.warning("Cannot read the monthly counters.", exc_info=True)
    start, end = month_window()
    return [
        MonthlyAllowance(
            window.limit.scope,
            window.limit.limit,
            None if counts is None else int(counts.get(window.counter.key) or 0),
            start,
            end,
        )
        for window in windows
    ]


# --- counting ------------------------------------------------------------------


def _headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(remaining, 0)),
        "X-RateLimit-Reset": str(max(reset, 0)),
    }


def _refusal(limit: Limit, reset: int) -> exceptions.RateLimited:
    return exceptions.RateLimited(
        wait=max(reset, 1),
        detail=_("Rate limit exceeded: %(limit)d requests per %(period)s for %(who)s.")
        % {
            "limit": limit.limit,
            "period": _PERIOD_LABELS[limit.period],
            "who": _SCOPE_LABELS[limit.scope],
        },
        headers=_headers(limit.limit, 0, max(reset, 1)),
    )


class _Unavailable(Exception):
    """The rate-limit cache cannot be reached."""


def _single_call_cache(metered: bool, alias: str) -> tuple[RedisCache | None, bool]:
    """The app's Redis backend when it counts the rate limits (cache ``alias``),
    and whether the meter can be counted in the same call."""
    rate_cache = caches[alias]
    if not isinstance(rate_cache, RedisCache):
        return None, False
    return rate_cache, metered and rate_cache.can_meter_for(cache.get_cache())


def _count_step_by_step(raw: HttpRequest, windows: list[Window]) -> list[tuple[Window, int]]:
    """Count ``windows`` one at a time through django-ratelimit (any cache).

    Returns ``(window, count)`` up to the first refused one. Monthly windows,
    which django-ratelimit's fixed periods cannot express, use the same
    ``add`` + ``incr`` on the same cache.
    """
    counted: list[tuple[Window, int]] = []
    for window in windows:
        limit = window.limit
        try:
            if limit.period == MONTH:
                count = _count_month(window)
            else:
                usage = get_usage(
                    raw,
                    group=limit.group,
                    key=lambda _group, _request, value=limit.value: value,
                    rate=(limit.limit, limit.period),
                    increment=True,
                )
                if usage is None:  # RATELIMIT_ENABLE = False, or a failure while failing open
                    continue
                count = int(usage["count"]) if not usage["should_limit"] else limit.limit + 1
                window = Window(limit, window.counter, int(usage["time_left"]))
        except Exception as exc:  # the cache is unreachable (e.g. a Redis ConnectionError)
            raise _Unavailable from exc
        if count is None:
            continue
        counted.append((window, count))
        if count > limit.limit:
            break
    return counted


def _count_month(window: Window) -> int | None:
    """One monthly counter, the way django-ratelimit counts its windows."""
    rate_cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    counter = window.counter
    if rate_cache.add(counter.key, 1, counter.timeout):
        return 1
    try:
        return int(rate_cache.incr(counter.key))
    except ValueError:  # vanished in between: as django-ratelimit, fail open or refuse
        return None if getattr(settings, "RATELIMIT_FAIL_OPEN", False) else counter.limit + 1


def _count(
    api_key: AbstractAPIKey | Credential, raw: HttpRequest
) -> tuple[exceptions.RateLimited | None, dict[str, str] | None, bool]:
    """Count the limits of a request (and, when possible, its meter).

    Returns ``(refusal, headers, metered)``. Raises :class:`_Unavailable`.
    """
    limits = limits_for(api_key) if getattr(settings, "RATELIMIT_ENABLE", True) else []
    if limits and cache.cache_unavailable():
        raise _Unavailable
    # A key with a lifetime quota is metered after its quota is spent.
    meter_now = api_key.remaining_uses is None and apikeys_settings.METERING
    now, conf = time.time(), _rate_conf()
    windows = [window_for(limit, now, conf) for limit in limits]
    redis, single = _single_call_cache(
        meter_now and not cache.cache_unavailable(), conf.cache_alias
    )
    metered = False
    if redis is not None and (windows or single):
        meter = metering.meter_for(api_key.organization_id, api_key.pk) if single else None
        try:
            refused, counts = redis.count(
                [window.counter for window in windows], meter, meter_cache=cache.get_cache()
            )
        except Exception as exc:  # Redis unreachable, timed out, or refused the script
            raise _Unavailable from exc
        counted = list(zip(windows, counts, strict=False))
        metered = single and not refused
    else:
        counted = _count_step_by_step(raw, windows)
    tightest: tuple[int, int, int] | None = None  # (remaining, limit, reset)
    for window, count in counted:
        limit = window.limit
        if count > limit.limit:
            return _refusal(limit, window.reset), None, False
        remaining = limit.limit - count
        if tightest is None or remaining < tightest[0]:
            tightest = (remaining, limit.limit, window.reset)
    headers = _headers(tightest[1], tightest[0], tightest[2]) if tightest else None
    return None, headers, metered


def count_request(request: Request) -> exceptions.RateLimited | None:
    """Count every counter of ``request`` once: limits, lifetime quota, meter.

    Returns the refusal (not raised: the throttle returns ``False``), or
    ``None`` when the request is admitted. Raises
    :class:`~django_apikeys.exceptions.RateLimitUnavailable` when the cache
    cannot be reached and limits fail closed. The outcome is kept on the
    request: a second call returns it without counting again.
    """
    raw = request._request
    if hasattr(raw, COUNTED_ATTR):
        outcome: exceptions.RateLimited | None = getattr(raw, COUNTED_ATTR)
        return outcome
    api_key: AbstractAPIKey | Credential = request.auth  # type: ignore[assignment]
    try:
        refusal, headers, metered = _count(api_key, raw)
    except _Unavailable as exc:
        if exc.__cause__ is not None:
            cache.cache_failed()
            logger.error(
                "Rate-limit cache failed; RATELIMIT_FAIL_OPEN decides.", exc_info=exc.__cause__
            )
        if not getattr(settings, "RATELIMIT_FAIL_OPEN", False):
            unavailable = exceptions.RateLimitUnavailable(wait=RETRY_AFTER_UNAVAILABLE)
            exceptions.note_refusal(request, unavailable)
            raise unavailable from None
        refusal, headers, metered = None, None, True  # fail open: unlimited and unmetered
    if refusal is None and not isinstance(api_key, Credential):
        if api_key.remaining_uses is not None and not metering.consume_quota(api_key):
            refusal = exceptions.QuotaExhausted()
    if refusal is not None:
        setattr(raw, exceptions.THROTTLE_REFUSAL_ATTR, refusal)
        exceptions.note_refusal(request, refusal)  # usage analytics, whatever the handler
    else:
        if headers is not None:
            setattr(raw, HEADERS_ATTR, headers)
        if not metered:
            metering.record(api_key)  # type: ignore[arg-type]  # a Credential: per organization
        setattr(raw, exceptions.ADMITTED_ATTR, True)
    setattr(raw, COUNTED_ATTR, refusal)
    return refusal


class APIKeyRateThrottle(BaseThrottle):
    """Per-key and per-organization limits, quota and metering for the app's credentials.

    Add it to ``REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]``; requests
    authenticated by the app's credentials are counted even on views whose
    ``throttle_classes`` leave it out (:func:`require_counting`). DRF's
    contract: ``allow_request`` returns ``False`` when a limit or the
    lifetime quota refuses and ``wait()`` gives the seconds until the
    window resets (``None`` for a spent quota); the app's exception handler
    answers with the refusal's code and headers. The only exception it
    raises is the 503 ``rate_limit_unavailable`` of fail-closed limits.
    """

    model: type[AbstractAPIKey] = APIKey

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, (self.model, Credential)):
            return True
        refusal = count_request(request)
        if refusal is None:
            return True
        self._wait = refusal.wait
        return False

    def wait(self) -> float | None:
        return self._wait


def require_counting(request: Request, model: type[AbstractAPIKey] | None = None) -> None:
    """Make sure the view of ``request`` counts it (:class:`APIKeyRateThrottle`).

    Called by the authentication classes when they accept one of the app's
    credentials (``model``: the key model they authenticate). When the
    view's throttles (``get_throttles()``) include no
    :class:`APIKeyRateThrottle`, this request's view instance gets one
    appended: DRF then runs it at its throttle step, after the permission
    checks, beside the view's own throttles. Nothing changes for other
    requests or for the view class.
    """
    view = (getattr(request, "parser_context", None) or {}).get("view")
    if view is None or not hasattr(view, "get_throttles") or "get_throttles" in vars(view):
        return
    get_throttles = view.get_throttles

    def with_counting() -> list[BaseThrottle]:
        throttles = list(get_throttles())
        if not any(isinstance(throttle, APIKeyRateThrottle) for throttle in throttles):
            throttle = APIKeyRateThrottle()
            if model is not None:
                throttle.model = model
            throttles.append(throttle)
        return throttles

    view.get_throttles = with_counting
