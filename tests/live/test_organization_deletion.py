"""Deleting an organization through one server stops its keys on the next
request to every server (two gunicorn servers x 2 workers, the lookup cache
on Redis, PostgreSQL), and the purge command removes it from yet another
process."""

from __future__ import annotations

import json

import pytest

from .conftest import Live
from .test_cross_process import ME, _submit_form

pytestmark = pytest.mark.live


def test_deletion_through_one_server_stops_every_key_on_every_server(live: Live) -> None:
    password = "live-password-456"
    made = json.loads(live.run("-m", "tests.live.org_helper", "owner-with-keys", password))
    for _round in range(3):  # warm the lookup cache on both servers and their workers
        for server in (0, 1):
            for raw in made["keys"]:
                assert live.request(server, ME, raw_key=raw).status == 200

    owner = live.session()
    login = _submit_form(
        live, owner, "/accounts/login/", {"username": made["username"], "password": password}
    )
    assert login.status == 302, login.body[:500]
    deleted = _submit_form(
        live, owner, f"/apikeys/{made['org']}/delete/", {"confirmation": made["slug"]}
    )
    assert deleted.status == 302, deleted.body[:500]

    after = [live.request(n % 2, ME, raw_key=raw) for n in range(10) for raw in made["keys"]]
    admitted = sum(r.status == 200 for r in after)
    print(f"\n[live] requests admitted after deleting the organization (cache on): {admitted}")
    assert admitted == 0
    assert {(r.status, r.json()["code"]) for r in after} == {(401, "organization_deactivated")}
    state = json.loads(live.run("-m", "tests.live.org_helper", "state", made["org"]))
    assert state == {"exists": True, "active": False, "keys": 2}
    # The dashboard no longer shows it to its Owner.
    assert live.request(1, f"/apikeys/{made['org']}/", opener=owner).status == 404

    # Past the retention period, the purge (a cron job's process) removes it.
    live.run("-m", "tests.live.org_helper", "backdate-deletion", made["org"])
    out = live.manage("purgeorganizations")
    assert f"Purged: {made['slug']}" in out
    assert "0 organization(s) purged" in live.manage("purgeorganizations")
    state = json.loads(live.run("-m", "tests.live.org_helper", "state", made["org"]))
    assert state == {"exists": False}
    for server in (0, 1):
        response = live.request(server, ME, raw_key=made["keys"][0])
        assert (response.status, response.json()["code"]) == (401, "invalid_key")
