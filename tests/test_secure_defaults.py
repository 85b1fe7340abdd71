"""One secure default wherever a key is made: no implicit ``*`` scope, and an
expiry (``APIKEYS["DEFAULT_KEY_EXPIRY_DAYS"]``, 90 days) unless the creator
opts out explicitly. The service and the command are tested in
``test_services.py`` and ``test_commands.py``; the admin, the management API
and the dashboard here."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from django_apikeys.models import APIKey
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, role

pytestmark = pytest.mark.django_db


def _days_left(api_key: APIKey) -> float:
    assert api_key.expires_at is not None
    return (api_key.expires_at - timezone.now()).total_seconds() / 86400


def _admin_payload(org, **extra):
    return {
        "organization": str(org.pk),
        "key_type": "server",
        "name": "Deploys",
        "rate_limit_per_minute": "0",
        "rate_limit_per_day": "0",
        **extra,
    }


def test_admin_add_form_needs_scopes_and_offers_the_default_expiry(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    org = OrganizationFactory()
    add = reverse("admin:django_apikeys_apikey_add")
    form = client.get(add).context["adminform"].form
    initial = form["expires_at"].value()
    assert initial is not None
    assert 89.9 < (initial - timezone.now()).total_seconds() / 86400 <= 90
    refused = client.post(add, _admin_payload(org))
    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors.as_data()
    assert "scopes_required" in {e.code for field in errors.values() for e in field}
    assert not APIKey.objects.exists()
    expiry = timezone.localtime(timezone.now() + datetime.timedelta(days=90))
    created = client.post(
        add,
        _admin_payload(
            org,
            scopes="clients:read",
            expires_at_0=expiry.strftime("%Y-%m-%d"),
            expires_at_1=expiry.strftime("%H:%M:%S"),
        ),
    )
    assert created.status_code == 200
    assert 89 < _days_left(APIKey.objects.get()) <= 90
    # Clearing the expiry is the explicit opt-out.
    client.post(add, _admin_payload(org, name="Forever", scopes="*"))
    assert APIKey.objects.get(name="Forever").expires_at is None


def _api_client(org):
    owner = MembershipFactory(organization=org, role=role("Owner"))
    client = APIClient()
    client.force_login(owner.user)
    return client


def test_management_api_expires_keys_unless_null_is_asked_for():
    org = OrganizationFactory()
    client = _api_client(org)
    url = f"/api/manage/organizations/{org.pk}/keys/"
    response = client.post(
        url, {"name": "CI", "key_type": "server", "scopes": ["clients:read"]}, format="json"
    )
    assert response.status_code == 201, response.content
    assert 89.9 < _days_left(APIKey.objects.get(name="CI")) <= 90
    response = client.post(
        url,
        {"name": "Forever", "key_type": "server", "scopes": ["clients:read"], "expires_at": None},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert APIKey.objects.get(name="Forever").expires_at is None
    # No implicit "*": scopes are required.
    response = client.post(url, {"name": "x", "key_type": "server"}, format="json")
    assert response.status_code == 400
    assert "scopes" in response.json()


def test_dashboard_create_form_offers_the_default_expiry():
    from django.test import Client

    membership = MembershipFactory(role=role("Owner"))
    client = Client()
    client.force_login(membership.user)
    url = reverse("django_apikeys:key_create", kwargs={"org_id": membership.organization.pk})
    form = client.get(url).context["form"]
    assert form["expiry"].value() == "90"


@pytest.mark.parametrize(("days", "preselected"), [(30, "30"), (None, "never")])
def test_dashboard_preselects_the_sites_default_expiry(settings, days, preselected):
    from django.test import Client

    settings.APIKEYS = {"DEFAULT_KEY_EXPIRY_DAYS": days}
    membership = MembershipFactory(role=role("Owner"))
    client = Client()
    client.force_login(membership.user)
    url = reverse("django_apikeys:key_create", kwargs={"org_id": membership.organization.pk})
    assert client.get(url).context["form"]["expiry"].value() == preselected


# --- the admin's "Add API key" page reads like the rest of the admin ------------


def test_admin_add_key_page_picks_the_organization_by_name_and_shows_no_json(admin_client):
    page = admin_client.get(reverse("admin:django_apikeys_apikey_add"))
    form = page.context["adminform"].form
    # An autocomplete (search by name), not a raw UUID box.
    assert "admin-autocomplete" in str(form["organization"])
    assert "vForeignKeyRawIdAdminField" not in str(form["organization"])
    # Empty lists are empty boxes, not a literal "[]".
    for name in ("allowed_ips", "allowed_origins"):
        assert form[name].value() in ("", None, []), name
        assert ">[]</textarea>" not in str(form[name]), name
    labels = {name: str(form[name].label) for name in form.fields}
    assert all(label[:1].isupper() for label in labels.values()), labels
    assert labels["allowed_ips"] == "Allowed IP addresses"


def test_admin_add_key_takes_networks_one_per_line(admin_client):
    org = OrganizationFactory()
    response = admin_client.post(
        reverse("admin:django_apikeys_apikey_add"),
        _admin_payload(org, scopes="*", allowed_ips="10.0.0.0/24\n2001:DB8::1"),
    )
    assert response.status_code == 200
    assert APIKey.objects.get().allowed_ips == ["10.0.0.0/24", "2001:db8::1"]


def test_admin_show_once_breadcrumbs_match_the_running_django(admin_client):
    import django

    org = OrganizationFactory()
    body = admin_client.post(
        reverse("admin:django_apikeys_apikey_add"), _admin_payload(org, scopes="*")
    ).content.decode()
    if django.VERSION >= (6, 1):
        assert '<ol class="breadcrumbs">' in body and 'aria-current="page">API key created' in body
    else:
        assert '<div class="breadcrumbs">' in body
