"""Dashboard pages: OAuth apps per organization and authorized apps."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from oauth2_provider.models import Application

from django_apikeys.models import AuditEvent, Role
from django_apikeys.oauth.models import OAuthApp, OAuthGrant
from tests.factories import MembershipFactory, OrganizationFactory, role

from .conftest import REDIRECT_URI, bearer

pytestmark = pytest.mark.django_db

SECRET_RE = re.compile(rb'id="client-secret" type="text" readonly value="([^"]+)"')


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _apps_url(org):
    return f"/apikeys/{org.pk}/oauth/apps/"


def test_register_shows_the_secret_once_and_stores_it_hashed(world):
    client = _client(world.owner.user)
    response = client.post(
        _apps_url(world.org) + "new/",
        {
            "name": "CRM sync",
            "redirect_uris": "https://crm.example/callback\nhttp://localhost:3000/cb",
            "client_type": "confidential",
            "scopes": ["clients:read", "invoices:read"],
        },
    )
    assert response.status_code == 200, response.content[:2000]
    assert response["Cache-Control"].startswith("no-store")
    secret = re.search(
        rb'id="client-secret" type="text" readonly value="([^"]+)"', response.content
    )
    assert secret
    app = OAuthApp.objects.get(application__name="CRM sync")
    assert app.scopes == ["clients:read", "invoices:read"]
    assert app.application.client_secret != secret.group(1).decode()  # hashed at rest
    assert (
        app.application.client_secret.startswith("pbkdf2_") or "$" in app.application.client_secret
    )
    assert AuditEvent.objects.filter(action="oauth_app.created", organization=world.org).exists()
    page = client.get(_apps_url(world.org))
    assert b"CRM sync" in page.content
    assert secret.group(1) not in page.content


@pytest.mark.parametrize(
    ("uris", "message"),
    [
        ("http://crm.example/callback", b"https"),
        ("https://crm.example/*", b"absolute"),
        ("not a url", b"absolute"),
    ],
)
def test_redirect_uris_are_https_except_localhost(world, uris, message):
    client = _client(world.owner.user)
    response = client.post(
        _apps_url(world.org) + "new/",
        {"name": "x", "redirect_uris": uris, "client_type": "public", "scopes": ["clients:read"]},
    )
    assert response.status_code == 200
    assert message in response.content
    assert not OAuthApp.objects.filter(application__name="x").exists()


def test_scopes_never_beyond_the_registering_members_role(world):
    editor_org = OrganizationFactory()
    # A role that may manage API keys but holds clients:read only.
    narrow = Role.objects.create(
        name="Integrator",
        permissions=["organization.view", "organization.manage_api_keys"],
        scopes=["clients:read"],
    )
    member = MembershipFactory(organization=editor_org, role=narrow)
    client = _client(member.user)
    response = client.post(
        _apps_url(editor_org) + "new/",
        {
            "name": "too wide",
            "redirect_uris": REDIRECT_URI,
            "client_type": "public",
            "scopes": ["clients:read", "invoices:write"],
        },
    )
    assert response.status_code == 200
    assert b"Your role does not hold" in response.content
    assert not OAuthApp.objects.filter(application__name="too wide").exists()


def test_pages_need_manage_api_keys_and_membership(world):
    editor = MembershipFactory(organization=world.org, role=role("Editor"))
    assert _client(editor.user).get(_apps_url(world.org)).status_code == 403
    stranger = MembershipFactory()
    assert _client(stranger.user).get(_apps_url(world.org)).status_code == 404
    assert Client().get(_apps_url(world.org)).status_code == 302


def test_roll_secret(world):
    client = _client(world.owner.user)
    old_hash = world.app.application.client_secret
    url = f"{_apps_url(world.org)}{world.app.pk}/roll/"
    assert client.get(url).status_code == 200
    response = client.post(url)
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("no-store")
    new = SECRET_RE.search(response.content)
    world.app.application.refresh_from_db()
    assert world.app.application.client_secret != old_hash
    # The old secret no longer works at the token endpoint; the new one does.
    code = world.code()
    assert world.exchange(code).json()["error"] == "invalid_client"
    world.secret = new.group(1).decode()
    assert world.exchange(world.code()).status_code == 200
    assert AuditEvent.objects.filter(action="oauth_app.secret_rolled").exists()


def test_delete_app_revokes_its_tokens(world, api_client):
    body = world.tokens()
    client = _client(world.owner.user)
    response = client.post(f"{_apps_url(world.org)}{world.app.pk}/delete/")
    assert response.status_code == 302
    assert not Application.objects.filter(pk=world.app.application_id).exists()
    assert api_client.get("/api/v1/clients", **bearer(body["access_token"])).json()["code"] == (
        "token_revoked"
    )
    assert AuditEvent.objects.filter(action="oauth_app.deleted").exists()


def test_another_organizations_app_is_404(world):
    other = MembershipFactory(role=role("Owner"))
    client = _client(other.user)
    url = f"/apikeys/{other.organization.pk}/oauth/apps/{world.app.pk}/delete/"
    assert client.post(url).status_code == 404
    assert OAuthApp.objects.filter(pk=world.app.pk).exists()


def test_user_sees_and_revokes_authorized_apps(world, api_client):
    body = world.tokens()
    client = _client(world.owner.user)
    page = client.get("/apikeys/oauth/authorized/")
    assert b"Zapier-class integration" in page.content
    assert world.org.name.encode() in page.content
    assert b"clients:read" in page.content
    grant = OAuthGrant.objects.get()
    # another user cannot revoke it
    other = MembershipFactory(organization=world.org)
    assert (
        _client(other.user).post(f"/apikeys/oauth/authorized/{grant.pk}/revoke/").status_code
        == 404
    )
    assert client.post(f"/apikeys/oauth/authorized/{grant.pk}/revoke/").status_code == 302
    assert b"No authorized apps" in client.get("/apikeys/oauth/authorized/").content
    assert api_client.get("/api/v1/clients", **bearer(body["access_token"])).status_code == 401
    assert AuditEvent.objects.filter(action="oauth_grant.revoked").exists()


def test_org_admin_sees_and_revokes_apps_authorized_in_the_org(world, api_client):
    member = MembershipFactory(organization=world.org, role=role("Manager"))
    world.client.force_login(member.user)
    body = world.tokens()
    admin = _client(world.owner.user)
    page = admin.get(f"/apikeys/{world.org.pk}/oauth/authorizations/")
    assert member.user.username.encode() in page.content
    grant = OAuthGrant.objects.get(user=member.user)
    response = admin.post(f"/apikeys/{world.org.pk}/oauth/authorizations/{grant.pk}/revoke/")
    assert response.status_code == 302
    assert api_client.get("/api/v1/clients", **bearer(body["access_token"])).json()["code"] == (
        "token_revoked"
    )
    grant.refresh_from_db()
    assert grant.revoked_reason == "admin" and grant.revoked_by == world.owner.user


def test_admin_lists_apps_and_authorizations(world, admin_client):
    world.tokens()
    assert admin_client.get("/admin/django_apikeys_oauth/oauthapp/").status_code == 200
    assert admin_client.get("/admin/django_apikeys_oauth/oauthgrant/").status_code == 200
    grant = OAuthGrant.objects.get()
    response = admin_client.post(
        "/admin/django_apikeys_oauth/oauthgrant/",
        {"action": "revoke", "_selected_action": [str(grant.pk)]},
    )
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None


def test_dashboard_navigation_links_to_the_oauth_pages(world):
    owner = _client(world.owner.user)
    page = owner.get(f"/apikeys/{world.org.pk}/").content.decode()
    assert f'href="/apikeys/{world.org.pk}/oauth/apps/"' in page
    assert 'href="/apikeys/oauth/authorized/"' in page
    editor = MembershipFactory(organization=world.org, role=role("Editor"))
    page = _client(editor.user).get(f"/apikeys/{world.org.pk}/").content.decode()
    assert "/oauth/apps/" not in page
    assert 'href="/apikeys/oauth/authorized/"' in page


def test_oauth_audit_actions_have_readable_labels(client):
    """The audit log and overview show "OAuth app registered", not ``oauth_app.created``."""
    from django_apikeys.abstract import action_choices
    from django_apikeys.oauth import services

    owner = MembershipFactory(role=role("Owner"))
    services.register_app(
        organization=owner.organization,
        name="Labelled",
        redirect_uris=["https://app.example/cb"],
        scopes=["clients:read"],
        confidential=True,
        actor=owner.user,
    )
    event = AuditEvent.objects.get(action=services.APP_CREATED)
    assert event.action_label == "OAuth app registered"
    assert (services.APP_CREATED, "OAuth app registered") in [
        (value, str(label)) for value, label in action_choices()
    ]
    client.force_login(owner.user)
    org = owner.organization.pk
    for url in (f"/apikeys/{org}/audit/", f"/apikeys/{org}/"):
        body = client.get(url).content.decode()
        assert "OAuth app registered" in body and "oauth_app.created</" not in body
    filtered = client.get(f"/apikeys/{org}/audit/", {"action": services.APP_CREATED})
    assert list(filtered.context["events"]) == [event]
