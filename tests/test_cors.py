"""CORS for browser keys (django_apikeys.cors on django-cors-headers).

A pre-flight to a route that accepts publishable keys is CORS-enabled for an
origin that some active publishable key lists; the actual request is then
checked against *its* key's ``allowed_origins``.
"""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.core.checks import run_checks
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_apikeys.cors import handlers
from django_apikeys.services import revoke_key
from tests.factories import bearer, make_key

pytestmark = pytest.mark.django_db(transaction=True)

SHOP = "https://shop.example"
EVIL = "https://evil.example"
PRODUCTS = "/api/v1/widget/products"  # browser_types: publishable and server keys
CLIENTS = "/api/v1/clients"  # server_types: no publishable key


@pytest.fixture(autouse=True)
def fresh_origins():
    caches["default"].delete(handlers.ORIGINS_CACHE_KEY)
    yield
    caches["default"].delete(handlers.ORIGINS_CACHE_KEY)


def preflight(client, path, origin, headers="authorization"):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


def shop_key(**kwargs):
    return make_key(
        key_type="publishable", scopes=["products:read"], allowed_origins=[SHOP], **kwargs
    )


def test_preflight_passes_for_an_origin_a_publishable_key_allows(client):
    shop_key()
    response = preflight(client, PRODUCTS, SHOP, "authorization, x-api-key")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SHOP
    allowed_headers = response["Access-Control-Allow-Headers"].split(", ")
    assert {"authorization", "x-api-key"} <= set(allowed_headers)
    assert "Access-Control-Allow-Credentials" not in response  # keys, not cookies


def test_preflight_gets_no_cors_headers_for_other_origins_and_routes(client):
    shop_key()
    assert "Access-Control-Allow-Origin" not in preflight(client, PRODUCTS, EVIL)
    # A route that takes no publishable key, and one that is not a DRF view.
    assert "Access-Control-Allow-Origin" not in preflight(client, CLIENTS, SHOP)
    assert "Access-Control-Allow-Origin" not in preflight(client, "/apikeys/", SHOP)
    assert "Access-Control-Allow-Origin" not in preflight(client, "/no/such/page", SHOP)


def test_keys_that_open_nothing(client):
    # A revoked key, a server key and an unrestricted publishable key open no origin.
    api_key, _ = shop_key()
    revoke_key(api_key)
    make_key(api_key.organization, "server", allowed_origins=[EVIL])
    make_key(api_key.organization, "publishable", scopes=["products:read"])
    for origin in (SHOP, EVIL):
        assert "Access-Control-Allow-Origin" not in preflight(client, PRODUCTS, origin)


def test_actual_request_is_checked_against_its_own_keys_origins(client):
    _, shop_raw = shop_key()
    make_key(key_type="publishable", scopes=["products:read"], allowed_origins=[EVIL])
    ok = client.get(PRODUCTS, HTTP_ORIGIN=SHOP, **bearer(shop_raw))
    assert ok.status_code == 200
    assert ok["Access-Control-Allow-Origin"] == SHOP
    assert "X-RateLimit-Remaining" in ok["Access-Control-Expose-Headers"]
    # EVIL passes CORS (another key lists it) but this key does not allow it.
    refused = client.get(PRODUCTS, HTTP_ORIGIN=EVIL, **bearer(shop_raw))
    assert (refused.status_code, refused.json()["code"]) == (403, "origin_not_allowed")
    assert refused["Access-Control-Allow-Origin"] == EVIL  # the page can read why


def test_origin_set_is_cached_and_dropped_when_a_publishable_key_changes(client):
    api_key, _ = shop_key()
    preflight(client, PRODUCTS, SHOP)  # loads the set
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert preflight(client, PRODUCTS, SHOP)["Access-Control-Allow-Origin"] == SHOP
    assert len(queries) == 0
    # A new key's origin works at once, and a revoked key's origin stops.
    make_key(api_key.organization, "publishable", scopes=["products:read"], allowed_origins=[EVIL])
    assert preflight(client, PRODUCTS, EVIL)["Access-Control-Allow-Origin"] == EVIL
    revoke_key(api_key)
    assert "Access-Control-Allow-Origin" not in preflight(client, PRODUCTS, SHOP)


def test_one_query_per_key_model_on_a_cache_miss():
    shop_key()
    with CaptureQueriesContext(connection) as queries:
        assert handlers.browser_origins() == frozenset({SHOP})
    assert len(queries) == len(handlers.key_models())


def test_route_decision_follows_the_settings(client, settings):
    shop_key()
    assert preflight(client, PRODUCTS, SHOP)["Access-Control-Allow-Origin"] == SHOP
    settings.EXAMPLE_API = {"browser_types": ["server"]}  # the route stops taking them
    assert "Access-Control-Allow-Origin" not in preflight(client, PRODUCTS, SHOP)


def test_origin_set_without_publishable_key_types(settings):
    settings.APIKEYS = {"KEY_TYPES": {"server": {"prefix": "sk"}}}
    assert handlers.load_browser_origins() == frozenset()


@pytest.mark.parametrize(
    ("change", "check_id"),
    [
        (lambda s: s.MIDDLEWARE.remove("corsheaders.middleware.CorsMiddleware"), "E001"),
        (
            lambda s: s.MIDDLEWARE.append(
                s.MIDDLEWARE.pop(s.MIDDLEWARE.index("corsheaders.middleware.CorsMiddleware"))
            ),
            "W001",
        ),
        (lambda s: setattr(s, "CORS_ALLOW_HEADERS", ["authorization"]), "W002"),
    ],
)
def test_system_checks(settings, change, check_id):
    settings.MIDDLEWARE = list(settings.MIDDLEWARE)
    assert not [m for m in run_checks() if m.id.startswith("django_apikeys_cors.")]
    change(settings)
    ids = [m.id for m in run_checks() if m.id.startswith("django_apikeys_cors.")]
    assert ids == [f"django_apikeys_cors.{check_id}"]
