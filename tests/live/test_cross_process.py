"""Cross-process behaviour with two gunicorn servers (2 workers each), one Redis
and one PostgreSQL database: rate limits, revocation with the lookup cache on,
and metering totals. Bounded in requests and time; measured figures are
printed (``pytest -s``) for the report and docs/performance."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest

from .conftest import ROOT, Live, Response

pytestmark = pytest.mark.live

LIMIT = 20
BURST = 80
THREADS = 16
ME = "/api/v1/me"


def _burst(live: Live, raw_key: str, count: int, threads: int = THREADS) -> list:
    """``count`` requests spread over both servers by ``threads`` concurrent clients."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda n: live.request(n % 2, ME, raw_key=raw_key), range(count)))


def _submit_form(live: Live, opener, path: str, fields: dict[str, str]) -> Response:
    """GET ``path`` on server 0 for its CSRF token, then POST ``fields`` to it."""
    page = live.request(0, path, opener=opener)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    assert token, page.body[:500]
    data = urlencode({"csrfmiddlewaretoken": token.group(1).decode(), **fields}).encode()
    return live.request(0, path, opener=opener, data=data)


def test_rate_limit_admits_exactly_n_across_processes(live: Live) -> None:
    key = live.helper("make-key", "--per-minute", str(LIMIT))
    probe = live.request(0, ME, raw_key=key["raw"])
    assert probe.status == 200
    assert probe.headers["X-RateLimit-Limit"] == str(LIMIT)
    expected = int(probe.headers["X-RateLimit-Remaining"])
    reset = int(probe.headers["X-RateLimit-Reset"])
    if reset < 15:  # too close to the end of the window: start the burst in a fresh one
        time.sleep(reset + 1.5)
        expected = LIMIT
    started = time.monotonic()
    responses = _burst(live, key["raw"], BURST)
    elapsed = time.monotonic() - started
    admitted = [r for r in responses if r.status == 200]
    refused = [r for r in responses if r.status == 429]
    in_window = LIMIT - expected + len(admitted)  # the probe, if it fell in this window
    print(
        f"\n[live] limit {LIMIT}/min, {BURST} requests from {THREADS} clients over 2 servers "
        f"x 2 workers in {elapsed:.2f}s: admitted {len(admitted)} (expected {expected}), "
        f"refused {len(refused)}; admitted in the window: {in_window} of {LIMIT}"
    )
    assert len(admitted) + len(refused) == BURST
    assert len(admitted) == expected
    assert in_window == LIMIT
    for response in refused:
        assert response.json()["code"] == "rate_limited"
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert response.headers["X-RateLimit-Remaining"] == "0"
    remaining = sorted(int(r.headers["X-RateLimit-Remaining"]) for r in admitted)
    assert remaining == list(range(expected))  # each admitted request saw its own count


def test_revocation_through_one_server_is_seen_by_the_next_request_to_the_other(
    live: Live,
) -> None:
    key = live.helper("make-key")
    password = "live-password-123"
    live.helper("superuser", password)
    for server in (0, 1, 0, 1, 0, 1):  # warm the lookup cache (both servers, all workers)
        assert live.request(server, ME, raw_key=key["raw"]).status == 200

    admin = live.session()
    login = _submit_form(
        live, admin, "/admin/login/", {"username": "live-admin", "password": password}
    )
    assert login.status == 302, login.body[:500]
    revoked = _submit_form(
        live,
        admin,
        "/admin/django_apikeys/apikey/",
        {"action": "revoke_keys", "index": "0", "_selected_action": key["id"]},
    )
    assert revoked.status == 302, revoked.body[:500]
    assert live.helper("status", key["id"]) == {"status": "revoked"}

    after = [live.request(1, ME, raw_key=key["raw"]) for _ in range(10)]
    after += [live.request(0, ME, raw_key=key["raw"]) for _ in range(10)]
    admitted_after_revoke = sum(r.status == 200 for r in after)
    print(f"\n[live] requests admitted after revocation (cache on): {admitted_after_revoke}")
    assert after[0].status == 401 and after[0].json()["code"] == "key_revoked"
    assert admitted_after_revoke == 0


def test_revocation_from_a_command_process(live: Live) -> None:
    key = live.helper("make-key")
    for server in (0, 1, 0, 1):
        assert live.request(server, ME, raw_key=key["raw"]).status == 200
    live.manage("revokeapikey", key["id"])
    assert [live.request(n % 2, ME, raw_key=key["raw"]).status for n in range(6)] == [401] * 6


def test_metering_totals_equal_requests_sent(live: Live) -> None:
    """Admitted requests and refusals (a revoked key) sent to both servers while
    flushes run in their own processes: every one counted exactly once."""
    key = live.helper("make-key")
    revoked = live.helper("make-key")
    live.manage("revokeapikey", revoked["id"])
    total, refused, flushes = 0, 0, []
    command = [sys.executable, str(ROOT / "example_project" / "manage.py"), "flushusage", "--wait"]
    for round_ in range(8):
        if round_ % 2 == 0:  # flushes run in their own processes while requests are counted
            flushes.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=live.env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
        responses = _burst(live, key["raw"], 30, threads=8)
        assert all(r.status == 200 for r in responses)
        total += len(responses)
        refusals = _burst(live, revoked["raw"], 10, threads=4)
        assert all(r.status == 401 for r in refusals)
        refused += len(refusals)
        time.sleep(0.3)
    for process in flushes:
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    before_final = live.helper("usage", key["id"])
    assert before_final["daily_usage"] == total  # exact before the last flush, too
    assert before_final["outcomes"] == {"admitted": total}
    refused_before = live.helper("usage", revoked["id"])
    assert refused_before["outcomes"] == {"key_revoked": refused}
    live.manage("flushusage", "--wait")
    usage = live.helper("usage", key["id"])
    refusal_usage = live.helper("usage", revoked["id"])
    print(
        f"\n[live] metering: sent {total}, flushed {usage['flushed']}, "
        f"daily_usage {usage['daily_usage']} (before final flush: {before_final}); "
        f"refused {refused}, flushed {refusal_usage['flushed_outcomes']} "
        f"(before final flush: {refused_before['outcomes']})"
    )
    assert usage == {
        "flushed": total,
        "daily_usage": total,
        "outcomes": {"admitted": total},
        "flushed_outcomes": {"admitted": total},
    }
    assert refusal_usage["outcomes"] == {"key_revoked": refused}
    assert refusal_usage["flushed_outcomes"] == {"key_revoked": refused}
