"""Session writes to the management API share the dashboard's POST budget.

Keys are limited and metered by the site's throttles
(:class:`~django_apikeys.throttling.APIKeyRateThrottle`); a session user is
not, so their writes count in django-ratelimit's ``django_apikeys.dashboard``
group, ``DASHBOARD_POST_RATE`` per user: a browser script cannot create keys
through the API faster than through the dashboard.
"""

from __future__ import annotations

from typing import Any

from django_ratelimit import ALL
from django_ratelimit.core import get_usage
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from .. import exceptions
from ..dashboard.mixins import DASHBOARD_POST_RATE
from ..models import APIKey

DASHBOARD_GROUP = "django_apikeys.dashboard"


class SessionWriteThrottle(BaseThrottle):
    """429 ``rate_limited`` once a session user exceeds ``DASHBOARD_POST_RATE``
    writes (API and dashboard POSTs together). DRF's contract: ``allow_request``
    returns ``False`` and ``wait()`` answers; the refusal is kept on the request
    for the app's exception handler (``THROTTLE_REFUSAL_ATTR``)."""

    #: Tells :class:`django_apikeys.openapi.AutoSchema` to document the 429.
    documents_rate_limit = True

    def __init__(self) -> None:
        self._wait: float | None = None

    def wait(self) -> float | None:
        return self._wait

    def allow_request(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, APIKey) or request.method in SAFE_METHODS:
            return True
        usage = get_usage(
            request._request,
            group=DASHBOARD_GROUP,
            key="user_or_ip",
            rate=DASHBOARD_POST_RATE,
            method=ALL,
            increment=True,
        )
        if usage is not None and usage["should_limit"]:
            refusal = exceptions.RateLimited(wait=max(int(usage["time_left"]), 1))
            setattr(request._request, exceptions.THROTTLE_REFUSAL_ATTR, refusal)
            self._wait = refusal.wait
            return False
        return True
