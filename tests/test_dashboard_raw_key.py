"""The dashboard's raw key lives in exactly one HTTP response body.

Run the whole create and roll journeys (with messages, a failed attempt, a
reload and a revoke) through the dashboard, then search every table (session
data and message cookies decoded), the captured log output, every cookie,
URL and header, and every other response body for the raw keys.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from django_apikeys import keys
from tests.browser.fixtures import reference_roles, roles_each_test  # noqa: F401
from tests.factories import MembershipFactory, role
from tests.test_raw_key_nowhere import dump_database

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("roles_each_test")]


def decoded_sessions() -> str:
    return "\n".join(repr(s.get_decoded()) for s in Session.objects.all())


def decoded_cookies(client: Client) -> str:
    parts = []
    for name, morsel in client.cookies.items():
        parts.append(f"{name}={morsel.value} {morsel.OutputString()}")
        if name == "messages":
            storage = CookieStorage(None)
            parts.append(repr([str(m) for m in storage._decode(morsel.value) or []]))
    return "\n".join(parts)


class Recorder:
    """Wraps a test client and keeps every response for the search."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.responses: list[tuple[str, Any]] = []

    def get(self, path: str, **kw: Any) -> Any:
        response = self.client.get(path, **kw)
        self.responses.append((path, response))
        return response

    def post(self, path: str, data: dict[str, Any], **kw: Any) -> Any:
        response = self.client.post(path, data, **kw)
        self.responses.append((path, response))
        return response


def test_raw_key_is_in_one_response_body_and_nowhere_else(caplog):
    caplog.set_level(logging.DEBUG)
    owner = MembershipFactory(role=role("Owner"))
    org = owner.organization
    client = Client(enforce_csrf_checks=False)
    client.force_login(owner.user)
    r = Recorder(client)
    create_url = reverse("django_apikeys:key_create", args=[org.pk])

    form = r.get(create_url).context["form"]
    r.post(
        create_url, {"key_type": "server", "form_token": form["form_token"].value(), "name": ""}
    )
    data = {
        "key_type": "server",
        "form_token": form["form_token"].value(),
        "name": "Leak check",
        "scopes": ["*"],
        "expiry": "30",
    }
    created = r.post(create_url, data)
    raw_created = created.context["raw_key"]
    r.post(create_url, data)  # reload of the show-once page
    key_id = created.context["api_key"].pk
    r.get(reverse("django_apikeys:key_list", args=[org.pk]))

    roll_url = reverse("django_apikeys:key_roll", args=[org.pk, key_id])
    token = r.get(roll_url).context["form"]["form_token"].value()
    rolled = r.post(roll_url, {"form_token": token, "grace_period": "3600"})
    raw_rolled = rolled.context["raw_key"]
    new_id = rolled.context["api_key"].pk
    revoke_url = reverse("django_apikeys:key_revoke", args=[org.pk, new_id])
    r.post(revoke_url, {})  # leaves a success message in the messages cookie
    message_cookies = decoded_cookies(client)
    assert "Revoked" in message_cookies  # so the search below does look at messages
    for page in ("organization_detail", "key_list", "audit_log", "usage"):
        r.get(reverse(f"django_apikeys:{page}", args=[org.pk]))

    raws = [raw_created, raw_rolled]
    assert all(keys.verify_format(raw) for raw in raws)
    bodies = [resp.content.decode() for _path, resp in r.responses]
    for raw in raws:
        # Exactly one response body holds each key...
        assert sum(raw in body for body in bodies) == 1
        body_part = raw.split("_")[1]  # the secret part, whatever the prefix
        # ...and nothing else does: tables, sessions, logs, cookies, URLs, headers.
        places = {
            "database": dump_database(),
            "sessions": decoded_sessions(),
            "logs": caplog.text + "\n".join(repr(rec.__dict__) for rec in caplog.records),
            "cookies": message_cookies + decoded_cookies(client),
            "urls": "\n".join(
                path + " " + " ".join(str(u) for u, _s in getattr(resp, "redirect_chain", []))
                for path, resp in r.responses
            ),
            "headers": "\n".join(repr(dict(resp.items())) for _p, resp in r.responses),
        }
        for place, text in places.items():
            assert raw not in text, place
            assert body_part not in text, place
    assert created["Cache-Control"].startswith("no-store")
    assert rolled["Cache-Control"].startswith("no-store")
