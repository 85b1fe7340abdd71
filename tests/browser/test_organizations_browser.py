"""An organization's whole life in a real Chromium: a new user creates one,
invites a colleague by e-mail, the colleague accepts and makes a key, the
founder hands ownership over, the new Owner deletes the organization and the
key stops working. Screenshots of the new pages go to
``test-artifacts/screenshots/`` (the docs use copies of them)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from django_apikeys.models import APIKey, Membership, Organization
from tests.factories import UserFactory

from .test_dashboard_browser import call_api, login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("roles_each_test"),
]


def test_an_organization_from_creation_to_deletion(
    page, browser, live_server, screenshot, api, mailoutbox
):
    UserFactory(username="founder", email="founder@example.com")
    UserFactory(username="colleague", email="colleague@example.com")

    # A new user has no organization: the list offers to create one.
    login(page, "founder")
    page.get_by_text("You are not a member of any organization yet").wait_for()
    # 14-no-organization: test_first_steps_browser (the demo's superuser)
    page.get_by_role("link", name="Create an organization").click()
    page.get_by_label("Name").fill("Initech")
    page.get_by_label("Slug").fill("new")  # reserved
    page.get_by_role("button", name="Create organization").click()
    page.get_by_text("“new” is reserved.").wait_for()
    page.get_by_label("Slug").fill("initech")
    screenshot("15-organization-create")
    page.get_by_role("button", name="Create organization").click()
    page.get_by_text("Created Initech. You are its Owner.").wait_for()
    org = Organization.objects.get(slug="initech")
    assert page.url.endswith(f"/apikeys/{org.pk}/")

    # Invite the colleague as Manager.
    nav = page.get_by_role("navigation", name="Organization")
    nav.get_by_role("link", name="Members").click()
    page.get_by_role("link", name="Invite by e-mail").click()
    page.get_by_label("E-mail address").fill("colleague@example.com")
    page.get_by_label("Role").select_option(label="Manager")
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_text("Invitation sent to colleague@example.com as Manager.").wait_for()
    screenshot("16-invitations")
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["colleague@example.com"]
    link = re.search(r"http://\S+/invitations/\S+/", mailoutbox[0].body).group(0)
    assert link.startswith(live_server.url)

    # The colleague follows the link: sign in first, then back to the invitation.
    colleague_context = browser.new_context(base_url=live_server.url, locale="en-US")
    colleague = colleague_context.new_page()
    colleague.set_default_timeout(15_000)
    colleague.goto(link)
    assert "/accounts/login/" in colleague.url
    colleague.get_by_label("Username").fill("colleague")
    colleague.get_by_label("Password").fill("pw")
    colleague.get_by_role("button", name="Log in").click()
    colleague.get_by_role("heading", name="Join Initech?").wait_for()
    screenshot("17-invitation", colleague)
    colleague.get_by_role("button", name="Accept").click()
    colleague.get_by_text("Welcome to Initech. Your role: Manager.").wait_for()
    assert colleague.url.endswith(f"/apikeys/{org.pk}/")
    assert Membership.objects.get(user__username="colleague").role.name == "Manager"

    # Within the Manager's ceiling, the colleague creates a key that works.
    colleague.get_by_role("link", name="Create an API key").click()
    colleague.get_by_label("Name").fill("Colleague backend")
    colleague.get_by_label("Other scopes").fill("clients:read")
    colleague.get_by_role("button", name=re.compile("Create .* key")).click()
    raw_key = colleague.locator("#raw-key").input_value()
    assert call_api(api, raw_key)[0] == 200

    # The founder hands ownership over (typed confirmation) and becomes Manager.
    page.get_by_role("navigation", name="Organization").get_by_role(
        "link", name="Settings"
    ).click()
    screenshot("18-settings")
    page.get_by_role("link", name="Transfer ownership").click()
    page.get_by_label("New Owner").select_option(label="colleague (Manager)")
    page.get_by_label("Your role afterwards").select_option(label="Manager")
    page.get_by_label("Confirmation").fill("colleague")
    screenshot("19-transfer")
    page.get_by_role("button", name="Transfer ownership").click()
    page.get_by_text("colleague is now an Owner; you are Manager.").wait_for()
    roles = dict(
        Membership.objects.filter(organization=org).values_list("user__username", "role__name")
    )
    assert roles == {"founder": "Manager", "colleague": "Owner"}

    # The new Owner deletes the organization, confirming with its slug.
    colleague.goto(f"/apikeys/{org.pk}/settings/")
    colleague.get_by_role("link", name="Delete this organization").click()
    colleague.get_by_label("Confirmation").fill("initech")
    screenshot("20-delete", colleague)
    colleague.get_by_role("button", name="Delete organization").click()
    colleague.get_by_text("Deleted Initech. Its API keys no longer work.").wait_for()

    # The very next API call with the key is refused with a clear code.
    status, body = call_api(api, raw_key)
    assert (status, body["code"]) == (401, "organization_deactivated")
    assert APIKey.objects.filter(name="Colleague backend").get().is_active  # kept until purge
    page.goto(f"/apikeys/{org.pk}/")
    assert page.get_by_role("heading", name="Not Found").count() or "Not Found" in page.content()
    colleague_context.close()


def test_the_last_owner_is_told_why_they_cannot_leave(page: Any, screenshot: Any) -> None:
    UserFactory(username="solo", email="solo@example.com")
    login(page, "solo")
    page.get_by_role("link", name="Create an organization").click()
    page.get_by_label("Name").fill("Solo Inc")
    page.get_by_role("button", name="Create organization").click()
    page.get_by_text("Created Solo Inc.").wait_for()
    page.get_by_role("navigation", name="Organization").get_by_role(
        "link", name="Settings"
    ).click()
    page.get_by_role("link", name="Leave this organization").click()
    page.get_by_role("button", name="Leave organization").click()
    page.get_by_role("alert").get_by_text("You are the last Owner").wait_for()
    screenshot("21-leave-last-owner")
    assert Membership.objects.filter(user__username="solo").exists()
