"""Through the management API the raw key appears in exactly one response —
the create or roll that made it — and nowhere else afterwards: not in any
later response (detail, list, audit), the database, the logs, a header or the
session."""

from __future__ import annotations

import logging

import pytest
from rest_framework.test import APIClient

from django_apikeys.api.permissions import MANAGEMENT_SCOPES
from tests.factories import MembershipFactory, UserFactory, make_key, role
from tests.test_raw_key_nowhere import KEY_RE, dump_database

pytestmark = pytest.mark.django_db(transaction=True)


def test_raw_key_only_in_the_create_and_roll_responses(caplog):
    caplog.set_level(logging.DEBUG)
    membership = MembershipFactory(role=role("Owner"))
    org = membership.organization
    base = f"/api/manage/organizations/{org.pk}/"
    session = APIClient()
    session.force_login(membership.user)
    _key, manager_raw = make_key(
        org, "user", user=membership.user, created_by=membership.user, scopes=["*"]
    )
    keyed = APIClient()
    keyed.credentials(HTTP_AUTHORIZATION=f"Bearer {manager_raw}")

    bodies: list[str] = []
    raws: list[str] = []
    for client, key_type in ((session, "server"), (keyed, "user"), (keyed, "publishable")):
        response = client.post(
            base + "keys/",
            {"name": key_type, "key_type": key_type, "scopes": MANAGEMENT_SCOPES[:1]},
            format="json",
        )
        assert response.status_code == 201, response.content
        assert response["Cache-Control"].startswith("no-store")
        raws.append(response.json()["key"])
        rolled = client.post(base + f"keys/{response.json()['id']}/roll/", {}, format="json")
        assert rolled.status_code == 201 and "no-store" in rolled["Cache-Control"]
        raws.append(rolled.json()["key"])
    assert len(set(raws)) == 6 and all(KEY_RE.fullmatch(raw) for raw in raws)

    # Everything else the API answers: no raw key anywhere.
    UserFactory(username="newcomer")
    for client in (session, keyed):
        for path in ("", "keys/", "keys/?status=all&limit=100", "audit/", "usage/", "members/"):
            response = client.get(base + path)
            assert response.status_code == 200, (path, response.content)
            bodies.append(response.content.decode() + str(response.headers))
        for key_id in [k["id"] for k in client.get(base + "keys/").json()["results"]]:
            for response in (
                client.get(base + f"keys/{key_id}/"),
                client.patch(base + f"keys/{key_id}/", {"name": "renamed"}, format="json"),
            ):
                bodies.append(response.content.decode() + str(response.headers))
    bodies.append(
        session.post(
            base + "members/", {"email": "newcomer@example.com", "role": "Editor"}, format="json"
        ).content.decode()
    )
    for raw in raws:
        use = APIClient()
        use.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")

    everything_else = "\n".join(bodies)
    database = dump_database()
    logs = "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    for raw in raws:
        assert raw not in everything_else
        assert raw not in database
        assert raw not in logs
    assert not KEY_RE.search(everything_else.replace(manager_raw, ""))
