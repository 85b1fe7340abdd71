"""Cross-origin calls with a publishable key in a real Chromium.

A page served from another origin (a tiny HTTP server on another port) calls
the example API on the live server with a publishable key in the
``Authorization`` header, so Chromium sends a CORS pre-flight first. From the
key's allowed origin it works; from an origin no key allows, Chromium blocks
the call (``fetch`` rejects) whatever the server would have answered.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.cache import caches

from django_apikeys.cors.handlers import ORIGINS_CACHE_KEY
from tests.factories import OrganizationFactory, make_key

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE = b"<!doctype html><title>Shop</title><h1>Shop</h1>"

CALL = """async ([url, header, key]) => {
  try {
    const response = await fetch(url, {headers: {[header]: key}});
    return {status: response.status, body: await response.json()};
  } catch (error) {
    return {error: String(error)};
  }
}"""


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def shop_origins() -> Iterator[list[str]]:
    """Two static sites on 127.0.0.1 (the live server is on localhost)."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Page) for _ in range(2)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    yield [f"http://127.0.0.1:{s.server_address[1]}" for s in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_publishable_key_works_from_its_origin_and_is_blocked_elsewhere(
    page, live_server, shop_origins, header
):
    caches["default"].delete(ORIGINS_CACHE_KEY)
    allowed, other = shop_origins
    _, raw = make_key(
        OrganizationFactory(),
        "publishable",
        scopes=["products:read"],
        allowed_origins=[allowed],
    )
    url = f"{live_server.url}/api/v1/widget/products"
    value = f"Bearer {raw}" if header == "Authorization" else raw

    page.goto(allowed + "/")
    result = page.evaluate(CALL, [url, header, value])
    assert result == {"status": 200, "body": []}

    page.goto(other + "/")
    result = page.evaluate(CALL, [url, header, value])
    assert "error" in result and "Failed to fetch" in result["error"], result


def test_key_from_another_origin_is_refused_after_the_preflight(page, live_server, shop_origins):
    """The pre-flight passes for an origin *some* key allows; the request is
    then checked against *this* key's origins: 403, readable by the page."""
    caches["default"].delete(ORIGINS_CACHE_KEY)
    first, second = shop_origins
    org = OrganizationFactory()
    _, first_key = make_key(org, "publishable", scopes=["products:read"], allowed_origins=[first])
    make_key(org, "publishable", scopes=["products:read"], allowed_origins=[second])
    page.goto(second + "/")
    result = page.evaluate(
        CALL, [f"{live_server.url}/api/v1/widget/products", "Authorization", f"Bearer {first_key}"]
    )
    assert result["status"] == 403
    assert result["body"]["code"] == "origin_not_allowed"
