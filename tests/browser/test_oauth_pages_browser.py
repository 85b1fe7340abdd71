"""The OAuth dashboard pages carry the dashboard's styles, as Chromium computes
them (not only class names): their tables are padded and their headers shaded
like the key list's, "Register an app" renders its fields like the dashboard's
other forms (bold labels without colons, required markers, plain option
labels in fieldsets), and on a phone the tables become cards."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from django_apikeys.oauth import services
from tests.factories import MembershipFactory, make_key, role

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("roles_each_test"),
]

SCOPES = ["clients:read", "clients:write", "invoices:read"]

CELL_STYLE = """(selector) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  const s = getComputedStyle(el);
  return {padding: s.paddingLeft, paddingTop: s.paddingTop, background: s.backgroundColor,
          weight: s.fontWeight, border: s.borderBottomWidth + " " + s.borderBottomStyle,
          display: s.display, text: el.textContent.trim()};
}"""


@pytest.fixture(autouse=True)
def _oauth_settings(settings: Any) -> None:
    settings.APIKEYS = {"SCOPE_VOCABULARY": SCOPES, "CLAIM_ALL_BEARER_TOKENS": False}


@pytest.fixture
def owner() -> Any:
    membership = MembershipFactory(role=role("Owner"), user__username="oauth-owner")
    organization = membership.organization
    app, _secret = services.register_app(
        organization=organization,
        name="Reporting integration",
        redirect_uris=["https://reports.example/callback"],
        scopes=["clients:read"],
        confidential=True,
        actor=membership.user,
    )
    grant = services.record_authorization(
        application=app.application,
        user=membership.user,
        organization_id=organization.pk,
        scopes=["clients:read"],
        code="browser-test-code",
    )
    grant.exchanged_at = timezone.now()  # the code was exchanged: a live authorization
    grant.save(update_fields=["exchanged_at"])
    make_key(organization, "server", name="Backend", scopes=["clients:read"])
    return membership


def login(page: Any, username: str) -> None:
    page.goto("/apikeys/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/apikeys/$"))


def styles(page: Any, selector: str) -> dict[str, str]:
    found = page.evaluate(CELL_STYLE, selector)
    assert found is not None, selector
    return found


def test_oauth_tables_and_form_look_like_the_dashboards(page, owner, screenshot):
    login(page, "oauth-owner")
    org = owner.organization.pk
    # The reference: the dashboard's own key list.
    page.goto(reverse("django_apikeys:key_list", kwargs={"org_id": org}))
    header, cell = styles(page, "table.data thead th"), styles(page, "table.data tbody td")
    assert float(cell["padding"].removesuffix("px")) >= 8  # not crammed
    assert header["background"] != "rgba(0, 0, 0, 0)" and int(header["weight"]) >= 600
    pages = {
        "apps": reverse("django_apikeys_oauth:app_list", kwargs={"org_id": org}),
        "org-authorizations": reverse(
            "django_apikeys_oauth:org_authorizations", kwargs={"org_id": org}
        ),
        "authorized": reverse("django_apikeys_oauth:authorized"),
    }
    for name, url in pages.items():
        page.goto(url)
        for selector, reference in (("thead th", header), ("tbody td", cell)):
            seen = styles(page, f"main table {selector}")
            for prop in ("padding", "paddingTop", "background", "weight", "border"):
                assert seen[prop] == reference[prop], (name, selector, prop, seen)
        screenshot(f"oauth-{name}")

    page.goto(reverse("django_apikeys_oauth:app_create", kwargs={"org_id": org}))
    label = styles(page, "label[for='id_name']")
    assert label["text"] == "Name *" and not label["text"].endswith(":")
    assert int(label["weight"]) >= 600 and label["display"] == "block"
    required = styles(page, "label[for='id_name'] .required")
    assert required["text"] == "*"
    legend = styles(page, "fieldset legend")
    assert legend["text"].startswith("Client type") and int(legend["weight"]) >= 600
    option = styles(page, "label.choice")
    assert int(option["weight"]) == 400  # option labels are not bold
    name_input = styles(page, "#id_name")
    key_form = reverse("django_apikeys:key_create", kwargs={"org_id": org}) + "?type=server"
    screenshot("oauth-register")
    page.goto(key_form)
    reference_input = styles(page, "#id_name")
    assert name_input["padding"] == reference_input["padding"]
    assert name_input["border"] == reference_input["border"]


def test_oauth_tables_become_cards_on_a_phone(page, owner):
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "oauth-owner")
    page.goto(reverse("django_apikeys_oauth:app_list", kwargs={"org_id": owner.organization.pk}))
    row = styles(page, "main table tbody tr")
    assert row["display"] != "table-row"
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow
