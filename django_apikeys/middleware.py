"""Optional middleware: rate-limit headers on admitted responses.

``APIKeyRateThrottle`` answers refused requests (429) with
``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` itself. To send the same
headers on every response to a rate-limited key, add
``"django_apikeys.middleware.RateLimitHeadersMiddleware"`` to ``MIDDLEWARE``.
It also adds the warning header of a key accepted from the query string
(``APIKEYS["QUERY_KEY_WARNING_HEADER"]``), and counts refusals in the usage
analytics (:func:`django_apikeys.refusals.count`), whatever exception handler
the site runs.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import refusals

HEADERS_ATTR = "apikeys_rate_limit_headers"  # set by throttling.APIKeyRateThrottle
WARNING_HEADERS_ATTR = "apikeys_warning_headers"  # set by authentication.APIKeyAuthentication


class RateLimitHeadersMiddleware:
    """Copy the throttle's rate-limit headers onto the response (never overwriting)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        refusals.count(request, response)
        for attr in (HEADERS_ATTR, WARNING_HEADERS_ATTR):
            for name, value in getattr(request, attr, {}).items():
                if name not in response:
                    response[name] = value
        return response
