"""When a key leaks, in a real browser: "Leaked?" rolls with the old key
stopped at once; an Owner revokes every key after typing the slug."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, make_key, role

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("roles_each_test"),
]


def login(page: Any, username: str) -> None:
    page.goto("/apikeys/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/apikeys/$"))


def status(api: Any, raw_key: str) -> int:
    return int(api.get("/api/v1/me", headers={"Authorization": f"Bearer {raw_key}"}).status)


@pytest.fixture
def initech() -> Any:
    org = OrganizationFactory(name="Initech", slug="initech")
    owner = MembershipFactory(
        organization=org, user=UserFactory(username="peter"), role=role("Owner")
    )
    return org, owner.user


def test_a_leaked_key_is_rolled_and_stopped_at_once(page, api, initech):
    org, owner = initech
    _, old_raw = make_key(org, name="Nightly sync", created_by=owner)
    login(page, "peter")
    page.goto(reverse("django_apikeys:key_list", args=[org.pk]))
    page.get_by_role("link", name="Leaked? Nightly sync").click()
    assert page.get_by_label("Keep the old key working for").input_value() == "0"
    assert page.get_by_label("This key may have leaked").is_checked()
    assert page.get_by_role("alert").is_visible()
    page.get_by_role("button", name="Roll key").click()
    new_raw = page.locator("#raw-key").input_value()
    assert new_raw != old_raw
    assert status(api, old_raw) == 401
    assert status(api, new_raw) == 200


def test_an_owner_revokes_every_key(page, api, initech):
    org, owner = initech
    raws = [make_key(org, name=f"key {i}", created_by=owner)[1] for i in range(3)]
    login(page, "peter")
    page.goto(reverse("django_apikeys:key_list", args=[org.pk]))
    page.get_by_role("link", name="Incident: revoke every key…").click()
    page.get_by_label("Type the organization's slug to confirm").fill("Initech")
    page.get_by_role("button", name="Revoke every key").click()
    assert "Type “initech” exactly" in page.content()
    assert all(status(api, raw) == 200 for raw in raws)
    page.get_by_label("Type the organization's slug to confirm").fill("initech")
    page.get_by_label("Reason (for the audit log)").fill("laptop stolen")
    page.get_by_role("button", name="Revoke every key").click()
    page.wait_for_url(re.compile(r"status=revoked"))
    assert "3 key(s)" in page.content()
    assert all(status(api, raw) == 401 for raw in raws)
