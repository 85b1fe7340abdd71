"""Every dashboard page, the OAuth pages included, on the demo's data
(``seed_demo``, what ``make demo`` shows), at laptop (1366 wide) and phone
(390×844) size: full-page PNGs in ``test-artifacts/screenshots/tour/``, named
as the docs use them (``03-key-list.png``, ``03-key-list-phone.png``). The
docs' copies in ``docs/_static/screenshots/`` are refreshed from there, each
looked at first.

Each page must load without a server error and without horizontal scrolling
on the phone."""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from django_apikeys import services
from django_apikeys.models import APIKey, Organization, Role
from tests.browser.conftest import SCREENSHOTS
from tests.oauth.conftest import pkce_pair

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("roles_each_test"),
]

TOUR = SCREENSHOTS / "tour"
SIZES = {"": {"width": 1366, "height": 768}, "-phone": {"width": 390, "height": 844}}
PASSWORD = "demo-password"
#: The elements that stick out on the right, when the page scrolls sideways.
WIDEST = """() => {
  if (document.documentElement.scrollWidth <= window.innerWidth + 1) return null;
  return [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 5).map((el) => el.tagName + "." + el.className + " " +
      Math.round(el.getBoundingClientRect().right));
}"""


@pytest.fixture
def demo(settings: Any) -> dict[str, Any]:
    from example.api.management.commands.seed_demo import DEMO_REDIRECT_URI

    settings.APIKEYS = {
        "SCOPE_VOCABULARY": ["clients:read", "clients:write", "invoices:read"],
        "CLAIM_ALL_BEARER_TOKENS": False,
    }
    call_command("seed_demo", stdout=io.StringIO())
    acme = Organization.objects.get(slug="acme")
    owner = acme.memberships.get(role__name="Owner").user
    services.invite(
        acme,
        email="go@example.com",  # globex-owner, who opens it
        role=Role.objects.get(name="Editor"),
        actor=owner,
        base_url="http://testserver",
    )
    token = re.search(r"/apikeys/invitations/([^/\s]+)/", mail.outbox[-1].body).group(1)
    from django_apikeys.oauth.models import OAuthApp

    app = OAuthApp.objects.get(organization=acme, application__name="Demo integration")
    grant = services_oauth().record_authorization(
        application=app.application,
        user=owner,
        organization_id=acme.pk,
        scopes=["clients:read"],
        code="tour-code",
    )
    from django.utils import timezone

    grant.exchanged_at = timezone.now()
    grant.save(update_fields=["exchanged_at"])
    _verifier, challenge = pkce_pair()
    consent = "/api/auth/oauth2/authorize?" + urlencode(
        {
            "client_id": app.application.client_id,
            "response_type": "code",
            "redirect_uri": DEMO_REDIRECT_URI,
            "scope": "clients:read",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "demo",
        }
    )
    key = APIKey.objects.filter(organization=acme, name="Quick start").active().get()
    busy = APIKey.objects.get(organization=acme, name="Demo Server")  # has usage history
    return {
        "acme": acme.pk,
        "key": key.pk,
        "busy_key": busy.pk,
        "app": app.pk,
        "token": token,
        "consent": consent,
    }


def services_oauth() -> Any:
    from django_apikeys.oauth import services as oauth_services

    return oauth_services


def login(page: Any, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def shoot(page: Any, name: str, url: str | None = None, status: int = 200) -> None:
    for suffix, size in SIZES.items():
        page.set_viewport_size(size)
        if url is not None:
            response = page.goto(url)
            assert response.status == status, (name, url, response.status)
        if suffix:
            wide = page.evaluate(WIDEST)
            assert not wide, f"{name}: the page scrolls sideways on a phone: {wide}"
        # A phone page longer than three screens (the usage tables as cards):
        # its first screen, which is what the docs show.
        tall = page.evaluate("document.documentElement.scrollHeight") > 3 * size["height"]
        page.screenshot(path=str(TOUR / f"{name}{suffix}.png"), full_page=not (suffix and tall))


def test_every_dashboard_page_at_laptop_and_phone_size(page, demo):
    TOUR.mkdir(parents=True, exist_ok=True)
    org, key = demo["acme"], demo["key"]

    def dash(name: str, **kwargs: Any) -> str:
        return reverse(f"django_apikeys:{name}", kwargs={"org_id": org, **kwargs})

    login(page, "owner")
    shoot(page, "01-organizations", reverse("django_apikeys:organization_list"))
    shoot(page, "02-overview", dash("organization_detail"))
    shoot(page, "03-key-list", dash("key_list"))
    shoot(page, "04-key-create", dash("key_create") + "?type=server")
    for suffix, size in SIZES.items():  # the show-once page answers a POST
        page.set_viewport_size(size)
        page.goto(dash("key_create") + "?type=server")
        page.get_by_label("Name").first.fill("Reporting backend" if suffix else "CI deploys")
        page.locator("input[name=scopes][value='clients:read']").check()
        page.get_by_role("button", name=re.compile("Create")).last.click()
        page.wait_for_load_state()
        assert "shown once" in page.content().lower() or "copy" in page.content().lower()
        page.screenshot(path=str(TOUR / f"05-show-once{suffix}.png"), full_page=True)
    shoot(page, "06-revoke-confirm", dash("key_revoke", key_id=key))
    shoot(page, "07-key-list-all", dash("key_list") + "?status=all")
    shoot(page, "08-members", dash("member_list"))
    shoot(page, "09-audit-log", dash("audit_log"))
    shoot(page, "10-usage", dash("usage"))
    shoot(page, "12-roll", dash("key_roll", key_id=key))
    shoot(page, "15-organization-create", reverse("django_apikeys:organization_create"))
    shoot(page, "16-invitations", dash("invitation_list"))
    shoot(page, "18-settings", dash("organization_settings"))
    shoot(page, "19-transfer", dash("organization_transfer"))
    shoot(page, "20-delete", dash("organization_delete"))
    shoot(page, "21-leave", dash("organization_leave"))
    shoot(page, "23-key-usage", dash("key_usage", key_id=demo["busy_key"]))
    shoot(page, "25-oauth-apps", reverse("django_apikeys_oauth:app_list", kwargs={"org_id": org}))
    shoot(
        page,
        "26-oauth-register",
        reverse("django_apikeys_oauth:app_create", kwargs={"org_id": org}),
    )
    shoot(
        page,
        "27-oauth-org-authorizations",
        reverse("django_apikeys_oauth:org_authorizations", kwargs={"org_id": org}),
    )
    shoot(page, "28-oauth-authorized-apps", reverse("django_apikeys_oauth:authorized"))
    shoot(page, "29-oauth-consent", demo["consent"])

    login(page, "editor")
    shoot(page, "13-editor-overview", dash("organization_detail"))
    shoot(page, "24-permission-denied", dash("member_list"), status=403)

    login(page, "globex-owner")
    shoot(
        page,
        "17-invitation",
        reverse("django_apikeys:invitation", kwargs={"token": demo["token"]}),
    )

    login(page, "admin")
    shoot(page, "14-no-organization", reverse("django_apikeys:organization_list"))
