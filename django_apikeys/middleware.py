"""Optional middleware: rate-limit headers on admitted responses.

``APIKeyRateThrottle`` answers refused requests (429) with
``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` itself. To send the same
headers on every response to a rate-limited key, add
``"django_apikeys.middleware.RateLimitHeadersMiddleware"`` to ``MIDDLEWARE``.
It also adds the warning header of a key accepted from the query string
(``APIKEYS["QUERY_KEY_WARNING_HEADER"]``), and counts refusals in the usage
analytics (:func:`django_apikeys.refusals.count`), whatever exception handler
the site runs.

Sync and async capable (Django's middleware contract): under ASGI it runs in
the event loop, and switches to a thread only to count a refusal (a 4xx
response), since counting talks to the cache.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse

from . import refusals

HEADERS_ATTR = "apikeys_rate_limit_headers"  # set by throttling.APIKeyRateThrottle
WARNING_HEADERS_ATTR = "apikeys_warning_headers"  # set by authentication.APIKeyAuthentication


class RateLimitHeadersMiddleware:
    """Copy the throttle's rate-limit headers onto the response (never overwriting)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            # Django then awaits __call__; the switch to __acall__ is in
            # __call__ so that the dunder methods stay as they are.
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.async_mode:
            return self.__acall__(request)
        response: HttpResponse = self.get_response(request)
        refusals.count(request, response)
        self.add_headers(request, response)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = await self.get_response(request)
        if 400 <= response.status_code < 500:
            await sync_to_async(refusals.count)(request, response)
        self.add_headers(request, response)
        return response

    def add_headers(self, request: HttpRequest, response: HttpResponse) -> None:
        """The one place both paths add headers to ``response``."""
        for attr in (HEADERS_ATTR, WARNING_HEADERS_ATTR):
            for name, value in getattr(request, attr, {}).items():
                if name not in response:
                    response[name] = value
