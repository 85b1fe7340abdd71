"""The in-process tier of the lookup cache across processes: two gunicorn
servers (2 workers each), Redis and PostgreSQL. A change made in another
process (through the services, as the dashboard would) is refused by the very
next request to either server, although each worker holds the lookup in
memory and asks Redis nothing for it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from .conftest import Live

pytestmark = pytest.mark.live

PRODUCTS = "/api/v1/products"
REFUSED = {
    "revoke": (401, "key_revoked"),
    "change-role": (403, "insufficient_scope"),  # Editor -> Billing: no products scope
    "remove-member": (401, "key_revoked"),
    "deactivate-organization": (401, "organization_deactivated"),
}


def tier_helper(live: Live, *args: str) -> dict[str, Any]:
    return json.loads(live.run("-m", "tests.live.tier_helper", *args))  # type: ignore[no-any-return]


def _tracking_clients(live: Live) -> int:
    import redis

    client = redis.Redis.from_url(live.env["REDIS_URL"], socket_timeout=1)
    try:
        return sum("t" in c["flags"] for c in client.client_list())
    finally:
        client.close()


@pytest.mark.parametrize("change", list(REFUSED))
def test_a_change_in_one_process_is_refused_by_the_next_request_to_every_server(
    live: Live, change: str
) -> None:
    key = tier_helper(live, "make-user-key")
    # Every worker reads the key from Redis, then keeps it in memory. A worker
    # whose tracking connection broke (an earlier test restarted Redis) serves
    # from the shared cache until it reconnects (at most every few seconds).
    deadline = time.monotonic() + 15
    while True:
        for server in (0, 1) * 6:
            response = live.request(server, PRODUCTS, raw_key=key["raw"])
            assert response.status == 200, response.body[:300]
        if _tracking_clients(live) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert _tracking_clients(live) >= 2, "the workers should track their lookups"

    tier_helper(live, change, key["id"])

    after = [live.request(n % 2, PRODUCTS, raw_key=key["raw"]) for n in range(8)]
    refused = [(r.status, r.json()["code"]) for r in after]
    print(f"\n[live] tier on, {change} in another process: {refused}")
    assert refused == [REFUSED[change]] * 8
