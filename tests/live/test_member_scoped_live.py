"""A member-scoped user key across two gunicorn servers (2 workers each) with
the lookup cache on: removing its owner from an organization refuses the very
next request there in every process, while the key keeps working at home."""

from __future__ import annotations

import pytest

from .conftest import Live

pytestmark = pytest.mark.live

ME = "/api/v1/me"


def test_membership_removal_refuses_at_once_in_every_process(live: Live) -> None:
    key = live.helper("member-key")
    there = {"X-Organization": key["other"]}
    for server in (0, 1) * 4:  # warm the lookup cache in both servers, every worker
        response = live.request(server, ME, raw_key=key["raw"], headers=there)
        assert response.status == 200, response.body
        assert response.json()["organization"] == key["other"]
    live.helper("remove-member", str(key["there"]))
    for server in (0, 1) * 4:
        refused = live.request(server, ME, raw_key=key["raw"], headers=there)
        assert refused.status == 403, (server, refused.body)
        assert refused.json()["code"] == "organization_mismatch"
        home = live.request(server, ME, raw_key=key["raw"])
        assert home.status == 200 and home.json()["organization"] == key["home"]
