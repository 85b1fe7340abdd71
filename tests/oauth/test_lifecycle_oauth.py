"""OAuth credentials follow the lifecycle: a deleted organization's app stops
working (its tokens, refresh and new consent, whichever organization its users
picked), and a deactivated user's refresh token mints nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_application_model

from django_apikeys import services as core_services
from django_apikeys.oauth.models import OAuthApp, OAuthGrant
from tests.factories import MembershipFactory, role

from .conftest import AUTHORIZE, World

pytestmark = pytest.mark.django_db


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _user_of_another_organization(world: World) -> Any:
    """A member of another organization authorizes the app there."""
    member = MembershipFactory(role=role("Owner"))
    world.client = Client()
    world.client.force_login(member.user)
    return member


@pytest.mark.parametrize("how", ["service", "saved field"])
def test_a_deleted_organizations_app_stops_working_for_every_organization(
    world: World, api_client: Any, django_capture_on_commit_callbacks: Any, how: str
) -> None:
    outsider = _user_of_another_organization(world)
    body = world.tokens(org=outsider.organization)
    assert api_client.get("/api/v1/clients", **bearer(body["access_token"])).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        if how == "service":
            core_services.delete_organization(world.org, actor=world.owner.user)
        else:  # the admin's way
            world.org.deactivated_at = timezone.now()
            world.org.save()

    # Its tokens: refused on the next request.
    response = api_client.get("/api/v1/clients", **bearer(body["access_token"]))
    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")
    grant = OAuthGrant.objects.get()
    assert grant.organization_id == outsider.organization_id
    assert grant.revoked_reason == OAuthGrant.RevokedReason.ORGANIZATION_DELETED
    # Refresh: the app is no client any more.
    refreshed = world.refresh(body["refresh_token"])
    assert (refreshed.status_code, refreshed.json()["error"]) == (401, "invalid_client")
    # New consent: refused before any page is shown.
    page = world.client.get(f"{AUTHORIZE}?{_query(world)}")
    assert page.status_code == 400
    assert b"invalid_client" in page.content or b"Invalid client" in page.content
    assert OAuthGrant.objects.count() == 1


def _query(world: World) -> str:
    from urllib.parse import urlencode

    return urlencode(world.authorize_params())


def test_the_purge_deletes_a_deleted_organizations_apps(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    application_id = world.app.application_id
    with django_capture_on_commit_callbacks(execute=True):
        core_services.delete_organization(world.org, actor=world.owner.user)
    world.org.delete()  # what purge_organizations does past the retention period
    assert not OAuthApp.objects.exists()
    assert not get_application_model().objects.filter(pk=application_id).exists()


def test_a_deactivated_users_refresh_token_mints_nothing(world: World, api_client: Any) -> None:
    body = world.tokens()
    user = world.owner.user
    user.is_active = False
    user.save()
    refreshed = world.refresh(body["refresh_token"])
    assert (refreshed.status_code, refreshed.json()["error"]) == (400, "invalid_grant")
    assert "access_token" not in refreshed.json()
    response = api_client.get("/api/v1/clients", **bearer(body["access_token"]))
    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")
    # The authorization stays: the account may come back.
    user.is_active = True
    user.save()
    assert world.refresh(body["refresh_token"]).status_code == 200


def test_a_deactivated_users_code_mints_nothing(world: World) -> None:
    code = world.code()
    user = world.owner.user
    user.is_active = False
    user.save()
    response = world.exchange(code)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")
