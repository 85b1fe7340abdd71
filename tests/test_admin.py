"""Django admin: pages render, the add flow shows the raw key once, revoke action."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.urls import reverse

from django_apikeys import keys
from django_apikeys.models import APIKey, Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, make_key, role

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    client.user = admin
    return client


@pytest.mark.parametrize(
    "name",
    [
        "admin:django_apikeys_apikey_changelist",
        "admin:django_apikeys_apikey_add",
        "admin:django_apikeys_organization_changelist",
        "admin:django_apikeys_organization_add",
        "admin:django_apikeys_role_changelist",
        "admin:django_apikeys_role_add",
        "admin:django_apikeys_plan_changelist",
        "admin:django_apikeys_auditevent_changelist",
        "admin:django_apikeys_usagerecord_changelist",
    ],
)
def test_admin_pages_render(admin_client, name):
    make_key()
    assert admin_client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize(
    "query",
    ["?key_type=server", "?status=active", "?status=revoked", "?is_active__exact=1", "?q=ser"],
)
def test_key_changelist_filters_and_search(admin_client, query):
    api_key, _ = make_key()
    response = admin_client.get(reverse("admin:django_apikeys_apikey_changelist") + query)
    assert response.status_code == 200


def test_change_pages_render_without_hash(admin_client):
    api_key, _ = make_key()
    org = api_key.organization
    MembershipFactory(organization=org)
    response = admin_client.get(reverse("admin:django_apikeys_apikey_change", args=[api_key.pk]))
    assert response.status_code == 200
    assert api_key.hashed_key not in response.content.decode()
    response = admin_client.get(reverse("admin:django_apikeys_organization_change", args=[org.pk]))
    assert response.status_code == 200
    response = admin_client.get(
        reverse("admin:django_apikeys_role_change", args=[role("Owner").pk])
    )
    assert response.status_code == 200


def test_add_key_shows_raw_key_once_and_nowhere_else(admin_client):
    org = OrganizationFactory()
    response = admin_client.post(
        reverse("admin:django_apikeys_apikey_add"),
        {
            "organization": str(org.pk),
            "key_type": "server",
            "name": "Deploys",
            "scopes": "read:clients invoices:*",
            "rate_limit_per_minute": "0",
            "rate_limit_per_day": "0",
            "allowed_origins": "[]",
        },
    )
    assert response.status_code == 200, response.content[:2000]
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    match = re.search(r'value="(sk_[A-Za-z0-9]{32}_[0-9a-f]{8})"', body)
    assert match, body
    raw = match.group(1)
    api_key = APIKey.objects.get()
    assert api_key.hashed_key == keys.hash_key(raw)
    assert api_key.scopes == ["clients:read", "invoices:*"]
    assert api_key.created_by == admin_client.user
    # not in the admin log, the session, the messages, a cookie
    for entry in LogEntry.objects.all():
        assert raw not in entry.object_repr + entry.change_message
    assert LogEntry.objects.count() == 1
    for session in Session.objects.all():
        assert raw not in str(session.get_decoded())
    assert not list(get_messages(response.wsgi_request))
    assert all(raw not in morsel.value for morsel in response.cookies.values())
    # the change page afterwards shows the hint only
    response = admin_client.get(reverse("admin:django_apikeys_apikey_change", args=[api_key.pk]))
    assert raw not in response.content.decode()
    assert api_key.hint in response.content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"key_type": "user"}, "user"),
        ({"scopes": "not a scope!"}, "scopes"),
        ({"key_type": "bogus"}, "key_type"),
        ({"expires_at_0": "2000-01-01", "expires_at_1": "00:00:00"}, "expires_at"),
        ({"name": ""}, "name"),
    ],
)
def test_add_key_bad_input_is_a_form_error(admin_client, data, field):
    org = OrganizationFactory()
    payload = {
        "organization": str(org.pk),
        "key_type": "server",
        "name": "x",
        "scopes": "*",
        "rate_limit_per_minute": "0",
        "rate_limit_per_day": "0",
        "allowed_origins": "[]",
        **data,
    }
    response = admin_client.post(reverse("admin:django_apikeys_apikey_add"), payload)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not APIKey.objects.exists()


def test_staff_cannot_grant_more_than_their_role(client):
    staff = UserFactory(is_staff=True)
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(*Permission.objects.filter(codename__endswith="apikey"))
    membership = MembershipFactory(user=staff, role=role("Editor"))
    client.force_login(staff)
    response = client.post(
        reverse("admin:django_apikeys_apikey_add"),
        {
            "organization": str(membership.organization.pk),
            "key_type": "server",
            "name": "x",
            "scopes": "clients:write",
            "rate_limit_per_minute": "0",
            "rate_limit_per_day": "0",
            "allowed_origins": "[]",
        },
    )
    assert response.status_code == 200
    assert "scopes" in response.context["adminform"].form.errors
    assert not APIKey.objects.exists()


def test_revoke_action(admin_client):
    first, _ = make_key()
    second, _ = make_key(first.organization, name="two")
    response = admin_client.post(
        reverse("admin:django_apikeys_apikey_changelist"),
        {"action": "revoke_keys", "_selected_action": [str(first.pk), str(second.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Revoked 2 API keys." in response.content.decode()
    assert APIKey.objects.revoked().count() == 2


def test_revocation_cannot_be_undone_in_the_change_form(admin_client):
    api_key, _ = make_key()
    from django_apikeys import services

    services.revoke_key(api_key)
    url = reverse("admin:django_apikeys_apikey_change", args=[api_key.pk])
    response = admin_client.post(
        url,
        {
            "name": "renamed",
            "is_active": "on",
            "rate_limit_per_minute": "0",
            "rate_limit_per_day": "0",
            "allowed_origins": "[]",
        },
    )
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.name == "renamed" and api_key.is_revoked


def test_role_admin_edits_permissions_and_scopes(admin_client):
    response = admin_client.post(
        reverse("admin:django_apikeys_role_add"),
        {
            "name": "Support",
            "description": "",
            "permissions": ["organization.view_organization"],
            "scopes": "read:tickets, tickets:write",
            "rank": "5",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    support = Role.objects.get(name="Support")
    assert support.permissions == ["organization.view_organization"]
    assert support.scopes == ["tickets:read", "tickets:write"]
    response = admin_client.post(
        reverse("admin:django_apikeys_role_add"),
        {"name": "Bad", "permissions": ["organization.fly"], "scopes": "", "rank": "0"},
    )
    assert response.status_code == 200
    assert "permissions" in response.context["adminform"].form.errors
