"""``make demo`` in Chromium: every seeded user (``seed_demo``) opens every
dashboard page of both demo organizations; key managers create and revoke a key."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.core.management import call_command

from django_apikeys.models import Organization

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("roles_each_test"),
]

PAGES = ["", "keys/", "keys/new/", "members/", "audit/", "usage/"]
EVERY_PAGE = set(PAGES)

# user -> (organization slug, pages that answer 200 there); elsewhere 403 or 404.
DEMO_USERS = {
    "owner": ("acme", EVERY_PAGE),
    "manager": ("acme", EVERY_PAGE),
    # Every role manages its own keys: the key list (theirs) and the create page.
    "billing": ("acme", {"", "keys/", "keys/new/", "usage/"}),
    "editor": ("acme", {"", "keys/", "keys/new/"}),
    "globex-owner": ("globex", EVERY_PAGE),
}


#: user -> (a scope their role holds, an endpoint it opens) when not clients:read.
ROLE_CALLS = {
    "billing": ("billing:read", "/api/v1/me"),
    "editor": ("products:read", "/api/v1/products"),
}


@pytest.mark.parametrize("username", sorted(DEMO_USERS))
def test_seeded_user_journey(page: Any, api: Any, username: str) -> None:
    call_command("seed_demo", stdout=io.StringIO())  # prints a raw key: keep it out of logs
    home_slug, allowed = DEMO_USERS[username]
    page.goto("/accounts/login/?next=/apikeys/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/apikeys/$"))
    for org in Organization.objects.filter(slug__in=["acme", "globex"]):
        for path in PAGES:
            status = page.goto(f"/apikeys/{org.pk}/{path}").status
            if org.slug != home_slug:
                expected = 404
            else:
                expected = 200 if path in allowed else 403
            assert status == expected, (org.slug, path)
    if "keys/new/" not in allowed:
        return
    home = Organization.objects.get(slug=home_slug)
    page.goto(f"/apikeys/{home.pk}/keys/new/")
    page.get_by_label("Name").fill(f"{username} demo key")
    # A key within the role: Billing and Editor make their own personal key.
    scope, path = ROLE_CALLS.get(username, ("clients:read", "/api/v1/clients"))
    page.get_by_label("Other scopes").fill(scope)
    page.get_by_role("button", name=re.compile("Create .* key")).click()
    raw_key = page.locator("#raw-key").input_value()
    headers = {"Authorization": f"Bearer {raw_key}"}
    assert api.get(path, headers=headers).status == 200
    page.goto(f"/apikeys/{home.pk}/keys/")
    page.get_by_role("link", name=f"Revoke {username} demo key").click()
    page.get_by_role("button", name="Revoke key").click()
    page.get_by_text("Revoked").first.wait_for()
    response = api.get(path, headers=headers)
    assert (response.status, response.json()["code"]) == (401, "key_revoked")
