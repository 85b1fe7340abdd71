"""Every lifecycle event against every credential kind, with the lookup cache
on and the cache *restored from a snapshot taken before the event* (what a
Redis that missed the invalidation, or came back from an older RDB file,
serves to another process), after the outbox poll interval: the next request
is refused, or bounded by what is left (a role or a plan).

=================  ==========================================================
credential         what the next request is
=================  ==========================================================
``server``         an organization key created by a Manager: the management
                   API's member list (it acts for its creator), the
                   ``reports`` endpoint for a plan change
``user``           the Manager's user key: a page needing
                   ``organization.manage_members``, ``reports`` for a plan
``access``         the Manager's OAuth access token: the same pages
``refresh``        the Manager's OAuth refresh token: a refresh, then (if it
                   mints one) the new access token on the same pages
``invitation``     a pending invitation the Manager sent (as Manager): its
                   acceptance
=================  ==========================================================

The two-server variant (gunicorn, Redis restarted from its snapshot,
PostgreSQL) is ``tests/live/test_lifecycle_live.py``.
"""

from __future__ import annotations

import copy
import datetime
import re
import time
import types
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import mail
from django.core.cache import caches
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_refresh_token_model
from rest_framework.test import APIClient

from django_apikeys import cache
from django_apikeys import services as core
from django_apikeys.api.permissions import MANAGEMENT_SCOPES
from django_apikeys.models import Invitation, Membership
from django_apikeys.oauth import services as oauth_services
from django_apikeys.oauth import tokens
from django_apikeys.oauth.models import OAuthGrant
from django_apikeys.services.invitations import check_usable
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    PlanFactory,
    UserFactory,
    make_key,
    role,
)
from tests.live.lifecycle_helper import EVENTS

from .conftest import REDIRECT_URI, SCOPES, World

pytestmark = pytest.mark.django_db

CREDENTIALS = ["server", "user", "access", "refresh", "invitation"]

#: (credential, event) -> the outcome of the next request, where it is not the
#: kind's default refusal (401 for keys and access tokens).
EXPECTED: dict[tuple[str, str], Any] = {
    # An organization key belongs to the organization: its creator's account
    # or membership bounds what it may manage (403), not whether it is a key.
    ("server", "deactivate_user"): 403,
    ("server", "remove_member"): 403,
    # Rolling a client secret does not recall a JWT: bounded by its expiry.
    ("access", "roll"): "bounded by exp",
    ("refresh", "revoke"): (400, "invalid_grant"),
    ("refresh", "roll"): (401, "invalid_client"),
    ("refresh", "expire"): (400, "invalid_grant"),
    ("refresh", "delete_organization"): (401, "invalid_client"),
    ("refresh", "deactivate_organization"): (401, "invalid_client"),
    ("refresh", "deactivate_user"): (400, "invalid_grant"),
    ("refresh", "remove_member"): (400, "invalid_grant"),
    ("invitation", "revoke"): "revoked",
    ("invitation", "roll"): "invalid_link",
    ("invitation", "expire"): "expired",
    ("invitation", "delete_organization"): "revoked",
    ("invitation", "deactivate_organization"): "revoked",
    ("invitation", "deactivate_user"): "inviter_lost",
    ("invitation", "remove_member"): "inviter_lost",
    ("invitation", "demote"): "inviter_lost",
    # A plan holds nothing an invitation depends on.
    ("invitation", "plan_change"): "accepted",
}
for _kind in ("server", "user", "access", "refresh"):
    # Still a credential, bounded by the new role or plan.
    EXPECTED[(_kind, "demote")] = 403
    EXPECTED[(_kind, "plan_change")] = 403


@pytest.fixture(autouse=True)
def _cache_on(settings: Any, _oauth_settings: None) -> None:
    settings.APIKEYS = {
        **settings.APIKEYS,
        "KEY_CACHE_TIMEOUT": 300,
        "SCOPE_VOCABULARY": [*SCOPES, *MANAGEMENT_SCOPES],
    }


@dataclass
class Scene:
    world: World
    manager: Membership
    plain_plan: Any
    server_raw: str = ""
    user_raw: str = ""
    user_key: Any = None
    server_key: Any = None
    tokens: dict[str, Any] | None = None
    invitation_token: str = ""
    invitee: Any = None

    @property
    def org(self) -> Any:
        return self.world.org


def _scene(credential: str) -> Scene:
    reports = PlanFactory(entitlements=["reports"])
    organization = OrganizationFactory(plan=reports)
    owner = MembershipFactory(organization=organization, role=role("Owner"))
    manager = MembershipFactory(organization=organization, role=role("Manager"))
    app, secret = oauth_services.register_app(
        organization=organization,
        name="Lifecycle app",
        redirect_uris=[REDIRECT_URI],
        scopes=["clients:read", "reports:read"],
        actor=owner.user,
    )
    client = Client()
    client.force_login(manager.user)
    world = World(org=organization, owner=owner, app=app, secret=secret, client=client)
    scene = Scene(world=world, manager=manager, plain_plan=PlanFactory(entitlements=[]))
    scopes = ["clients:read", "reports:read", "members:read"]
    if credential == "server":
        scene.server_key, scene.server_raw = make_key(
            organization, "server", scopes=scopes, created_by=manager.user
        )
    elif credential == "user":
        scene.user_key, scene.user_raw = make_key(
            organization, "user", user=manager.user, scopes=scopes, created_by=manager.user
        )
    elif credential in ("access", "refresh"):
        scene.tokens = world.tokens(scope="clients:read reports:read")
    else:
        invitee_email = f"invitee-{manager.user.username}@example.com"
        scene.invitee = UserFactory(email=invitee_email)
        core.invite(
            organization,
            email=invitee_email,
            role=role("Manager"),
            actor=manager.user,
            base_url="http://testserver",
        )
        token = re.search(r"https?://\S+/invitations/(\S+)/", mail.outbox[-1].body)
        assert token
        scene.invitation_token = token.group(1)
    return scene


# --- the next request ----------------------------------------------------------------


def _bearer(value: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {value}"}


def _page(scene: Scene, credential: str, event: str, value: str) -> int:
    """The status of the request the credential ``value`` makes next."""
    client = APIClient()
    if event == "plan_change":
        return client.get("/api/v1/reports", **_bearer(value)).status_code
    if credential == "server":
        url = f"/api/manage/organizations/{scene.org.pk}/members/"
    else:
        url = f"/api/v1/orgs/{scene.org.pk}/members"
    return client.get(url, **_bearer(value)).status_code


def _next_request(scene: Scene, credential: str, event: str) -> Any:
    if credential == "server":
        return _page(scene, credential, event, scene.server_raw)
    if credential == "user":
        return _page(scene, credential, event, scene.user_raw)
    if credential == "invitation":
        try:
            core.accept_invitation(scene.invitation_token, scene.invitee)
        except core.InvitationError as exc:
            return exc.code
        return "accepted"
    assert scene.tokens is not None
    if credential == "access":
        return _page(scene, credential, event, scene.tokens["access_token"])
    assert credential == "refresh"
    response = scene.world.refresh(scene.tokens["refresh_token"])
    if response.status_code != 200:
        return response.status_code, response.json()["error"]
    scene.tokens = response.json()
    return _page(scene, "access", event, scene.tokens["access_token"])


def _admitted(scene: Scene, credential: str, event: str) -> None:
    """Before the event: the credential works (and, for keys and access
    tokens, its lookup is now in the cache)."""
    if credential == "invitation":
        check_usable(core.invitation_for_token(scene.invitation_token), scene.invitee)
        return
    for _ in range(2):
        outcome = _next_request(scene, credential, event)
        assert outcome == 200, (credential, event, outcome)


# --- the events ------------------------------------------------------------------------


def _apply(scene: Scene, credential: str, event: str, monkeypatch: Any) -> None:
    world, manager = scene.world, scene.manager
    owner = world.owner.user
    now = timezone.now()
    key = scene.server_key if credential == "server" else scene.user_key
    invitation = Invitation.objects.filter(organization=scene.org).first()
    if event == "revoke":
        if key is not None:
            core.revoke_key(key, actor=owner)
        elif invitation is not None:
            core.revoke_invitation(invitation, actor=owner)
        else:
            oauth_services.revoke_grants(
                OAuthGrant.objects.all(), reason=OAuthGrant.RevokedReason.USER
            )
    elif event == "roll":
        if key is not None:
            roller = manager.user if credential == "user" else owner  # user keys: their owner
            core.roll_key(key, grace_period=datetime.timedelta(0), actor=roller)
        elif invitation is not None:
            core.resend_invitation(invitation, actor=manager.user, base_url="http://testserver")
        else:
            oauth_services.roll_secret(world.app, actor=owner)
    elif event == "expire":
        if key is not None:
            key.expires_at = now - datetime.timedelta(seconds=1)
            key.save(update_fields=["expires_at"])
        elif invitation is not None:
            Invitation.objects.filter(pk=invitation.pk).update(expires_at=now)
        elif credential == "refresh":
            get_refresh_token_model().objects.update(created=now - datetime.timedelta(days=31))
        else:  # an hour and a minute later: past the access token's exp
            later = time.time() + 3660
            monkeypatch.setattr(tokens, "time", types.SimpleNamespace(time=lambda: later))
    elif event == "delete_organization":
        core.delete_organization(scene.org, actor=owner)
    elif event == "deactivate_organization":  # the admin's way: a saved field
        scene.org.deactivated_at = now
        scene.org.save()
    elif event == "deactivate_user":
        manager.user.is_active = False
        manager.user.save()
    elif event == "remove_member":
        core.remove_member(manager, actor=owner)
    elif event == "demote":
        core.change_role(manager, role("Editor"), actor=owner)
    elif event == "plan_change":
        scene.org.plan = scene.plain_plan
        scene.org.save()
    else:  # pragma: no cover
        raise AssertionError(event)


def _snapshot() -> tuple[dict[str, Any], dict[str, Any]]:
    store: Any = caches["default"]
    return copy.deepcopy(dict(store._cache)), copy.deepcopy(dict(store._expire_info))


def _restore(snapshot: tuple[dict[str, Any], dict[str, Any]]) -> None:
    store: Any = caches["default"]
    store._cache.clear()
    store._cache.update(snapshot[0])
    store._expire_info.clear()
    store._expire_info.update(snapshot[1])


@pytest.mark.parametrize("event", EVENTS)
@pytest.mark.parametrize("credential", CREDENTIALS)
def test_every_event_reaches_every_credential(
    credential: str, event: str, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    scene = _scene(credential)
    _admitted(scene, credential, event)
    before = _snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        _apply(scene, credential, event, monkeypatch)
    _restore(before)  # another process's cache missed the invalidation
    monkeypatch.setattr(cache, "_outbox_state", ["", float("-inf"), ()])  # its next poll
    outcome = _next_request(scene, credential, event)
    expected = EXPECTED.get((credential, event), 401)
    if expected == "bounded by exp":
        assert outcome == 200
        exp = tokens.verify(scene.tokens["access_token"])["exp"]  # type: ignore[index]
        assert exp <= time.time() + 3600
    else:
        assert outcome == expected, (credential, event)
