"""Every lifecycle event holds in every process even when Redis missed it: two
gunicorn servers (2 workers each), the lookup cache on Redis, PostgreSQL.

For each event: both servers cache an organization key and a user key; Redis
writes its RDB snapshot and is killed (``kill -9``); another process makes the
change (its on-commit invalidation fails: Redis is down); Redis is restarted
from the snapshot, the stale entries with it. After the outbox poll interval
the next requests to both servers are refused, or bounded by the new role or
plan, never admitted as before. Each test prints what it measured
(``pytest -s``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from django_apikeys.cache import OUTBOX_POLL_INTERVAL

from .conftest import Live, _stop, _wait_for
from .lifecycle_helper import EVENTS

pytestmark = pytest.mark.live

#: (credential, event) -> status of the next request where it is not 401.
EXPECTED = {
    # An organization key belongs to the organization; its creator's account
    # and membership bound what it may manage.
    ("server", "deactivate_user"): 403,
    ("server", "remove_member"): 403,
    ("server", "demote"): 403,
    ("user", "demote"): 403,
    ("server", "plan_change"): 403,
    ("user", "plan_change"): 403,
}


# --- Redis, killed and restarted from its snapshot ---------------------------------


def _redis_client(live: Live) -> Any:
    import redis

    return redis.Redis.from_url(live.env["REDIS_URL"], socket_timeout=1, socket_connect_timeout=1)


def _redis_process(live: Live) -> subprocess.Popen[bytes]:
    for process in live.processes:
        if "redis-server" in str(process.args[0]) and process.poll() is None:
            return process
    raise AssertionError("the live harness runs no redis-server")


def _snapshot_and_kill_redis(live: Live) -> None:
    client = _redis_client(live)
    client.save()  # the RDB file a periodic save would have written
    client.close()
    process = _redis_process(live)
    process.kill()
    process.wait(timeout=10)


def _restart_redis_from_snapshot(live: Live) -> None:
    """Start redis-server on the same port and directory: it loads the snapshot.
    Replaces the killed process in the harness, whose finalizer stops it."""
    killed = next(p for p in live.processes if "redis-server" in str(p.args[0]))
    port = str(urlsplit(live.env["REDIS_URL"]).port)
    process = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            port,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(live.tmp),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    live.processes[live.processes.index(killed)] = process
    try:
        _wait_for(lambda: _redis_client(live).ping(), "redis-server (restarted)")
    except RuntimeError:
        _stop(process)
        raise


def _cached_entries(live: Live) -> set[bytes]:
    client = _redis_client(live)
    try:
        return set(client.scan_iter("*apikeys:key:*"))
    finally:
        client.close()


# --- the scene --------------------------------------------------------------------------


def _helper(live: Live, *args: str) -> dict[str, Any]:
    return json.loads(live.run("-m", "tests.live.lifecycle_helper", *args))  # type: ignore[no-any-return]


def _probe(live: Live, server: int, scene: dict[str, Any], kind: str, event: str) -> Any:
    """The next request of the ``kind`` key (see ``tests.live.lifecycle_helper``)."""
    if event == "plan_change":
        path = "/api/v1/reports"
    elif kind == "server":  # acts for its creator in the management API
        path = f"/api/manage/organizations/{scene['org']}/members/"
    else:
        path = f"/api/v1/orgs/{scene['org']}/members"
    return live.request(server, path, raw_key=scene[kind]["raw"])


@pytest.mark.parametrize("event", EVENTS)
def test_event_holds_in_every_process_when_redis_restarts_from_an_older_snapshot(
    live: Live, event: str
) -> None:
    scene = _helper(live, "scene")
    before_entries = _cached_entries(live)
    for _round in range(4):  # both servers, both workers each
        for server in (0, 1):
            for kind in ("server", "user"):
                response = _probe(live, server, scene, kind, event)
                assert response.status == 200, (kind, response.body[:300])
    warm = _cached_entries(live) - before_entries
    assert warm, "the keys should be cached in Redis"

    _snapshot_and_kill_redis(live)
    _helper(live, "event", event, json.dumps(scene))  # its invalidation fails: Redis is down
    _restart_redis_from_snapshot(live)
    stale = _cached_entries(live) & warm
    assert stale, "the restarted Redis should hold the stale entries (the fault under test)"
    time.sleep(OUTBOX_POLL_INTERVAL + 0.2)  # the bound: every process reads the outbox again

    report = []
    for kind in ("server", "user"):
        after = [_probe(live, n % 2, scene, kind, event) for n in range(10)]
        expected = EXPECTED.get((kind, event), 401)
        admitted = sum(r.status == 200 for r in after)
        report.append(f"{kind} key {admitted}/{len(after)} admitted")
        assert {r.status for r in after} == {expected}, (kind, [r.body[:200] for r in after])
    measured = ", ".join(report)
    print(f"\n[live] {event}, Redis back from a snapshot ({len(stale)} stale): {measured}")
