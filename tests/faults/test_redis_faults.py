"""Redis misbehaving under a real gunicorn server (2 workers) with the key-lookup
cache on: killed and restarted from its snapshot around a revocation, stopped
with SIGSTOP, down for the dashboard and the API. Each test prints what it
measured (``pytest -s``)."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid

import pytest

from .conftest import Faults

pytestmark = pytest.mark.live

ME = "/api/v1/me"
PRODUCTS = "/api/v1/products"
#: The documented socket timeout (example project settings) plus the request's own work.
ANSWER_WITHIN = 2.5


def test_revoked_while_redis_down_stays_revoked_after_restart_from_snapshot(
    faults: Faults,
) -> None:
    key = faults.helper("make-key", "snapshot")
    for _ in range(6):  # warm the lookup cache in both workers
        assert faults.request(0, ME, raw_key=key["raw"]).status == 200
    cached_before = faults.redis_keys("*apikeys:key:*")
    assert cached_before, "the key should be cached in Redis"

    faults.snapshot_and_kill_redis()  # the snapshot holds the warm entry
    faults.manage("revokeapikey", key["id"])  # its cache invalidation fails: Redis is down
    assert faults.helper("status", key["id"]) == {"status": "revoked"}
    faults.start_redis()  # back from the snapshot, the stale entry with it
    stale = set(faults.redis_keys("*apikeys:key:*")) & set(cached_before)

    after = [faults.request(0, ME, raw_key=key["raw"]) for _ in range(20)]
    admitted = sum(r.status == 200 for r in after)
    errors = sum(r.status >= 500 for r in after)
    print(
        f"\n[faults] Redis killed, key revoked, Redis restarted from its snapshot with "
        f"{len(stale)} stale cache entr(y/ies): {admitted} of {len(after)} requests admitted "
        f"with the revoked key, {errors} 5xx"
    )
    assert stale, "the restarted Redis should hold the stale entry (the fault under test)"
    assert admitted == 0 and errors == 0
    assert after[0].json()["code"] == "key_revoked"


def test_stopped_redis_answers_within_the_socket_timeout(faults: Faults) -> None:
    free = faults.helper("make-key", "sigstop-free")
    limited = faults.helper("make-key", "sigstop-limited", "--plan-per-minute", "6000")
    assert faults.request(0, ME, raw_key=free["raw"]).status == 200
    assert faults.request(0, ME, raw_key=limited["raw"]).status == 200
    assert faults.redis is not None
    os.kill(faults.redis.pid, signal.SIGSTOP)
    try:
        timings: list[tuple[int, float]] = []
        for n in range(8):
            raw = (free if n % 2 == 0 else limited)["raw"]
            response, elapsed = faults.timed(ME, raw_key=raw)
            timings.append((response.status, elapsed))
            if n % 2:
                assert response.status == 503, response.body[:300]
                assert response.json()["code"] == "rate_limit_unavailable"
                assert 1 <= int(response.headers["Retry-After"]) <= 60
            else:
                assert response.status == 200, response.body[:300]
    finally:
        os.kill(faults.redis.pid, signal.SIGCONT)
    slowest = max(t for _, t in timings)
    print(
        f"\n[faults] Redis stopped (SIGSTOP): {len(timings)} requests, statuses "
        f"{[s for s, _ in timings]}, slowest {slowest:.2f}s, "
        f"mean {sum(t for _, t in timings) / len(timings):.2f}s"
    )
    assert slowest < ANSWER_WITHIN


def test_redis_down_dashboard_keeps_working_and_api_says_why(faults: Faults) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    org = faults.helper("owner", "down", "owner-down", password)["org"]
    key = faults.helper("make-key", "down")
    limited = faults.helper("make-key", "down-limited", "--plan-per-minute", "6000")
    opener = faults.login("owner-down", password)
    faults.kill_redis()
    try:
        time.sleep(0.2)
        pages = [
            faults.request(0, f"/apikeys/{org}/keys/", opener=opener),
            faults.request(0, f"/apikeys/{org}/usage/", opener=opener),
        ]
        revoked = faults.submit(opener, f"/apikeys/{org}/keys/{key['id']}/revoke/", {})
        api = [faults.request(0, ME, raw_key=limited["raw"]) for _ in range(4)]
        statuses = [p.status for p in pages] + [revoked.status] + [r.status for r in api]
        print(
            f"\n[faults] Redis down: key list {pages[0].status}, usage {pages[1].status}, "
            f"revoke POST {revoked.status} (key now {faults.helper('status', key['id'])}), "
            f"plan-limited API {[r.status for r in api]}; 500s: "
            f"{sum(s >= 500 and s != 503 for s in statuses)}"
        )
        assert [p.status for p in pages] == [200, 200]
        assert revoked.status == 302, revoked.body[:500]
        assert faults.helper("status", key["id"]) == {"status": "revoked"}
        assert faults.request(0, ME, raw_key=key["raw"]).status == 401
        for response in api:
            assert response.status == 503
            body = response.json()
            assert body["code"] == "rate_limit_unavailable" and body["type"] == "RateLimitError"
            assert response.headers["Retry-After"] == "10"
    finally:
        faults.start_redis()


TIER_REFUSED = {
    "revoke": (401, "key_revoked"),
    "change-role": (403, "insufficient_scope"),  # Editor -> Billing: no products scope
    "remove-member": (401, "key_revoked"),
    "deactivate-organization": (401, "organization_deactivated"),
}


@pytest.mark.parametrize("restart", [False, True], ids=["redis-killed", "restarted-from-snapshot"])
@pytest.mark.parametrize("change", list(TIER_REFUSED))
def test_in_process_tier_a_change_while_redis_is_down_is_refused_next(
    faults: Faults, change: str, restart: bool
) -> None:
    """With the in-process tier on (each worker holds the lookup in memory and
    hears of changes from Redis): Redis is killed, the change is made (its
    invalidation is lost), and Redis stays down or comes back from a snapshot
    that holds the old entry. The next request is refused all the same."""
    key = json.loads(faults.run("-m", "tests.live.tier_helper", "make-user-key"))

    def tracking() -> int:
        client = faults.redis_client()
        try:
            return sum("t" in c["flags"] for c in client.client_list())
        finally:
            client.close()

    # After the previous test's Redis restart a worker tracks again within its
    # retry interval (5 s); warm until both workers do, then keep the entry.
    deadline = time.monotonic() + 20
    while tracking() < 2 and time.monotonic() < deadline:
        assert faults.request(0, PRODUCTS, raw_key=key["raw"]).status == 200
        time.sleep(0.2)
    assert tracking() >= 1, "the workers should track their lookups"
    for _ in range(8):  # both workers: read from Redis, then kept in memory
        assert faults.request(0, PRODUCTS, raw_key=key["raw"]).status == 200

    faults.snapshot_and_kill_redis()
    try:
        faults.run("-m", "tests.live.tier_helper", change, key["id"])
        if restart:
            faults.start_redis()  # the snapshot holds the entry from before the change
        after = [faults.request(0, PRODUCTS, raw_key=key["raw"]) for _ in range(8)]
    finally:
        if not restart:
            faults.start_redis()
    outcomes = [(r.status, r.json().get("code")) for r in after]
    print(f"\n[faults] tier on, {change}, Redis {'restarted' if restart else 'down'}: {outcomes}")
    assert outcomes == [TIER_REFUSED[change]] * 8
