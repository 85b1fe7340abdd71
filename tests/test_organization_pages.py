"""The organization pages × every role, non-members and anonymous users;
cross-organization URLs answer 404 (the same matrix as ``test_dashboard.py``
for the older pages)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from django_apikeys import services
from django_apikeys.models import Invitation, Membership, Organization
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, role

pytestmark = pytest.mark.django_db

ROLES = ["Owner", "Manager", "Billing", "Editor"]

#: page -> (method, roles allowed). GET pages render; POST-only pages redirect.
ACCESS: dict[str, tuple[str, set[str]]] = {
    "organization_settings": ("get", set(ROLES)),
    "organization_leave": ("get", set(ROLES)),
    "organization_delete": ("get", {"Owner"}),
    "organization_transfer": ("get", {"Owner"}),
    "invitation_list": ("get", {"Owner", "Manager"}),
    "invitation_resend": ("post", {"Owner", "Manager"}),
    "invitation_revoke": ("post", {"Owner", "Manager"}),
}


class Org:
    def __init__(self) -> None:
        self.organization = OrganizationFactory()
        self.members = {
            name: MembershipFactory(organization=self.organization, role=role(name))
            for name in ROLES
        }
        self.invitation = services.invite(
            self.organization,
            email="someone@example.com",
            role=role("Editor"),
            actor=self.members["Owner"].user,
            base_url="http://testserver",
        )

    def user(self, role_name: str) -> Any:
        return self.members[role_name].user


@pytest.fixture
def org() -> Org:
    return Org()


def url_for(page: str, org: Org, **overrides: Any) -> str:
    args: list[Any] = [overrides.get("org_id", org.organization.pk)]
    if page in ("invitation_resend", "invitation_revoke"):
        args.append(overrides.get("invitation_id", org.invitation.pk))
    return reverse(f"django_apikeys:{page}", args=args)


def request(client: Client, page: str, org: Org, **overrides: Any) -> Any:
    method = ACCESS[page][0]
    return getattr(client, method)(url_for(page, org, **overrides))


@pytest.mark.parametrize("role_name", ROLES)
@pytest.mark.parametrize("page", sorted(ACCESS))
def test_page_access_by_role(client, org, page, role_name):
    client.force_login(org.user(role_name))
    response = request(client, page, org)
    allowed = role_name in ACCESS[page][1]
    expected = (200 if ACCESS[page][0] == "get" else 302) if allowed else 403
    assert response.status_code == expected


@pytest.mark.parametrize("page", sorted(ACCESS))
def test_a_non_member_gets_404(client, org, page):
    client.force_login(UserFactory())
    assert request(client, page, org).status_code == 404


@pytest.mark.parametrize("page", sorted(ACCESS))
def test_another_organizations_url_is_404_for_its_non_members(client, org, page):
    mine = MembershipFactory(role=role("Owner"))
    client.force_login(mine.user)
    assert request(client, page, org).status_code == 404
    # An invitation of the other organization under one's own is 404 too.
    if page in ("invitation_resend", "invitation_revoke"):
        response = request(client, page, org, org_id=mine.organization.pk)
        assert response.status_code == 404
        assert Invitation.objects.get(pk=org.invitation.pk).status == "pending"


@pytest.mark.parametrize("page", sorted(ACCESS))
def test_anonymous_users_are_sent_to_login(client, org, page):
    response = request(client, page, org)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("page", ["organization_create", "organization_list"])
@pytest.mark.parametrize("who", ["Owner", "Manager", "Billing", "Editor", "stranger"])
def test_create_and_list_are_for_every_signed_in_user(client, org, page, who):
    user = UserFactory() if who == "stranger" else org.user(who)
    client.force_login(user)
    assert client.get(reverse(f"django_apikeys:{page}")).status_code == 200


@pytest.mark.parametrize("page", sorted(ACCESS))
def test_pages_of_a_deleted_organization_are_404(client, org, page):
    services.delete_organization(org.organization)
    client.force_login(org.user("Owner"))
    assert request(client, page, org).status_code == 404


@pytest.mark.parametrize(
    "page, data",
    [
        ("organization_settings", {"name": "Hacked", "slug": "hacked"}),
        ("organization_delete", {"confirmation": "SLUG"}),
        ("organization_leave", {}),
    ],
)
def test_posts_across_organizations_change_nothing(client, org, page, data):
    mine = MembershipFactory(role=role("Owner"))
    client.force_login(mine.user)
    data = {k: (org.organization.slug if v == "SLUG" else v) for k, v in data.items()}
    assert client.post(url_for(page, org), data).status_code == 404
    fresh = Organization.objects.get(pk=org.organization.pk)
    assert (fresh.name, fresh.slug, fresh.is_active) == (
        org.organization.name,
        org.organization.slug,
        True,
    )
    assert Membership.objects.filter(organization=org.organization).count() == len(ROLES)


def test_navigation_links_to_settings_for_every_member(client, org):
    for role_name in ROLES:
        client.force_login(org.user(role_name))
        body = client.get(
            reverse("django_apikeys:organization_detail", args=[org.organization.pk])
        )
        assert url_for("organization_settings", org) in body.content.decode()


@pytest.mark.parametrize(
    "page", ["organization_settings", "organization_delete", "invitation_list"]
)
def test_csrf_is_enforced(org, page):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.user("Owner"))
    assert client.post(url_for(page, org), {}).status_code == 403
