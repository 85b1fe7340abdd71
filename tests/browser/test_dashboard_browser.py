"""The dashboard in a real Chromium: the Owner's key journey, an Editor's view,
and another organization's URLs. Screenshots of the main pages are saved to
``test-artifacts/screenshots/`` (the docs use copies of them)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from django.urls import reverse

from django_apikeys.models import APIKey, AuditEvent
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    PlanFactory,
    UserFactory,
    make_key,
    role,
)

from .conftest import ARTIFACTS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("roles_each_test"),
]

TIMINGS: dict[str, float] = {}


@pytest.fixture(autouse=True)
def _timed(request: pytest.FixtureRequest) -> Any:
    started = time.perf_counter()
    yield
    TIMINGS[request.node.name] = round(time.perf_counter() - started, 2)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "browser-timings.json").write_text(json.dumps(TIMINGS, indent=2))


def login(page: Any, username: str, password: str = "pw") -> None:
    page.goto("/apikeys/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/apikeys/$"))


def call_api(api: Any, raw_key: str) -> tuple[int, Any]:
    """GET /api/v1/clients with the key (scope clients:read), without a session."""
    response = api.get("/api/v1/clients", headers={"Authorization": f"Bearer {raw_key}"})
    return response.status, response.json()


@pytest.fixture
def acme() -> Any:
    """Acme with an Owner and an Editor, a few keys and some history; Globex apart."""
    org = OrganizationFactory(name="Acme Corp", slug="acme", plan=PlanFactory(name="Pro"))
    owner = MembershipFactory(
        organization=org, user=UserFactory(username="owner"), role=role("Owner")
    )
    MembershipFactory(organization=org, user=UserFactory(username="manager"), role=role("Manager"))
    MembershipFactory(organization=org, user=UserFactory(username="editor"), role=role("Editor"))
    MembershipFactory(organization=org, user=UserFactory(username="billing"), role=role("Billing"))
    make_key(org, "publishable", name="Checkout widget", scopes=["assess"], created_by=owner.user)
    make_key(org, "user", name="Owner's CLI", user=owner.user, scopes=["*"], created_by=owner.user)
    globex = OrganizationFactory(name="Globex", slug="globex")
    MembershipFactory(
        organization=globex, user=UserFactory(username="globex-owner"), role=role("Owner")
    )
    make_key(globex, name="Globex secret key")
    return org


def test_owner_creates_uses_and_revokes_a_key(page, screenshot, api, acme):
    login(page, "owner")
    screenshot("01-organizations")
    page.get_by_role("link", name="Acme Corp").click()
    page.wait_for_url(f"**/apikeys/{acme.pk}/")
    screenshot("02-overview")

    page.get_by_role("navigation", name="Organization").get_by_role(
        "link", name="API keys"
    ).click()
    page.wait_for_url("**/keys/")
    screenshot("03-key-list")
    page.get_by_role("link", name="Create an API key").first.click()
    page.wait_for_url("**/keys/new/")
    page.get_by_label("Name").fill("Production backend")
    page.get_by_label("Other scopes").fill("clients:read")
    page.get_by_label("Expires").select_option("90")
    screenshot("04-key-create")
    page.get_by_role("button", name=re.compile("Create .* key")).click()

    # The show-once page: the key in a readonly field, a copy button, a warning.
    key_field = page.locator("#raw-key")
    raw_key = key_field.input_value()
    assert re.fullmatch(r"sk_[A-Za-z0-9]{32}_[0-9a-f]{8}", raw_key)
    assert key_field.get_attribute("readonly") is not None
    assert page.get_by_role("alert").inner_text().startswith("This is the only time")
    copy = page.get_by_role("button", name="Copy")
    assert copy.is_visible()  # shown by the script; hidden without JavaScript
    copy.click()
    page.get_by_text("Copied to the clipboard.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == raw_key
    screenshot("05-show-once")
    assert raw_key not in page.url
    assert all(raw_key not in c["value"] for c in page.context.cookies())

    assert call_api(api, raw_key)[0] == 200

    # Reload (re-sends the POST), back and forward, reopen the URL: never shown again.
    page.reload(wait_until="load")
    page.get_by_role("heading", name="Create an API key").wait_for()
    assert raw_key not in page.content()
    assert page.locator("#raw-key").count() == 0
    page.go_back(wait_until="load")
    page.wait_for_load_state("load")
    assert raw_key not in page.content()
    page.goto(reverse("django_apikeys:key_create", args=[acme.pk]))
    assert raw_key not in page.content()
    assert page.get_by_label("Name").input_value() == ""
    assert APIKey.objects.filter(name="Production backend").count() == 1

    # Revoke: confirmation page, POST, then the very next API call is refused.
    page.goto(reverse("django_apikeys:key_list", args=[acme.pk]))
    page.get_by_role("link", name="Revoke Production backend").click()
    screenshot("06-revoke-confirm")
    page.get_by_role("button", name="Revoke key").click()
    page.get_by_text("Revoked “Production backend”").wait_for()
    status, body = call_api(api, raw_key)
    assert (status, body["code"]) == (401, "key_revoked")

    page.goto(reverse("django_apikeys:key_list", args=[acme.pk]) + "?status=all")
    screenshot("07-key-list-all")
    page.goto(reverse("django_apikeys:member_list", args=[acme.pk]))
    # 08-members: test_first_steps_browser (a superuser's page, with the add row)
    page.goto(reverse("django_apikeys:audit_log", args=[acme.pk]))
    assert page.get_by_role("cell", name="API key revoked").count() == 1
    screenshot("09-audit-log")
    page.goto(reverse("django_apikeys:usage", args=[acme.pk]))
    screenshot("10-usage")
    assert AuditEvent.objects.filter(organization=acme).count() >= 2

    # The same list on a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(reverse("django_apikeys:key_list", args=[acme.pk]) + "?status=all")
    screenshot("11-key-list-phone")


def test_owner_rolls_a_key_and_both_work_during_the_grace_period(page, screenshot, api, acme):
    owner = acme.memberships.get(user__username="owner").user
    old, old_raw = make_key(acme, name="Nightly sync", scopes=["clients:read"], created_by=owner)
    login(page, "owner")
    page.goto(reverse("django_apikeys:key_list", args=[acme.pk]))
    page.get_by_role("link", name="Roll Nightly sync").click()
    assert page.get_by_label("Keep the old key working for").input_value() == str(24 * 3600)
    screenshot("12-roll")
    page.get_by_role("button", name="Roll key").click()
    new_raw = page.locator("#raw-key").input_value()
    assert new_raw != old_raw
    assert "keeps working until" in page.content()
    assert call_api(api, old_raw)[0] == 200
    assert call_api(api, new_raw)[0] == 200


def test_editor_creates_and_revokes_their_own_key(page, screenshot, api, acme):
    """An Editor manages their own personal keys (organization.manage_own_api_keys):
    user keys only, bounded by the Editor role, and nobody else's keys in sight."""
    login(page, "editor")
    page.get_by_role("link", name="Acme Corp").click()
    nav = page.get_by_role("navigation", name="Organization")
    assert nav.get_by_role("link", name="Members").count() == 0
    screenshot("13-editor-overview")
    nav.get_by_role("link", name="API keys").click()
    page.wait_for_url("**/keys/")
    assert "Checkout widget" not in page.content()
    assert "Owner's CLI" not in page.content()
    page.get_by_role("link", name="Create an API key").first.click()
    page.wait_for_url("**/keys/new/")
    page.get_by_label("Name").fill("My catalogue script")
    page.get_by_label("Other scopes").fill("products:read")
    page.get_by_role("button", name=re.compile("Create .* key")).click()
    raw_key = page.locator("#raw-key").input_value()
    assert re.fullmatch(r"uk_[A-Za-z0-9]{32}_[0-9a-f]{8}", raw_key)
    headers = {"Authorization": f"Bearer {raw_key}"}
    assert api.get("/api/v1/products", headers=headers).status == 200

    page.goto(reverse("django_apikeys:key_list", args=[acme.pk]))
    assert "My catalogue script" in page.content()
    assert "Checkout widget" not in page.content()
    page.get_by_role("link", name="Revoke My catalogue script").click()
    page.get_by_role("button", name="Revoke key").click()
    page.get_by_text("Revoked “My catalogue script”").wait_for()
    response = api.get("/api/v1/products", headers=headers)
    assert (response.status, response.json()["code"]) == (401, "key_revoked")
    # Organization keys stay with the key managers.
    response = page.goto(reverse("django_apikeys:key_create", args=[acme.pk]) + "?type=server")
    assert response.status == 403


def test_member_of_one_organization_gets_nothing_from_another(page, acme):
    from django_apikeys.models import Organization

    globex = Organization.objects.get(slug="globex")
    globex_key = globex.api_keys.get()
    login(page, "owner")  # Owner of Acme, not a member of Globex
    assert "Globex" not in page.content()
    urls = [
        reverse(f"django_apikeys:{name}", args=[globex.pk])
        for name in (
            "organization_detail",
            "key_list",
            "key_create",
            "member_list",
            "audit_log",
            "usage",
        )
    ]
    urls += [
        reverse("django_apikeys:key_revoke", args=[globex.pk, globex_key.pk]),
        reverse("django_apikeys:key_revoke", args=[acme.pk, globex_key.pk]),
    ]
    for url in urls:
        response = page.goto(url)
        assert response.status == 404, url
        assert "Globex secret key" not in page.content()
        assert globex_key.hint not in page.content()


def test_show_once_page_works_without_javascript(browser, live_server, api, acme):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        login(page, "owner")
        page.goto(reverse("django_apikeys:key_create", args=[acme.pk]))
        page.get_by_label("Name").fill("No-JS key")
        page.get_by_label("Everything").check()
        page.get_by_role("button", name=re.compile("Create .* key")).click()
        raw_key = page.locator("#raw-key").input_value()
        assert page.locator("#copy-key").is_hidden()  # the button needs the script
        assert call_api(api, raw_key)[0] == 200
    finally:
        context.close()
