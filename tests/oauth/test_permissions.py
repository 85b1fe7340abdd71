"""Every permission class and the throttle treat a token like a user key;
signing-key rotation through the JWKS ``kid``."""

from __future__ import annotations

import pytest
from django.test import Client

from django_apikeys import metering
from django_apikeys.models import Membership
from django_apikeys.oauth import tokens
from django_apikeys.oauth.conf import oauth_settings
from tests.factories import PlanFactory, role

from .conftest import OAUTH_KEY_DIR, bearer

pytestmark = pytest.mark.django_db


def test_entitlement_follows_the_stamped_organizations_plan(api_client):
    from .conftest import make_world

    world = make_world(scopes=["reports:read", "clients:read"])
    body = world.tokens(scope="reports:read")
    response = api_client.get("/api/v1/reports", **bearer(body["access_token"]))
    assert response.json()["code"] == "not_entitled"
    world.org.plan = PlanFactory(entitlements=["reports"])
    world.org.save()
    assert api_client.get("/api/v1/reports", **bearer(body["access_token"])).status_code == 200


def test_organization_permission_from_the_live_role(world, api_client):
    body = world.tokens()
    url = f"/api/v1/orgs/{world.org.pk}/members"
    assert api_client.get(url, **bearer(body["access_token"])).status_code == 200
    Membership.objects.filter(pk=world.owner.pk).update(role=role("Editor"))
    response = api_client.get(url, **bearer(body["access_token"]))
    assert response.json()["code"] == "permission_denied"


def test_both_scope_spellings_and_write_scope(world, api_client):
    body = world.tokens(scope="read:clients write:clients")
    assert body["scope"] == "clients:read clients:write"
    response = api_client.post(
        "/api/v1/clients", {"name": "Via OAuth"}, format="json", **bearer(body["access_token"])
    )
    assert response.status_code == 201, response.content
    read_only = world.tokens(scope="clients:read")
    response = api_client.post(
        "/api/v1/clients", {"name": "x"}, format="json", **bearer(read_only["access_token"])
    )
    body = response.json()
    assert response.status_code == 403
    assert (body["code"], body["type"]) == ("insufficient_scope", "ForbiddenError")
    assert body["required_scopes"] == ["clients:write"]
    assert "clients:write" in body["detail"]


def test_rate_limited_per_app_and_metered_per_organization(world, api_client, settings):
    settings.APIKEYS_OAUTH = {**settings.APIKEYS_OAUTH, "RATE_LIMIT_PER_MINUTE": 2}
    body = world.tokens()
    other = world.tokens()  # another authorization of the same app: the same budget
    statuses = [
        api_client.get("/api/v1/clients", **bearer(token)).status_code
        for token in (body["access_token"], other["access_token"], body["access_token"])
    ]
    assert statuses == [200, 200, 429]
    refused = api_client.get("/api/v1/clients", **bearer(body["access_token"]))
    assert refused.json()["code"] == "rate_limited"
    assert "client application" in refused.json()["detail"]
    assert refused["X-RateLimit-Limit"] == "2"
    assert sum(n for _, n in metering.daily_usage(world.org)) == 2


def test_organization_plan_limit_applies_to_tokens(world, api_client):
    world.org.plan = PlanFactory(rate_limit_per_minute=1)
    world.org.save()
    body = world.tokens()
    assert api_client.get("/api/v1/clients", **bearer(body["access_token"])).status_code == 200
    response = api_client.get("/api/v1/clients", **bearer(body["access_token"]))
    assert response.status_code == 429
    assert "organization" in response.json()["detail"]


def test_signing_key_rotation(world, api_client, settings):
    old_token = world.tokens()["access_token"]
    old = {"kid": "demo-2026-a", "private_key_file": str(OAUTH_KEY_DIR / "demo-2026-a.pem")}
    new = {"kid": "demo-2026-b", "private_key_file": str(OAUTH_KEY_DIR / "demo-2026-b.pem")}
    settings.APIKEYS_OAUTH = {**settings.APIKEYS_OAUTH, "SIGNING_KEYS": [new, old]}
    new_token = world.tokens()["access_token"]
    import jwt

    assert jwt.get_unverified_header(new_token)["kid"] == "demo-2026-b"
    jwks = Client().get("/.well-known/jwks.json").json()
    assert [k["kid"] for k in jwks["keys"]] == ["demo-2026-b", "demo-2026-a"]
    for token in (old_token, new_token):
        assert api_client.get("/api/v1/clients", **bearer(token)).status_code == 200
    # The old key retired to verification only, then removed.
    from cryptography.hazmat.primitives import serialization

    public = (
        oauth_settings.keys_by_kid["demo-2026-a"]
        .public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )
    settings.APIKEYS_OAUTH = {
        **settings.APIKEYS_OAUTH,
        "SIGNING_KEYS": [new],
        "VERIFICATION_KEYS": [{"kid": "demo-2026-a", "public_key": public}],
    }
    assert api_client.get("/api/v1/clients", **bearer(old_token)).status_code == 200
    settings.APIKEYS_OAUTH = {**settings.APIKEYS_OAUTH, "VERIFICATION_KEYS": []}
    response = api_client.get("/api/v1/clients", **bearer(old_token))
    assert response.json()["code"] == "invalid_token"
    assert api_client.get("/api/v1/clients", **bearer(new_token)).status_code == 200
    assert tokens.verify(new_token)["client_id"] == world.client_id


def _management_view_admitting_tokens(base):
    """A management view as a site following docs/management-api.rst
    "Extending" routes it: OAuth tokens admitted beside keys and sessions."""
    from django_apikeys.api.permissions import management_key_types

    return type(
        f"OAuth{base.__name__}",
        (base,),
        {"allowed_key_types": [*management_key_types(), "oauth"]},
    ).as_view()


def test_management_api_bounds_a_token_by_its_scopes(settings):
    """A token with only ``clients:read`` cannot create a ``*`` server key."""
    from rest_framework.test import APIRequestFactory

    from django_apikeys.api.permissions import MANAGEMENT_SCOPES

    from .conftest import SCOPES

    settings.APIKEYS = {**settings.APIKEYS, "SCOPE_VOCABULARY": [*SCOPES, *MANAGEMENT_SCOPES]}

    from django_apikeys.api.views import KeyList, OrganizationList
    from django_apikeys.models import APIKey

    from .conftest import make_world

    world = make_world(
        scopes=["clients:read", "api_keys:write", "api_keys:read", "organizations:read"]
    )
    factory = APIRequestFactory()
    create = _management_view_admitting_tokens(KeyList)
    body = {"name": "all of it", "key_type": "server", "scopes": ["*"]}

    def post(token: str) -> object:
        request = factory.post(
            f"/manage/{world.org.pk}/keys/", body, format="json", **bearer(token)
        )
        return create(request, org_id=str(world.org.pk))

    narrow = world.tokens(scope="clients:read")["access_token"]
    response = post(narrow)
    assert response.status_code == 403, response.data
    assert response.data["code"] == "insufficient_scope"
    # With the management scope, still never more than the token carries.
    wide = world.tokens(scope="clients:read api_keys:write")["access_token"]
    response = post(wide)
    assert response.status_code == 400, response.data
    assert response.data["code"] == "scope_exceeds_credential"
    assert not APIKey.objects.filter(name="all of it").exists()
    body["scopes"] = ["clients:read"]
    assert post(wide).status_code == 201
    # A token lists only the organization it is pinned to.
    listing = _management_view_admitting_tokens(OrganizationList)
    other = make_world()
    Membership.objects.create(user=world.owner.user, organization=other.org, role=role("Owner"))
    reader = world.tokens(scope="organizations:read")["access_token"]
    response = listing(factory.get("/manage/", **bearer(reader)))
    assert response.status_code == 200, response.data
    assert [o["id"] for o in response.data["results"]] == [str(world.org.pk)]


def test_schema_lists_oauth_only_where_tokens_are_admitted(world, api_client):
    """The schema, the docs and the pipeline agree: management operations
    refuse tokens and do not advertise them; the example's resource routes
    admit them and do."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)

    def lists_oauth(path: str, method: str) -> bool:
        security = schema["paths"][path][method].get("security", [])
        return any("OAuthAccessToken" in requirement for requirement in security)

    management = [
        (path, method)
        for path, operations in schema["paths"].items()
        if path.startswith("/api/manage/")
        for method in operations
    ]
    assert management and not [op for op in management if lists_oauth(*op)]
    assert lists_oauth("/api/v1/clients", "get")

    token = world.tokens(scope="clients:read")["access_token"]
    refused = api_client.get(f"/api/manage/organizations/{world.org.pk}/", **bearer(token))
    assert (refused.status_code, refused.json()["code"]) == (403, "wrong_key_type")
    assert api_client.get("/api/v1/clients", **bearer(token)).status_code == 200
