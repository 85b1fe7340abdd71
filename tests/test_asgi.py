"""The pipeline under ASGI (Django's AsyncClient runs the async handler):
the middleware runs in async mode and adds the same headers; CORS works."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient

from django_apikeys.cors import handlers
from django_apikeys.middleware import RateLimitHeadersMiddleware
from tests.factories import make_key

pytestmark = pytest.mark.django_db(transaction=True)


def test_middleware_is_sync_and_async_capable():
    async def async_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    def sync_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    assert RateLimitHeadersMiddleware.sync_capable and RateLimitHeadersMiddleware.async_capable
    assert iscoroutinefunction(RateLimitHeadersMiddleware(async_view))
    assert not iscoroutinefunction(RateLimitHeadersMiddleware(sync_view))
    request = HttpRequest()
    request.apikeys_rate_limit_headers = {"X-RateLimit-Limit": "5"}  # type: ignore[attr-defined]
    response = async_to_sync(RateLimitHeadersMiddleware(async_view))(request)
    assert response["X-RateLimit-Limit"] == "5"


def test_key_request_refusal_and_rate_limit_headers_under_asgi():
    _, raw = make_key(rate_limit_per_minute=2)
    client = AsyncClient()
    auth = {"Authorization": f"Bearer {raw}"}

    async def run() -> list[HttpResponse]:
        return [await client.get("/api/v1/me", headers=auth) for _ in range(3)] + [
            await client.get("/api/v1/me")
        ]

    first, second, third, anonymous = async_to_sync(run)()
    assert (first.status_code, second.status_code) == (200, 200)
    assert first["X-RateLimit-Limit"] == "2" and second["X-RateLimit-Remaining"] == "0"
    assert (third.status_code, third.json()["code"]) == (429, "rate_limited")
    assert "Retry-After" in third
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")


def test_cors_preflight_under_asgi_loads_origins_outside_the_event_loop():
    caches["default"].delete(handlers.ORIGINS_CACHE_KEY)
    make_key(
        key_type="publishable", scopes=["products:read"], allowed_origins=["https://shop.example"]
    )
    client = AsyncClient()

    async def run() -> HttpResponse:
        return await client.options(
            "/api/v1/widget/products",
            headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"},
        )

    response = async_to_sync(run)()
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
