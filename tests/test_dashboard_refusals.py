"""The dashboard's own 403 and 404 pages (issue 13, item 3).

A member without the permission a page needs gets a styled 403 naming the
permission and who in *this* organization can grant it; a missing object and
another organization's object get the same styled 404. Views outside the
dashboard keep the site's handlers.
"""

from __future__ import annotations

import re
import uuid
from importlib import import_module

import pytest
from django.urls import resolve, reverse

from django_apikeys.abstract import MANAGE_API_KEYS, MANAGE_OWN_API_KEYS, ORGANIZATION_PERMISSIONS
from django_apikeys.dashboard.errors import OrganizationPermissionRequired
from django_apikeys.models import Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, make_key, role

pytestmark = pytest.mark.django_db

REFERENCE_ROLES = import_module("django_apikeys.migrations.0002_reference_roles").REFERENCE_ROLES

#: Every organization page with an object in its URL or a permission of its own.
PAGES = [
    "organization_detail",
    "organization_settings",
    "organization_delete",
    "organization_transfer",
    "key_list",
    "key_create",
    "key_roll",
    "key_revoke",
    "key_revoke_all",
    "member_list",
    "member_change",
    "member_remove",
    "audit_log",
    "usage",
    "invitation_list",
]


def required_permission(url_name: str) -> str:
    """The permission the view itself declares (not a copy in the test)."""
    kwargs = {"org_id": uuid.uuid4(), "key_id": uuid.uuid4(), "membership_id": 1}
    path = reverse(f"django_apikeys:{url_name}", kwargs=_kwargs_for(url_name, kwargs))
    return resolve(path).func.view_class.required_permission


def _kwargs_for(url_name: str, values: dict) -> dict:
    names = {"org_id"}
    if url_name in {"key_roll", "key_revoke"}:
        names.add("key_id")
    if url_name in {"member_change", "member_remove"}:
        names.add("membership_id")
    return {name: values[name] for name in names}


#: Key pages a member who manages only their own keys opens (their own keys;
#: someone else's key is 404 there, see test_dashboard).
OWN_KEY_PAGES = {"key_list", "key_create", "key_roll", "key_revoke"}

REFUSALS = [
    (role_name, page)
    for role_name, (_, _, permissions, _) in REFERENCE_ROLES.items()
    for page in PAGES
    if required_permission(page) not in permissions
    # Every reference role also holds MANAGE_OWN_API_KEYS (a later migration).
    and page not in OWN_KEY_PAGES
]


def test_every_reference_role_manages_its_own_keys():
    assert all(MANAGE_OWN_API_KEYS in role(name).permissions for name in REFERENCE_ROLES)


@pytest.fixture
def world():
    """An organization with an Owner and a Manager (who can grant), and another
    organization whose Owner must never be named."""
    org = OrganizationFactory(name="Acme")
    owner = MembershipFactory(
        organization=org,
        role=role("Owner"),
        user=UserFactory(username="olivia", first_name="Olivia", last_name="Owner"),
    )
    manager = MembershipFactory(
        organization=org, role=role("Manager"), user=UserFactory(username="mark")
    )
    other = MembershipFactory(
        organization=OrganizationFactory(name="Elsewhere"),
        role=role("Owner"),
        user=UserFactory(username="mallory"),
    )
    key, _ = make_key(org)
    other_key, _ = make_key(other.organization)
    return {
        "org": org,
        "owner": owner,
        "manager": manager,
        "other": other,
        "key": key,
        "other_key": other_key,
    }


def page_url(world, url_name: str) -> str:
    values = {
        "org_id": world["org"].pk,
        "key_id": world["key"].pk,
        "membership_id": world["owner"].pk,
    }
    return reverse(f"django_apikeys:{url_name}", kwargs=_kwargs_for(url_name, values))


def templates(response) -> list[str]:
    return [t.name for t in response.templates]


def test_the_matrix_covers_every_limited_role():
    assert {r for r, _ in REFUSALS} == {"Manager", "Billing", "Editor"}
    assert len(REFUSALS) >= 19


@pytest.mark.parametrize("role_name, url_name", REFUSALS)
def test_styled_403_names_the_permission_and_who_can_grant_it(client, world, role_name, url_name):
    member = MembershipFactory(organization=world["org"], role=role(role_name))
    client.force_login(member.user)
    response = client.get(page_url(world, url_name))
    assert response.status_code == 403
    assert "django_apikeys/base.html" in templates(response)
    assert "django_apikeys/permission_denied.html" in templates(response)
    permission = required_permission(url_name)
    html = response.content.decode()
    assert f"<code>{permission}</code>" in html
    assert str(ORGANIZATION_PERMISSIONS[permission]) in html
    assert f"<strong>{role_name}</strong>" in html  # the member's own role
    # Who can grant it: members who manage members and hold a role with it.
    granters = [m.user.username for m in response.context["granters"]]
    expected = ["olivia"]
    if permission in REFERENCE_ROLES["Manager"][2]:
        expected.append("mark")
    if role_name == "Manager":  # a Manager never grants what their own role lacks
        expected = [u for u in expected if u != member.user.username]
    assert granters == expected
    for username in expected:
        assert f"{username}@example.com" in html
    assert "Olivia Owner" in html
    # Roles holding the member-management permission are named.
    assert [r.name for r in response.context["granting_roles"]] == ["Owner", "Manager"]
    # Nothing from another organization.
    assert "mallory" not in html
    assert "Elsewhere" not in html


def test_the_nav_stays_the_members_own(client, world):
    member = MembershipFactory(organization=world["org"], role=role("Editor"))
    client.force_login(member.user)
    html = client.get(page_url(world, "member_list")).content.decode()
    assert 'aria-label="Organization"' in html  # the organization navigation
    assert reverse("django_apikeys:member_list", args=[world["org"].pk]) + '"' not in html
    assert reverse("django_apikeys:organization_detail", args=[world["org"].pk]) in html


def test_a_custom_role_without_granters_says_ask_the_administrators(client, world):
    custom = Role.objects.create(name="Auditor", permissions=["organization.view_organization"])
    world["org"].memberships.exclude(role__name="Owner").delete()
    member = MembershipFactory(organization=world["org"], role=custom)
    # No role that manages members here includes the permission any more.
    Role.objects.filter(name="Owner").update(
        permissions=[p for p in REFERENCE_ROLES["Owner"][2] if p != MANAGE_API_KEYS]
    )
    client.force_login(member.user)
    response = client.get(page_url(world, "key_list"))
    assert response.status_code == 403
    assert response.context["granters"] == []
    assert "Nobody in this organization can grant it" in response.content.decode()


def test_owner_only_post_names_the_permission_and_keeps_the_reason(client, world):
    client.force_login(world["manager"].user)
    url = page_url(world, "organization_settings")
    assert client.get(url).status_code == 200
    response = client.post(url, {"name": "Renamed", "slug": "renamed"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "<code>organization.delete_organization</code>" in html
    assert "Only an Owner can change the organization." in html
    assert [m.user.username for m in response.context["granters"]] == ["olivia"]


def test_other_refusals_get_the_styled_page_with_their_reason(client, world):
    client.force_login(world["manager"].user)
    response = client.get(page_url(world, "key_revoke_all"))
    assert response.status_code == 403
    assert "django_apikeys/base.html" in templates(response)
    assert "Only Owners can revoke every key." in response.content.decode()
    assert response.context["permission"] is None


def test_organization_creation_refused_is_styled(client, settings):
    settings.APIKEYS = {"ORGANIZATION_CREATION": "staff"}
    client.force_login(UserFactory())
    response = client.get(reverse("django_apikeys:organization_create"))
    assert response.status_code == 403
    assert "django_apikeys/base.html" in templates(response)
    assert "You may not create organizations on this site." in response.content.decode()


def test_the_exception_is_still_a_permission_denied():
    from django.core.exceptions import PermissionDenied

    assert issubclass(OrganizationPermissionRequired, PermissionDenied)


# --- 404 -----------------------------------------------------------------------


def _normalised(response) -> str:
    """The page without what differs per render (the CSRF token)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def test_unknown_and_foreign_organizations_are_the_same_styled_404(client, world):
    client.force_login(world["manager"].user)
    foreign = client.get(reverse("django_apikeys:key_list", args=[world["other"].organization.pk]))
    missing = client.get(reverse("django_apikeys:key_list", args=[uuid.uuid4()]))
    assert foreign.status_code == missing.status_code == 404
    assert "django_apikeys/base.html" in templates(foreign)
    assert "django_apikeys/not_found.html" in templates(foreign)
    assert _normalised(foreign) == _normalised(missing)
    html = _normalised(foreign)
    assert "Organization not found" in html
    assert reverse("django_apikeys:organization_list") in html
    assert "Elsewhere" not in html


@pytest.mark.parametrize("url_name", ["key_roll", "key_revoke"])
def test_unknown_and_foreign_keys_are_the_same_styled_404(client, world, url_name):
    client.force_login(world["owner"].user)
    org = world["org"].pk

    def get(key_id):
        return client.get(reverse(f"django_apikeys:{url_name}", args=[org, key_id]))

    foreign, missing = get(world["other_key"].pk), get(uuid.uuid4())
    assert foreign.status_code == missing.status_code == 404
    assert _normalised(foreign) == _normalised(missing)
    html = _normalised(foreign)
    assert "Not found in this organization" in html
    assert reverse("django_apikeys:organization_detail", args=[org]) in html  # the way back
    assert "Elsewhere" not in html


def test_unknown_and_foreign_memberships_are_the_same_styled_404(client, world):
    client.force_login(world["owner"].user)
    org = world["org"].pk
    foreign = client.get(reverse("django_apikeys:member_change", args=[org, world["other"].pk]))
    missing = client.get(reverse("django_apikeys:member_change", args=[org, 987654]))
    assert foreign.status_code == missing.status_code == 404
    assert _normalised(foreign) == _normalised(missing)


def test_a_post_to_a_foreign_object_is_the_same_404(client, world):
    client.force_login(world["owner"].user)
    org = world["org"].pk
    url = reverse("django_apikeys:key_revoke", args=[org, world["other_key"].pk])
    response = client.post(url, {"confirm": "on"})
    assert response.status_code == 404
    world["other_key"].refresh_from_db()
    assert world["other_key"].revoked_at is None


# --- outside the dashboard nothing changes --------------------------------------


def test_the_api_keeps_its_json_errors(api_client):
    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert not response.templates


def test_the_sites_404_is_untouched_outside_the_dashboard(client, world):
    client.force_login(world["owner"].user)
    response = client.get("/nowhere/")
    assert response.status_code == 404
    assert "django_apikeys/not_found.html" not in templates(response)
    # A dashboard path that matches no pattern is the site's too (documented).
    response = client.get("/apikeys/not-a-uuid/")
    assert response.status_code == 404
    assert "django_apikeys/not_found.html" not in templates(response)


def test_the_admin_is_untouched(client, world):
    client.force_login(world["owner"].user)  # not staff
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


# --- the pages are the site's to override -------------------------------------


def test_a_site_can_override_both_pages(client, world, site_template):
    site_template(
        "permission_denied.html",
        '{% extends "django_apikeys/base.html" %}{% block content %}'
        "SITE 403 {{ permission }} {% for m in granters %}{{ m.user.username }} {% endfor %}"
        "{% endblock %}",
    )
    site_template(
        "not_found.html",
        '{% extends "django_apikeys/base.html" %}{% block content %}SITE 404{% endblock %}',
    )
    member = MembershipFactory(organization=world["org"], role=role("Billing"))
    client.force_login(member.user)
    denied = client.get(page_url(world, "key_revoke_all"))
    assert denied.status_code == 403
    assert "SITE 403 organization.manage_api_keys olivia mark" in denied.content.decode()
    missing = client.get(reverse("django_apikeys:key_list", args=[uuid.uuid4()]))
    assert missing.status_code == 404
    assert "SITE 404" in missing.content.decode()


def test_who_can_grant_follows_can_grant_role(world):
    """Managing members is not enough: the granter must be allowed to grant a
    role with the permission (``can_grant_role``), as the members page checks."""
    from django_apikeys import services

    people = Role.objects.create(
        name="People",
        permissions=["organization.view_organization", "organization.manage_members"],
    )
    hr = MembershipFactory(organization=world["org"], role=people)
    root = MembershipFactory(
        organization=world["org"], role=people, user=UserFactory(is_superuser=True)
    )
    granters = services.members_who_can_grant(world["org"], MANAGE_API_KEYS)
    assert world["owner"] in granters and world["manager"] in granters
    assert hr not in granters  # holds manage_members, may not grant Manager
    assert root in granters  # superusers may grant any role
    manager_role = role("Manager")
    assert not services.can_grant_role(hr.user, world["org"], manager_role)
    assert services.can_grant_role(root.user, world["org"], manager_role)
    assert world["other"] not in granters
