"""Self-service personal keys: ``organization.manage_own_api_keys`` lets a
member create, see, roll and revoke their own user keys, bounded by their
role, without seeing anyone else's; key managers keep seeing all. Dashboard
and management API."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from django_apikeys.models import APIKey, Role
from tests.factories import MembershipFactory, OrganizationFactory, make_key, role
from tests.test_dashboard_journeys import call_api, create_key, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    org = OrganizationFactory()
    editor = MembershipFactory(organization=org, role=role("Editor"))
    manager = MembershipFactory(organization=org, role=role("Manager"))
    server, _ = make_key(org, "server", name="backend")
    managers_key, _ = make_key(org, "user", user=manager.user, name="manager's")
    return {"org": org, "editor": editor, "manager": manager, "server": server, "mk": managers_key}


def test_an_editor_creates_uses_rolls_and_revokes_their_own_key(client, api_client, team):
    org, editor = team["org"], team["editor"]
    client.force_login(editor.user)
    page = client.get(url("key_create", org.pk))
    assert page.status_code == 200
    assert [kt.name for kt in page.context["key_types"]] == ["user"]  # no organization keys
    created = create_key(client, org, "user", scopes=["products:read"])
    assert created.status_code == 200, created.content
    api_key, raw = created.context["api_key"], created.context["raw_key"]
    assert (api_key.user, api_key.created_by) == (editor.user, editor.user)
    assert call_api(api_client, raw, "/api/v1/products").status_code == 200
    listed = client.get(url("key_list", org.pk)).content.decode()
    assert api_key.hint in listed
    for other in (team["server"], team["mk"]):
        assert other.hint not in listed
        assert client.get(url("key_revoke", org.pk, other.pk)).status_code == 404
        assert client.post(url("key_revoke", org.pk, other.pk)).status_code == 404
        assert APIKey.objects.get(pk=other.pk).is_usable
    roll = client.get(url("key_roll", org.pk, api_key.pk))
    token = roll.context["form"]["form_token"].value()
    rolled = client.post(
        url("key_roll", org.pk, api_key.pk), {"form_token": token, "grace_period": 0}
    )
    assert rolled.status_code == 200
    new_key, new_raw = rolled.context["api_key"], rolled.context["raw_key"]
    assert call_api(api_client, new_raw, "/api/v1/products").status_code == 200
    revoked = client.post(url("key_revoke", org.pk, new_key.pk))
    assert revoked.status_code == 302
    assert call_api(api_client, new_raw, "/api/v1/products").json()["code"] == "key_revoked"


def test_bounded_by_the_role(client, team):
    org = team["org"]
    client.force_login(team["editor"].user)
    refused = create_key(client, org, "user", scopes=["clients:read"])
    assert refused.status_code == 200 and "raw_key" not in refused.context
    assert "clients:read" in str(refused.context["form"].errors)
    server = client.post(
        url("key_create", org.pk) + "?type=server",
        {"key_type": "server", "name": "x", "expiry": "never", "scopes": ["products:read"]},
    )
    assert server.status_code == 403
    assert client.get(url("key_create", org.pk) + "?type=server").status_code == 403
    assert not APIKey.objects.filter(created_by=team["editor"].user).exists()


def test_managers_keep_seeing_every_key(client, team):
    client.force_login(team["manager"].user)
    listed = client.get(url("key_list", team["org"].pk)).content.decode()
    assert team["server"].hint in listed and team["mk"].hint in listed


def test_a_role_without_the_permission_is_refused(client, team):
    auditor = Role.objects.create(name="Auditor", permissions=["organization.view_organization"])
    member = MembershipFactory(organization=team["org"], role=auditor)
    client.force_login(member.user)
    assert client.get(url("key_list", team["org"].pk)).status_code == 403
    assert client.get(url("key_create", team["org"].pk)).status_code == 403


def test_management_api_own_keys(team):
    org, editor = team["org"], team["editor"]
    api = APIClient()
    api.force_login(editor.user)
    base = f"/api/manage/organizations/{org.pk}/keys/"
    created = api.post(
        base, {"name": "mine", "key_type": "user", "scopes": ["products:read"]}, format="json"
    )
    assert created.status_code == 201, created.content
    mine = created.json()["id"]
    listed = api.get(base).json()["results"]
    assert [row["id"] for row in listed] == [mine]
    server = api.post(
        base, {"name": "x", "key_type": "server", "scopes": ["products:read"]}, format="json"
    )
    assert (server.status_code, server.json()["code"]) == (403, "permission_denied")
    for other in (team["server"], team["mk"]):
        assert api.get(f"{base}{other.pk}/").status_code == 404
        assert api.post(f"{base}{other.pk}/revoke/").status_code == 404
    rolled = api.post(f"{base}{mine}/roll/", {"grace_period": 0}, format="json")
    assert rolled.status_code == 201
    assert api.post(f"{base}{rolled.json()['id']}/revoke/").status_code == 200
    manager = APIClient()
    manager.force_login(team["manager"].user)
    assert manager.get(base).json()["count"] == 4  # theirs, the server key, the editor's two
