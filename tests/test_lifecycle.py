"""A change of state reaches every credential that depends on it: deleting an
organization writes an invalidation-outbox row, an organization key stops
acting for a deactivated creator, a pending invitation is as good as its
inviter's authority now, and a deleted organization leaves the management
API's list. The OAuth side is in ``tests/oauth/test_lifecycle_oauth.py``, the
event × credential matrix in ``tests/oauth/test_lifecycle_matrix.py``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from django_apikeys import cache, services
from django_apikeys.api.permissions import MANAGEMENT_SCOPES
from django_apikeys.models import CacheInvalidation, Invitation, Membership
from tests.factories import MembershipFactory, PlanFactory, UserFactory, bearer, make_key, role

pytestmark = pytest.mark.django_db

BASE = "/api/manage/organizations/"


@pytest.fixture
def cache_on(settings: Any) -> None:
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300}


# --- deleting an organization writes an outbox row ------------------------------


def test_deleting_an_organization_writes_an_outbox_row_in_its_transaction(cache_on: None) -> None:
    owner = MembershipFactory(role=role("Owner"))
    make_key(owner.organization)
    rows = CacheInvalidation.objects.count()
    mark = cache.outbox_mark(refresh=True)
    assert services.delete_organization(owner.organization, actor=owner.user)
    assert CacheInvalidation.objects.count() == rows + 1
    assert cache.outbox_mark(refresh=True) != mark


CHANGES = [
    "delete_organization",
    "deactivate_organization",
    "plan_change",
    "plan_edit",
    "role_change",
    "role_permissions_edit",
    "member_removal",
    "user_deactivation",
]


def _change(change: str, owner: Membership, member: Membership) -> None:
    organization = owner.organization
    if change == "delete_organization":
        services.delete_organization(organization, actor=owner.user)
    elif change == "deactivate_organization":  # the admin's way: a saved field
        organization.deactivated_at = timezone.now()
        organization.save()
    elif change == "plan_change":
        organization.plan = PlanFactory()
        organization.save()
    elif change == "plan_edit":
        plan = organization.plan
        assert plan is not None
        plan.entitlements = []
        plan.save()
    elif change == "role_change":
        services.change_role(member, role("Editor"), actor=owner.user)
    elif change == "role_permissions_edit":
        manager = role("Manager")
        kept = [p for p in manager.permissions if p != "organization.manage_members"]
        manager.permissions = kept
        manager.save()
    elif change == "member_removal":
        services.remove_member(member, actor=owner.user)
    else:
        member.user.is_active = False
        member.user.save()


@pytest.mark.parametrize("change", CHANGES)
def test_every_change_a_cached_key_depends_on_writes_an_outbox_row(
    cache_on: None, change: str
) -> None:
    owner = MembershipFactory(role=role("Owner"))
    owner.organization.plan = PlanFactory(entitlements=["reports"])
    owner.organization.save()
    member = MembershipFactory(organization=owner.organization, role=role("Manager"))
    make_key(owner.organization, "user", user=member.user, created_by=member.user)
    rows = CacheInvalidation.objects.count()
    mark = cache.outbox_mark(refresh=True)
    _change(change, owner, member)
    assert CacheInvalidation.objects.count() > rows, change
    assert cache.outbox_mark(refresh=True) != mark


# --- an organization key acts for an active creator only -------------------------


def _manager_org_key() -> tuple[Membership, str]:
    owner = MembershipFactory(role=role("Owner"))
    manager = MembershipFactory(organization=owner.organization, role=role("Manager"))
    _key, raw = make_key(
        owner.organization,
        "server",
        scopes=[*MANAGEMENT_SCOPES, "clients:read"],
        created_by=manager.user,
    )
    return manager, raw


def _management_calls(raw: str, org_id: Any) -> tuple[int, int]:
    client = APIClient()
    url = f"{BASE}{org_id}/"
    members = client.get(f"{url}members/", **bearer(raw))
    created = client.post(
        f"{url}keys/",
        {"name": "minted", "key_type": "server", "scopes": ["clients:read"]},
        format="json",
        **bearer(raw),
    )
    return members.status_code, created.status_code


def test_organization_key_loses_its_deactivated_creators_management_rights() -> None:
    manager, raw = _manager_org_key()
    assert _management_calls(raw, manager.organization_id) == (200, 201)
    manager.user.is_active = False
    manager.user.save()
    members, created = _management_calls(raw, manager.organization_id)
    assert (members, created) == (403, 403)
    # The key itself still reads the organization's data: it belongs to the organization.
    assert APIClient().get("/api/v1/me", **bearer(raw)).status_code == 200


def test_organization_key_of_a_deactivated_creator_is_refused_with_the_cache_on(
    cache_on: None,
) -> None:
    manager, raw = _manager_org_key()
    assert _management_calls(raw, manager.organization_id) == (200, 201)
    assert _management_calls(raw, manager.organization_id)[0] == 200  # warm cache
    manager.user.is_active = False
    manager.user.save()
    assert _management_calls(raw, manager.organization_id) == (403, 403)


# --- a pending invitation keeps no authority its inviter lost ----------------------


def _invite_second_address(manager: Membership, role_name: str = "Manager") -> tuple[str, Any]:
    """The manager invites their own second address; returns (token, second account)."""
    second = UserFactory(email=f"second-{manager.user.username}@example.com")
    client = Client()
    client.force_login(manager.user)
    response = client.post(
        reverse("django_apikeys:invitation_list", args=[manager.organization_id]),
        {"email": second.email, "role": role(role_name).pk},
    )
    assert response.status_code == 302, response.content[:500]
    link = re.search(r"https?://\S+/invitations/(\S+)/", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    return link.group(1), second


def _invitation_url(token: str) -> str:
    return reverse("django_apikeys:invitation", args=[token])


def _accept(token: str, user: Any) -> Any:
    client = Client()
    client.force_login(user)
    return client.post(_invitation_url(token), {"answer": "accept"})


def _lose_authority(manager: Membership, how: str, owner: Membership) -> None:
    if how == "demoted":
        services.change_role(manager, role("Editor"), actor=owner.user)
    elif how == "removed":
        services.remove_member(manager, actor=owner.user)
    else:
        manager.user.is_active = False
        manager.user.save()


@pytest.mark.parametrize("how", ["demoted", "removed", "deactivated"])
def test_invitation_is_refused_when_its_inviter_lost_the_authority(how: str) -> None:
    owner = MembershipFactory(role=role("Owner"))
    manager = MembershipFactory(organization=owner.organization, role=role("Manager"))
    token, second = _invite_second_address(manager)
    _lose_authority(manager, how, owner)

    page = Client()
    page.force_login(second)
    shown = page.get(_invitation_url(token))
    assert shown.status_code == 410
    assert b"can no longer grant its role" in shown.content

    response = _accept(token, second)
    assert response.status_code == 410
    assert b"can no longer grant its role" in response.content
    assert not Membership.objects.filter(user=second, organization=owner.organization).exists()
    with pytest.raises(services.InvitationError) as refused:
        services.accept_invitation(token, second)
    assert refused.value.code == "inviter_lost"


def test_invitation_of_an_inviter_who_still_may_grant_it_is_accepted() -> None:
    owner = MembershipFactory(role=role("Owner"))
    manager = MembershipFactory(organization=owner.organization, role=role("Manager"))
    token, second = _invite_second_address(manager, "Editor")
    # Demoted to Editor, the inviter still holds every right of the Editor role.
    services.change_role(manager, role("Editor"), actor=owner.user)
    assert _accept(token, second).status_code == 302
    joined = Membership.objects.get(user=second, organization=owner.organization)
    assert joined.role.name == "Editor"
    assert Invitation.objects.filter(accepted_by=second).exists()


# --- the management API lists no deleted organization -------------------------------


@pytest.mark.parametrize("kind", ["session", "user"])
def test_management_api_no_longer_lists_a_deleted_organization(kind: str) -> None:
    owner = MembershipFactory(role=role("Owner"))
    kept = MembershipFactory(user=owner.user, role=role("Owner"))
    client = APIClient()
    if kind == "session":
        client.force_login(owner.user)
        headers: dict[str, str] = {}
    else:
        _key, raw = make_key(
            owner.organization, "user", user=owner.user, scopes=["organizations:read"]
        )
        headers = bearer(raw)
    listed = client.get(BASE, **headers).json()["results"]
    assert str(owner.organization_id) in {org["id"] for org in listed}
    services.delete_organization(owner.organization, actor=owner.user)
    response = client.get(BASE, **headers)
    if kind == "user":  # the key's organization is deleted: the key itself is refused
        assert response.status_code == 401
        return
    ids = {org["id"] for org in response.json()["results"]}
    assert ids == {str(kept.organization_id)}
    detail = client.get(f"{BASE}{owner.organization_id}/")
    assert detail.status_code in (403, 404)
