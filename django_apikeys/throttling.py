"""The last step of the pipeline (``docs/architecture.rst``): rate limits,
lifetime quotas and metering.

``APIKeyRateThrottle`` is a DRF throttle built on django-ratelimit's core
(:func:`django_ratelimit.core.get_usage`), so the counting happens in the
cache named by ``settings.RATELIMIT_USE_CACHE`` (default ``"default"``): a
shared cache such as Redis makes the limits hold across processes and
machines; the embedded LocMemCache counts per process (system check
``django_apikeys.W001`` warns about that).

For a request authenticated by an API key, in this order:

1. **Per-key limits**, per minute and per day. The effective limit is the
   key's own ``rate_limit_per_minute`` / ``rate_limit_per_day`` if > 0, else
   its key type's, else ``APIKEYS["DEFAULT_RATE_LIMIT_PER_MINUTE"]`` /
   ``["DEFAULT_RATE_LIMIT_PER_DAY"]``; 0 everywhere means unlimited.
2. **Per-organization limits** from the organization's plan (0 = unlimited).
3. **Lifetime quota**: keys with ``remaining_uses`` (set from the key type's
   ``lifetime_quota``) spend one use with a conditional UPDATE.
4. **Metering**: one cache increment (:mod:`django_apikeys.metering`).

A refused request raises ``RateLimited`` (429 ``rate_limited`` with
``Retry-After`` and ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset``) or
``QuotaExhausted`` (429 ``quota_exhausted``). Requests not authenticated by
an API key or another :class:`~django_apikeys.credentials.Credential` (OAuth
access tokens: limited per app and per organization, metered per
organization) pass through unlimited and unmetered (session users).

When the cache cannot be reached (refused, timed out), django-ratelimit's
``RATELIMIT_FAIL_OPEN`` setting decides: true, the request passes unlimited
(and unmetered); false (the default), it is answered 503
``rate_limit_unavailable`` with ``Retry-After`` — never a 429 that blames the
client. After a failure a process leaves the cache alone for
``cache.CACHE_RETRY_INTERVAL`` seconds, so a hung Redis costs one socket
timeout per process per interval, not one per request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django_ratelimit.core import get_usage
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from . import cache, exceptions, metering
from .abstract import AbstractAPIKey
from .conf import apikeys_settings
from .credentials import Credential
from .middleware import HEADERS_ATTR
from .models import APIKey

if TYPE_CHECKING:
    from .models import Organization

__all__ = [
    "HEADERS_ATTR",
    "APIKeyRateThrottle",
    "Limit",
    "effective_key_limits",
    "limits_for",
    "organization_limits",
]

logger = logging.getLogger("django_apikeys")

MINUTE = 60
DAY = 24 * 60 * 60
#: ``Retry-After`` of a 503 ``rate_limit_unavailable``: a little longer than a
#: process leaves a failed cache alone (cache.CACHE_RETRY_INTERVAL).
RETRY_AFTER_UNAVAILABLE = 10

_SCOPE_LABELS = {
    "key": _("this API key"),
    "client": _("this client application"),
    "organization": _("this organization"),
}
_PERIOD_LABELS = {MINUTE: _("minute"), DAY: _("day")}


@dataclass(frozen=True)
class Limit:
    """One limit to enforce: ``limit`` requests per ``period`` seconds for ``value``."""

    scope: str  # "key", "client" (a Credential such as an OAuth app) or "organization"
    value: str  # what is counted: the key's or the organization's id
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


def organization_limits(organization: Organization) -> tuple[int, int]:
    """``(per_minute, per_day)`` from the organization's plan; ``(0, 0)`` without a plan."""
    plan = organization.plan
    if plan is None:
        return 0, 0
    return int(plan.rate_limit_per_minute or 0), int(plan.rate_limit_per_day or 0)


def limits_for(api_key: AbstractAPIKey | Credential) -> list[Limit]:
    """The limits that apply to a request with ``api_key``, shortest window first.

    Order matters: a request refused by the per-minute limit does not spend
    the per-day allowance. A :class:`~django_apikeys.credentials.Credential`
    is counted by its ``rate_limit_key`` (an OAuth app: per app) with its own
    limits, else the global defaults.
    """
    scope = "key"
    if isinstance(api_key, Credential):
        conf = apikeys_settings
        scope, key_id = "client", api_key.rate_limit_key
        key_minute = _first_positive(
            api_key.rate_limit_per_minute, conf.DEFAULT_RATE_LIMIT_PER_MINUTE
        )
        key_day = _first_positive(api_key.rate_limit_per_day, conf.DEFAULT_RATE_LIMIT_PER_DAY)
    else:
        key_minute, key_day = effective_key_limits(api_key)
        key_id = str(api_key.pk)
    org_minute, org_day = organization_limits(api_key.organization)
    org_id = str(api_key.organization_id)
    candidates = [
        Limit(scope, key_id, key_minute, MINUTE),
        Limit("organization", org_id, org_minute, MINUTE),
        Limit(scope, key_id, key_day, DAY),
        Limit("organization", org_id, org_day, DAY),
    ]
    return [limit for limit in candidates if limit.limit > 0]


def _headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(remaining, 0)),
        "X-RateLimit-Reset": str(max(reset, 0)),
    }


class APIKeyRateThrottle(BaseThrottle):
    """Per-key and per-organization limits, quota and metering for API keys.

    Add it to ``REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]`` (or a view's
    ``throttle_classes``). ``allow_request`` raises the 429 itself so that
    the response carries this app's code and headers; it never returns
    ``False``.
    """

    model: type[AbstractAPIKey] = APIKey

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return self._allow_request(request, view)
        except exceptions.RateLimited as error:  # usage analytics count it after the response
            exceptions.note_refusal(request, error)
            raise

    def _allow_request(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, (self.model, Credential)):
            return True
        raw = request._request
        tightest: tuple[int, int, int] | None = None  # (remaining, limit, reset)
        limits = limits_for(api_key)
        if limits and cache.cache_unavailable():
            return self._cache_unavailable(api_key)
        for limit in limits:
            try:
                usage = get_usage(
                    raw,
                    group=limit.group,
                    key=lambda _group, _request, value=limit.value: value,
                    rate=(limit.limit, limit.period),
                    increment=True,
                )
            except Exception:  # the cache is unreachable (e.g. a Redis ConnectionError)
                cache.cache_failed()
                logger.exception("Rate-limit cache failed; RATELIMIT_FAIL_OPEN decides.")
                return self._cache_unavailable(api_key)
            if usage is None:  # RATELIMIT_ENABLE = False
                continue
            reset = int(usage["time_left"])
            remaining = limit.limit - int(usage["count"])
            if usage["should_limit"]:
                raise exceptions.RateLimited(
                    wait=max(reset, 1),
                    detail=_("Rate limit exceeded: %(limit)d requests per %(period)s for %(who)s.")
                    % {
                        "limit": limit.limit,
                        "period": _PERIOD_LABELS[limit.period],
                        "who": _SCOPE_LABELS[limit.scope],
                    },
                    headers=_headers(limit.limit, 0, max(reset, 1)),
                )
            if tightest is None or remaining < tightest[0]:
                tightest = (remaining, limit.limit, reset)
        if tightest is not None:
            setattr(raw, HEADERS_ATTR, _headers(tightest[1], tightest[0], tightest[2]))
        if isinstance(api_key, Credential):
            metering.record(api_key)  # type: ignore[arg-type]  # pk None: per organization
            setattr(raw, exceptions.ADMITTED_ATTR, True)
            return True
        if api_key.remaining_uses is not None and not metering.consume_quota(api_key):
            raise exceptions.QuotaExhausted()
        metering.record(api_key)
        setattr(raw, exceptions.ADMITTED_ATTR, True)
        return True

    def _cache_unavailable(self, api_key: AbstractAPIKey | Credential) -> bool:
        """Limits cannot be counted: pass (fail open) or answer 503 (fail closed)."""
        if not getattr(settings, "RATELIMIT_FAIL_OPEN", False):
            raise exceptions.RateLimitUnavailable(wait=RETRY_AFTER_UNAVAILABLE)
        if (
            isinstance(api_key, APIKey)
            and api_key.remaining_uses is not None
            and not metering.consume_quota(api_key)
        ):
            raise exceptions.QuotaExhausted()  # the quota lives in the database
        return True
