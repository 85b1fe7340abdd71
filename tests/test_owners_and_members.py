"""User keys follow their owner: deactivation, the owner alone mints one, roles
with wider scopes cannot be granted, removed or moved members' keys stop."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from django_apikeys import services
from django_apikeys.models import Membership, Role
from tests.factories import MembershipFactory, UserFactory, bearer, make_key, role

pytestmark = pytest.mark.django_db
ME = "/api/v1/me"


@pytest.fixture(params=[0, 300], ids=["cache-off", "cache-on"])
def lookup_cache(request, settings):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": request.param}
    return request.param


# --- owners -------------------------------------------------------------------


def test_deactivated_owner_key_is_refused(
    api_client, lookup_cache, django_capture_on_commit_callbacks
):
    membership = MembershipFactory()
    _, raw = make_key(membership.organization, "user", user=membership.user)
    assert api_client.get(ME, **bearer(raw)).status_code == 200  # warms the cache
    with django_capture_on_commit_callbacks(execute=True):
        membership.user.is_active = False
        membership.user.save()
    response = api_client.get(ME, **bearer(raw))
    assert (response.status_code, response.json()["code"]) == (401, "key_revoked")


def test_login_does_not_drop_cached_keys(settings, django_capture_on_commit_callbacks):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300}
    membership = MembershipFactory()
    make_key(membership.organization, "user", user=membership.user)
    with mock.patch("django_apikeys.cache.invalidate_many") as invalidate:
        with django_capture_on_commit_callbacks(execute=True):
            membership.user.last_login = timezone.now()
            membership.user.save(update_fields=["last_login"])
    invalidate.assert_not_called()


def test_only_the_owner_creates_a_user_key():
    owner = MembershipFactory(role=role("Owner"))
    manager = MembershipFactory(organization=owner.organization, role=role("Manager"))
    with pytest.raises(ValidationError) as exc:
        services.create_key(
            organization=owner.organization,
            key_type="user",
            name="as the owner",
            user=owner.user,
            created_by=manager.user,
        )
    assert exc.value.error_dict["user"][0].code == "owner_not_creator"
    services.create_key(
        organization=owner.organization,
        key_type="user",
        name="mine",
        user=manager.user,
        created_by=manager.user,
        scopes=["*"],
    )
    superuser = UserFactory(is_superuser=True)
    services.create_key(
        organization=owner.organization,
        key_type="user",
        name="support",
        user=owner.user,
        created_by=superuser,
        scopes=["*"],
    )


# --- roles ----------------------------------------------------------------------


def test_a_role_with_wider_scopes_cannot_be_granted():
    narrow = Role.objects.create(
        name="Narrow manager",
        permissions=["organization.view_organization", "organization.manage_members"],
        scopes=["clients:read"],
    )
    wide = Role.objects.create(
        name="Wide manager",
        permissions=["organization.view_organization", "organization.manage_members"],
        scopes=["*"],
    )
    owner = MembershipFactory(role=role("Owner"))
    actor = MembershipFactory(organization=owner.organization, role=narrow)
    assert not services.can_grant_role(actor.user, owner.organization, wide)
    with pytest.raises(ValidationError):
        services.change_role(actor, wide, actor=actor.user)
    with pytest.raises(ValidationError):
        services.add_member(owner.organization, UserFactory(), wide, actor=actor.user)
    assert services.can_grant_role(owner.user, owner.organization, wide)


# --- membership changes ------------------------------------------------------------


def test_removed_member_keys_are_revoked_for_good(api_client):
    owner = MembershipFactory()
    member = MembershipFactory(organization=owner.organization, role=role("Editor"))
    api_key, raw = make_key(
        member.organization, "user", user=member.user, scopes=["products:read"]
    )
    services.remove_member(member, actor=owner.user)
    api_key.refresh_from_db()
    assert api_key.is_revoked
    services.add_member(owner.organization, member.user, role("Editor"), actor=owner.user)
    response = api_client.get(ME, **bearer(raw))
    assert response.json()["code"] == "key_revoked"


def test_membership_moved_to_another_user_drops_cached_key(
    api_client, settings, django_capture_on_commit_callbacks
):
    settings.APIKEYS = {"KEY_CACHE_TIMEOUT": 300}
    owner = MembershipFactory()
    member = MembershipFactory(organization=owner.organization, role=role("Editor"))
    _, raw = make_key(member.organization, "user", user=member.user, scopes=["products:read"])
    assert api_client.get(ME, **bearer(raw)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        Membership.objects.get(pk=member.pk)  # as the admin inline does
        member.user = UserFactory()
        member.save()
    response = api_client.get(ME, **bearer(raw))
    assert (response.status_code, response.json()["code"]) == (401, "key_revoked")
