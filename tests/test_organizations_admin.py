"""Django admin for organizations' new parts: invitations (list, detail,
inline, revoke action; the token hash never shown) and deleting
organizations (action, "deleted" filter)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from django_apikeys import services
from django_apikeys.models import Invitation, Organization
from tests.factories import MembershipFactory, UserFactory, make_key, role

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def invitation() -> Invitation:
    owner = MembershipFactory(role=role("Owner"))
    return services.invite(
        owner.organization,
        email="guest@example.com",
        role=role("Editor"),
        actor=owner.user,
        base_url="http://testserver",
    )


def test_invitations_are_listed_and_shown_without_the_token_hash(admin_client, invitation):
    listing = admin_client.get(reverse("admin:django_apikeys_invitation_changelist"))
    assert listing.status_code == 200
    body = listing.content.decode()
    assert "guest@example.com" in body and "Pending" in body
    detail = admin_client.get(
        reverse("admin:django_apikeys_invitation_change", args=[invitation.pk])
    )
    assert detail.status_code == 200
    assert invitation.token_hash not in detail.content.decode()
    assert admin_client.get(reverse("admin:django_apikeys_invitation_add")).status_code == 403


def test_the_organization_page_shows_its_invitations(admin_client, invitation):
    page = admin_client.get(
        reverse("admin:django_apikeys_organization_change", args=[invitation.organization.pk])
    )
    body = page.content.decode()
    assert "guest@example.com" in body and invitation.token_hash not in body


def test_the_revoke_action(admin_client, invitation):
    response = admin_client.post(
        reverse("admin:django_apikeys_invitation_changelist"),
        {"action": "revoke_invitations", "_selected_action": [str(invitation.pk)]},
    )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == "revoked"


def test_the_delete_action_deactivates_and_the_filter_finds_it(admin_client, api_client):
    org = MembershipFactory(role=role("Owner")).organization
    _key, raw = make_key(org)
    response = admin_client.post(
        reverse("admin:django_apikeys_organization_changelist"),
        {"action": "delete_organizations", "_selected_action": [str(org.pk)]},
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert not org.is_active
    response = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.json()["code"] == "organization_deactivated"
    changelist = reverse("admin:django_apikeys_organization_changelist")
    deleted = admin_client.get(changelist + "?deleted=yes").context["cl"].queryset
    active = admin_client.get(changelist + "?deleted=no").context["cl"].queryset
    assert list(deleted) == [org] and org not in active
    assert Organization.objects.filter(pk=org.pk).exists()  # kept until the purge
