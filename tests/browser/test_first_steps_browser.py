"""What a first-time user meets, in a real Chromium (issue 13, item 4): the
members page's add-member row lined up, the superuser of the demo (Django
admin only, in no organization) told why the dashboard is empty, and the
dashboard's own 403 page. Screenshots: ``08-members``, ``14-no-organization``
and ``24-permission-denied`` in ``test-artifacts/screenshots/`` (the docs use
copies of them)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, role

from .test_dashboard_browser import login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("roles_each_test"),
]


def box(locator: Any) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None
    return found


@pytest.fixture
def acme():
    org = OrganizationFactory(name="Acme Corp")
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    MembershipFactory(organization=org, user=admin, role=role("Owner"))
    for name in ("manager", "billing", "editor"):
        MembershipFactory(
            organization=org, user=UserFactory(username=name), role=role(name.title())
        )
    return org


def test_add_member_row_is_aligned(page, live_server, screenshot, acme):
    login(page, "root")
    page.goto(reverse("django_apikeys:member_list", args=[acme.pk]))
    form = page.locator("form[aria-labelledby=add-member]")
    user_input = box(form.get_by_label("Username or email"))
    role_select = box(form.get_by_label("Role"))
    button = box(form.get_by_role("button", name="Add member"))
    # One row: the two controls and the button share their top and bottom
    # edges (the help text under the first field hangs below the row).
    assert abs(user_input["y"] - role_select["y"]) <= 1, (user_input, role_select)
    assert abs(button["y"] - user_input["y"]) <= 1, (button, user_input)
    bottom = user_input["y"] + user_input["height"]
    assert abs(button["y"] + button["height"] - bottom) <= 1, (button, user_input)
    assert abs(role_select["y"] + role_select["height"] - bottom) <= 1
    assert user_input["x"] < role_select["x"] < button["x"]
    screenshot("08-members")

    # A phone stacks the fields, each the full width, nothing off-screen.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    user_input = box(form.get_by_label("Username or email"))
    role_select = box(form.get_by_label("Role"))
    assert role_select["y"] > user_input["y"] + user_input["height"]
    assert user_input["x"] + user_input["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_superuser_in_no_organization_is_told_why(page, live_server, screenshot):
    UserFactory(username="admin", is_superuser=True, is_staff=True)
    login(page, "admin")
    page.get_by_text("You are a superuser, but a member of no organization.").wait_for()
    assert page.get_by_role("link", name="Organizations in the Django admin").count() == 1
    screenshot("14-no-organization")
    page.get_by_role("link", name="Create an organization").click()
    page.get_by_label("Name").fill("Initech")
    page.get_by_label("Slug").fill("initech")
    page.get_by_role("button", name="Create organization").click()
    page.get_by_text("Created Initech. You are its Owner.").wait_for()


def test_a_member_without_the_permission_sees_who_can_grant_it(
    page, live_server, screenshot, acme
):
    login(page, "editor")
    response = page.goto(reverse("django_apikeys:key_revoke_all", args=[acme.pk]))
    assert response is not None and response.status == 403
    page.get_by_role("heading", name="You cannot open this page").wait_for()
    assert page.get_by_text("organization.manage_api_keys").count() == 1
    granters = page.locator("ul.granters li")
    assert granters.count() == 2  # root (Owner) and manager
    assert "root@example.com" in granters.nth(0).inner_text()
    screenshot("24-permission-denied")
    page.get_by_role("link", name="Back to Acme Corp").click()
    page.get_by_role("heading", name="Acme Corp").wait_for()
